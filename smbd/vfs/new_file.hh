// The permissions and owner a new file or directory gets, as Samba's share options
// define them (smb.conf(5): create mask, directory mask, force create mode, force
// directory mode, inherit permissions, inherit owner). The file is created by the
// thread acting as the requesting user, so it belongs to that user unless `inherit
// owner` gives it to the owner of its parent directory.
#pragma once

#include <sys/stat.h>
#include <sys/types.h>

#include "smbd/base/ntstatus.hh"

namespace smb::vfs {

struct NewFilePolicy {
  mode_t create_mask = 0744;
  mode_t directory_mask = 0755;
  mode_t force_create_mode = 0;
  mode_t force_directory_mode = 0;
  bool inherit_permissions = false;
  bool inherit_owner = false;
  // `store dos attributes`: a new file's attributes and creation time go to
  // user.DOSATTRIB (file.hh).
  bool store_dos_attributes = true;

  // The mode to create with. Files: the mask, then the forced bits; with inherit
  // permissions instead the read and write bits of the parent directory. Directories:
  // the mask, then the forced bits; with inherit permissions the parent's whole mode
  // (setgid included) instead. Inheritance never passes on setuid.
  mode_t file_mode(mode_t parent_mode) const;
  mode_t directory_mode(mode_t parent_mode) const;
  // Whether the parent directory's status is needed to create an entry.
  bool needs_parent() const { return inherit_permissions || inherit_owner; }
};

// Completes a new file or directory open on `fd`: the setuid, setgid and sticky bits of
// `mode`, which creating does not apply, and with inherit owner the owner of `parent`.
// Giving a file away needs root: that chown runs as the process, on this descriptor
// only, as Samba does it.
NtStatus finish_new_file(int fd, mode_t mode, const NewFilePolicy& policy,
                         const struct stat* parent);

}  // namespace smb::vfs
