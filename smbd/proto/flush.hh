// SMB2 FLUSH request (MS-SMB2 2.2.17) and response (2.2.18).
#pragma once

#include "proto/bytes.hh"
#include "proto/file_id.hh"
#include "proto/header.hh"
#include "proto/ntstatus.hh"

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
