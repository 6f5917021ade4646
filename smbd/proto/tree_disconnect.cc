#include "smbd/proto/tree_disconnect.hh"

#include "smbd/proto/body.hh"

namespace smb {

namespace {
constexpr std::uint16_t kStructureSize = 4;
}  // namespace

NtStatus decode(ByteSpan pdu, TreeDisconnectRequest&) {
  return body::decode_reserved(pdu, kStructureSize);
}
NtStatus decode(ByteSpan pdu, TreeDisconnectResponse&) {
  return body::decode_reserved(pdu, kStructureSize);
}
void encode(const TreeDisconnectRequest&, ByteWriter& w) {
  body::encode_reserved(w, kStructureSize);
}
void encode(const TreeDisconnectResponse&, ByteWriter& w) {
  body::encode_reserved(w, kStructureSize);
}

}  // namespace smb
