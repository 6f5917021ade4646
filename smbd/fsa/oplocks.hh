// Oplocks (MS-FSA 2.1.5.18) backed by kernel file leases.
//
// An oplock of LEVEL_ONE or LEVEL_BATCH is granted only when the kernel grants a write
// lease on the open's descriptor (fcntl F_SETLEASE F_WRLCK): that holds only while no
// other descriptor of the file is open anywhere on the host, in this process, another
// worker or a local program. A later open of the file is held by the kernel, which
// signals this process (SIGIO). lease_broken() then finds the oplocks being broken and
// hands each to the break handler the SMB layer registered, which asks the holder's
// client to give the oplock up (MS-FSA 2.1.5.18.3). The lease is released when the
// client acknowledges, when the open closes, or when the kernel's lease-break time runs
// out; only then does the other opener proceed, after the client has written back what
// it cached. LEVEL_TWO and leases (LEVEL_GRANULAR) are not granted: a kernel read lease
// needs a read-only descriptor.
//
// One Oplocks per process, used from its event loop.
#pragma once

#include <functional>
#include <vector>

#include "smbd/base/ntstatus.hh"
#include "smbd/fsa/file_open.hh"

namespace smb::fsa {

// [MS-ERREF] 2.3.1: an acknowledgment with no break in progress.
inline constexpr NtStatus kStatusInvalidOplockProtocol = static_cast<NtStatus>(0xC00000E3);

class Oplocks {
 public:
  // Asks the client holding the oplock of `open` to lower it to `new_level`. False when
  // no client can be told (its channels are gone): the oplock is then released at once.
  using BreakHandler = std::function<bool(FileOpen& open, OplockType new_level)>;

  void on_break(BreakHandler handler) { on_break_ = std::move(handler); }

  // MS-FSA 2.1.5.18: the oplock granted to `open` for `requested` (LEVEL_NONE when none).
  OplockType request(FileOpen& open, OplockType requested);

  // The kernel signalled a lease break: every oplock whose lease is being broken, and
  // that is not being broken already, goes to the break handler.
  void lease_broken();

  // The holder acknowledges a break, accepting `new_level` (MS-FSA 2.1.5.18.3):
  // kStatusInvalidOplockProtocol when no break is in progress, INVALID_PARAMETER for a
  // level other than LEVEL_NONE or LEVEL_TWO. On SUCCESS the oplock is released (level
  // II is not kept) and `granted` is LEVEL_NONE.
  NtStatus acknowledge(FileOpen& open, OplockType new_level, OplockType& granted);

  // The open is closing: it holds no oplock from now on. The kernel lease itself goes with
  // the descriptor, when the last user of the open lets it go: an opener waiting on the
  // lease must not get the file while this descriptor is still open, or its own lease
  // would be refused and the next opener would meet a sharing violation instead of a
  // break.
  void release(FileOpen& open);

  std::size_t held() const { return holders_.size(); }

 private:
  void drop(FileOpen& open);
  void forget(FileOpen& open);

  std::vector<FileOpen*> holders_;
  BreakHandler on_break_;
};

}  // namespace smb::fsa
