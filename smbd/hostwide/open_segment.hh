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
#include <vector>

namespace smb::hostwide {

struct FileId {
  std::uint64_t device = 0;
  std::uint64_t inode = 0;
  bool operator==(const FileId&) const = default;
};

// One open of a file as the segment records it.
struct OpenEntry {
  pid_t owner = 0;                        // the worker holding the open
  std::uint64_t token = 0;                // tells the owner's opens of a file apart
  std::array<std::uint8_t, 16> client{};  // the owner's ClientGUID (zero: not known yet)
  std::uint32_t granted_access = 0;
  std::uint32_t share_access = 0;
  bool delete_on_close = false;
};

struct FileState {
  bool delete_pending = false;
  std::vector<OpenEntry> entries;
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
inline constexpr std::uint64_t kMagic = 0x534d42484f535431ull;  // "SMBHOST1"

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
  std::uint32_t reserved;
};
inline constexpr std::uint32_t kDeleteOnClose = 1;
}  // namespace layout

class OpenSegment {
 public:
  // Decides on the file's state as it is whether a new open may join it.
  using Admission = std::function<bool(const FileState& state)>;

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
  bool read_entries(std::uint32_t file, FileState& out) const;
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
