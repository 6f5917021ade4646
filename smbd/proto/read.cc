#include "smbd/proto/read.hh"

#include <algorithm>

#include "smbd/proto/body.hh"

namespace smb {

namespace {
constexpr std::uint16_t kRequestSize = 49;   // MS-SMB2 2.2.19
constexpr std::uint16_t kResponseSize = 17;  // MS-SMB2 2.2.20
}  // namespace

NtStatus decode(ByteSpan pdu, ReadRequest& out) {
  ByteReader r(pdu);
  if (NtStatus s = body::begin(pdu, kRequestSize, r); s != NtStatus::SUCCESS) return s;
  ReadRequest q;
  q.padding = r.u8();
  q.flags = r.u8();
  q.length = r.u32();
  q.offset = r.u64();
  q.file_id = read_file_id(r);
  q.minimum_count = r.u32();
  q.channel = static_cast<Channel>(r.u32());
  q.remaining_bytes = r.u32();
  std::uint16_t info_offset = r.u16();
  std::uint16_t info_length = r.u16();
  if (!r.ok() || !body::buffer(pdu, info_offset, info_length, kRequestSize, q.channel_info))
    return NtStatus::INVALID_PARAMETER;
  if (is_rdma_v1(q.channel)) {
    if (decode_buffer_descriptors(q.channel_info, q.descriptors) != NtStatus::SUCCESS)
      return NtStatus::INVALID_PARAMETER;
    q.channel_info.clear();
  }
  out = std::move(q);
  return NtStatus::SUCCESS;
}

void encode(const ReadRequest& q, ByteWriter& w) {
  std::size_t header = body::header_start(w);
  Bytes info = is_rdma_v1(q.channel) ? encode_buffer_descriptors(q.descriptors) : q.channel_info;
  w.u16(kRequestSize);
  w.u8(q.padding);
  w.u8(q.flags);
  w.u32(q.length);
  w.u64(q.offset);
  write_file_id(w, q.file_id);
  w.u32(q.minimum_count);
  w.u32(static_cast<std::uint32_t>(q.channel));
  w.u32(q.remaining_bytes);
  w.u16(info.empty()
            ? 0
            : static_cast<std::uint16_t>(kSmb2HeaderSize + body::fixed_size(kRequestSize)));
  w.u16(static_cast<std::uint16_t>(info.size()));
  w.bytes(info);
  body::pad_empty_buffer(w, header, kRequestSize);
}

NtStatus decode(ByteSpan pdu, ReadResponse& out) {
  ByteReader r(pdu);
  if (NtStatus s = body::begin(pdu, kResponseSize, r); s != NtStatus::SUCCESS) return s;
  ReadResponse p;
  std::uint8_t data_offset = r.u8();
  r.skip(1);
  p.data_length = r.u32();
  p.data_remaining = r.u32();
  p.flags = r.u32();
  if (!r.ok() || !body::buffer(pdu, data_offset, p.data_length, kResponseSize, p.data))
    return NtStatus::INVALID_PARAMETER;
  out = p;
  return NtStatus::SUCCESS;
}

void encode(const ReadResponse& p, ByteWriter& w) {
  // DataOffset is one byte: the padding is bounded so that it still says where data is.
  const std::uint8_t padding =
      std::min<std::uint8_t>(p.body_padding, 0xFF - kReadResponseDataOffset);
  w.u16(kResponseSize);
  w.u8(static_cast<std::uint8_t>(kReadResponseDataOffset + padding));
  w.u8(0);
  w.u32(p.data_length);
  w.u32(p.data_remaining);
  w.u32(p.flags);
  for (std::uint8_t i = 0; i < padding; ++i) w.u8(0);
  // MS-SMB2 2.2.20: Buffer holds at least one byte, except when the data went to the
  // client's buffers by RDMA (DataRemaining): cifs.ko takes only the 16-byte fixed part
  // of such a response, so a padding byte would shift every message it reads after it.
  if (p.data_length == 0 && p.data_remaining == 0) w.u8(0);
}

}  // namespace smb
