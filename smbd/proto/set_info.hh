// SMB2 SET_INFO request (MS-SMB2 2.2.39) and response (2.2.40).
// Ownership: the buffer is copied into the struct.
#pragma once

#include <cstdint>

#include "smbd/base/bytes.hh"
#include "smbd/proto/file_id.hh"
#include "smbd/proto/header.hh"
#include "smbd/base/ntstatus.hh"
#include "smbd/proto/query_info.hh"

namespace smb {

struct SetInfoRequest {
  InfoType info_type = InfoType::SMB2_0_INFO_FILE;
  std::uint8_t file_info_class = 0;
  Bytes buffer;
  std::uint32_t additional_information = 0;
  FileId file_id;
  bool operator==(const SetInfoRequest&) const = default;
};

// MS-SMB2 2.2.40: StructureSize 2 and nothing else.
struct SetInfoResponse {
  bool operator==(const SetInfoResponse&) const = default;
};

NtStatus decode(ByteSpan pdu, SetInfoRequest& out);
NtStatus decode(ByteSpan pdu, SetInfoResponse& out);
void encode(const SetInfoRequest& request, ByteWriter& w);
void encode(const SetInfoResponse& response, ByteWriter& w);

}  // namespace smb
