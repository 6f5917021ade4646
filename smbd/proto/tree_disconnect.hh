// SMB2 TREE_DISCONNECT request (MS-SMB2 2.2.11) and response (MS-SMB2 2.2.12): StructureSize 4 and
// a reserved field, nothing else.
#pragma once

#include "smbd/base/bytes.hh"
#include "smbd/proto/header.hh"
#include "smbd/base/ntstatus.hh"

namespace smb {

struct TreeDisconnectRequest {
  bool operator==(const TreeDisconnectRequest&) const = default;
};
struct TreeDisconnectResponse {
  bool operator==(const TreeDisconnectResponse&) const = default;
};

NtStatus decode(ByteSpan pdu, TreeDisconnectRequest& out);
NtStatus decode(ByteSpan pdu, TreeDisconnectResponse& out);
void encode(const TreeDisconnectRequest& request, ByteWriter& w);
void encode(const TreeDisconnectResponse& response, ByteWriter& w);

}  // namespace smb
