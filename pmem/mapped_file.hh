// A regular file of a `pmem = yes` share, mapped into memory, with durable writes.
//
// How the file is mapped
// ----------------------
// The descriptor the SMB layer got from smb::vfs::Share is mapped directly with
// mmap(MAP_SHARED_VALIDATE | MAP_SYNC), falling back to plain MAP_SHARED when the file
// system refuses MAP_SYNC (EOPNOTSUPP: no DAX). pmem_map_file() is not used, because
//   - it takes a path: going through /proc/self/fd/N would reopen the file O_RDWR, which
//     fails for read-only handles and re-checks permissions the share already checked;
//   - it maps exactly the current size, so every extending WRITE (a file copy is nothing
//     else) would need a remap; here the mapping reserves address space beyond the end
//     of the file and growing within it costs no remap and never moves the data;
//   - it does not say whether MAP_SYNC was granted, which decides the durability
//     contract below.
// The mapping is 2 MiB aligned, as libpmem's own mapper does, so fs-dax can map it
// with huge pages. libpmem is used for the stores and flushes (pmem_memcpy_persist,
// pmem_persist, pmem_msync). pmem_is_pmem() only recognises ranges that
// pmem_map_file() registered, so for this mapping it is true only under
// PMEM_IS_PMEM_FORCE=1; is_pmem() is therefore "MAP_SYNC granted, or libpmem forced".
//
// Durability contract (what holds when write() or WriteRange::persist() returns SUCCESS)
// --------------------------------------------------------------------------------------
// is_pmem() (MAP_SYNC on fs-dax): the data went from the CPU to the persistence domain
//   with non-temporal stores or cache-line flushes plus a fence (pmem_memcpy_persist /
//   pmem_persist). MAP_SYNC makes the kernel commit the metadata a write fault needs
//   (block allocation) before the fault returns, so no fsync is needed for data.
//   Survives power loss on a platform with ADR (or eADR).
// !is_pmem() (page cache: ext4, xfs without dax, tmpfs): the data was copied into the
//   page cache and the touched pages were written back with msync(MS_SYNC), which on a
//   block device file system is fdatasync of that range. Survives power loss when the
//   device honours flushes; on tmpfs nothing survives power loss, only process death.
// Either way, a size change (an extending write, set_end_of_file) is made durable with
// fdatasync before the call returns, because i_size is metadata that MAP_SYNC does not
// cover.
// Not promised: atomicity of a write against a concurrent crash (a torn write may be
// partly durable) or against concurrent overlapping writes (no ordering, as in SMB).
//
// Sharing rules
// -------------
// Every open of one file in a process should go through the same MappedFile
// (FileTable does that): the size is cached, and only changes made through this object
// keep the cache exact.
// A file may still change size behind the mapping (another worker process, a local
// program). Every access to mapped bytes runs under run_guarded() (pmem/fault_guard.hh),
// so a load or store in a page the shrink dropped fails that copy instead of raising a
// fatal SIGBUS. The operation then takes the exclusive lock, re-reads the size with
// fstat (remapping if the file grew past the reservation) and is retried once:
//   - read() returns the bytes that still exist: a short read, or END_OF_FILE;
//   - write() extends the file again as any extending write does (zeros in between);
//   - WriteRange::persist() is not retried (what was placed in the dropped pages is
//     lost): DATA_ERROR, and the range is released.
// A second fault (the file shrank again meanwhile, or a media error such as a poisoned
// pmem line) gives DATA_ERROR, with the size refreshed for the next call.
// What a fault cannot reveal: the tail of the page holding the new end of file stays
// mapped, so loads there read zeros and stores there are lost without a fault; and
// growth behind the mapping is seen only once something refreshes the size: a fault,
// a size change through this object (an extending write or range(), set_end_of_file),
// or a new MappedFile for the file.
// All members are safe to call from several threads at once. Reads, writes and open
// WriteRanges hold a shared lock; resizing, remapping and refreshing the size hold it
// exclusively, so a remap never pulls the mapping from under a reader.
#pragma once

#include <pthread.h>
#include <sys/types.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <shared_mutex>  // std::shared_lock
#include <utility>

#include "smbd/base/bytes.hh"
#include "smbd/base/ntstatus.hh"
#include "smbd/base/unique_fd.hh"

namespace smb::pmem {

struct MapOptions {
  // false: never ask for MAP_SYNC, so the msync path is used even on fs-dax (for
  // comparisons and for the tests of that path on DAX).
  bool try_map_sync = true;
};

// An owned memory mapping; unmapped on destruction.
class Mapping {
 public:
  Mapping() = default;
  Mapping(void* addr, std::size_t length) : addr_(addr), length_(length) {}
  Mapping(Mapping&& other) noexcept
      : addr_(std::exchange(other.addr_, nullptr)), length_(std::exchange(other.length_, 0)) {}
  Mapping& operator=(Mapping&& other) noexcept;
  Mapping(const Mapping&) = delete;
  Mapping& operator=(const Mapping&) = delete;
  ~Mapping() { reset(); }

  std::uint8_t* data() const { return static_cast<std::uint8_t*>(addr_); }
  std::size_t size() const { return length_; }
  void reset();

 private:
  void* addr_ = nullptr;
  std::size_t length_ = 0;
};

// A reader-writer lock that lets a waiting writer in before new readers. Resizing must
// not starve behind a steady stream of READs, which glibc's default rwlock (and so
// std::shared_mutex) allows. Meets SharedMutex for std::shared_lock / std::unique_lock.
// Shared locking is not recursive: a thread holding it must not take it again.
class RwLock {
 public:
  RwLock();
  ~RwLock();
  RwLock(const RwLock&) = delete;
  RwLock& operator=(const RwLock&) = delete;
  void lock();
  bool try_lock();
  void unlock();
  void lock_shared();
  bool try_lock_shared();
  void unlock_shared();

 private:
  pthread_rwlock_t lock_;
};

class MappedFile;

// A writable window of the mapping for push mode: the proxy places data into span()
// (by RDMA READ from the client), then calls persist() before the WRITE completes.
// Holds the file's shared lock while it lives, so the mapping cannot move or shrink
// under a transfer in flight: keep it only for the duration of one WRITE, and do not
// call other members of the same MappedFile from the holding thread meanwhile (the
// lock is not recursive; size() and generation() are lock-free and fine).
// CPU stores into span() are not guarded: a caller copying into it must do so under
// run_guarded() (pmem/fault_guard.hh) if the file may shrink behind the mapping.
class WriteRange {
 public:
  WriteRange() = default;
  WriteRange(WriteRange&& other) noexcept { *this = std::move(other); }
  WriteRange& operator=(WriteRange&& other) noexcept {
    if (this != &other) {
      file_ = std::exchange(other.file_, nullptr);
      lock_ = std::move(other.lock_);
      span_ = std::exchange(other.span_, MutableByteSpan{});
      offset_ = other.offset_;
      generation_ = other.generation_;
    }
    return *this;
  }

  bool valid() const { return file_ != nullptr; }
  MutableByteSpan span() const { return span_; }
  std::uint64_t offset() const { return offset_; }
  // The mapping generation the span belongs to (MappedFile::generation()); a memory
  // registration made for an older generation points at an unmapped range.
  std::uint64_t generation() const { return generation_; }
  // Makes [offset() + from, offset() + from + length) durable (the contract above).
  // DATA_ERROR when the file shrank under the range (its pages were dropped): the
  // range is then released (valid() is false) and the file's size refreshed.
  NtStatus persist(std::size_t from, std::size_t length);
  NtStatus persist() { return persist(0, span_.size()); }
  // Releases the lock early.
  void reset();

 private:
  friend class MappedFile;
  const MappedFile* file_ = nullptr;
  std::shared_lock<RwLock> lock_;
  MutableByteSpan span_;
  std::uint64_t offset_ = 0;
  std::uint64_t generation_ = 0;
};

class MappedFile {
 public:
  // Maps the regular file behind `fd` (a descriptor from smb::vfs::Share; it is
  // duplicated, the caller keeps its own). A read-only descriptor gives a read-only
  // mapping; an O_WRONLY one cannot be mapped (ACCESS_DENIED): open pmem files O_RDWR.
  // FILE_IS_A_DIRECTORY / INVALID_DEVICE_REQUEST for anything but a regular file.
  static NtStatus open(int fd, std::shared_ptr<MappedFile>& out, const MapOptions& options = {});

  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;
  ~MappedFile() = default;

  bool is_pmem() const { return is_pmem_; }
  bool map_sync() const { return map_sync_; }
  bool writable() const { return writable_.load(std::memory_order_acquire); }
  std::uint64_t size() const { return size_.load(std::memory_order_acquire); }
  // Bytes of address space reserved (>= size()); only for diagnostics and tests.
  std::size_t capacity() const;
  // Incremented every time the mapping moves to another address.
  std::uint64_t generation() const { return generation_.load(std::memory_order_acquire); }

  // Copies from `offset` until `buffer` is full or the end of the file; `done` is the
  // number of bytes copied. END_OF_FILE when nothing could be read, as smb::vfs::read.
  // DATA_ERROR when the mapped bytes could not be loaded twice (Sharing rules).
  NtStatus read(std::uint64_t offset, MutableByteSpan buffer, std::size_t& done) const;
  // Writes all of `data` at `offset`, extending the file when it ends beyond the end of
  // file, and returns when it is durable (the contract above). DATA_ERROR as read().
  NtStatus write(std::uint64_t offset, ByteSpan data, std::size_t& done);
  // The push-mode window [offset, offset + length): extends the file first when needed;
  // the bytes already there are left as they are.
  NtStatus range(std::uint64_t offset, std::size_t length, WriteRange& out);
  // [MS-FSA] 2.1.5.14.5 FileEndOfFileInformation: grows (allocating the new blocks) or
  // shrinks the file, durably; remaps when the new size does not fit the reservation
  // or leaves most of it unused.
  NtStatus set_end_of_file(std::uint64_t end_of_file);
  // FLUSH: everything written is already durable; this also syncs metadata (times).
  NtStatus flush();
  // Turns a read-only MappedFile into a writable one, using `fd` (opened O_RDWR on the
  // same file) from now on; FileTable calls it when a writer opens a file that only
  // readers had open.
  NtStatus make_writable(int fd);

 private:
  friend class WriteRange;
  MappedFile() = default;

  // Require mu_ held (shared or exclusive) and the range inside size_. The accesses to
  // mapped bytes are guarded: `faulted` says a SIGBUS cut them short (the status is
  // then DATA_ERROR), and the caller refreshes the size and decides on a retry.
  NtStatus ensure_allocated(std::uint64_t offset, std::size_t length) const;
  NtStatus read_locked(std::uint64_t offset, MutableByteSpan buffer, std::size_t& done,
                       bool& faulted) const;
  NtStatus store_locked(std::uint64_t offset, ByteSpan data, bool& faulted) const;
  NtStatus persist_locked(std::uint8_t* addr, std::size_t length, bool& faulted) const;
  // Require mu_ held exclusively.
  NtStatus resize_locked(std::uint64_t new_size);
  NtStatus remap_locked(std::uint64_t for_size);
  // Re-reads the size with fstat after a change behind the mapping (and whether there
  // are holes); remaps if the file grew past the reservation.
  NtStatus refresh_locked() const;
  // Takes mu_ exclusively (the caller must hold no lock on it) for refresh_locked().
  NtStatus refresh_after_fault() const;

  mutable RwLock mu_;
  smb::UniqueFd fd_;
  Mapping mapping_;
  // Mutable: a cache of the file's size, refreshed by const readers after a fault.
  mutable std::atomic<std::uint64_t> size_{0};
  std::atomic<std::uint64_t> generation_{0};
  std::atomic<bool> writable_{false};
  bool try_map_sync_ = true;
  bool map_sync_ = false;
  bool is_pmem_ = false;
  // No holes below size_: a store into the mapping never has to allocate a block. A
  // store into a hole on a full file system raises SIGBUS instead of returning ENOSPC,
  // so while there may be holes every write first fallocates its range.
  mutable std::atomic<bool> dense_{false};
};

// One MappedFile per file (st_dev, st_ino) for all the opens of a pmem share, so that
// they agree on its size; entries go away with the last open.
class FileTable {
 public:
  NtStatus acquire(int fd, std::shared_ptr<MappedFile>& out, const MapOptions& options = {});
  std::size_t size() const;

 private:
  mutable std::mutex mu_;
  std::map<std::pair<dev_t, ino_t>, std::weak_ptr<MappedFile>> files_;
  std::size_t sweep_at_ = 64;
};

}  // namespace smb::pmem
