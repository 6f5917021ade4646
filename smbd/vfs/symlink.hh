// Symbolic links the server does not follow: those that lead out of the share or
// nowhere (share.hh resolves every path beneath the share root, so such a link is never
// followed). They are shown as reparse points ([MS-FSCC] 2.1.2.4): a CREATE that meets one
// stops there (STATUS_STOPPED_ON_SYMLINK with the link's target, [MS-SMB2] 2.2.2.2.1), a
// CREATE with FILE_OPEN_REPARSE_POINT opens the link itself, and FSCTL_GET_REPARSE_POINT
// reads its target. Links that stay inside the share are followed and look like what
// they point to, as Samba shows them.
#pragma once

#include <cstdint>
#include <string>

#include "smbd/base/ntstatus.hh"

namespace smb::vfs {

// Where a CREATE stopped: the link's target as stored (readlink(2)), and the size in
// bytes (UTF-16) of the part of the CREATE's path after the link.
struct SymlinkStop {
  std::string target;
  std::uint16_t unparsed_path_length = 0;
};

// The target of the symbolic link `name` in directory `dirfd`, or of the link `dirfd`
// itself (an O_PATH | O_NOFOLLOW descriptor) when `name` is empty. NOT_A_REPARSE_POINT
// when it is no symbolic link.
NtStatus read_symlink(int dirfd, const std::string& name, std::string& target);

}  // namespace smb::vfs
