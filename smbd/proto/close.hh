// SMB2 CLOSE request (MS-SMB2 2.2.15) and response (2.2.16).
#pragma once

#include <cstdint>

#include "smbd/base/bytes.hh"
#include "smbd/proto/file_id.hh"
#include "smbd/proto/header.hh"
#include "smbd/base/ntstatus.hh"

namespace smb {

// MS-SMB2 2.2.15: Flags.
inline constexpr std::uint16_t kCloseFlagPostqueryAttrib = 0x0001;

struct CloseRequest {
  std::uint16_t flags = 0;
  FileId file_id;
  bool operator==(const CloseRequest&) const = default;
};

// The attributes are meaningful only when the request asked for POSTQUERY_ATTRIB.
struct CloseResponse {
  std::uint16_t flags = 0;
  std::uint64_t creation_time = 0;
  std::uint64_t last_access_time = 0;
  std::uint64_t last_write_time = 0;
  std::uint64_t change_time = 0;
  std::uint64_t allocation_size = 0;
  std::uint64_t end_of_file = 0;
  std::uint32_t file_attributes = 0;
  bool operator==(const CloseResponse&) const = default;
};

NtStatus decode(ByteSpan pdu, CloseRequest& out);
NtStatus decode(ByteSpan pdu, CloseResponse& out);
void encode(const CloseRequest& request, ByteWriter& w);
void encode(const CloseResponse& response, ByteWriter& w);

}  // namespace smb
