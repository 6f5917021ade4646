#include "smbd/proto/query_directory.hh"

#include "smbd/proto/body.hh"
#include "smbd/proto/output_buffer.hh"

namespace smb {

namespace {
constexpr std::uint16_t kRequestSize = 33;  // MS-SMB2 2.2.33
}  // namespace

NtStatus decode(ByteSpan pdu, QueryDirectoryRequest& out) {
  ByteReader r(pdu);
  if (NtStatus s = body::begin(pdu, kRequestSize, r); s != NtStatus::SUCCESS) return s;
  QueryDirectoryRequest q;
  q.file_information_class = r.u8();
  q.flags = r.u8();
  q.file_index = r.u32();
  q.file_id = read_file_id(r);
  std::uint16_t name_offset = r.u16();
  std::uint16_t name_length = r.u16();
  q.output_buffer_length = r.u32();
  if (!r.ok()) return NtStatus::INVALID_PARAMETER;
  ByteSpan name;
  if (!body::buffer(pdu, name_offset, name_length, kRequestSize, name))
    return NtStatus::INVALID_PARAMETER;
  if (!utf16le_to_utf8(name, q.file_name)) return NtStatus::OBJECT_NAME_INVALID;
  out = std::move(q);
  return NtStatus::SUCCESS;
}

void encode(const QueryDirectoryRequest& q, ByteWriter& w) {
  std::size_t header = body::header_start(w);
  Bytes name = utf16le(q.file_name);
  w.u16(kRequestSize);
  w.u8(q.file_information_class);
  w.u8(q.flags);
  w.u32(q.file_index);
  write_file_id(w, q.file_id);
  w.u16(static_cast<std::uint16_t>(kSmb2HeaderSize + body::fixed_size(kRequestSize)));
  w.u16(static_cast<std::uint16_t>(name.size()));
  w.u32(q.output_buffer_length);
  w.bytes(name);
  body::pad_empty_buffer(w, header, kRequestSize);
}

NtStatus decode(ByteSpan pdu, QueryDirectoryResponse& out) {
  return body::decode_output_buffer(pdu, out.output);
}
void encode(const QueryDirectoryResponse& p, ByteWriter& w) {
  body::encode_output_buffer(w, p.output);
}

}  // namespace smb
