// The NT view of one POSIX file: its times, sizes and attributes, and the changes to
// them. The data of an open file is file_data.hh's. Every function here works on a
// descriptor obtained through Share (share.hh), never on a path string, and is safe to
// call from several threads at once.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "smbd/base/ntstatus.hh"
#include "smbd/base/wire.hh"

namespace smb::vfs {

// What QUERY_INFO, QUERY_DIRECTORY, CREATE and CLOSE report about a file; the SMB layer
// puts it into the [MS-FSCC] 2.4 structures.
struct FileInfo {
  std::uint64_t creation_time = 0;  // NT times
  std::uint64_t last_access_time = 0;
  std::uint64_t last_write_time = 0;
  std::uint64_t change_time = 0;
  std::uint64_t allocation_size = 0;
  std::uint64_t end_of_file = 0;
  std::uint32_t file_attributes = 0;
  std::uint32_t number_of_links = 0;
  std::uint64_t file_id = 0;  // the inode number
  std::uint64_t device = 0;   // st_dev, to tell files on different file systems apart
  mode_t mode = 0;            // POSIX mode, for the SMB layer's own checks
  bool is_directory = false;
};

// DOS attributes without a POSIX meaning are kept in this extended attribute as the
// text "0x%x" when the file system allows it; READONLY and DIRECTORY always come
// from the mode. Without it: HIDDEN for names starting with '.', ARCHIVE for files.
inline constexpr const char* kDosAttribXattr = "user.DOSATTRIB";
// The attributes the extended attribute stores.
inline constexpr std::uint32_t kStoredAttributes =
    file_attribute::FILE_ATTRIBUTE_HIDDEN | file_attribute::FILE_ATTRIBUTE_SYSTEM |
    file_attribute::FILE_ATTRIBUTE_ARCHIVE | file_attribute::FILE_ATTRIBUTE_TEMPORARY |
    file_attribute::FILE_ATTRIBUTE_OFFLINE | file_attribute::FILE_ATTRIBUTE_NOT_CONTENT_INDEXED |
    file_attribute::FILE_ATTRIBUTE_SPARSE_FILE;

// A change of a file's times and attributes ([MS-FSA] 2.1.5.14.2 FileBasicInformation):
// a time of 0, -1 or -2 and attributes of 0 mean "no change".
struct BasicInfoChange {
  std::uint64_t creation_time = 0;
  std::uint64_t last_access_time = 0;
  std::uint64_t last_write_time = 0;
  std::uint64_t change_time = 0;
  std::uint32_t file_attributes = 0;
};

// statx of an open descriptor (regular or O_PATH). `name` is the file's last path
// component, used only for the '.'-means-HIDDEN default.
NtStatus query_info(int fd, std::string_view name, FileInfo& out);

// The attributes a file gets when nothing is stored for it.
std::uint32_t default_attributes(std::string_view name, bool is_directory, mode_t mode);

// [MS-FSA] 2.1.5.14.2 FileBasicInformation: the creation and change times cannot be set
// on POSIX and are ignored. `name` as for query_info.
NtStatus set_basic_info(int fd, std::string_view name, const BasicInfoChange& change);
// The SPARSE attribute ([MS-FSA] 2.1.5.9.30 FSCTL_SET_SPARSE), the one stored attribute
// FileBasicInformation does not change: kept with the others in kDosAttribXattr. A file
// system without user extended attributes cannot keep it: NOT_SUPPORTED.
NtStatus set_sparse_flag(int fd, std::string_view name, bool sparse);

// Whether the file behind `fd` may be deleted ([MS-FSA] 2.1.5.14.3
// FileDispositionInformation): CANNOT_DELETE for a read-only file, DIRECTORY_NOT_EMPTY
// for a directory with entries.
NtStatus check_delete(int fd);

}  // namespace smb::vfs
