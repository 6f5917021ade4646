#include "smbd/proto/error.hh"

#include "smbd/proto/body.hh"

namespace smb {

namespace {
constexpr std::uint16_t kStructureSize = 9;  // MS-SMB2 2.2.2
constexpr std::uint64_t kErrorDataOffset = kSmb2HeaderSize + 8;
}  // namespace

NtStatus decode(ByteSpan pdu, ErrorResponse& out) {
  ByteReader r(pdu);
  if (NtStatus s = body::begin(pdu, kStructureSize, r); s != NtStatus::SUCCESS) return s;
  ErrorResponse e;
  std::uint8_t count = r.u8();
  r.skip(1);
  std::uint32_t byte_count = r.u32();
  if (!r.ok() || !in_bounds(kErrorDataOffset, byte_count, pdu.size()))
    return NtStatus::INVALID_PARAMETER;
  ByteSpan data = pdu.subspan(static_cast<std::size_t>(kErrorDataOffset), byte_count);
  if (count == 0) {
    e.error_data.assign(data.begin(), data.end());
    out = std::move(e);
    return NtStatus::SUCCESS;
  }
  // MS-SMB2 2.2.2.1: {ErrorDataLength, ErrorId, ErrorContextData}, each 8-byte aligned
  // relative to the start of the error response (which is itself 8-byte aligned).
  std::uint64_t at = 0;
  for (std::uint8_t i = 0; i < count; ++i) {
    at = (at + 7) & ~std::uint64_t{7};
    if (!in_bounds(at, 8, data.size())) return NtStatus::INVALID_PARAMETER;
    std::uint64_t length = load_le32(&data[at]);
    std::uint32_t id = load_le32(&data[at + 4]);
    if (!in_bounds(at + 8, length, data.size())) return NtStatus::INVALID_PARAMETER;
    auto bytes = data.subspan(static_cast<std::size_t>(at + 8), static_cast<std::size_t>(length));
    e.contexts.push_back(ErrorContext{id, Bytes(bytes.begin(), bytes.end())});
    at += 8 + length;
  }
  out = std::move(e);
  return NtStatus::SUCCESS;
}

void encode(const ErrorResponse& e, ByteWriter& w) {
  w.u16(kStructureSize);
  w.u8(static_cast<std::uint8_t>(e.contexts.size()));
  w.u8(0);
  std::size_t byte_count_at = w.size();
  w.u32(0);
  std::size_t data_start = w.size();
  if (!e.contexts.empty()) {
    for (const auto& c : e.contexts) {
      w.align(8, data_start);
      w.u32(static_cast<std::uint32_t>(c.data.size()));
      w.u32(c.error_id);
      w.bytes(c.data);
    }
  } else {
    w.bytes(e.error_data);
  }
  std::size_t byte_count = w.size() - data_start;
  w.patch_u32(byte_count_at, static_cast<std::uint32_t>(byte_count));
  if (byte_count == 0) w.u8(0);
}

}  // namespace smb
