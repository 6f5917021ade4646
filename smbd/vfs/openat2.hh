// openat2(2) (Linux 5.6+; glibc 2.36 has no wrapper) and the resolution flags the vfs
// uses for every lookup.
#pragma once

#include <linux/openat2.h>

#include <cstdint>

#include "smbd/base/ntstatus.hh"

namespace smb::vfs {

// Every lookup beneath the root: no escape through ".." or symlinks (absolute or
// relative), no /proc-style magic links.
inline constexpr std::uint64_t kResolveBeneath = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
// For names just created in a known directory: no symlinks at all.
inline constexpr std::uint64_t kResolveNoLinks =
    RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;

// openat2 with O_CLOEXEC added; retried on EAGAIN (a concurrent rename raced a ".."
// walk under RESOLVE_BENEATH) and EINTR. Returns the descriptor or -1 with errno.
int openat2_fd(int dirfd, const char* path, std::uint64_t flags, std::uint64_t mode,
               std::uint64_t resolve);

// Status for a failed resolution: escapes (EXDEV) and link loops (ELOOP) look like
// refusals (ACCESS_DENIED); ENOENT/ENOTDIR are OBJECT_PATH_NOT_FOUND for an
// intermediate component and OBJECT_NAME_NOT_FOUND for the last ([MS-FSA] 2.1.5.1).
NtStatus resolve_error(int err, bool intermediate);

}  // namespace smb::vfs
