// Wire enums every layer uses: dialects, access mask bits, file attributes, create
// dispositions and options, security information flags. The spec's names, so that the
// code reads next to [MS-SMB2], [MS-DTYP] and [MS-FSCC]; no magic numbers elsewhere.
#pragma once

#include <cstdint>

namespace smb {

// MS-SMB2 2.2.3: Dialects. Fields below hold the raw 16-bit values so that dialects this
// code does not know survive a round trip.
enum class Dialect : std::uint16_t {
  SMB2_0_2 = 0x0202,
  SMB2_1 = 0x0210,
  SMB3_0 = 0x0300,
  SMB3_0_2 = 0x0302,
  SMB3_1_1 = 0x0311,
  SMB2_WILDCARD = 0x02FF,  // MS-SMB2 2.2.4: answer to a multi-protocol SMB1 NEGOTIATE
};
constexpr std::uint16_t to_u16(Dialect d) { return static_cast<std::uint16_t>(d); }

// [MS-SMB2] 2.2.13.1, [MS-DTYP] 2.4.3: access mask bits of files and directories.
namespace access_mask {
inline constexpr std::uint32_t FILE_LIST_DIRECTORY = 0x00000001;  // directories
inline constexpr std::uint32_t FILE_ADD_FILE = 0x00000002;
inline constexpr std::uint32_t FILE_ADD_SUBDIRECTORY = 0x00000004;
inline constexpr std::uint32_t FILE_TRAVERSE = 0x00000020;
inline constexpr std::uint32_t FILE_DELETE_CHILD = 0x00000040;
inline constexpr std::uint32_t FILE_READ_DATA = 0x00000001;
inline constexpr std::uint32_t FILE_WRITE_DATA = 0x00000002;
inline constexpr std::uint32_t FILE_APPEND_DATA = 0x00000004;
inline constexpr std::uint32_t FILE_READ_EA = 0x00000008;
inline constexpr std::uint32_t FILE_WRITE_EA = 0x00000010;
inline constexpr std::uint32_t FILE_EXECUTE = 0x00000020;
inline constexpr std::uint32_t FILE_READ_ATTRIBUTES = 0x00000080;
inline constexpr std::uint32_t FILE_WRITE_ATTRIBUTES = 0x00000100;
inline constexpr std::uint32_t DELETE = 0x00010000;
inline constexpr std::uint32_t READ_CONTROL = 0x00020000;
inline constexpr std::uint32_t WRITE_DAC = 0x00040000;
inline constexpr std::uint32_t WRITE_OWNER = 0x00080000;
inline constexpr std::uint32_t SYNCHRONIZE = 0x00100000;
inline constexpr std::uint32_t ACCESS_SYSTEM_SECURITY = 0x01000000;
inline constexpr std::uint32_t MAXIMUM_ALLOWED = 0x02000000;
inline constexpr std::uint32_t GENERIC_ALL = 0x10000000;
inline constexpr std::uint32_t GENERIC_EXECUTE = 0x20000000;
inline constexpr std::uint32_t GENERIC_WRITE = 0x40000000;
inline constexpr std::uint32_t GENERIC_READ = 0x80000000;
}  // namespace access_mask

// [MS-SMB2] 2.2.13.1.1: the generic rights of files, mapped ([MS-DTYP] 2.4.3).
inline constexpr std::uint32_t kFileAllAccess = 0x001F01FF;
inline constexpr std::uint32_t kFileGenericReadAccess = 0x00120089;
inline constexpr std::uint32_t kFileGenericWriteAccess = 0x00120116;
inline constexpr std::uint32_t kFileGenericExecuteAccess = 0x001200A0;
// Access bits that modify the file or its metadata.
inline constexpr std::uint32_t kWriteLikeAccess =
    access_mask::FILE_WRITE_DATA | access_mask::FILE_APPEND_DATA | access_mask::FILE_WRITE_EA |
    access_mask::FILE_WRITE_ATTRIBUTES | access_mask::DELETE | access_mask::WRITE_DAC |
    access_mask::WRITE_OWNER | access_mask::FILE_DELETE_CHILD;
inline constexpr std::uint32_t kAccessMaximumAllowed = access_mask::MAXIMUM_ALLOWED;
inline constexpr std::uint32_t kAccessSystemSecurity = access_mask::ACCESS_SYSTEM_SECURITY;

// [MS-FSCC] 2.6: file attributes.
namespace file_attribute {
inline constexpr std::uint32_t FILE_ATTRIBUTE_READONLY = 0x00000001;
inline constexpr std::uint32_t FILE_ATTRIBUTE_HIDDEN = 0x00000002;
inline constexpr std::uint32_t FILE_ATTRIBUTE_SYSTEM = 0x00000004;
inline constexpr std::uint32_t FILE_ATTRIBUTE_DIRECTORY = 0x00000010;
inline constexpr std::uint32_t FILE_ATTRIBUTE_ARCHIVE = 0x00000020;
inline constexpr std::uint32_t FILE_ATTRIBUTE_NORMAL = 0x00000080;
inline constexpr std::uint32_t FILE_ATTRIBUTE_TEMPORARY = 0x00000100;
inline constexpr std::uint32_t FILE_ATTRIBUTE_SPARSE_FILE = 0x00000200;
inline constexpr std::uint32_t FILE_ATTRIBUTE_REPARSE_POINT = 0x00000400;
inline constexpr std::uint32_t FILE_ATTRIBUTE_COMPRESSED = 0x00000800;
inline constexpr std::uint32_t FILE_ATTRIBUTE_OFFLINE = 0x00001000;
inline constexpr std::uint32_t FILE_ATTRIBUTE_NOT_CONTENT_INDEXED = 0x00002000;
inline constexpr std::uint32_t FILE_ATTRIBUTE_ENCRYPTED = 0x00004000;
}  // namespace file_attribute

// [MS-FSCC] 2.1.2.1: the reparse tag of a symbolic link.
inline constexpr std::uint32_t IO_REPARSE_TAG_SYMLINK = 0xA000000C;

// MS-SMB2 2.2.13: CreateDisposition.
enum class CreateDisposition : std::uint32_t {
  FILE_SUPERSEDE = 0,
  FILE_OPEN = 1,
  FILE_CREATE = 2,
  FILE_OPEN_IF = 3,
  FILE_OVERWRITE = 4,
  FILE_OVERWRITE_IF = 5,
};
// MS-SMB2 2.2.14: CreateAction.
enum class CreateAction : std::uint32_t {
  FILE_SUPERSEDED = 0,
  FILE_OPENED = 1,
  FILE_CREATED = 2,
  FILE_OVERWRITTEN = 3,
};
// MS-SMB2 2.2.13: ShareAccess.
inline constexpr std::uint32_t kFileShareRead = 0x00000001;
inline constexpr std::uint32_t kFileShareWrite = 0x00000002;
inline constexpr std::uint32_t kFileShareDelete = 0x00000004;
// MS-SMB2 2.2.13: CreateOptions.
inline constexpr std::uint32_t kFileDirectoryFile = 0x00000001;
inline constexpr std::uint32_t kFileWriteThrough = 0x00000002;
inline constexpr std::uint32_t kFileSequentialOnly = 0x00000004;
inline constexpr std::uint32_t kFileNoIntermediateBuffering = 0x00000008;
inline constexpr std::uint32_t kFileSynchronousIoAlert = 0x00000010;
inline constexpr std::uint32_t kFileSynchronousIoNonalert = 0x00000020;
inline constexpr std::uint32_t kFileNonDirectoryFile = 0x00000040;
inline constexpr std::uint32_t kFileCompleteIfOplocked = 0x00000100;
inline constexpr std::uint32_t kFileNoEaKnowledge = 0x00000200;
inline constexpr std::uint32_t kFileRandomAccess = 0x00000800;
inline constexpr std::uint32_t kFileDeleteOnClose = 0x00001000;
inline constexpr std::uint32_t kFileOpenByFileId = 0x00002000;
inline constexpr std::uint32_t kFileOpenForBackupIntent = 0x00004000;
inline constexpr std::uint32_t kFileNoCompression = 0x00008000;
inline constexpr std::uint32_t kFileOpenRemoteInstance = 0x00000400;
inline constexpr std::uint32_t kFileOpenRequiringOplock = 0x00010000;
inline constexpr std::uint32_t kFileDisallowExclusive = 0x00020000;
inline constexpr std::uint32_t kFileReserveOpfilter = 0x00100000;
inline constexpr std::uint32_t kFileOpenReparsePoint = 0x00200000;
inline constexpr std::uint32_t kFileOpenNoRecall = 0x00400000;
inline constexpr std::uint32_t kFileOpenForFreeSpaceQuery = 0x00800000;
// The same create options under the spec's names.
namespace create_option {
inline constexpr std::uint32_t FILE_DIRECTORY_FILE = kFileDirectoryFile;
inline constexpr std::uint32_t FILE_WRITE_THROUGH = kFileWriteThrough;
inline constexpr std::uint32_t FILE_NON_DIRECTORY_FILE = kFileNonDirectoryFile;
inline constexpr std::uint32_t FILE_DELETE_ON_CLOSE = kFileDeleteOnClose;
inline constexpr std::uint32_t FILE_OPEN_REPARSE_POINT = kFileOpenReparsePoint;
}  // namespace create_option

// MS-SMB2 2.2.37: AdditionalInformation for SMB2_0_INFO_SECURITY.
inline constexpr std::uint32_t kOwnerSecurityInformation = 0x00000001;
inline constexpr std::uint32_t kGroupSecurityInformation = 0x00000002;
inline constexpr std::uint32_t kDaclSecurityInformation = 0x00000004;
inline constexpr std::uint32_t kSaclSecurityInformation = 0x00000008;
inline constexpr std::uint32_t kLabelSecurityInformation = 0x00000010;
inline constexpr std::uint32_t kAttributeSecurityInformation = 0x00000020;
inline constexpr std::uint32_t kScopeSecurityInformation = 0x00000040;
inline constexpr std::uint32_t kBackupSecurityInformation = 0x00010000;

}  // namespace smb
