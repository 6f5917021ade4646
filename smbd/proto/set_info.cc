#include "smbd/proto/set_info.hh"

#include "smbd/proto/body.hh"

namespace smb {

namespace {
constexpr std::uint16_t kRequestSize = 33;  // MS-SMB2 2.2.39
constexpr std::uint16_t kResponseSize = 2;  // MS-SMB2 2.2.40
}  // namespace

NtStatus decode(ByteSpan pdu, SetInfoRequest& out) {
  ByteReader r(pdu);
  if (NtStatus s = body::begin(pdu, kRequestSize, r); s != NtStatus::SUCCESS) return s;
  SetInfoRequest q;
  q.info_type = static_cast<InfoType>(r.u8());
  q.file_info_class = r.u8();
  std::uint32_t length = r.u32();
  std::uint16_t offset = r.u16();
  r.skip(2);
  q.additional_information = r.u32();
  q.file_id = read_file_id(r);
  if (!r.ok() || !body::buffer(pdu, offset, length, kRequestSize, q.buffer))
    return NtStatus::INVALID_PARAMETER;
  out = std::move(q);
  return NtStatus::SUCCESS;
}

void encode(const SetInfoRequest& q, ByteWriter& w) {
  std::size_t header = body::header_start(w);
  w.u16(kRequestSize);
  w.u8(static_cast<std::uint8_t>(q.info_type));
  w.u8(q.file_info_class);
  w.u32(static_cast<std::uint32_t>(q.buffer.size()));
  w.u16(static_cast<std::uint16_t>(kSmb2HeaderSize + body::fixed_size(kRequestSize)));
  w.u16(0);
  w.u32(q.additional_information);
  write_file_id(w, q.file_id);
  w.bytes(q.buffer);
  body::pad_empty_buffer(w, header, kRequestSize);
}

NtStatus decode(ByteSpan pdu, SetInfoResponse&) {
  ByteReader r(pdu);
  return body::begin(pdu, kResponseSize, r);
}
void encode(const SetInfoResponse&, ByteWriter& w) { w.u16(kResponseSize); }

}  // namespace smb
