#include "smbd/proto/query_info.hh"

#include "smbd/proto/body.hh"
#include "smbd/proto/output_buffer.hh"

namespace smb {

namespace {
constexpr std::uint16_t kRequestSize = 41;  // MS-SMB2 2.2.37
}  // namespace

NtStatus decode(ByteSpan pdu, QueryInfoRequest& out) {
  ByteReader r(pdu);
  if (NtStatus s = body::begin(pdu, kRequestSize, r); s != NtStatus::SUCCESS) return s;
  QueryInfoRequest q;
  q.info_type = static_cast<InfoType>(r.u8());
  q.file_info_class = r.u8();
  q.output_buffer_length = r.u32();
  std::uint16_t input_offset = r.u16();
  r.skip(2);
  std::uint32_t input_length = r.u32();
  q.additional_information = r.u32();
  q.flags = r.u32();
  q.file_id = read_file_id(r);
  if (!r.ok() || !body::buffer(pdu, input_offset, input_length, kRequestSize, q.input))
    return NtStatus::INVALID_PARAMETER;
  out = std::move(q);
  return NtStatus::SUCCESS;
}

void encode(const QueryInfoRequest& q, ByteWriter& w) {
  std::size_t header = body::header_start(w);
  w.u16(kRequestSize);
  w.u8(static_cast<std::uint8_t>(q.info_type));
  w.u8(q.file_info_class);
  w.u32(q.output_buffer_length);
  w.u16(q.input.empty()
            ? 0
            : static_cast<std::uint16_t>(kSmb2HeaderSize + body::fixed_size(kRequestSize)));
  w.u16(0);
  w.u32(static_cast<std::uint32_t>(q.input.size()));
  w.u32(q.additional_information);
  w.u32(q.flags);
  write_file_id(w, q.file_id);
  w.bytes(q.input);
  body::pad_empty_buffer(w, header, kRequestSize);
}

NtStatus decode(ByteSpan pdu, QueryInfoResponse& out) {
  return body::decode_output_buffer(pdu, out.output);
}
void encode(const QueryInfoResponse& p, ByteWriter& w) { body::encode_output_buffer(w, p.output); }

}  // namespace smb
