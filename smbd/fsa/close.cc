#include "smbd/fsa/close.hh"

#include "smbd/base/credentials.hh"
#include "smbd/fsa/share_modes.hh"
#include "smbd/vfs/streams.hh"

namespace smb::fsa {

bool close_open(OpenTable& table, Oplocks& oplocks, FileOpen& open) {
  oplocks.release(open);
  const bool goes = leave(table, open);
  if (open.base_entry) {
    open.base_goes = leave(table, *open.base_entry);
    open.base_entry.reset();
  }
  return goes || open.base_goes;
}

NtStatus query_closed_file(const FileOpen& open, FileInfo& out) {
  if (!open.fd || !open.fd->valid()) return NtStatus::INVALID_HANDLE;
  return vfs::query_stream_info(open.fd->get(), open.name(), open.stream, out);
}

NtStatus delete_closed_file(const FileOpen& open) {
  if (!open.fs) return NtStatus::SUCCESS;
  const int fd = open.fd ? open.fd->get() : -1;
  // A named stream's delete removes the stream alone, unless the file goes with it.
  if (!open.stream.empty() && !open.base_goes)
    return fd < 0 ? NtStatus::SUCCESS : vfs::remove_stream(fd, open.stream);
  NtStatus status = open.fs->remove(open.path, fd);
  if (status == NtStatus::ACCESS_DENIED && open.delete_granted_by_acl) {
    // The stored NT ACL decided the user may delete it; the directory's mode is not
    // in step with it (Samba's vfs_acl_xattr deletes as root in this case too).
    credentials::IdentityScope as_process(credentials::process_identity());
    if (as_process.ok()) status = open.fs->remove(open.path, fd);
  }
  return status == NtStatus::OBJECT_NAME_NOT_FOUND ? NtStatus::SUCCESS : status;
}

}  // namespace smb::fsa
