// The NT view of one POSIX file, and the operations on an open file descriptor.
// Every function here works on a descriptor obtained through Share (share.hh), never
// on a path string, and is safe to call from several threads at once.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "smbd/base/bytes.hh"
#include "smbd/proto/fscc.hh"
#include "smbd/base/ntstatus.hh"

namespace smb::vfs {

// What QUERY_INFO and QUERY_DIRECTORY report about a file ([MS-FSCC] 2.4).
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
    fscc::file_attribute::FILE_ATTRIBUTE_HIDDEN | fscc::file_attribute::FILE_ATTRIBUTE_SYSTEM |
    fscc::file_attribute::FILE_ATTRIBUTE_ARCHIVE | fscc::file_attribute::FILE_ATTRIBUTE_TEMPORARY |
    fscc::file_attribute::FILE_ATTRIBUTE_OFFLINE |
    fscc::file_attribute::FILE_ATTRIBUTE_NOT_CONTENT_INDEXED;

// statx of an open descriptor (regular or O_PATH). `name` is the file's last path
// component, used only for the '.'-means-HIDDEN default.
NtStatus query_info(int fd, std::string_view name, FileInfo& out);

// The attributes a file gets when nothing is stored for it.
std::uint32_t default_attributes(std::string_view name, bool is_directory, mode_t mode);

// Reads from `offset` until `buffer` is full or the end of the file; `done` is the
// number of bytes read. END_OF_FILE when nothing could be read ([MS-SMB2] 3.3.5.12).
NtStatus read(int fd, std::uint64_t offset, MutableByteSpan buffer, std::size_t& done);
// Writes all of `data` at `offset` (short writes are retried); `done` as for read.
NtStatus write(int fd, std::uint64_t offset, ByteSpan data, std::size_t& done);
// FLUSH: fsync(2).
NtStatus flush(int fd);
// [MS-FSA] 2.1.5.14.5 FileEndOfFileInformation.
NtStatus set_end_of_file(int fd, std::uint64_t end_of_file);
// [MS-FSA] 2.1.5.14.3 FileAllocationInformation: reserves space without changing
// the size (fallocate KEEP_SIZE, ignored where unsupported); a smaller allocation
// than the current size truncates the file to it.
NtStatus set_allocation_size(int fd, std::uint64_t allocation_size);
// The growing half of set_allocation_size: reserves blocks up to `allocation_size`
// without changing the size; never truncates.
NtStatus reserve_allocation(int fd, std::uint64_t allocation_size);
// [MS-FSA] 2.1.5.14.2 FileBasicInformation: times 0 / -1 / -2 mean no change; the
// creation and change times cannot be set on POSIX and are ignored; attributes 0
// mean no change. `name` as for query_info.
NtStatus set_basic_info(int fd, std::string_view name, const fscc::FileBasicInformation& info);
// Whether the file behind `fd` may be deleted ([MS-FSA] 2.1.5.14.3
// FileDispositionInformation): CANNOT_DELETE for a read-only file, DIRECTORY_NOT_EMPTY
// for a directory with entries.
NtStatus check_delete(int fd);

// Conversions to the wire structures.
fscc::FileBasicInformation to_basic(const FileInfo& i);
fscc::FileStandardInformation to_standard(const FileInfo& i, bool delete_pending);
fscc::FileNetworkOpenInformation to_network_open(const FileInfo& i);
fscc::DirectoryEntry to_directory_entry(std::string_view name, const FileInfo& i);

}  // namespace smb::vfs
