#include "smbd/proto/lock.hh"

#include "smbd/proto/body.hh"

namespace smb {

namespace {
constexpr std::uint16_t kRequestSize = 48;  // MS-SMB2 2.2.26 (includes one element)
constexpr std::uint16_t kResponseSize = 4;  // MS-SMB2 2.2.27
constexpr std::uint64_t kElementSize = 24;  // MS-SMB2 2.2.26.1
constexpr std::uint64_t kFirstElement = kSmb2HeaderSize + 24;
}  // namespace

NtStatus decode(ByteSpan pdu, LockRequest& out) {
  ByteReader r(pdu);
  if (NtStatus s = body::begin(pdu, kRequestSize, r); s != NtStatus::SUCCESS) return s;
  LockRequest q;
  std::uint16_t count = r.u16();
  std::uint32_t sequence = r.u32();
  q.lock_sequence_number = static_cast<std::uint8_t>(sequence & 0xF);
  q.lock_sequence_index = sequence >> 4;
  q.file_id = read_file_id(r);
  if (!r.ok() || count == 0) return NtStatus::INVALID_PARAMETER;
  if (!in_bounds(kFirstElement, count * kElementSize, pdu.size()))
    return NtStatus::INVALID_PARAMETER;
  q.locks.reserve(count);
  for (std::uint16_t i = 0; i < count; ++i) {
    LockElement e;
    e.offset = r.u64();
    e.length = r.u64();
    e.flags = r.u32();
    r.skip(4);
    q.locks.push_back(e);
  }
  if (!r.ok()) return NtStatus::INVALID_PARAMETER;
  out = std::move(q);
  return NtStatus::SUCCESS;
}

void encode(const LockRequest& q, ByteWriter& w) {
  w.u16(kRequestSize);
  w.u16(static_cast<std::uint16_t>(q.locks.size()));
  w.u32((q.lock_sequence_index << 4) | (q.lock_sequence_number & 0xFu));
  write_file_id(w, q.file_id);
  for (const auto& e : q.locks) {
    w.u64(e.offset);
    w.u64(e.length);
    w.u32(e.flags);
    w.u32(0);
  }
  if (q.locks.empty()) w.zeros(kElementSize);  // StructureSize counts one element
}

NtStatus decode(ByteSpan pdu, LockResponse&) { return body::decode_reserved(pdu, kResponseSize); }
void encode(const LockResponse&, ByteWriter& w) { body::encode_reserved(w, kResponseSize); }

}  // namespace smb
