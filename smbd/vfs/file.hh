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
  // A symbolic link itself (one not followed): FILE_ATTRIBUTE_REPARSE_POINT is set and
  // this is IO_REPARSE_TAG_SYMLINK ([MS-FSCC] 2.4.6, 2.4.17: EaSize carries it).
  std::uint32_t reparse_tag = 0;
};

// DOS attributes and the creation time are kept in Samba's `user.DOSATTRIB`
// (dos_attrib.hh) when the share stores them (`store dos attributes`, Samba's default)
// and the file system allows it. READONLY is the stored bit or a mode without the
// owner's write bit; DIRECTORY always comes from the mode; a name starting with '.' is
// HIDDEN (Samba's `hide dot files`). A file without the attribute gets what Samba
// derives: ARCHIVE for files, the creation time from the file system's birth time.
inline constexpr const char* kDosAttribXattr = "user.DOSATTRIB";
// The attributes the extended attribute stores (Samba keeps these too).
inline constexpr std::uint32_t kStoredAttributes =
    file_attribute::FILE_ATTRIBUTE_READONLY | file_attribute::FILE_ATTRIBUTE_HIDDEN |
    file_attribute::FILE_ATTRIBUTE_SYSTEM | file_attribute::FILE_ATTRIBUTE_ARCHIVE |
    file_attribute::FILE_ATTRIBUTE_TEMPORARY | file_attribute::FILE_ATTRIBUTE_SPARSE_FILE |
    file_attribute::FILE_ATTRIBUTE_OFFLINE | file_attribute::FILE_ATTRIBUTE_NOT_CONTENT_INDEXED;

// A change of a file's times and attributes ([MS-FSA] 2.1.5.14.2 FileBasicInformation):
// a time of 0, -1 or -2 and attributes of 0 mean "no change".
struct BasicInfoChange {
  std::uint64_t creation_time = 0;
  std::uint64_t last_access_time = 0;
  std::uint64_t last_write_time = 0;
  std::uint64_t change_time = 0;
  std::uint32_t file_attributes = 0;
  // Where the attributes and creation time go: user.DOSATTRIB (Samba's `store dos
  // attributes = yes`), or nowhere but the mode (READONLY only).
  bool store_dos_attributes = true;
};

// statx of an open descriptor (regular or O_PATH). `name` is the file's last path
// component, used only for the '.'-means-HIDDEN default.
NtStatus query_info(int fd, std::string_view name, FileInfo& out);

// The attributes a file gets when nothing is stored for it.
std::uint32_t default_attributes(std::string_view name, bool is_directory, mode_t mode);

// [MS-FSA] 2.1.5.14.2 FileBasicInformation (SPARSE is left as it is: only
// FSCTL_SET_SPARSE changes it, through set_sparse). The creation time is stored with the
// attributes; the change time (ctime) cannot be set on POSIX and is accepted and left
// to the kernel, as Samba does. `name` as for query_info.
NtStatus set_basic_info(int fd, std::string_view name, const BasicInfoChange& change);

// Whether the file behind `fd` may be deleted ([MS-FSA] 2.1.5.14.3
// FileDispositionInformation): CANNOT_DELETE for a read-only file, DIRECTORY_NOT_EMPTY
// for a directory with entries.
NtStatus check_delete(int fd);
// Stores the attributes of a file or directory just created, with its birth time as
// the creation time, as Samba does for every new file on a share storing them.
NtStatus store_new_file_attributes(int fd, std::uint32_t attributes);
// FSCTL_SET_SPARSE's record of the SPARSE attribute ([MS-FSA] 2.1.5.9.30), kept with the
// others in user.DOSATTRIB (the file system decides where the holes are); a file system
// without user extended attributes cannot keep it: NOT_SUPPORTED.
NtStatus set_sparse(int fd, std::string_view name, bool sparse);
// Puts a file's last write time back to `nt_time` (what a write changed, on an open whose
// LastWriteTime was set to -1: [MS-FSA] 2.1.5.14.2).
NtStatus set_last_write_time(int fd, std::uint64_t nt_time);
// Sets ARCHIVE once a file's data has been changed, as Windows does, when the share
// stores DOS attributes and the bit is not set yet.
NtStatus mark_archive(int fd, std::string_view name);

}  // namespace smb::vfs
