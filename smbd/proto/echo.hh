// SMB2 ECHO request (MS-SMB2 2.2.28) and response (MS-SMB2 2.2.29): StructureSize 4 and a
// reserved field, nothing else.
#pragma once

#include "smbd/base/bytes.hh"
#include "smbd/proto/header.hh"
#include "smbd/base/ntstatus.hh"

namespace smb {

struct EchoRequest {
  bool operator==(const EchoRequest&) const = default;
};
struct EchoResponse {
  bool operator==(const EchoResponse&) const = default;
};

NtStatus decode(ByteSpan pdu, EchoRequest& out);
NtStatus decode(ByteSpan pdu, EchoResponse& out);
void encode(const EchoRequest& request, ByteWriter& w);
void encode(const EchoResponse& response, ByteWriter& w);

}  // namespace smb
