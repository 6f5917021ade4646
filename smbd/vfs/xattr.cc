#include "smbd/vfs/xattr.hh"

#include <sys/xattr.h>

#include <array>
#include <cerrno>
#include <memory>
#include <string_view>

#include "smbd/base/errno_map.hh"

namespace smb::vfs {

namespace {

std::string proc_path(int fd) { return "/proc/self/fd/" + std::to_string(fd); }

}  // namespace

ssize_t xattr_list(int fd, char* buf, std::size_t size) {
  ssize_t n = ::flistxattr(fd, buf, size);
  if (n < 0 && errno == EBADF) n = ::listxattr(proc_path(fd).c_str(), buf, size);
  return n;
}

ssize_t xattr_get(int fd, const char* name, void* buf, std::size_t size) {
  ssize_t n = ::fgetxattr(fd, name, buf, size);
  if (n < 0 && errno == EBADF) n = ::getxattr(proc_path(fd).c_str(), name, buf, size);
  return n;
}

int xattr_set(int fd, const char* name, const void* value, std::size_t size, int flags) {
  int r = ::fsetxattr(fd, name, value, size, flags);
  if (r != 0 && errno == EBADF) r = ::setxattr(proc_path(fd).c_str(), name, value, size, flags);
  return r;
}

int xattr_remove(int fd, const char* name) {
  int r = ::fremovexattr(fd, name);
  if (r != 0 && errno == EBADF) r = ::removexattr(proc_path(fd).c_str(), name);
  return r;
}

NtStatus xattr_names(int fd, std::vector<std::string>& out, bool (*keep)(std::string_view name)) {
  out.clear();
  // Most files have a few short names: the list is read on the stack, and into a
  // buffer of the largest size Linux returns only when it is longer than that.
  std::array<char, 4096> small;
  std::unique_ptr<char[]> large;
  char* buf = small.data();
  ssize_t n = xattr_list(fd, buf, small.size());
  if (n < 0 && errno == ERANGE) {
    large.reset(new char[kMaxXattrList]);
    buf = large.get();
    n = xattr_list(fd, buf, kMaxXattrList);
  }
  if (n < 0) return errno == ENOTSUP ? NtStatus::SUCCESS : last_error();
  std::string_view list(buf, static_cast<std::size_t>(n));
  while (!list.empty()) {
    const std::size_t end = list.find('\0');
    const std::string_view name = list.substr(0, end);
    list.remove_prefix(end == std::string_view::npos ? list.size() : end + 1);
    if (!name.empty() && (keep == nullptr || keep(name))) out.emplace_back(name);
  }
  return NtStatus::SUCCESS;
}

}  // namespace smb::vfs
