// SMB2 QUERY_DIRECTORY request (MS-SMB2 2.2.33) and response (2.2.34).
// Ownership: the pattern and the output buffer are copied into the structs. The entries
// of the output buffer are [MS-FSCC] 2.4 structures (proto/fscc.hh).
#pragma once

#include <cstdint>
#include <string>

#include "smbd/base/bytes.hh"
#include "smbd/proto/file_id.hh"
#include "smbd/proto/header.hh"
#include "smbd/base/ntstatus.hh"

namespace smb {

// MS-SMB2 2.2.33: Flags.
inline constexpr std::uint8_t kRestartScans = 0x01;
inline constexpr std::uint8_t kReturnSingleEntry = 0x02;
inline constexpr std::uint8_t kIndexSpecified = 0x04;
inline constexpr std::uint8_t kReopen = 0x10;

struct QueryDirectoryRequest {
  std::uint8_t file_information_class = 0;
  std::uint8_t flags = 0;
  std::uint32_t file_index = 0;
  FileId file_id;
  std::string file_name;  // the search pattern, UTF-8
  std::uint32_t output_buffer_length = 0;
  bool operator==(const QueryDirectoryRequest&) const = default;
};

struct QueryDirectoryResponse {
  Bytes output;
  bool operator==(const QueryDirectoryResponse&) const = default;
};

NtStatus decode(ByteSpan pdu, QueryDirectoryRequest& out);
NtStatus decode(ByteSpan pdu, QueryDirectoryResponse& out);
void encode(const QueryDirectoryRequest& request, ByteWriter& w);
void encode(const QueryDirectoryResponse& response, ByteWriter& w);

}  // namespace smb
