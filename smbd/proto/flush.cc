#include "smbd/proto/flush.hh"

#include "smbd/proto/body.hh"

namespace smb {

namespace {
constexpr std::uint16_t kRequestSize = 24;  // MS-SMB2 2.2.17
constexpr std::uint16_t kResponseSize = 4;  // MS-SMB2 2.2.18
}  // namespace

NtStatus decode(ByteSpan pdu, FlushRequest& out) {
  ByteReader r(pdu);
  if (NtStatus s = body::begin(pdu, kRequestSize, r); s != NtStatus::SUCCESS) return s;
  r.skip(6);  // Reserved1, Reserved2
  FlushRequest q;
  q.file_id = read_file_id(r);
  if (!r.ok()) return NtStatus::INVALID_PARAMETER;
  out = q;
  return NtStatus::SUCCESS;
}

void encode(const FlushRequest& q, ByteWriter& w) {
  w.u16(kRequestSize);
  w.u16(0);
  w.u32(0);
  write_file_id(w, q.file_id);
}

NtStatus decode(ByteSpan pdu, FlushResponse&) { return body::decode_reserved(pdu, kResponseSize); }
void encode(const FlushResponse&, ByteWriter& w) { body::encode_reserved(w, kResponseSize); }

}  // namespace smb
