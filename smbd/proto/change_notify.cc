#include "smbd/proto/change_notify.hh"

#include "smbd/proto/body.hh"
#include "smbd/proto/output_buffer.hh"

namespace smb {

namespace {
constexpr std::uint16_t kRequestSize = 32;  // MS-SMB2 2.2.35
}  // namespace

NtStatus decode(ByteSpan pdu, ChangeNotifyRequest& out) {
  ByteReader r(pdu);
  if (NtStatus s = body::begin(pdu, kRequestSize, r); s != NtStatus::SUCCESS) return s;
  ChangeNotifyRequest q;
  q.flags = r.u16();
  q.output_buffer_length = r.u32();
  q.file_id = read_file_id(r);
  q.completion_filter = r.u32();
  r.skip(4);
  if (!r.ok()) return NtStatus::INVALID_PARAMETER;
  out = q;
  return NtStatus::SUCCESS;
}

void encode(const ChangeNotifyRequest& q, ByteWriter& w) {
  w.u16(kRequestSize);
  w.u16(q.flags);
  w.u32(q.output_buffer_length);
  write_file_id(w, q.file_id);
  w.u32(q.completion_filter);
  w.u32(0);
}

NtStatus decode(ByteSpan pdu, ChangeNotifyResponse& out) {
  return body::decode_output_buffer(pdu, out.output);
}
void encode(const ChangeNotifyResponse& p, ByteWriter& w) {
  body::encode_output_buffer(w, p.output);
}

}  // namespace smb
