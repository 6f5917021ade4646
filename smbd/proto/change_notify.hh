// SMB2 CHANGE_NOTIFY request (MS-SMB2 2.2.35) and response (2.2.36).
// Ownership: the output buffer ([MS-FSCC] 2.7.1 FILE_NOTIFY_INFORMATION entries) is copied.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "smbd/base/bytes.hh"
#include "smbd/proto/file_id.hh"
#include "smbd/proto/header.hh"
#include "smbd/base/ntstatus.hh"

namespace smb {

// MS-SMB2 2.2.35: Flags.
inline constexpr std::uint16_t kWatchTree = 0x0001;
// MS-SMB2 2.2.35: CompletionFilter.
inline constexpr std::uint32_t kFileNotifyChangeFileName = 0x00000001;
inline constexpr std::uint32_t kFileNotifyChangeDirName = 0x00000002;
inline constexpr std::uint32_t kFileNotifyChangeAttributes = 0x00000004;
inline constexpr std::uint32_t kFileNotifyChangeSize = 0x00000008;
inline constexpr std::uint32_t kFileNotifyChangeLastWrite = 0x00000010;
inline constexpr std::uint32_t kFileNotifyChangeLastAccess = 0x00000020;
inline constexpr std::uint32_t kFileNotifyChangeCreation = 0x00000040;
inline constexpr std::uint32_t kFileNotifyChangeEa = 0x00000080;
inline constexpr std::uint32_t kFileNotifyChangeSecurity = 0x00000100;
inline constexpr std::uint32_t kFileNotifyChangeStreamName = 0x00000200;
inline constexpr std::uint32_t kFileNotifyChangeStreamSize = 0x00000400;
inline constexpr std::uint32_t kFileNotifyChangeStreamWrite = 0x00000800;

struct ChangeNotifyRequest {
  std::uint16_t flags = 0;
  std::uint32_t output_buffer_length = 0;
  FileId file_id;
  std::uint32_t completion_filter = 0;
  bool operator==(const ChangeNotifyRequest&) const = default;
};

struct ChangeNotifyResponse {
  Bytes output;
  bool operator==(const ChangeNotifyResponse&) const = default;
};

// MS-FSCC 2.7.1 FILE_NOTIFY_INFORMATION: one change, its name relative to the watched
// directory (UTF-8 here, UTF-16LE on the wire).
inline constexpr std::uint32_t kFileActionAdded = 0x00000001;
inline constexpr std::uint32_t kFileActionRemoved = 0x00000002;
inline constexpr std::uint32_t kFileActionModified = 0x00000003;
inline constexpr std::uint32_t kFileActionRenamedOldName = 0x00000004;
inline constexpr std::uint32_t kFileActionRenamedNewName = 0x00000005;
struct FileNotifyInformation {
  std::uint32_t action = 0;
  std::string file_name;
  bool operator==(const FileNotifyInformation&) const = default;
};
// The entries chained by NextEntryOffset, each but the last padded to 4 bytes.
Bytes encode_file_notify_information(const std::vector<FileNotifyInformation>& entries);
// Bounded: every offset and length checked against `buffer`; at most `max_entries`.
NtStatus decode_file_notify_information(ByteSpan buffer, std::vector<FileNotifyInformation>& out,
                                        std::size_t max_entries = 4096);

NtStatus decode(ByteSpan pdu, ChangeNotifyRequest& out);
NtStatus decode(ByteSpan pdu, ChangeNotifyResponse& out);
void encode(const ChangeNotifyRequest& request, ByteWriter& w);
void encode(const ChangeNotifyResponse& response, ByteWriter& w);

}  // namespace smb
