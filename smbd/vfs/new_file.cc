#include "smbd/vfs/new_file.hh"

#include <unistd.h>

#include "smbd/base/credentials.hh"
#include "smbd/base/errno_map.hh"

namespace smb::vfs {

namespace {
constexpr mode_t kReadWrite = S_IRUSR | S_IWUSR | S_IRGRP | S_IWGRP | S_IROTH | S_IWOTH;
constexpr mode_t kSpecial = S_ISUID | S_ISGID | S_ISVTX;
}  // namespace

mode_t NewFilePolicy::file_mode(mode_t parent_mode) const {
  if (inherit_permissions) return parent_mode & kReadWrite;
  return ((create_mask & 0777) | force_create_mode) & 07777;
}

mode_t NewFilePolicy::directory_mode(mode_t parent_mode) const {
  // An inherited directory mode is never read-only for the owner (Samba: under DOS a
  // user can always create files in a read-only directory).
  if (inherit_permissions) return ((parent_mode & 07777) | S_IWUSR) & ~mode_t{S_ISUID};
  return ((directory_mask & 0777) | force_directory_mode) & 07777;
}

NtStatus finish_new_file(int fd, mode_t mode, const NewFilePolicy& policy,
                         const struct stat* parent) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) return last_error();
  if ((mode & kSpecial & ~st.st_mode) != 0) {
    if (::fchmod(fd, (st.st_mode & 07777) | (mode & kSpecial)) != 0) return last_error();
  }
  if (policy.inherit_owner && parent != nullptr && parent->st_uid != st.st_uid) {
    credentials::IdentityScope as_process(credentials::process_identity());
    if (!as_process.ok()) return NtStatus::ACCESS_DENIED;
    if (::fchown(fd, parent->st_uid, static_cast<gid_t>(-1)) != 0) return last_error();
  }
  return NtStatus::SUCCESS;
}

}  // namespace smb::vfs
