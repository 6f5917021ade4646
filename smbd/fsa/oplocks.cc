#include "smbd/fsa/oplocks.hh"

#include <fcntl.h>

#include <algorithm>

#include "smbd/base/credentials.hh"

namespace smb::fsa {

OplockType Oplocks::request(FileOpen& open, OplockType requested) {
  if (requested != OplockType::LEVEL_ONE && requested != OplockType::LEVEL_BATCH)
    return OplockType::LEVEL_NONE;
  if (open.is_directory || !open.fd || !open.fd->valid()) return OplockType::LEVEL_NONE;
  // Fails with EAGAIN while any other descriptor of the file is open. A lease needs the
  // file's owner or CAP_LEASE: it is taken as the process, on the user's descriptor, as
  // Samba takes kernel oplocks as root.
  credentials::IdentityScope as_process(credentials::process_identity());
  if (::fcntl(open.fd->get(), F_SETLEASE, F_WRLCK) != 0) return OplockType::LEVEL_NONE;
  if (open.oplock_level == OplockType::LEVEL_NONE) holders_.push_back(&open);
  open.oplock_level = requested;
  open.oplock_break_pending = false;
  return requested;
}

void Oplocks::lease_broken() {
  // The handler may close opens; work on a copy and look each one up again.
  std::vector<FileOpen*> holders = holders_;
  for (FileOpen* open : holders) {
    if (std::find(holders_.begin(), holders_.end(), open) == holders_.end()) continue;
    if (open->oplock_break_pending) continue;
    // During a break the kernel reports the type the lease is being broken to.
    if (::fcntl(open->fd->get(), F_GETLEASE) == F_WRLCK) continue;
    open->oplock_break_pending = true;
    if (!on_break_ || !on_break_(*open, OplockType::LEVEL_NONE)) drop(*open);
  }
}

NtStatus Oplocks::acknowledge(FileOpen& open, OplockType new_level, OplockType& granted) {
  granted = open.oplock_level;
  if (!open.oplock_break_pending) return kStatusInvalidOplockProtocol;
  if (new_level != OplockType::LEVEL_NONE && new_level != OplockType::LEVEL_TWO)
    return NtStatus::INVALID_PARAMETER;
  // The client has written back what it cached: let the other opener proceed.
  drop(open);
  granted = OplockType::LEVEL_NONE;
  return NtStatus::SUCCESS;
}

void Oplocks::release(FileOpen& open) {
  if (open.oplock_level != OplockType::LEVEL_NONE) forget(open);
}

void Oplocks::drop(FileOpen& open) {
  if (open.fd && open.fd->valid()) {
    credentials::IdentityScope as_process(credentials::process_identity());
    ::fcntl(open.fd->get(), F_SETLEASE, F_UNLCK);
  }
  forget(open);
}

void Oplocks::forget(FileOpen& open) {
  open.oplock_level = OplockType::LEVEL_NONE;
  open.oplock_break_pending = false;
  holders_.erase(std::remove(holders_.begin(), holders_.end(), &open), holders_.end());
}

}  // namespace smb::fsa
