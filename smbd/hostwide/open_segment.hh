// The host-wide table of open files: one shared-memory segment the master creates before
// it forks, so every worker maps the same table (Samba's locking.tdb). Per file (device,
// inode) it holds whether the file is delete-pending and its opens: the worker (pid) and
// client that hold each, with its granted access and sharing mode.
//
// One robust process-shared mutex guards the table: a worker that dies holding it (even
// by SIGKILL) leaves it to the next locker, which rebuilds the table's links from the
// slots' own fields before going on. The segment is as untrusted as any input: every
// index and chain read from it is bounded, and a table found inconsistent refuses the
// operation (CORRUPT) and is rebuilt, never followed out of bounds.
//
// Fixed size: a full table refuses new opens (FULL) rather than growing.
#pragma once

#include <pthread.h>
#include <sys/types.h>

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <utility>
#include <vector>

namespace smb::hostwide {

struct FileId {
  std::uint64_t device = 0;
  std::uint64_t inode = 0;
  bool operator==(const FileId&) const = default;
};

// The caching an open holds (MS-FSA 2.1.5.17, 2.1.5.18): an oplock level, or a lease.
enum class Caching : std::uint8_t { NONE = 0, LEVEL_TWO = 1, EXCLUSIVE = 2, BATCH = 3, LEASE = 4 };
// Lease states (MS-SMB2 2.2.13.2.8).
inline constexpr std::uint8_t kLeaseRead = 0x01;
inline constexpr std::uint8_t kLeaseHandle = 0x02;
inline constexpr std::uint8_t kLeaseWrite = 0x04;

// A break marked on an open by another opener (break_flags).
inline constexpr std::uint8_t kBreakNotify = 0x01;     // the holder's worker is to tell its client
inline constexpr std::uint8_t kBreakAwaitsAck = 0x02;  // openers wait for the acknowledgement

// The lease of the opens that share (ClientGUID, lease key) on a file: every one of them
// carries the same copy, changed together under the table's lock. A ClientGUID is served
// by one worker, so one worker holds all the opens of a lease.
struct LeaseRecord {
  std::array<std::uint8_t, 16> key{};
  std::array<std::uint8_t, 16> parent_key{};
  std::uint8_t state = 0;        // R, H, W
  std::uint8_t breaking_to = 0;  // while a break is marked: the state the client is told
  // While a break is awaited: the state it must reach in the end. Opens that meet a lease
  // whose break is in progress lower it; the acknowledgement of a state above it starts
  // the next break (Windows breaks in steps: RWH to RH, RH to R, R to none).
  std::uint8_t breaking_required = 0;
  std::uint16_t epoch = 0;       // MS-SMB2 3.3.1.13 Lease.Epoch (v2)
  std::uint8_t version = 0;      // 1 or 2
  bool parent_set = false;
  bool operator==(const LeaseRecord&) const = default;
};

// One open of a file as the segment records it.
struct OpenEntry {
  pid_t owner = 0;                        // the worker holding the open
  std::uint64_t token = 0;                // tells the owner's opens of a file apart
  std::array<std::uint8_t, 16> client{};  // the owner's ClientGUID (zero: not known yet)
  std::uint32_t granted_access = 0;
  std::uint32_t share_access = 0;
  bool delete_on_close = false;
  Caching caching = Caching::NONE;
  Caching oplock_breaking_to = Caching::NONE;  // an oplock's break target
  std::uint8_t break_flags = 0;
  LeaseRecord lease;  // when caching is LEASE
};

// Workers waiting for a break on a file to end, rung when it changes; bounded.
inline constexpr std::size_t kMaxWaiters = 8;

struct FileState {
  bool delete_pending = false;
  std::vector<OpenEntry> entries;
  std::vector<pid_t> waiters;
};

enum class Result {
  OK,
  REFUSED,    // the admission check said no
  FULL,       // no slot left for the open
  CORRUPT,    // the file's record was inconsistent; the table has been rebuilt
  NOT_FOUND,  // no such file or open
};

// The layout of the segment. Links are indices (kNone: no slot); they are derived data,
// rebuilt from each slot's own fields (in_use, file, key) after a crash or corruption.
namespace layout {
inline constexpr std::uint32_t kNone = 0xFFFFFFFFu;
inline constexpr std::uint64_t kMagic = 0x534d42484f535433ull;  // "SMBHOST3"

struct Header {
  std::uint64_t magic;
  std::uint64_t host_id;     // names the host's doorbells (doorbell.hh); informative here
  std::uint32_t free_file;   // head of the free file slots
  std::uint32_t free_entry;  // head of the free entry slots
  std::uint32_t rebuilds;    // times the links were rebuilt (a dead locker, a corrupt record)
  std::uint32_t reserved;
  pthread_mutex_t mutex;
};

struct FileSlot {
  std::uint64_t device;
  std::uint64_t inode;
  std::uint32_t in_use;
  std::uint32_t delete_pending;
  std::uint32_t next;         // in the bucket chain, or the free list
  std::uint32_t first_entry;  // the file's opens
  std::int32_t waiters[kMaxWaiters];  // 0: free
};

struct EntrySlot {
  std::uint32_t in_use;
  std::uint32_t file;  // the file slot the open belongs to
  std::uint32_t next;  // the file's next open, or the free list
  std::int32_t owner;
  std::uint64_t token;
  std::uint8_t client[16];
  std::uint32_t granted_access;
  std::uint32_t share_access;
  std::uint32_t flags;
  std::uint8_t caching;             // Caching
  std::uint8_t oplock_breaking_to;  // Caching
  std::uint8_t break_flags;
  std::uint8_t lease_state;
  std::uint8_t lease_breaking_to;
  std::uint8_t lease_version;
  std::uint16_t lease_epoch;
  std::uint8_t lease_key[16];
  std::uint8_t parent_lease_key[16];
  std::uint8_t lease_breaking_required;
};
inline constexpr std::uint32_t kDeleteOnClose = 1;
inline constexpr std::uint32_t kParentLeaseKeySet = 2;
}  // namespace layout

class OpenSegment {
 public:
  // Decides on the file's state as it is whether a new open may join it. It may change
  // the caching fields of the entries (marking breaks), the waiters, and the new entry's
  // caching; those changes are written back whatever it answers.
  using Admission = std::function<bool(FileState& state, OpenEntry& entry)>;
  // Changes the caching fields of a file's entries and its waiters in one step.
  using Change = std::function<void(FileState& state)>;

  // Maps a new zeroed segment (a memfd, shared with the processes forked afterwards) for
  // `capacity` opens. Nothing and a message on failure.
  static std::unique_ptr<OpenSegment> create(std::uint32_t capacity, std::string& error);
  ~OpenSegment();
  OpenSegment(const OpenSegment&) = delete;
  OpenSegment& operator=(const OpenSegment&) = delete;

  std::uint32_t capacity() const { return capacity_; }
  // Random, chosen at creation: tells this server's doorbells from another's on the host.
  // Kept in process memory too, so the segment's copy is never trusted.
  std::uint64_t host_id() const { return host_id_; }

  // The file's state; NOT_FOUND when no open of it is recorded.
  Result lookup(const FileId& id, FileState& out);
  // Records `entry` for the file when `admit` accepts the state as it is, in one step.
  Result insert(const FileId& id, const OpenEntry& entry, const Admission& admit);
  // Takes the owner's open `token` out. When it was to delete the file
  // (entry.delete_on_close, passed in `delete_on_close`) and opens remain, the file is
  // delete-pending for them, in the same step. `left` is the state after: the opens left,
  // and (also when none is) whether the file is to be deleted.
  Result remove(const FileId& id, pid_t owner, std::uint64_t token, bool delete_on_close,
                FileState& left);
  // The owner's open `token` passes to worker `new_owner` as its open `new_token` of
  // client `client` (a durable open taken over by another worker), all else kept.
  Result rehome(const FileId& id, pid_t owner, std::uint64_t token, pid_t new_owner,
                std::uint64_t new_token, const std::array<std::uint8_t, 16>& client);
  // Runs `change` on the file's state and writes the entries' caching fields and the
  // waiters back; NOT_FOUND without a record, FULL when more waiters than kMaxWaiters.
  Result update(const FileId& id, const Change& change);
  // Every open of `owner` with a break to tell its client (kBreakNotify), the flag
  // cleared in the same step.
  std::vector<std::pair<FileId, OpenEntry>> take_notifications(pid_t owner);
  // Marks the file delete-pending or clears the mark; NOT_FOUND without a record.
  Result set_delete_pending(const FileId& id, bool pending);
  // Records the owner's ClientGUID on the opens it holds.
  void set_client(pid_t owner, const std::array<std::uint8_t, 16>& client);
  // Removes every open of a worker that has gone; the number removed.
  std::size_t remove_owner(pid_t owner);
  // Opens recorded in all (for tests and diagnostics).
  std::size_t open_count();
  std::uint32_t rebuilds();

  // The raw slots, for tests that damage the table on purpose.
  layout::Header& header() { return *header_; }
  std::span<layout::FileSlot> file_slots() { return {files_, capacity_}; }
  std::span<layout::EntrySlot> entry_slots() { return {entries_, capacity_}; }

 private:
  class Lock;
  OpenSegment(void* base, std::size_t size, std::uint32_t capacity, std::uint32_t buckets);
  void initialise();
  void rebuild();
  std::uint32_t bucket_of(const FileId& id) const;
  // The file's slot or kNone; false when the chain is broken.
  bool find_file(const FileId& id, std::uint32_t& slot) const;
  // The file's opens, bounded; false when the chain is broken.
  bool read_entries(std::uint32_t file, FileState& out,
                    std::vector<std::uint32_t>* slots = nullptr) const;
  // Writes the caching fields of `state` back to `slots` (as read_entries gave them) and
  // the waiters; false when there are more waiters than the slot holds.
  bool write_back(std::uint32_t file, const FileState& state,
                  const std::vector<std::uint32_t>& slots);
  void free_file(std::uint32_t file);

  void* base_;
  std::size_t size_;
  std::uint32_t capacity_;
  std::uint32_t bucket_count_;
  std::uint64_t host_id_ = 0;
  layout::Header* header_;
  std::uint32_t* buckets_;
  layout::FileSlot* files_;
  layout::EntrySlot* entries_;
};

}  // namespace smb::hostwide
