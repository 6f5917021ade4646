// SMB2 LOGOFF request (MS-SMB2 2.2.7) and response (MS-SMB2 2.2.8): StructureSize 4 and a
// reserved field, nothing else.
#pragma once

#include "smbd/base/bytes.hh"
#include "smbd/proto/header.hh"
#include "smbd/base/ntstatus.hh"

namespace smb {

struct LogoffRequest {
  bool operator==(const LogoffRequest&) const = default;
};
struct LogoffResponse {
  bool operator==(const LogoffResponse&) const = default;
};

NtStatus decode(ByteSpan pdu, LogoffRequest& out);
NtStatus decode(ByteSpan pdu, LogoffResponse& out);
void encode(const LogoffRequest& request, ByteWriter& w);
void encode(const LogoffResponse& response, ByteWriter& w);

}  // namespace smb
