#include "smbd/proto/cancel.hh"

#include "smbd/proto/body.hh"

namespace smb {

NtStatus decode(ByteSpan pdu, CancelRequest&) { return body::decode_reserved(pdu, 4); }
void encode(const CancelRequest&, ByteWriter& w) { body::encode_reserved(w, 4); }

}  // namespace smb
