// Byte-range locks ([MS-FSA] 2.1.5.8 Server Requests a Byte-Range Lock, 2.1.5.9 Server
// Requests an Unlock of a Byte-Range, 2.1.4.10 Algorithm for Determining If a Range Access
// Conflicts with Byte-Range Locks) over the host's lock table (hostwide/lock_segment.hh):
// the locks of every worker's opens of a file hold against each other, and READ and
// WRITE honour them.
//
// An open is named by the worker holding it (its pid) and a number the worker gives it
// (LockOwner); the SMB layer passes its open's volatile id. Lock keys ([MS-FSA] LockKey)
// do not exist in SMB2: the open alone owns its locks.
//
// Releasing a lock rings every worker with a request waiting on the file (the `ring`
// callback); a waiter records itself with the failed attempt, in the same step.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <span>

#include "smbd/base/ntstatus.hh"
#include "smbd/fsa/file_open.hh"
#include "smbd/hostwide/lock_segment.hh"

namespace smb::fsa {

struct LockOwner {
  FileKey file;
  std::uint64_t open = 0;  // unique among the worker's opens while it is open
};

struct LockRange {
  std::uint64_t offset = 0;
  std::uint64_t length = 0;
  bool exclusive = false;
};

// MS-FSA 2.1.5.8: a range with bytes past the last 64-bit offset is INVALID_LOCK_RANGE;
// a zero length is allowed.
NtStatus check_lock_range(std::uint64_t offset, std::uint64_t length);

// MS-FSA 2.1.4.10: whether two ranges overlap. The {0, 0} range overlaps nothing; another
// empty range overlaps a range that holds its offset past the range's first byte.
bool ranges_overlap(std::uint64_t offset1, std::uint64_t length1, std::uint64_t offset2,
                    std::uint64_t length2);

// MS-FSA 2.1.4.10 with lock intent: whether a held lock (of the same open or not) is in
// the way of a new one. An exclusive lock is in everyone's way but a shared lock of its
// own open; a shared lock only in the way of an exclusive one.
bool lock_conflicts(const LockRange& held, bool same_open, const LockRange& wanted);

// MS-FSA 2.1.4.10 with I/O intent (2.1.5.3, 2.1.5.4): a READ is kept out of other opens'
// exclusive locks; a WRITE out of those and out of every shared lock, its own open's too.
bool io_conflicts(const LockRange& held, bool same_open, std::uint64_t offset, std::uint64_t length,
                  bool write);

class ByteRangeLocks {
 public:
  // The view of worker `self` of `segment`; `ring` wakes a worker waiting on a file (it
  // may be `self`).
  ByteRangeLocks(std::shared_ptr<hostwide::LockSegment> segment, pid_t self,
                 std::function<void(pid_t)> ring);

  // MS-FSA 2.1.5.8 for every range of one request, all or none: SUCCESS, LOCK_NOT_GRANTED
  // (a conflict; with `waiter` nonzero the request is recorded as waiting on the file in
  // the same step), INSUFFICIENT_RESOURCES (table full), INTERNAL_ERROR (a damaged record,
  // cleared), INVALID_LOCK_RANGE.
  NtStatus lock(const LockOwner& owner, std::span<const LockRange> ranges,
                std::uint64_t waiter = 0);
  // MS-FSA 2.1.5.9: exactly a range the open locked, else RANGE_NOT_LOCKED.
  NtStatus unlock(const LockOwner& owner, std::uint64_t offset, std::uint64_t length);
  // Every lock of an open that closes.
  void unlock_all(const LockOwner& owner);
  // The locks of `owner` pass to worker `new_worker`'s open `new_open` (a durable open
  // another worker takes over).
  void hand_over(const LockOwner& owner, pid_t new_worker, std::uint64_t new_open);
  // The waiting request `waiter` stops waiting.
  void stop_waiting(std::uint64_t waiter);
  // SUCCESS or FILE_LOCK_CONFLICT for I/O by `owner` on the range.
  NtStatus check_io(const LockOwner& owner, std::uint64_t offset, std::uint64_t length, bool write);

  hostwide::LockSegment& segment() { return *segment_; }

 private:
  void wake(const std::vector<pid_t>& workers);

  std::shared_ptr<hostwide::LockSegment> segment_;
  pid_t self_;
  std::function<void(pid_t)> ring_;
};

}  // namespace smb::fsa
