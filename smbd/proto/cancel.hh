// SMB2 CANCEL request (MS-SMB2 2.2.30): StructureSize 4 and a reserved field. The request
// to cancel is named by the header (MessageId, or AsyncId when ASYNC_COMMAND is set);
// CANCEL has no response (MS-SMB2 3.3.5.16).
#pragma once

#include "smbd/base/bytes.hh"
#include "smbd/proto/header.hh"
#include "smbd/base/ntstatus.hh"

namespace smb {

struct CancelRequest {
  bool operator==(const CancelRequest&) const = default;
};

NtStatus decode(ByteSpan pdu, CancelRequest& out);
void encode(const CancelRequest& request, ByteWriter& w);

}  // namespace smb
