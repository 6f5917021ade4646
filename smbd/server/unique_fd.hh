// The server uses the one owning-descriptor type of the project.
#pragma once

#include "vfs/unique_fd.hh"

namespace smb {
using vfs::UniqueFd;
}  // namespace smb
