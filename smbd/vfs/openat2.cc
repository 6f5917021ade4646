#include "smbd/vfs/openat2.hh"

#include <fcntl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <thread>

#include "smbd/base/errno_map.hh"

namespace smb::vfs {

int openat2_fd(int dirfd, const char* path, std::uint64_t flags, std::uint64_t mode,
               std::uint64_t resolve) {
  open_how how{};
  how.flags = flags | O_CLOEXEC;
  how.mode = mode;
  how.resolve = resolve;
  // EAGAIN/EWOULDBLOCK on a non-blocking open means another descriptor holds a kernel
  // lease (an oplock) on the file and the kernel has asked its holder to let go. The holder
  // answers within the oplock break timeout; this runs on a pool thread, so it waits.
  constexpr auto kLeaseBreakWait = std::chrono::seconds(40);
  const auto deadline = std::chrono::steady_clock::now() + kLeaseBreakWait;
  for (;;) {
    const long fd = ::syscall(SYS_openat2, dirfd, path, &how, sizeof how);
    if (fd >= 0 || (errno != EAGAIN && errno != EINTR)) return static_cast<int>(fd);
    if (errno == EAGAIN) {
      if (std::chrono::steady_clock::now() >= deadline) return -1;
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
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
