#include "smbd/vfs/rename_target.hh"

#include <fcntl.h>

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

NtStatus find_rename_target(const Share& share, std::string_view target, RenameTarget& out) {
  out = RenameTarget{};
  Resolved r;
  if (NtStatus st = share.resolve(target, r); st != NtStatus::SUCCESS) return st;
  if (r.name.empty() || !r.parent) return NtStatus::ACCESS_DENIED;  // the share root itself
  if (NtStatus st = identify(r.parent.get(), out.directory); st != NtStatus::SUCCESS) return st;
  if (!r.exists) return NtStatus::SUCCESS;
  UniqueFd existing(
      openat2_fd(share.root_fd(), r.relative().c_str(), O_PATH | O_NOFOLLOW, 0, kResolveBeneath));
  // Gone meanwhile: the rename finds the name free.
  if (!existing) return NtStatus::SUCCESS;
  out.exists = identify(existing.get(), out.existing) == NtStatus::SUCCESS;
  return NtStatus::SUCCESS;
}

}  // namespace smb::vfs
