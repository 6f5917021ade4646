#include "smbd/proto/logoff.hh"

#include "smbd/proto/body.hh"

namespace smb {

namespace {
constexpr std::uint16_t kStructureSize = 4;
}  // namespace

NtStatus decode(ByteSpan pdu, LogoffRequest&) { return body::decode_reserved(pdu, kStructureSize); }
NtStatus decode(ByteSpan pdu, LogoffResponse&) {
  return body::decode_reserved(pdu, kStructureSize);
}
void encode(const LogoffRequest&, ByteWriter& w) { body::encode_reserved(w, kStructureSize); }
void encode(const LogoffResponse&, ByteWriter& w) { body::encode_reserved(w, kStructureSize); }

}  // namespace smb
