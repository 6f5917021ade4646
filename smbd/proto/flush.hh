// SMB2 FLUSH request (MS-SMB2 2.2.17) and response (2.2.18).
#pragma once

#include "smbd/base/bytes.hh"
#include "smbd/proto/file_id.hh"
#include "smbd/proto/header.hh"
#include "smbd/base/ntstatus.hh"

namespace smb {

struct FlushRequest {
  FileId file_id;
  bool operator==(const FlushRequest&) const = default;
};
struct FlushResponse {
  bool operator==(const FlushResponse&) const = default;
};

NtStatus decode(ByteSpan pdu, FlushRequest& out);
NtStatus decode(ByteSpan pdu, FlushResponse& out);
void encode(const FlushRequest& request, ByteWriter& w);
void encode(const FlushResponse& response, ByteWriter& w);

}  // namespace smb
