// Oplocks and leases decided on the host table (MS-FSA 2.1.5.17, 2.1.5.18; MS-SMB2
// 3.3.5.9.8, 3.3.5.9.11, 3.3.4.6, 3.3.4.7, 3.3.5.22): pure rules over one file's state
// as the segment holds it (hostwide::FileState), run under the table's lock.
//
// An open that meets caching other clients hold marks a break on the holders' entries
// (kBreakNotify: the holder's worker tells its client; kBreakAwaitsAck: openers wait for
// the acknowledgement), names the workers to ring, and waits when an acknowledgement is
// due; the holders' workers send the notifications, the acknowledgement lowers the
// caching and rings the waiters, which try again. Opens sharing one (ClientGUID, lease
// key) never break each other.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <vector>

#include "smbd/base/ntstatus.hh"
#include "smbd/fsa/file_open.hh"
#include "smbd/hostwide/open_segment.hh"

namespace smb::fsa {

// The new open as the rules see it.
struct OpenIntent {
  std::uint32_t access = 0;
  std::uint32_t share_access = 0;
  CachingRequest request;
  pid_t self = 0;  // the opener's worker, recorded as a waiter when it must wait
};

enum class OpenVerdict {
  ADMIT,   // the open joins with `incoming` caching set
  WAIT,    // breaks are due; the opener is a waiter and tries again when rung
  REFUSE,  // `status` says why
};

struct OpenOutcome {
  OpenVerdict verdict = OpenVerdict::ADMIT;
  NtStatus status = NtStatus::SUCCESS;
  std::vector<pid_t> ring;  // holders to tell of a break
};

// MS-FSA 2.1.5.1.2: share modes, the breaks an open causes, and the caching it gets.
// Changes the caching fields of `state`'s entries (breaks, a lease shared with the new
// open) and its waiters, and sets `incoming`'s caching.
OpenOutcome decide_open(hostwide::FileState& state, hostwide::OpenEntry& incoming,
                        const OpenIntent& intent);

// A write, truncation or set-end-of-file by `writer` (MS-FSA 2.1.4.12 "Algorithm to
// Check for an Oplock Break", caller's operation a write): level II oplocks and read
// leases of other opens go to none, no acknowledgement awaited. The holders to ring.
std::vector<pid_t> break_readers(hostwide::FileState& state, const hostwide::OpenEntry& writer);

// A rename through `renamer`, an open holding a lease (as Windows does it; smbtorture's
// v2_rename and rename_wait): the other leases of the file lose H, with an
// acknowledgement, and the rename waits for them. True while another lease still holds
// H; the holders to tell are added to `ring`.
bool break_handle_leases(hostwide::FileState& state, const hostwide::OpenEntry& renamer,
                         std::vector<pid_t>& ring);

// An entry of the directory whose state this is was added, removed, renamed in or out,
// or modified by `client` (MS-SMB2 3.3.4.7, MS-FSA 2.1.4.13 break of a parent's
// oplock): every lease on the directory goes to none, H with an acknowledgement that
// nobody waits for, except the lease of `client` whose key is `parent_key` (the
// ParentLeaseKey of the open that made the change, when it gave one). The holders to ring.
std::vector<pid_t> break_directory_leases(hostwide::FileState& state,
                                          const std::array<std::uint8_t, 16>& client,
                                          const std::array<std::uint8_t, 16>* parent_key);

// The acknowledgement of an oplock break by the open `entry` (MS-SMB2 3.3.5.22.1):
// INVALID_OPLOCK_PROTOCOL without a break in progress, INVALID_PARAMETER for a level
// above the break's; `granted` is the level kept.
NtStatus acknowledge_oplock(hostwide::OpenEntry& entry, hostwide::Caching level,
                            hostwide::Caching& granted);

// The acknowledgement of a lease break (MS-SMB2 3.3.5.22.2) on every entry of the lease
// (`client`, `key`) in `state`: OBJECT_NAME_NOT_FOUND without such a lease, UNSUCCESSFUL
// when no break is in progress, REQUEST_NOT_ACCEPTED for a state the break does not
// allow. `granted` is the state kept.
NtStatus acknowledge_lease(hostwide::FileState& state, const std::array<std::uint8_t, 16>& client,
                           const std::array<std::uint8_t, 16>& key, std::uint8_t lease_state,
                           std::uint8_t& granted);

// A break that cannot be waited for any longer (its timeout, or a holder that cannot be
// told): every awaited break of the entries `which` selects takes effect. True when one did.
bool force_breaks(hostwide::FileState& state,
                  const std::function<bool(const hostwide::OpenEntry&)>& which);

// Whether `a` and `b` hold one lease (same client and key).
bool same_lease(const hostwide::OpenEntry& a, const hostwide::OpenEntry& b);

// Lease states a CREATE may be granted (MS-SMB2 3.3.5.9.8: R, RH, RW, RWH); others none.
// A directory's lease never holds W (MS-SMB2 3.3.5.9.11): the CREATE asks without it.
std::uint8_t grantable_lease_state(std::uint32_t requested);

}  // namespace smb::fsa
