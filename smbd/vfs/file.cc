#include "smbd/vfs/file.hh"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <memory>
#include <string>

#include "smbd/base/errno_map.hh"
#include "smbd/base/unique_fd.hh"
#include "smbd/vfs/dos_attrib.hh"
#include "smbd/vfs/nt_time.hh"

namespace smb::vfs {

namespace fa = file_attribute;

namespace {

std::uint64_t nt_time(const struct statx_timestamp& t) {
  return nt_time_from_unix(t.tv_sec, t.tv_nsec);
}

// /proc/self/fd/N names the very file behind `fd`, O_PATH descriptors included, which
// have no xattr calls of their own.
std::string proc_path(int fd) { return "/proc/self/fd/" + std::to_string(fd); }

// The stored attributes and creation time; empty when there are none or they are
// malformed (the file then gets what is derived, as with Samba).
DosAttrib read_dos_xattr(int fd) {
  std::uint8_t buf[kMaxDosAttribXattrSize];
  ssize_t n = ::fgetxattr(fd, kDosAttribXattr, buf, sizeof buf);
  if (n < 0 && errno == EBADF)
    n = ::getxattr(proc_path(fd).c_str(), kDosAttribXattr, buf, sizeof buf);
  DosAttrib out;
  if (n <= 0 ||
      decode_dos_attrib(ByteSpan(buf, static_cast<std::size_t>(n)), out) != NtStatus::SUCCESS) {
    return DosAttrib{};
  }
  return out;
}

bool write_dos_xattr(int fd, bool is_directory, std::uint32_t attributes,
                     std::uint64_t creation_time) {
  DosAttrib x;
  // Samba keeps DIRECTORY in the stored attributes of a directory.
  x.attributes = (attributes & kStoredAttributes) |
                 (is_directory ? fa::FILE_ATTRIBUTE_DIRECTORY : std::uint32_t{0});
  x.creation_time = creation_time;
  const Bytes value = encode_dos_attrib_v5(x);
  // File systems without user extended attributes keep the defaults; a client
  // setting HIDDEN or SYSTEM there is not an error worth failing the request for.
  if (::fsetxattr(fd, kDosAttribXattr, value.data(), value.size(), 0) == 0) return true;
  if (errno != EBADF) return false;
  return ::setxattr(proc_path(fd).c_str(), kDosAttribXattr, value.data(), value.size(), 0) == 0;
}

// The birth time, or what stands in for it where the file system keeps none.
std::uint64_t birth_time(const struct statx& stx) {
  if ((stx.stx_mask & STATX_BTIME) != 0) return nt_time(stx.stx_btime);
  return std::min(nt_time(stx.stx_mtime), nt_time(stx.stx_ctime));
}

NtStatus statx_fd(int fd, struct statx& stx) {
  if (::statx(fd, "", AT_EMPTY_PATH | AT_STATX_SYNC_AS_STAT, STATX_BASIC_STATS | STATX_BTIME,
              &stx) != 0) {
    return last_error();
  }
  return NtStatus::SUCCESS;
}

void fill_info(const struct statx& stx, std::string_view name, int fd, FileInfo& out) {
  out = FileInfo{};
  out.is_directory = S_ISDIR(stx.stx_mode);
  out.mode = stx.stx_mode;
  out.last_access_time = nt_time(stx.stx_atime);
  out.last_write_time = nt_time(stx.stx_mtime);
  out.change_time = nt_time(stx.stx_ctime);
  out.creation_time = birth_time(stx);
  if (!out.is_directory) {
    out.end_of_file = stx.stx_size;
    out.allocation_size = stx.stx_blocks * 512;
    out.number_of_links = stx.stx_nlink;
  } else {
    out.number_of_links = 1;
  }
  out.file_id = stx.stx_ino;
  out.device = (static_cast<std::uint64_t>(stx.stx_dev_major) << 32) | stx.stx_dev_minor;

  const DosAttrib stored = read_dos_xattr(fd);
  if (stored.creation_time) out.creation_time = *stored.creation_time;
  std::uint32_t attrs = 0;
  if (stored.attributes) {
    attrs = *stored.attributes & kStoredAttributes;
    if (out.is_directory) attrs &= ~fa::FILE_ATTRIBUTE_TEMPORARY;
  } else {
    attrs = default_attributes(name, out.is_directory, out.mode) & kStoredAttributes;
  }
  // A name starting with '.' is HIDDEN whatever is stored (Samba's `hide dot files`).
  attrs |= default_attributes(name, out.is_directory, out.mode) & fa::FILE_ATTRIBUTE_HIDDEN;
  if (out.is_directory) attrs |= fa::FILE_ATTRIBUTE_DIRECTORY;
  // READONLY is also the owner write bit, for files only: on a directory Windows
  // reads the bit as "customised folder", not as protection.
  if (!out.is_directory && (out.mode & S_IWUSR) == 0) attrs |= fa::FILE_ATTRIBUTE_READONLY;
  if (S_ISLNK(stx.stx_mode)) {
    // A symbolic link seen as itself: a reparse point with no data of its own.
    attrs |= fa::FILE_ATTRIBUTE_REPARSE_POINT;
    out.reparse_tag = IO_REPARSE_TAG_SYMLINK;
    out.end_of_file = 0;
    out.allocation_size = 0;
  }
  if (attrs == 0) attrs = fa::FILE_ATTRIBUTE_NORMAL;
  out.file_attributes = attrs;
}

}  // namespace

std::uint32_t default_attributes(std::string_view name, bool is_directory, mode_t mode) {
  std::uint32_t attrs = 0;
  if (is_directory) attrs |= fa::FILE_ATTRIBUTE_DIRECTORY;
  if (!is_directory) attrs |= fa::FILE_ATTRIBUTE_ARCHIVE;
  if (!is_directory && (mode & S_IWUSR) == 0) attrs |= fa::FILE_ATTRIBUTE_READONLY;
  if (!name.empty() && name.front() == '.' && name != "." && name != "..") {
    attrs |= fa::FILE_ATTRIBUTE_HIDDEN;
  }
  return attrs;
}

NtStatus query_info(int fd, std::string_view name, FileInfo& out) {
  struct statx stx {};
  if (NtStatus st = statx_fd(fd, stx); st != NtStatus::SUCCESS) return st;
  fill_info(stx, name, fd, out);
  return NtStatus::SUCCESS;
}

NtStatus set_basic_info(int fd, std::string_view name, const BasicInfoChange& change) {
  struct statx stx {};
  if (NtStatus st = statx_fd(fd, stx); st != NtStatus::SUCCESS) return st;
  const mode_t mode = stx.stx_mode;
  const bool is_directory = S_ISDIR(mode);

  std::uint32_t attrs = change.file_attributes;
  if (attrs != 0) {
    // [MS-FSA] 2.1.5.14.2: DIRECTORY on a file and TEMPORARY on a directory are invalid.
    if ((attrs & fa::FILE_ATTRIBUTE_DIRECTORY) != 0 && !is_directory) {
      return NtStatus::INVALID_PARAMETER;
    }
    if ((attrs & fa::FILE_ATTRIBUTE_TEMPORARY) != 0 && is_directory) {
      return NtStatus::INVALID_PARAMETER;
    }
  }

  timespec times[2];
  times[0].tv_nsec = UTIME_OMIT;
  times[1].tv_nsec = UTIME_OMIT;
  times[0].tv_sec = times[1].tv_sec = 0;
  if (!nt_time_is_no_change(change.last_access_time)) {
    times[0] = timespec_from_nt_time(change.last_access_time);
  }
  if (!nt_time_is_no_change(change.last_write_time)) {
    times[1] = timespec_from_nt_time(change.last_write_time);
  }
  if (times[0].tv_nsec != UTIME_OMIT || times[1].tv_nsec != UTIME_OMIT) {
    if (::futimens(fd, times) != 0) return last_error();
  }

  const bool set_creation =
      change.store_dos_attributes && !nt_time_is_no_change(change.creation_time);
  if (attrs == 0 && !set_creation) return NtStatus::SUCCESS;
  const bool is_readonly = !is_directory && (mode & S_IWUSR) == 0;
  const bool want_readonly =
      attrs != 0 ? !is_directory && (attrs & fa::FILE_ATTRIBUTE_READONLY) != 0 : is_readonly;
  // Clearing READONLY first and setting it last keeps the file writable while its
  // extended attribute is written.
  if (is_readonly && !want_readonly) {
    if (::fchmod(fd, (mode & 07777) | S_IWUSR) != 0) return last_error();
  }
  if (change.store_dos_attributes) {
    const DosAttrib current = read_dos_xattr(fd);
    const std::uint32_t current_attrs =
        current.attributes ? *current.attributes & kStoredAttributes
                           : default_attributes(name, is_directory, mode) & kStoredAttributes;
    const std::uint64_t current_creation = current.creation_time.value_or(birth_time(stx));
    // SPARSE is FSCTL_SET_SPARSE's to change, not FileBasicInformation's: kept as it is.
    const std::uint32_t wanted =
        attrs != 0 ? (attrs & kStoredAttributes & ~fa::FILE_ATTRIBUTE_SPARSE_FILE) |
                         (current_attrs & fa::FILE_ATTRIBUTE_SPARSE_FILE)
                   : current_attrs;
    const std::uint64_t creation = set_creation ? change.creation_time : current_creation;
    if (!current.attributes || wanted != current_attrs || creation != current_creation) {
      write_dos_xattr(fd, is_directory, wanted, creation);
    }
  }
  if (want_readonly && !is_readonly) {
    if (::fchmod(fd, (mode & 07777) & ~mode_t{0222}) != 0) return last_error();
  }
  return NtStatus::SUCCESS;
}

NtStatus store_new_file_attributes(int fd, std::uint32_t attributes) {
  struct statx stx {};
  if (NtStatus st = statx_fd(fd, stx); st != NtStatus::SUCCESS) return st;
  write_dos_xattr(fd, S_ISDIR(stx.stx_mode), attributes, birth_time(stx));
  return NtStatus::SUCCESS;
}

NtStatus set_sparse(int fd, std::string_view name, bool sparse) {
  struct statx stx {};
  if (NtStatus st = statx_fd(fd, stx); st != NtStatus::SUCCESS) return st;
  const bool is_directory = S_ISDIR(stx.stx_mode);
  const DosAttrib current = read_dos_xattr(fd);
  std::uint32_t attrs =
      current.attributes.value_or(default_attributes(name, is_directory, stx.stx_mode));
  attrs = sparse ? attrs | fa::FILE_ATTRIBUTE_SPARSE_FILE : attrs & ~fa::FILE_ATTRIBUTE_SPARSE_FILE;
  // A file system without user extended attributes cannot keep the flag.
  if (!write_dos_xattr(fd, is_directory, attrs, current.creation_time.value_or(birth_time(stx))))
    return NtStatus::NOT_SUPPORTED;
  return NtStatus::SUCCESS;
}

NtStatus set_last_write_time(int fd, std::uint64_t nt_time) {
  timespec times[2];
  times[0].tv_sec = 0;
  times[0].tv_nsec = UTIME_OMIT;
  times[1] = timespec_from_nt_time(nt_time);
  return ::futimens(fd, times) == 0 ? NtStatus::SUCCESS : last_error();
}

NtStatus mark_archive(int fd, std::string_view name) {
  struct statx stx {};
  if (NtStatus st = statx_fd(fd, stx); st != NtStatus::SUCCESS) return st;
  if (S_ISDIR(stx.stx_mode)) return NtStatus::SUCCESS;
  const DosAttrib current = read_dos_xattr(fd);
  const std::uint32_t attrs =
      current.attributes.value_or(default_attributes(name, false, stx.stx_mode));
  if (current.attributes && (attrs & fa::FILE_ATTRIBUTE_ARCHIVE) != 0) return NtStatus::SUCCESS;
  write_dos_xattr(fd, false, attrs | fa::FILE_ATTRIBUTE_ARCHIVE,
                  current.creation_time.value_or(birth_time(stx)));
  return NtStatus::SUCCESS;
}

NtStatus check_delete(int fd) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) return last_error();
  if (!S_ISDIR(st.st_mode)) {
    // [MS-FSA] 2.1.5.14.3: a read-only file cannot be marked for deletion.
    const DosAttrib stored = read_dos_xattr(fd);
    const bool readonly =
        (st.st_mode & S_IWUSR) == 0 ||
        (stored.attributes && (*stored.attributes & fa::FILE_ATTRIBUTE_READONLY) != 0);
    return readonly ? NtStatus::CANNOT_DELETE : NtStatus::SUCCESS;
  }
  UniqueFd dir(::openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!dir) return last_error();
  std::unique_ptr<DIR, int (*)(DIR*)> stream(::fdopendir(dir.get()), &::closedir);
  if (!stream) return last_error();
  (void)dir.release();  // owned by the DIR stream now
  errno = 0;
  while (const dirent* e = ::readdir(stream.get())) {
    std::string_view n = e->d_name;
    if (n != "." && n != "..") return NtStatus::DIRECTORY_NOT_EMPTY;
  }
  return errno == 0 ? NtStatus::SUCCESS : last_error();
}

}  // namespace smb::vfs
