#include "smbd/vfs/symlink.hh"

#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>

#include "smbd/base/errno_map.hh"

namespace smb::vfs {

NtStatus read_symlink(int dirfd, const std::string& name, std::string& target) {
  struct stat st {};
  const int flags = AT_SYMLINK_NOFOLLOW | (name.empty() ? AT_EMPTY_PATH : 0);
  if (::fstatat(dirfd, name.c_str(), &st, flags) != 0) return last_error();
  if (!S_ISLNK(st.st_mode)) return NtStatus::NOT_A_REPARSE_POINT;
  std::array<char, PATH_MAX> buffer{};
  const ssize_t n = ::readlinkat(dirfd, name.c_str(), buffer.data(), buffer.size());
  if (n < 0) return last_error();
  // A target of PATH_MAX bytes or more cannot be a path the kernel resolves.
  if (static_cast<std::size_t>(n) >= buffer.size()) return NtStatus::NAME_TOO_LONG;
  target.assign(buffer.data(), static_cast<std::size_t>(n));
  return NtStatus::SUCCESS;
}

}  // namespace smb::vfs
