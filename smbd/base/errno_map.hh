// The one place errno becomes an NTSTATUS ([MS-ERREF] 2.3.1).
#pragma once

#include "smbd/base/ntstatus.hh"

namespace smb {

// Generic mapping. Path resolution refines two cases itself: EXDEV from openat2
// (a symlink or ".." that leaves the share) and ELOOP (too many links) both become
// ACCESS_DENIED there, so a client cannot tell an escape attempt from a refusal;
// ENOTDIR on an intermediate component becomes OBJECT_PATH_NOT_FOUND.
NtStatus errno_to_ntstatus(int err);

// errno_to_ntstatus(errno), for use right after a failed call.
NtStatus last_error();

}  // namespace smb
