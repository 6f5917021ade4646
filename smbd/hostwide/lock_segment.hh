// The host-wide table of byte-range locks: one shared-memory segment the master creates
// before it forks, beside the open file table (open_segment.hh), so every worker sees
// every other worker's locks (Samba's brlock.tdb). Per lock it records the file (device,
// inode), the open holding it (the worker's pid and a token the worker gives the open),
// the range and whether it is exclusive; per waiting LOCK request, the file and the
// worker waiting, so that whoever releases a lock of the file rings that worker's
// doorbell (doorbell.hh).
//
// What the locks mean (which conflicts with which) is not decided here: the caller passes
// the rule (fsa/byte_range_locks.hh). This file knows nothing of SMB or NT semantics.
//
// The slots are flat arrays without links: a record is read only within its array, and a
// slot whose fields are impossible (a flag other than 0 or 1, no owner, a range past the
// end of the 64-bit space) is cleared and the operation refused (CORRUPT); the segment is
// as untrusted as any input. One robust process-shared mutex guards the table: a worker
// that dies holding it leaves it to the next locker, which checks every slot first.
// Fixed size: a full table refuses new locks and new waiters (FULL) rather than growing.
#pragma once

#include <pthread.h>
#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "smbd/hostwide/open_segment.hh"

namespace smb::hostwide {

// One lock as the segment records it.
struct LockRecord {
  pid_t owner = 0;         // the worker holding it
  std::uint64_t open = 0;  // which of the owner's opens holds it
  std::uint64_t offset = 0;
  std::uint64_t length = 0;
  bool exclusive = false;
};

enum class LockResult {
  OK,
  CONFLICT,   // a lock held (or asked for earlier in the same request) is in the way
  FULL,       // no slot left
  CORRUPT,    // a record was impossible; it has been cleared
  NOT_FOUND,  // no such lock
};

namespace lock_layout {
inline constexpr std::uint64_t kMagic = 0x534d42424c4f434bull;  // "SMBBLOCK"

struct Header {
  std::uint64_t magic;
  std::uint32_t lock_high;    // one past the highest lock slot that may be in use
  std::uint32_t waiter_high;  // the same for waiter slots
  std::uint32_t rebuilds;     // times slots were found impossible (or a holder died)
  std::uint32_t reserved;
  pthread_mutex_t mutex;
};

struct LockSlot {
  std::uint32_t in_use;
  std::uint32_t exclusive;
  std::int32_t owner;
  std::uint32_t reserved;
  std::uint64_t device;
  std::uint64_t inode;
  std::uint64_t open;
  std::uint64_t offset;
  std::uint64_t length;
};

struct WaiterSlot {
  std::uint32_t in_use;
  std::int32_t owner;
  std::uint64_t device;
  std::uint64_t inode;
  std::uint64_t token;  // tells the owner's waiting requests apart
};
}  // namespace lock_layout

class LockSegment {
 public:
  // Whether `held` (a lock of the file) is in the way of `wanted`.
  using Conflict = std::function<bool(const LockRecord& held, const LockRecord& wanted)>;
  // A worker waiting for a lock of a file to go.
  struct Waiter {
    pid_t owner = 0;
    std::uint64_t token = 0;
  };

  // Maps a new zeroed segment (a memfd shared with the processes forked afterwards) for
  // `locks` locks and `waiters` waiting requests. Nothing and a message on failure.
  static std::unique_ptr<LockSegment> create(std::uint32_t locks, std::uint32_t waiters,
                                             std::string& error);
  ~LockSegment();
  LockSegment(const LockSegment&) = delete;
  LockSegment& operator=(const LockSegment&) = delete;

  // Takes all of `wanted` on the file, or none: each is checked against the file's locks
  // and the ones before it in `wanted`. On CONFLICT `failed` is the index of the first
  // that could not be taken, and when `waiter` is given it is recorded for the file in
  // the same step (once), so that no release after this answer goes unnoticed. On OK the
  // waiter's record, if any, goes.
  LockResult add(const FileId& file, std::span<const LockRecord> wanted, const Conflict& conflict,
                 const Waiter* waiter, std::size_t& failed);
  // Removes one lock of `lock.owner`'s open `lock.open` over exactly this range (the
  // exclusive one first when both kinds are held); `wake` gets the workers waiting on the
  // file.
  LockResult remove(const FileId& file, const LockRecord& lock, std::vector<pid_t>& wake);
  // Removes every lock of an open (it closed); the number removed.
  std::size_t remove_open(const FileId& file, pid_t owner, std::uint64_t open,
                          std::vector<pid_t>& wake);
  // Whether any lock of the file satisfies `match` (`found`).
  // The locks of `owner`'s open `open` pass to worker `new_owner`'s open `new_open` (a
  // durable open taken over by another worker); the number passed.
  std::size_t rehome(const FileId& file, pid_t owner, std::uint64_t open, pid_t new_owner,
                     std::uint64_t new_open);
  LockResult any(const FileId& file, const std::function<bool(const LockRecord&)>& match,
                 bool& found);
  // The waiting request `token` of `owner` stops waiting.
  void remove_waiter(pid_t owner, std::uint64_t token);
  // Removes every lock and waiter of a worker that has gone; `wake` gets the workers
  // waiting on the files whose locks went. The number of locks removed.
  std::size_t remove_owner(pid_t owner, std::vector<pid_t>& wake);

  // For tests and diagnostics.
  std::size_t lock_count();
  std::size_t waiter_count();
  std::uint32_t rebuilds();
  std::uint32_t lock_capacity() const { return lock_capacity_; }
  std::uint32_t waiter_capacity() const { return waiter_capacity_; }
  // The raw slots, for tests that damage the table on purpose.
  lock_layout::Header& header() { return *header_; }
  std::span<lock_layout::LockSlot> lock_slots() { return {locks_, lock_capacity_}; }
  std::span<lock_layout::WaiterSlot> waiter_slots() { return {waiters_, waiter_capacity_}; }

 private:
  class Guard;
  LockSegment(void* base, std::size_t size, std::uint32_t locks, std::uint32_t waiters);
  // Clears impossible slots and recomputes the high-water marks; false if any was found.
  bool check_all();
  std::uint32_t lock_high() const;
  std::uint32_t waiter_high() const;
  void shrink_lock_high();
  void shrink_waiter_high();
  // The workers waiting on the file (each once).
  void waiters_of(const FileId& file, std::vector<pid_t>& wake) const;

  void* base_;
  std::size_t size_;
  std::uint32_t lock_capacity_;
  std::uint32_t waiter_capacity_;
  lock_layout::Header* header_;
  lock_layout::LockSlot* locks_;
  lock_layout::WaiterSlot* waiters_;
};

}  // namespace smb::hostwide
