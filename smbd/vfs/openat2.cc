#include "vfs/openat2.hh"

#include <fcntl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>

#include "vfs/errno_map.hh"

namespace smb::vfs {

int openat2_fd(int dirfd, const char* path, std::uint64_t flags, std::uint64_t mode,
               std::uint64_t resolve) {
  open_how how{};
  how.flags = flags | O_CLOEXEC;
  how.mode = mode;
  how.resolve = resolve;
  for (int attempt = 0;; ++attempt) {
    const long fd = ::syscall(SYS_openat2, dirfd, path, &how, sizeof how);
    if (fd < 0 && (errno == EAGAIN || errno == EINTR) && attempt < 8) continue;
    return static_cast<int>(fd);
  }
}

NtStatus resolve_error(int err, bool intermediate) {
  switch (err) {
    case EXDEV:
    case ELOOP:
      return NtStatus::ACCESS_DENIED;
    case ENOENT:
    case ENOTDIR:
      return intermediate ? NtStatus::OBJECT_PATH_NOT_FOUND : NtStatus::OBJECT_NAME_NOT_FOUND;
    default:
      return errno_to_ntstatus(err);
  }
}

}  // namespace smb::vfs
