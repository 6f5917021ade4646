#include "smbd/proto/write.hh"

#include "smbd/proto/body.hh"

namespace smb {

namespace {
constexpr std::uint16_t kRequestSize = 49;   // MS-SMB2 2.2.21
constexpr std::uint16_t kResponseSize = 17;  // MS-SMB2 2.2.22
}  // namespace

NtStatus decode(ByteSpan pdu, WriteRequest& out) {
  ByteReader r(pdu);
  if (NtStatus s = body::begin(pdu, kRequestSize, r); s != NtStatus::SUCCESS) return s;
  WriteRequest q;
  std::uint16_t data_offset = r.u16();
  q.data_length = r.u32();
  q.offset = r.u64();
  q.file_id = read_file_id(r);
  q.channel = static_cast<Channel>(r.u32());
  q.remaining_bytes = r.u32();
  std::uint16_t info_offset = r.u16();
  std::uint16_t info_length = r.u16();
  q.flags = r.u32();
  if (!r.ok() || !body::buffer(pdu, data_offset, q.data_length, kRequestSize, q.data) ||
      !body::buffer(pdu, info_offset, info_length, kRequestSize, q.channel_info))
    return NtStatus::INVALID_PARAMETER;
  if (is_rdma_v1(q.channel)) {
    if (decode_buffer_descriptors(q.channel_info, q.descriptors) != NtStatus::SUCCESS)
      return NtStatus::INVALID_PARAMETER;
    q.channel_info.clear();
  }
  out = std::move(q);
  return NtStatus::SUCCESS;
}

void encode(const WriteRequest& q, ByteWriter& w) {
  Bytes info = is_rdma_v1(q.channel) ? encode_buffer_descriptors(q.descriptors) : q.channel_info;
  std::size_t buffer_start = kSmb2HeaderSize + 48;
  std::size_t data_offset = buffer_start + ((info.size() + 7) & ~std::size_t{7});
  // With an RDMA channel the data is not in the message: DataOffset 0, as cifs.ko sends
  // it (ksmbd refuses anything else).
  if (is_rdma_v1(q.channel) && q.data_length == 0) data_offset = 0;
  w.u16(kRequestSize);
  w.u16(static_cast<std::uint16_t>(data_offset));
  w.u32(q.data_length);
  w.u64(q.offset);
  write_file_id(w, q.file_id);
  w.u32(static_cast<std::uint32_t>(q.channel));
  w.u32(q.remaining_bytes);
  w.u16(info.empty() ? 0 : static_cast<std::uint16_t>(buffer_start));
  w.u16(static_cast<std::uint16_t>(info.size()));
  w.u32(q.flags);
  w.bytes(info);
  w.zeros(((info.size() + 7) & ~std::size_t{7}) - info.size());
  // MS-SMB2 2.2.21: Buffer holds at least one byte.
  if (info.empty() && q.data_length == 0) w.u8(0);
}

NtStatus decode(ByteSpan pdu, WriteResponse& out) {
  ByteReader r(pdu);
  if (NtStatus s = body::begin(pdu, kResponseSize, r); s != NtStatus::SUCCESS) return s;
  WriteResponse p;
  r.skip(2);
  p.count = r.u32();
  p.remaining = r.u32();
  r.skip(4);  // WriteChannelInfoOffset, WriteChannelInfoLength: unused
  if (!r.ok()) return NtStatus::INVALID_PARAMETER;
  out = p;
  return NtStatus::SUCCESS;
}

void encode(const WriteResponse& p, ByteWriter& w) {
  w.u16(kResponseSize);
  w.u16(0);
  w.u32(p.count);
  w.u32(p.remaining);
  w.u32(0);
  w.u8(0);  // MS-SMB2 2.2.22: Buffer holds at least one byte
}

}  // namespace smb
