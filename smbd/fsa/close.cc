#include "smbd/fsa/close.hh"

#include "smbd/fsa/share_modes.hh"

namespace smb::fsa {

bool close_open(OpenTable& table, Oplocks& oplocks, FileOpen& open) {
  oplocks.release(open);
  return leave(table, open);
}

NtStatus query_closed_file(const FileOpen& open, FileInfo& out) {
  if (!open.fd || !open.fd->valid()) return NtStatus::INVALID_HANDLE;
  return vfs::query_info(open.fd->get(), open.name(), out);
}

NtStatus delete_closed_file(const FileOpen& open) {
  if (!open.fs) return NtStatus::SUCCESS;
  NtStatus status = open.fs->remove(open.path, open.fd ? open.fd->get() : -1);
  return status == NtStatus::OBJECT_NAME_NOT_FOUND ? NtStatus::SUCCESS : status;
}

}  // namespace smb::fsa
