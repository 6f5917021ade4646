// File and file-system information structures of [MS-FSCC] 2.4 and 2.5, as carried by
// SMB2 QUERY_INFO, SET_INFO and QUERY_DIRECTORY. Pure encoders and decoders over
// ByteWriter/ByteReader; names are UTF-8 in memory and UTF-16LE on the wire.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "smbd/base/bytes.hh"
#include "smbd/base/ntstatus.hh"
#include "smbd/base/wire.hh"

namespace smb::fscc {

// [MS-FSCC] 2.4: file information classes.
enum class FileInfoClass : std::uint8_t {
  FileDirectoryInformation = 1,
  FileFullDirectoryInformation = 2,
  FileBothDirectoryInformation = 3,
  FileBasicInformation = 4,
  FileStandardInformation = 5,
  FileInternalInformation = 6,
  FileEaInformation = 7,
  FileAccessInformation = 8,
  FileNameInformation = 9,
  FileRenameInformation = 10,
  FileLinkInformation = 11,
  FileNamesInformation = 12,
  FileDispositionInformation = 13,
  FilePositionInformation = 14,
  FileFullEaInformation = 15,
  FileModeInformation = 16,
  FileAlignmentInformation = 17,
  FileAllInformation = 18,
  FileAllocationInformation = 19,
  FileEndOfFileInformation = 20,
  FileAlternateNameInformation = 21,
  FileStreamInformation = 22,
  FilePipeInformation = 23,
  FileCompressionInformation = 28,
  FileNetworkOpenInformation = 34,
  FileAttributeTagInformation = 35,
  FileIdBothDirectoryInformation = 37,
  FileIdFullDirectoryInformation = 38,
  FileValidDataLengthInformation = 39,
  FileShortNameInformation = 40,
  FileNormalizedNameInformation = 48,
  FileIdInformation = 59,
  FileIdExtdDirectoryInformation = 60,
  FileDispositionInformationEx = 64,
  FileRenameInformationEx = 65,
};

// [MS-FSCC] 2.5: file system information classes.
enum class FsInfoClass : std::uint8_t {
  FileFsVolumeInformation = 1,
  FileFsLabelInformation = 2,
  FileFsSizeInformation = 3,
  FileFsDeviceInformation = 4,
  FileFsAttributeInformation = 5,
  FileFsControlInformation = 6,
  FileFsFullSizeInformation = 7,
  FileFsObjectIdInformation = 8,
  FileFsDriverPathInformation = 9,
  FileFsVolumeFlagsInformation = 10,
  FileFsSectorSizeInformation = 11,
};

// [MS-FSCC] 2.6: file attributes.
namespace file_attribute = ::smb::file_attribute;  // defined in base/wire.hh

// [MS-FSCC] 2.5.1: FileSystemAttributes.
namespace fs_attribute {
inline constexpr std::uint32_t FILE_CASE_SENSITIVE_SEARCH = 0x00000001;
inline constexpr std::uint32_t FILE_CASE_PRESERVED_NAMES = 0x00000002;
inline constexpr std::uint32_t FILE_UNICODE_ON_DISK = 0x00000004;
inline constexpr std::uint32_t FILE_PERSISTENT_ACLS = 0x00000008;
inline constexpr std::uint32_t FILE_SUPPORTS_SPARSE_FILES = 0x00000040;
inline constexpr std::uint32_t FILE_SUPPORTS_OBJECT_IDS = 0x00010000;
inline constexpr std::uint32_t FILE_SUPPORTS_BLOCK_REFCOUNTING = 0x08000000;
}  // namespace fs_attribute

// [MS-FSCC] 2.4.12 FileDispositionInformationEx flags.
namespace disposition_flag {
inline constexpr std::uint32_t FILE_DISPOSITION_DO_NOT_DELETE = 0x00000000;
inline constexpr std::uint32_t FILE_DISPOSITION_DELETE = 0x00000001;
inline constexpr std::uint32_t FILE_DISPOSITION_POSIX_SEMANTICS = 0x00000002;
inline constexpr std::uint32_t FILE_DISPOSITION_FORCE_IMAGE_SECTION_CHECK = 0x00000004;
inline constexpr std::uint32_t FILE_DISPOSITION_ON_CLOSE = 0x00000008;
inline constexpr std::uint32_t FILE_DISPOSITION_IGNORE_READONLY_ATTRIBUTE = 0x00000010;
}  // namespace disposition_flag

// [MS-FSCC] 2.4.26 FileModeInformation bits.
namespace file_mode {
inline constexpr std::uint32_t FILE_WRITE_THROUGH = 0x00000002;
inline constexpr std::uint32_t FILE_SEQUENTIAL_ONLY = 0x00000004;
inline constexpr std::uint32_t FILE_NO_INTERMEDIATE_BUFFERING = 0x00000008;
inline constexpr std::uint32_t FILE_SYNCHRONOUS_IO_ALERT = 0x00000010;
inline constexpr std::uint32_t FILE_SYNCHRONOUS_IO_NONALERT = 0x00000020;
inline constexpr std::uint32_t FILE_DELETE_ON_CLOSE = 0x00001000;
inline constexpr std::uint32_t kValidMask = 0x0000103E;
}  // namespace file_mode

// [MS-FSCC] 2.5.10: DeviceType / Characteristics.
inline constexpr std::uint32_t FILE_DEVICE_DISK = 0x00000007;
inline constexpr std::uint32_t FILE_DEVICE_IS_MOUNTED = 0x00000020;
inline constexpr std::uint32_t FILE_REMOTE_DEVICE = 0x00000010;

// ---- Query classes ([MS-FSCC] 2.4) ----

// 2.4.7, 40 bytes. Also decoded for SET_INFO.
struct FileBasicInformation {
  std::uint64_t creation_time = 0;
  std::uint64_t last_access_time = 0;
  std::uint64_t last_write_time = 0;
  std::uint64_t change_time = 0;
  std::uint32_t file_attributes = 0;
};
inline constexpr std::size_t kFileBasicInformationSize = 40;

// 2.4.41, 24 bytes.
struct FileStandardInformation {
  std::uint64_t allocation_size = 0;
  std::uint64_t end_of_file = 0;
  std::uint32_t number_of_links = 0;
  bool delete_pending = false;
  bool directory = false;
};
inline constexpr std::size_t kFileStandardInformationSize = 24;

struct FileInternalInformation {  // 2.4.22, 8 bytes
  std::uint64_t index_number = 0;
};
struct FileEaInformation {  // 2.4.13, 4 bytes
  std::uint32_t ea_size = 0;
};
struct FileAccessInformation {  // 2.4.1, 4 bytes
  std::uint32_t access_flags = 0;
};
struct FilePositionInformation {  // 2.4.35, 8 bytes; also set
  std::uint64_t current_byte_offset = 0;
};
struct FileModeInformation {  // 2.4.26, 4 bytes; also set
  std::uint32_t mode = 0;
};
struct FileAlignmentInformation {  // 2.4.3, 4 bytes
  std::uint32_t alignment_requirement = 0;
};
// 2.4.27 (and FileNormalizedNameInformation, 2.4.30): FileNameLength + name.
struct FileNameInformation {
  std::string file_name;
};

// 2.4.2: the fixed parts in order, then FileNameInformation (100 bytes + name).
struct FileAllInformation {
  FileBasicInformation basic;
  FileStandardInformation standard;
  FileInternalInformation internal;
  FileEaInformation ea;
  FileAccessInformation access;
  FilePositionInformation position;
  FileModeInformation mode;
  FileAlignmentInformation alignment;
  FileNameInformation name;
};
inline constexpr std::size_t kFileAllInformationFixedSize = 100;

// 2.4.29, 56 bytes.
struct FileNetworkOpenInformation {
  std::uint64_t creation_time = 0;
  std::uint64_t last_access_time = 0;
  std::uint64_t last_write_time = 0;
  std::uint64_t change_time = 0;
  std::uint64_t allocation_size = 0;
  std::uint64_t end_of_file = 0;
  std::uint32_t file_attributes = 0;
};
inline constexpr std::size_t kFileNetworkOpenInformationSize = 56;

struct FileAttributeTagInformation {  // 2.4.6, 8 bytes
  std::uint32_t file_attributes = 0;
  std::uint32_t reparse_tag = 0;
};

// 2.4.43: one entry per stream; a file has the unnamed data stream "::$DATA".
struct FileStreamEntry {
  std::string stream_name;
  std::uint64_t stream_size = 0;
  std::uint64_t stream_allocation_size = 0;
};

void encode(const FileBasicInformation& v, ByteWriter& w);
void encode(const FileStandardInformation& v, ByteWriter& w);
void encode(const FileInternalInformation& v, ByteWriter& w);
void encode(const FileEaInformation& v, ByteWriter& w);
void encode(const FileAccessInformation& v, ByteWriter& w);
void encode(const FilePositionInformation& v, ByteWriter& w);
void encode(const FileModeInformation& v, ByteWriter& w);
void encode(const FileAlignmentInformation& v, ByteWriter& w);
void encode(const FileNameInformation& v, ByteWriter& w);
void encode(const FileAllInformation& v, ByteWriter& w);
void encode(const FileNetworkOpenInformation& v, ByteWriter& w);
void encode(const FileAttributeTagInformation& v, ByteWriter& w);
// Entries chained by NextEntryOffset, each starting 8-byte aligned (2.4.43).
void encode(std::span<const FileStreamEntry> streams, ByteWriter& w);

// ---- Set classes (decoders; `in` is exactly the SET_INFO input buffer) ----

// 2.4.37.2: the SMB2 form (FILE_RENAME_INFORMATION_TYPE_2).
struct FileRenameInformation {
  bool replace_if_exists = false;
  std::uint64_t root_directory = 0;
  std::string file_name;  // as sent, backslash separated
};
struct FileDispositionInformation {  // 2.4.11
  bool delete_pending = false;
};
struct FileDispositionInformationEx {  // 2.4.12
  std::uint32_t flags = 0;
};
struct FileEndOfFileInformation {  // 2.4.14
  std::uint64_t end_of_file = 0;
};
struct FileAllocationInformation {  // 2.4.4
  std::uint64_t allocation_size = 0;
};
// 2.4.15: one extended attribute.
struct FileFullEaEntry {
  std::uint8_t flags = 0;
  std::string ea_name;
  Bytes ea_value;
};

// All return INFO_LENGTH_MISMATCH when `in` is shorter than the structure, and
// INVALID_PARAMETER for malformed contents (names that are not UTF-16, bad offsets).
NtStatus decode(ByteSpan in, FileBasicInformation& out);
NtStatus decode(ByteSpan in, FileRenameInformation& out);
// The client's side of the two set classes it sends.
void encode(const FileRenameInformation& v, ByteWriter& w);
void encode(const FileDispositionInformation& v, ByteWriter& w);
NtStatus decode(ByteSpan in, FileDispositionInformation& out);
NtStatus decode(ByteSpan in, FileDispositionInformationEx& out);
NtStatus decode(ByteSpan in, FileEndOfFileInformation& out);
NtStatus decode(ByteSpan in, FileAllocationInformation& out);
NtStatus decode(ByteSpan in, FilePositionInformation& out);
NtStatus decode(ByteSpan in, FileModeInformation& out);  // unknown mode bits: INVALID_PARAMETER
NtStatus decode(ByteSpan in, std::vector<FileFullEaEntry>& out);
// A FILE_FULL_EA_INFORMATION list: each entry 4-byte aligned but the last, as Samba
// writes it (so the size of the whole list is the EaSize it reports).
void encode(const std::vector<FileFullEaEntry>& entries, ByteWriter& w);
// The bytes one entry takes, without the padding after it.
std::size_t encoded_size(const FileFullEaEntry& e);
// 2.4.15.1 FILE_GET_EA_INFORMATION: the names a query asks for. Every entry must lie
// inside `in` and each NextEntryOffset must move past its entry (a list cannot loop);
// otherwise INVALID_PARAMETER.
NtStatus decode_get_ea_list(ByteSpan in, std::vector<std::string>& names);

// ---- File system classes ([MS-FSCC] 2.5) ----

struct FileFsVolumeInformation {  // 2.5.9, 18 bytes + label
  std::uint64_t volume_creation_time = 0;
  std::uint32_t volume_serial_number = 0;
  bool supports_objects = false;
  std::string volume_label;
};
struct FileFsSizeInformation {  // 2.5.8, 24 bytes
  std::uint64_t total_allocation_units = 0;
  std::uint64_t available_allocation_units = 0;
  std::uint32_t sectors_per_allocation_unit = 0;
  std::uint32_t bytes_per_sector = 0;
};
struct FileFsFullSizeInformation {  // 2.5.4, 32 bytes
  std::uint64_t total_allocation_units = 0;
  std::uint64_t caller_available_allocation_units = 0;
  std::uint64_t actual_available_allocation_units = 0;
  std::uint32_t sectors_per_allocation_unit = 0;
  std::uint32_t bytes_per_sector = 0;
};
struct FileFsDeviceInformation {  // 2.5.10, 8 bytes
  std::uint32_t device_type = FILE_DEVICE_DISK;
  std::uint32_t characteristics = 0;
};
struct FileFsAttributeInformation {  // 2.5.1, 12 bytes + name
  std::uint32_t file_system_attributes = 0;
  std::int32_t maximum_component_name_length = 255;
  std::string file_system_name;
};
struct FileFsSectorSizeInformation {  // 2.5.7, 28 bytes
  std::uint32_t logical_bytes_per_sector = 512;
  std::uint32_t physical_bytes_per_sector_for_atomicity = 512;
  std::uint32_t physical_bytes_per_sector_for_performance = 512;
  std::uint32_t file_system_effective_physical_bytes_per_sector_for_atomicity = 512;
  std::uint32_t flags = 0;
  std::uint32_t byte_offset_for_sector_alignment = 0;
  std::uint32_t byte_offset_for_partition_alignment = 0;
};
// 2.5.7 Flags.
inline constexpr std::uint32_t SSINFO_FLAGS_ALIGNED_DEVICE = 0x00000001;
inline constexpr std::uint32_t SSINFO_FLAGS_PARTITION_ALIGNED_ON_DEVICE = 0x00000002;
inline constexpr std::uint32_t SSINFO_FLAGS_NO_SEEK_PENALTY = 0x00000004;
inline constexpr std::uint32_t SSINFO_FLAGS_TRIM_ENABLED = 0x00000008;

struct FileFsObjectIdInformation {  // 2.5.6, 64 bytes
  std::array<std::uint8_t, 16> object_id{};
  std::array<std::uint8_t, 48> extended_info{};
};

void encode(const FileFsVolumeInformation& v, ByteWriter& w);
void encode(const FileFsSizeInformation& v, ByteWriter& w);
void encode(const FileFsFullSizeInformation& v, ByteWriter& w);
void encode(const FileFsDeviceInformation& v, ByteWriter& w);
void encode(const FileFsAttributeInformation& v, ByteWriter& w);
void encode(const FileFsSectorSizeInformation& v, ByteWriter& w);
void encode(const FileFsObjectIdInformation& v, ByteWriter& w);

// ---- Directory enumeration classes ([MS-FSCC] 2.4, [MS-SMB2] 2.2.33) ----

// The union of what the directory classes carry; each class encodes its own subset.
struct DirectoryEntry {
  std::uint32_t file_index = 0;
  std::uint64_t creation_time = 0;
  std::uint64_t last_access_time = 0;
  std::uint64_t last_write_time = 0;
  std::uint64_t change_time = 0;
  std::uint64_t end_of_file = 0;
  std::uint64_t allocation_size = 0;
  std::uint32_t file_attributes = 0;
  std::uint32_t ea_size = 0;
  std::uint32_t reparse_point_tag = 0;  // FileIdExtdDirectoryInformation only
  std::uint64_t file_id = 0;            // 128-bit FileId in the Extd class: zero-extended
  std::string short_name;               // 8.3 name for the Both classes, at most 12 chars
  std::string file_name;
};

// True for the classes QUERY_DIRECTORY accepts ([MS-SMB2] 2.2.33).
bool is_directory_class(FileInfoClass c);
// Size of the fixed part of one entry of class `c` (the offset of FileName).
std::size_t directory_entry_fixed_size(FileInfoClass c);

// Appends directory entries of one class into a bounded output buffer: each entry
// starts 8-byte aligned relative to `base` (the writer size when constructed), and the
// previous entry's NextEntryOffset is patched to point at it; the last entry keeps 0
// and is not padded ([MS-FSCC] 2.4, [MS-SMB2] 3.3.5.18).
class DirectoryEntryWriter {
 public:
  DirectoryEntryWriter(ByteWriter& out, FileInfoClass info_class, std::size_t max_bytes);

  // Appends `e` if it fits entirely within max_bytes; otherwise writes nothing and
  // returns false, so the caller can stop and return the entry on the next request.
  bool append(const DirectoryEntry& e);

  std::size_t count() const { return count_; }
  // Bytes written so far (from `base`), i.e. the OutputBufferLength to report.
  std::size_t size() const { return out_.size() - base_; }

 private:
  ByteWriter& out_;
  FileInfoClass class_;
  std::size_t max_bytes_;
  std::size_t base_;
  std::size_t last_entry_ = 0;
  std::size_t count_ = 0;
};

}  // namespace smb::fscc
