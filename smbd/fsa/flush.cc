#include "smbd/fsa/flush.hh"

#include "smbd/base/wire.hh"

namespace smb::fsa {

NtStatus check_flush(const FileOpen& open) {
  if ((open.granted_access & (access_mask::FILE_WRITE_DATA | access_mask::FILE_APPEND_DATA)) == 0)
    return NtStatus::ACCESS_DENIED;
  if (!open.io) return NtStatus::INVALID_DEVICE_REQUEST;
  return NtStatus::SUCCESS;
}

NtStatus flush(const vfs::FileIo& io) { return io.flush(); }

}  // namespace smb::fsa
