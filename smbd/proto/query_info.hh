// SMB2 QUERY_INFO request (MS-SMB2 2.2.37) and response (2.2.38).
// Ownership: the input and output buffers are copied into the structs.
#pragma once

#include <cstdint>

#include "smbd/base/bytes.hh"
#include "smbd/proto/file_id.hh"
#include "smbd/proto/header.hh"
#include "smbd/base/ntstatus.hh"
#include "smbd/base/wire.hh"

namespace smb {

// MS-SMB2 2.2.37: InfoType (also SET_INFO, 2.2.39).
enum class InfoType : std::uint8_t {
  SMB2_0_INFO_FILE = 0x01,
  SMB2_0_INFO_FILESYSTEM = 0x02,
  SMB2_0_INFO_SECURITY = 0x03,
  SMB2_0_INFO_QUOTA = 0x04,
};
// MS-SMB2 2.2.37: Flags.
inline constexpr std::uint32_t kSlRestartScan = 0x00000001;
inline constexpr std::uint32_t kSlReturnSingleEntry = 0x00000002;
inline constexpr std::uint32_t kSlIndexSpecified = 0x00000004;

struct QueryInfoRequest {
  InfoType info_type = InfoType::SMB2_0_INFO_FILE;
  std::uint8_t file_info_class = 0;
  std::uint32_t output_buffer_length = 0;
  Bytes input;  // e.g. SMB2_QUERY_QUOTA_INFO or FILE_GET_EA_INFORMATION
  std::uint32_t additional_information = 0;
  std::uint32_t flags = 0;
  FileId file_id;
  bool operator==(const QueryInfoRequest&) const = default;
};

struct QueryInfoResponse {
  Bytes output;
  bool operator==(const QueryInfoResponse&) const = default;
};

NtStatus decode(ByteSpan pdu, QueryInfoRequest& out);
NtStatus decode(ByteSpan pdu, QueryInfoResponse& out);
void encode(const QueryInfoRequest& request, ByteWriter& w);
void encode(const QueryInfoResponse& response, ByteWriter& w);

}  // namespace smb
