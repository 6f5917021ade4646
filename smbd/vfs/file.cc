#include "smbd/vfs/file.hh"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <memory>

#include "smbd/base/errno_map.hh"
#include "smbd/base/unique_fd.hh"
#include "smbd/vfs/nt_time.hh"

namespace smb::vfs {

namespace fa = file_attribute;

namespace {

std::uint64_t nt_time(const struct statx_timestamp& t) {
  return nt_time_from_unix(t.tv_sec, t.tv_nsec);
}

// Reads the stored DOS attributes; false when there are none (or they cannot be read).
bool read_dos_xattr(int fd, std::uint32_t& attributes) {
  char buf[32];
  ssize_t n = ::fgetxattr(fd, kDosAttribXattr, buf, sizeof buf);
  if (n < 0 && errno == EBADF) {
    // O_PATH descriptors have no xattr calls of their own; go through the
    // descriptor's /proc entry, which names this very file and nothing else.
    char proc[48];
    std::snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
    n = ::getxattr(proc, kDosAttribXattr, buf, sizeof buf);
  }
  if (n < 3 || buf[0] != '0' || (buf[1] != 'x' && buf[1] != 'X')) return false;
  std::uint32_t value = 0;
  auto [end, ec] = std::from_chars(buf + 2, buf + n, value, 16);
  if (ec != std::errc{}) return false;
  attributes = value & kStoredAttributes;
  return true;
}

// File systems without user extended attributes keep the defaults; a client setting
// HIDDEN or SYSTEM there is not an error worth failing the request for, so most callers
// ignore the result.
bool write_dos_xattr(int fd, std::uint32_t attributes) {
  char buf[16];
  const int n = std::snprintf(buf, sizeof buf, "0x%x", attributes & kStoredAttributes);
  if (::fsetxattr(fd, kDosAttribXattr, buf, static_cast<std::size_t>(n), 0) == 0) return true;
  if (errno != EBADF) return false;
  char proc[48];  // an O_PATH descriptor: as in read_dos_xattr
  std::snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
  return ::setxattr(proc, kDosAttribXattr, buf, static_cast<std::size_t>(n), 0) == 0;
}

void fill_info(const struct statx& stx, std::string_view name, int fd, FileInfo& out) {
  out = FileInfo{};
  out.is_directory = S_ISDIR(stx.stx_mode);
  out.mode = stx.stx_mode;
  out.last_access_time = nt_time(stx.stx_atime);
  out.last_write_time = nt_time(stx.stx_mtime);
  out.change_time = nt_time(stx.stx_ctime);
  if ((stx.stx_mask & STATX_BTIME) != 0) {
    out.creation_time = nt_time(stx.stx_btime);
  } else {
    out.creation_time = std::min(out.last_write_time, out.change_time);
  }
  if (!out.is_directory) {
    out.end_of_file = stx.stx_size;
    out.allocation_size = stx.stx_blocks * 512;
    out.number_of_links = stx.stx_nlink;
  } else {
    out.number_of_links = 1;
  }
  out.file_id = stx.stx_ino;
  out.device = (static_cast<std::uint64_t>(stx.stx_dev_major) << 32) | stx.stx_dev_minor;

  std::uint32_t stored = 0;
  std::uint32_t attrs = 0;
  if (read_dos_xattr(fd, stored)) {
    attrs = stored;
    if (out.is_directory) attrs &= ~fa::FILE_ATTRIBUTE_TEMPORARY;
  } else {
    attrs = default_attributes(name, out.is_directory, out.mode) & kStoredAttributes;
  }
  if (out.is_directory) attrs |= fa::FILE_ATTRIBUTE_DIRECTORY;
  // READONLY is the owner write bit, for files only: on a directory Windows reads
  // the bit as "customised folder", not as protection.
  if (!out.is_directory && (out.mode & S_IWUSR) == 0) attrs |= fa::FILE_ATTRIBUTE_READONLY;
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
  if (::statx(fd, "", AT_EMPTY_PATH | AT_STATX_SYNC_AS_STAT, STATX_BASIC_STATS | STATX_BTIME,
              &stx) != 0) {
    return last_error();
  }
  fill_info(stx, name, fd, out);
  return NtStatus::SUCCESS;
}

NtStatus set_basic_info(int fd, std::string_view name, const BasicInfoChange& change) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) return last_error();
  const bool is_directory = S_ISDIR(st.st_mode);

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

  if (attrs == 0) return NtStatus::SUCCESS;
  const bool want_readonly = !is_directory && (attrs & fa::FILE_ATTRIBUTE_READONLY) != 0;
  const bool is_readonly = !is_directory && (st.st_mode & S_IWUSR) == 0;
  // Clearing READONLY first and setting it last keeps the file writable while its
  // extended attribute is written.
  if (is_readonly && !want_readonly) {
    if (::fchmod(fd, (st.st_mode & 07777) | S_IWUSR) != 0) return last_error();
  }
  std::uint32_t current = 0;
  const bool stored = read_dos_xattr(fd, current);
  // [MS-FSA] 2.1.5.14.2: SPARSE is not changed by FileBasicInformation.
  const std::uint32_t sparse = fa::FILE_ATTRIBUTE_SPARSE_FILE;
  const std::uint32_t wanted = (attrs & kStoredAttributes & ~sparse) | (current & sparse);
  const std::uint32_t defaults =
      default_attributes(name, is_directory, st.st_mode) & kStoredAttributes;
  if ((stored && current != wanted) || (!stored && defaults != wanted)) {
    (void)write_dos_xattr(fd, wanted);
  }
  if (want_readonly && !is_readonly) {
    if (::fchmod(fd, (st.st_mode & 07777) & ~mode_t{0222}) != 0) return last_error();
  }
  return NtStatus::SUCCESS;
}

NtStatus set_sparse_flag(int fd, std::string_view name, bool sparse) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) return last_error();
  std::uint32_t current = 0;
  if (!read_dos_xattr(fd, current)) {
    current = default_attributes(name, S_ISDIR(st.st_mode), st.st_mode) & kStoredAttributes;
  }
  const std::uint32_t wanted =
      sparse ? current | fa::FILE_ATTRIBUTE_SPARSE_FILE : current & ~fa::FILE_ATTRIBUTE_SPARSE_FILE;
  if (wanted == current) return NtStatus::SUCCESS;
  if (!write_dos_xattr(fd, wanted)) {
    return errno == ENOTSUP ? NtStatus::NOT_SUPPORTED : last_error();
  }
  return NtStatus::SUCCESS;
}

NtStatus check_delete(int fd) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) return last_error();
  if (!S_ISDIR(st.st_mode)) {
    // [MS-FSA] 2.1.5.14.3: a read-only file cannot be marked for deletion.
    return (st.st_mode & S_IWUSR) == 0 ? NtStatus::CANNOT_DELETE : NtStatus::SUCCESS;
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
