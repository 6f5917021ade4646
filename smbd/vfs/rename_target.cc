#include "smbd/vfs/rename_target.hh"

#include <fcntl.h>
#include <sys/stat.h>

#include <cerrno>

#include "smbd/base/errno_map.hh"
#include "smbd/base/unique_fd.hh"
#include "smbd/vfs/file.hh"
#include "smbd/vfs/openat2.hh"

namespace smb::vfs {

namespace {

NtStatus identify(int fd, FileIdentity& out) {
  FileInfo info;
  if (NtStatus st = query_info(fd, {}, info); st != NtStatus::SUCCESS) return st;
  out = FileIdentity{info.device, info.file_id};
  return NtStatus::SUCCESS;
}

}  // namespace

NtStatus identify_entry(int fd, FileIdentity& out) {
  struct statx stx {};
  if (::statx(fd, "", AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW, STATX_INO, &stx) != 0)
    return errno_to_ntstatus(errno);
  // As fill_info (file.hh) composes FileInfo's device and file_id.
  out = FileIdentity{(static_cast<std::uint64_t>(stx.stx_dev_major) << 32) | stx.stx_dev_minor,
                     stx.stx_ino};
  return NtStatus::SUCCESS;
}

NtStatus directory_of(const Share& share, std::string_view smb_path, FileIdentity& out) {
  out = FileIdentity{};
  Resolved r;
  if (NtStatus st = share.resolve(smb_path, r); st != NtStatus::SUCCESS) return st;
  if (r.name.empty() || r.parent < 0) return NtStatus::ACCESS_DENIED;
  return identify_entry(r.parent, out);
}

NtStatus find_rename_target(const Share& share, std::string_view target, RenameTarget& out) {
  out = RenameTarget{};
  Resolved r;
  if (NtStatus st = share.resolve(target, r); st != NtStatus::SUCCESS) return st;
  if (r.name.empty() || r.parent < 0) return NtStatus::ACCESS_DENIED;  // the share root itself
  if (NtStatus st = identify(r.parent, out.directory); st != NtStatus::SUCCESS) return st;
  if (!r.exists) return NtStatus::SUCCESS;
  UniqueFd existing(
      openat2_fd(share.root_fd(), r.relative().c_str(), O_PATH | O_NOFOLLOW, 0, kResolveBeneath));
  // Gone meanwhile: the rename finds the name free.
  if (!existing) return NtStatus::SUCCESS;
  out.exists = identify(existing.get(), out.existing) == NtStatus::SUCCESS;
  return NtStatus::SUCCESS;
}

}  // namespace smb::vfs
