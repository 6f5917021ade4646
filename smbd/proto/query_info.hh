// SMB2 QUERY_INFO request (MS-SMB2 2.2.37) and response (2.2.38).
// Ownership: the input and output buffers are copied into the structs.
#pragma once

#include <cstdint>

#include "proto/bytes.hh"
#include "proto/file_id.hh"
#include "proto/header.hh"
#include "proto/ntstatus.hh"

namespace smb {

// MS-SMB2 2.2.37: InfoType (also SET_INFO, 2.2.39).
enum class InfoType : std::uint8_t {
  SMB2_0_INFO_FILE = 0x01,
  SMB2_0_INFO_FILESYSTEM = 0x02,
  SMB2_0_INFO_SECURITY = 0x03,
  SMB2_0_INFO_QUOTA = 0x04,
};
// MS-SMB2 2.2.37: AdditionalInformation for SMB2_0_INFO_SECURITY.
inline constexpr std::uint32_t kOwnerSecurityInformation = 0x00000001;
inline constexpr std::uint32_t kGroupSecurityInformation = 0x00000002;
inline constexpr std::uint32_t kDaclSecurityInformation = 0x00000004;
inline constexpr std::uint32_t kSaclSecurityInformation = 0x00000008;
inline constexpr std::uint32_t kLabelSecurityInformation = 0x00000010;
inline constexpr std::uint32_t kAttributeSecurityInformation = 0x00000020;
inline constexpr std::uint32_t kScopeSecurityInformation = 0x00000040;
inline constexpr std::uint32_t kBackupSecurityInformation = 0x00010000;
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
