#include "smbd/proto/echo.hh"

#include "smbd/proto/body.hh"

namespace smb {

namespace {
constexpr std::uint16_t kStructureSize = 4;
}  // namespace

NtStatus decode(ByteSpan pdu, EchoRequest&) { return body::decode_reserved(pdu, kStructureSize); }
NtStatus decode(ByteSpan pdu, EchoResponse&) { return body::decode_reserved(pdu, kStructureSize); }
void encode(const EchoRequest&, ByteWriter& w) { body::encode_reserved(w, kStructureSize); }
void encode(const EchoResponse&, ByteWriter& w) { body::encode_reserved(w, kStructureSize); }

}  // namespace smb
