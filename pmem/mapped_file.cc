#include "pmem/mapped_file.hh"

#include <fcntl.h>
#include <libpmem.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <limits>

#include "pmem/fault_guard.hh"
#include "smbd/base/errno_map.hh"

namespace smb::pmem {

namespace {

constexpr std::uint64_t kMaxOffset = static_cast<std::uint64_t>(std::numeric_limits<off_t>::max());
// fs-dax maps a file with PMD (2 MiB) entries only where the virtual address is 2 MiB
// aligned; the reservation is rounded to it too.
constexpr std::size_t kHugeAlign = std::size_t{2} << 20;
// Beyond this the reservation stops growing by half again: 47 bits of address space
// are plenty, but not for 1.5 times an exabyte.
constexpr std::uint64_t kMaxHeadroomSize = std::uint64_t{1} << 44;

// Address space to reserve for a file of `size` bytes: room to grow by half before the
// next remap, so a file written sequentially by 1 MiB WRITEs is remapped O(log n) times.
std::size_t capacity_for(std::uint64_t size) {
  std::uint64_t want = size;
  if (size <= kMaxHeadroomSize) want += size / 2;
  if (want > std::numeric_limits<std::size_t>::max() - kHugeAlign) return 0;
  want = std::max<std::uint64_t>(want, kHugeAlign);
  return static_cast<std::size_t>((want + kHugeAlign - 1) & ~std::uint64_t{kHugeAlign - 1});
}

// Maps `length` bytes of `fd` from offset 0 at a 2 MiB aligned address. Returns 0 or
// an errno. The range beyond the end of the file is mapped too: it is never touched
// until the file has grown over it.
int map_aligned(int fd, std::size_t length, bool writable, bool sync, Mapping& out) {
  const std::size_t total = length + kHugeAlign;
  void* reserve =
      ::mmap(nullptr, total, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (reserve == MAP_FAILED) return errno;
  const auto start = reinterpret_cast<std::uintptr_t>(reserve);
  const std::uintptr_t aligned = (start + kHugeAlign - 1) & ~std::uintptr_t{kHugeAlign - 1};
  const int prot = PROT_READ | (writable ? PROT_WRITE : 0);
  // MAP_SHARED_VALIDATE makes the kernel refuse MAP_SYNC (EOPNOTSUPP) instead of
  // silently ignoring it, which is how the absence of DAX shows.
  const int flags = (sync ? MAP_SHARED_VALIDATE | MAP_SYNC : MAP_SHARED) | MAP_FIXED;
  void* p = ::mmap(reinterpret_cast<void*>(aligned), length, prot, flags, fd, 0);
  if (p == MAP_FAILED) {
    const int err = errno;
    ::munmap(reserve, total);
    return err;
  }
  if (aligned > start) ::munmap(reserve, aligned - start);
  const std::uintptr_t end = aligned + length;
  if (start + total > end) ::munmap(reinterpret_cast<void*>(end), start + total - end);
  out = Mapping(p, length);
  return 0;
}

// Whether [0, size) has no holes. SEEK_HOLE moves the file offset, which the dup'd
// descriptor shares with the SMB layer's; it is put back (the vfs uses pread/pwrite).
bool has_no_holes(int fd, std::uint64_t size) {
  if (size == 0) return true;
  const off_t saved = ::lseek(fd, 0, SEEK_CUR);
  const off_t hole = ::lseek(fd, 0, SEEK_HOLE);
  if (saved >= 0) ::lseek(fd, saved, SEEK_SET);
  return hole >= 0 && static_cast<std::uint64_t>(hole) >= size;
}

// The accesses to mapped bytes, each run under run_guarded(): plain pointers only, so
// a fault that cuts one short skips no destructor (pmem/fault_guard.hh).
struct Copy {
  void* dst;
  const void* src;
  std::size_t length;
};

void copy_plain(void* arg) {
  const auto* c = static_cast<const Copy*>(arg);
  std::memcpy(c->dst, c->src, c->length);
}

void copy_persist(void* arg) {
  const auto* c = static_cast<const Copy*>(arg);
  // Non-temporal stores for large copies, flushes for the rest, then a fence.
  pmem_memcpy_persist(c->dst, c->src, c->length);
}

struct Flush {
  void* addr;
  std::size_t length;
};

void flush_persist(void* arg) {
  const auto* f = static_cast<const Flush*>(arg);
  // A cache-line flush of a dropped page faults like a load.
  pmem_persist(f->addr, f->length);
}

}  // namespace

RwLock::RwLock() {
  pthread_rwlockattr_t attr;
  pthread_rwlockattr_init(&attr);
  pthread_rwlockattr_setkind_np(&attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
  pthread_rwlock_init(&lock_, &attr);
  pthread_rwlockattr_destroy(&attr);
}
RwLock::~RwLock() { pthread_rwlock_destroy(&lock_); }
void RwLock::lock() { pthread_rwlock_wrlock(&lock_); }
bool RwLock::try_lock() { return pthread_rwlock_trywrlock(&lock_) == 0; }
void RwLock::unlock() { pthread_rwlock_unlock(&lock_); }
void RwLock::lock_shared() { pthread_rwlock_rdlock(&lock_); }
bool RwLock::try_lock_shared() { return pthread_rwlock_tryrdlock(&lock_) == 0; }
void RwLock::unlock_shared() { pthread_rwlock_unlock(&lock_); }

Mapping& Mapping::operator=(Mapping&& other) noexcept {
  if (this != &other) {
    reset();
    addr_ = std::exchange(other.addr_, nullptr);
    length_ = std::exchange(other.length_, 0);
  }
  return *this;
}

void Mapping::reset() {
  if (addr_ != nullptr) ::munmap(addr_, length_);
  addr_ = nullptr;
  length_ = 0;
}

NtStatus WriteRange::persist(std::size_t from, std::size_t length) {
  if (file_ == nullptr) return NtStatus::INVALID_HANDLE;
  if (from > span_.size() || length > span_.size() - from) return NtStatus::INVALID_PARAMETER;
  if (length == 0) return NtStatus::SUCCESS;
  bool faulted = false;
  const NtStatus status = file_->persist_locked(span_.data() + from, length, faulted);
  if (!faulted) return status;
  // The file shrank under the range: what was placed in the dropped pages is gone, so
  // persisting again would only acknowledge lost data. Give up the range and its lock,
  // then learn the real size so the next operation starts from it.
  const MappedFile* file = file_;
  reset();
  (void)file->refresh_after_fault();
  return NtStatus::DATA_ERROR;
}

void WriteRange::reset() {
  if (lock_.owns_lock()) lock_.unlock();
  file_ = nullptr;
  span_ = {};
}

NtStatus MappedFile::open(int fd, std::shared_ptr<MappedFile>& out, const MapOptions& options) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) return smb::last_error();
  if (S_ISDIR(st.st_mode)) return NtStatus::FILE_IS_A_DIRECTORY;
  if (!S_ISREG(st.st_mode)) return NtStatus::INVALID_DEVICE_REQUEST;
  const int fl = ::fcntl(fd, F_GETFL);
  if (fl < 0) return smb::last_error();
  // mmap needs a descriptor open for reading even for a write-only mapping.
  if ((fl & O_ACCMODE) == O_WRONLY) return NtStatus::ACCESS_DENIED;
  smb::UniqueFd own(::fcntl(fd, F_DUPFD_CLOEXEC, 0));
  if (!own) return smb::last_error();

  std::shared_ptr<MappedFile> file(new MappedFile());
  file->fd_ = std::move(own);
  file->writable_ = (fl & O_ACCMODE) == O_RDWR;
  file->try_map_sync_ = options.try_map_sync;
  const auto size = static_cast<std::uint64_t>(st.st_size);
  {
    std::unique_lock lock(file->mu_);
    const NtStatus status = file->remap_locked(size);
    if (status != NtStatus::SUCCESS) return status;
    file->size_ = size;
    // pmem_is_pmem() knows only pmem_map_file()'s ranges, so it adds nothing here but
    // the PMEM_IS_PMEM_FORCE=1 override; MAP_SYNC is the real test for a regular file.
    file->is_pmem_ =
        file->map_sync_ || pmem_is_pmem(file->mapping_.data(), file->mapping_.size()) != 0;
    file->dense_ = has_no_holes(file->fd_.get(), size);
  }
  out = std::move(file);
  return NtStatus::SUCCESS;
}

std::size_t MappedFile::capacity() const {
  std::shared_lock lock(mu_);
  return mapping_.size();
}

NtStatus MappedFile::read(std::uint64_t offset, MutableByteSpan buffer, std::size_t& done) const {
  done = 0;
  if (offset > kMaxOffset) return NtStatus::INVALID_PARAMETER;
  bool faulted = false;
  {
    std::shared_lock lock(mu_);
    const NtStatus status = read_locked(offset, buffer, done, faulted);
    if (!faulted) return status;
  }
  // The file shrank behind the mapping. The shared lock is gone (it cannot be
  // upgraded); the size is refreshed and the copy retried once, under the exclusive
  // lock, so that no other refresh or resize moves the size in between.
  std::unique_lock lock(mu_);
  NtStatus status = refresh_locked();
  if (status != NtStatus::SUCCESS) return status;
  status = read_locked(offset, buffer, done, faulted);
  if (!faulted) return status;
  // Shrunk again in between, or a media error: the size is refreshed for the next caller.
  (void)refresh_locked();
  return NtStatus::DATA_ERROR;
}

NtStatus MappedFile::write(std::uint64_t offset, ByteSpan data, std::size_t& done) {
  done = 0;
  if (!writable()) return NtStatus::ACCESS_DENIED;
  if (offset > kMaxOffset || data.size() > kMaxOffset - offset) return NtStatus::DISK_FULL;
  if (data.empty()) return NtStatus::SUCCESS;
  const std::uint64_t end = offset + data.size();

  bool faulted = false;
  {
    std::shared_lock lock(mu_);
    if (end <= size_.load(std::memory_order_relaxed)) {
      const NtStatus status = store_locked(offset, data, faulted);
      if (!faulted) {
        if (status == NtStatus::SUCCESS) done = data.size();
        return status;
      }
    }
  }
  // Extending writes are serialised with each other and with readers only for as long
  // as the resize and this one copy take. The cached size may be stale (a change behind
  // the mapping), so a resize starts from the real one. A write that faulted because
  // the file shrank behind the mapping comes here too: with the real size it is an
  // extending write like any other, tried once more.
  std::unique_lock lock(mu_);
  for (int faults = faulted ? 1 : 0;; ++faults) {
    if (faults > 1) {
      // Shrunk again in between, or a media error; the next caller starts afresh.
      (void)refresh_locked();
      return NtStatus::DATA_ERROR;
    }
    if (faults > 0 || end > size_.load(std::memory_order_relaxed)) {
      const NtStatus status = refresh_locked();
      if (status != NtStatus::SUCCESS) return status;
    }
    if (end > size_.load(std::memory_order_relaxed)) {
      const NtStatus status = resize_locked(end);
      if (status != NtStatus::SUCCESS) return status;
    }
    const NtStatus status = store_locked(offset, data, faulted);
    if (!faulted) {
      if (status == NtStatus::SUCCESS) done = data.size();
      return status;
    }
  }
}

NtStatus MappedFile::range(std::uint64_t offset, std::size_t length, WriteRange& out) {
  out.reset();
  if (!writable()) return NtStatus::ACCESS_DENIED;
  if (offset > kMaxOffset || length > kMaxOffset - offset) return NtStatus::DISK_FULL;
  const std::uint64_t end = offset + length;
  for (;;) {
    std::shared_lock lock(mu_);
    if (end <= size_.load(std::memory_order_relaxed)) {
      const NtStatus status = ensure_allocated(offset, length);
      if (status != NtStatus::SUCCESS) return status;
      out.file_ = this;
      out.span_ = MutableByteSpan(mapping_.data() + offset, length);
      out.offset_ = offset;
      out.generation_ = generation_.load(std::memory_order_relaxed);
      out.lock_ = std::move(lock);
      return NtStatus::SUCCESS;
    }
    lock.unlock();
    // The lock cannot be downgraded: grow exclusively, then look again (a
    // concurrent shrink in between sends us round once more).
    std::unique_lock exclusive(mu_);
    NtStatus status = refresh_locked();
    if (status != NtStatus::SUCCESS) return status;
    if (end > size_.load(std::memory_order_relaxed)) {
      status = resize_locked(end);
      if (status != NtStatus::SUCCESS) return status;
    }
  }
}

NtStatus MappedFile::set_end_of_file(std::uint64_t end_of_file) {
  if (!writable()) return NtStatus::ACCESS_DENIED;
  if (end_of_file > kMaxOffset) return NtStatus::INVALID_PARAMETER;
  std::unique_lock lock(mu_);
  // The cached size may be stale (a change behind the mapping); a resize starts from
  // the real one. One fstat, cheap next to the ftruncate and fdatasync of a resize.
  const NtStatus status = refresh_locked();
  if (status != NtStatus::SUCCESS) return status;
  if (end_of_file == size_.load(std::memory_order_relaxed)) return NtStatus::SUCCESS;
  return resize_locked(end_of_file);
}

NtStatus MappedFile::flush() {
  return ::fsync(fd_.get()) == 0 ? NtStatus::SUCCESS : smb::last_error();
}

NtStatus MappedFile::make_writable(int fd) {
  struct stat mine {
  }, theirs{};
  if (::fstat(fd, &theirs) != 0 || ::fstat(fd_.get(), &mine) != 0) return smb::last_error();
  if (mine.st_dev != theirs.st_dev || mine.st_ino != theirs.st_ino) {
    return NtStatus::INVALID_PARAMETER;
  }
  const int fl = ::fcntl(fd, F_GETFL);
  if (fl < 0) return smb::last_error();
  if ((fl & O_ACCMODE) != O_RDWR) return NtStatus::ACCESS_DENIED;
  std::unique_lock lock(mu_);
  if (writable_.load(std::memory_order_relaxed)) return NtStatus::SUCCESS;
  smb::UniqueFd own(::fcntl(fd, F_DUPFD_CLOEXEC, 0));
  if (!own) return smb::last_error();
  std::swap(fd_, own);
  writable_ = true;
  const NtStatus status = remap_locked(size_.load(std::memory_order_relaxed));
  if (status != NtStatus::SUCCESS) {
    std::swap(fd_, own);
    writable_ = false;
  }
  return status;
}

NtStatus MappedFile::ensure_allocated(std::uint64_t offset, std::size_t length) const {
  if (dense_.load(std::memory_order_relaxed) || length == 0) return NtStatus::SUCCESS;
  // Mode 0 inside the file leaves the size alone and allocates only the holes; this
  // turns "no space" into DISK_FULL here instead of SIGBUS at the store.
  if (::fallocate(fd_.get(), 0, static_cast<off_t>(offset), static_cast<off_t>(length)) != 0) {
    if (errno == EOPNOTSUPP) return NtStatus::SUCCESS;  // nothing better to be had
    return smb::last_error();
  }
  return NtStatus::SUCCESS;
}

NtStatus MappedFile::read_locked(std::uint64_t offset, MutableByteSpan buffer, std::size_t& done,
                                 bool& faulted) const {
  done = 0;
  faulted = false;
  const std::uint64_t size = size_.load(std::memory_order_relaxed);
  if (offset >= size) return buffer.empty() ? NtStatus::SUCCESS : NtStatus::END_OF_FILE;
  const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(buffer.size(), size - offset));
  Copy copy{buffer.data(), mapping_.data() + offset, n};
  if (!run_guarded(copy_plain, &copy)) {
    faulted = true;
    return NtStatus::DATA_ERROR;
  }
  done = n;
  return NtStatus::SUCCESS;
}

NtStatus MappedFile::store_locked(std::uint64_t offset, ByteSpan data, bool& faulted) const {
  faulted = false;
  NtStatus status = ensure_allocated(offset, data.size());
  if (status != NtStatus::SUCCESS) return status;
  std::uint8_t* dst = mapping_.data() + offset;
  Copy copy{dst, data.data(), data.size()};
  if (is_pmem_) {
    faulted = !run_guarded(copy_persist, &copy);
    return faulted ? NtStatus::DATA_ERROR : NtStatus::SUCCESS;
  }
  if (!run_guarded(copy_plain, &copy)) {
    faulted = true;
    return NtStatus::DATA_ERROR;
  }
  return persist_locked(dst, data.size(), faulted);
}

NtStatus MappedFile::persist_locked(std::uint8_t* addr, std::size_t length, bool& faulted) const {
  faulted = false;
  if (is_pmem_) {
    Flush flush{addr, length};
    faulted = !run_guarded(flush_persist, &flush);
    return faulted ? NtStatus::DATA_ERROR : NtStatus::SUCCESS;
  }
  // pmem_msync rounds the range out to whole pages, as msync(2) requires. A system
  // call: it reports a dropped range as an error (or not at all), never as SIGBUS.
  return pmem_msync(addr, length) == 0 ? NtStatus::SUCCESS : smb::last_error();
}

NtStatus MappedFile::refresh_locked() const {
  // The size is a cache of the file's, so const readers refresh it too; a MappedFile is
  // only ever created non-const (by open()), which makes the cast well-defined.
  auto* self = const_cast<MappedFile*>(this);
  struct stat st {};
  if (::fstat(fd_.get(), &st) != 0) return smb::last_error();
  const auto real = static_cast<std::uint64_t>(st.st_size);
  // Grown behind the mapping past the reservation: it must cover the new size before
  // the size may say so.
  if (real > mapping_.size()) {
    const NtStatus status = self->remap_locked(real);
    if (status != NtStatus::SUCCESS) return status;
  }
  // Whoever changed the size may have left holes (ftruncate up) that a store would
  // have to allocate.
  if (real != size_.load(std::memory_order_relaxed)) {
    dense_ = has_no_holes(fd_.get(), real);
    size_.store(real, std::memory_order_release);
  }
  return NtStatus::SUCCESS;
}

NtStatus MappedFile::refresh_after_fault() const {
  std::unique_lock lock(mu_);
  return refresh_locked();
}

NtStatus MappedFile::resize_locked(std::uint64_t new_size) {
  const int fd = fd_.get();
  const std::uint64_t old_size = size_.load(std::memory_order_relaxed);
  bool new_range_is_hole = false;
  if (new_size > old_size) {
    // Allocate the new blocks now (mode 0 also extends the size), so later stores into
    // the mapping never need to allocate and cannot fault with SIGBUS on ENOSPC.
    if (::fallocate(fd, 0, static_cast<off_t>(old_size), static_cast<off_t>(new_size - old_size)) !=
        0) {
      const int err = errno;
      if (err != EOPNOTSUPP) {
        // A failed fallocate may have allocated, and on some file systems extended,
        // part of the range: put the size back.
        (void)::ftruncate(fd, static_cast<off_t>(old_size));
        return smb::errno_to_ntstatus(err);
      }
      if (::ftruncate(fd, static_cast<off_t>(new_size)) != 0) return smb::last_error();
      new_range_is_hole = true;
    }
  } else if (::ftruncate(fd, static_cast<off_t>(new_size)) != 0) {
    return smb::last_error();
  }
  // The size is metadata: MAP_SYNC does not cover it and msync of the data pages
  // does not reach it on every file system, so it is made durable here.
  if (::fdatasync(fd) != 0) return smb::last_error();

  const std::size_t capacity = mapping_.size();
  const std::size_t wanted = capacity_for(new_size);
  if (wanted == 0) return NtStatus::DISK_FULL;
  // Shrinking keeps the mapping (the kernel drops the pages past the end; nothing
  // below reads them) unless most of the reservation would sit unused.
  if (new_size > capacity || (capacity > kHugeAlign && capacity / 4 > wanted)) {
    const NtStatus status = remap_locked(new_size);
    if (status != NtStatus::SUCCESS) {
      if (new_size > old_size) (void)::ftruncate(fd, static_cast<off_t>(old_size));
      if (new_size > capacity) return status;
      // A failed shrink of the reservation leaves the old, larger mapping: still valid.
    }
  }
  if (new_range_is_hole) dense_ = false;
  size_.store(new_size, std::memory_order_release);
  return NtStatus::SUCCESS;
}

NtStatus MappedFile::remap_locked(std::uint64_t for_size) {
  const std::size_t capacity = capacity_for(for_size);
  if (capacity == 0) return NtStatus::DISK_FULL;
  const bool first = mapping_.size() == 0;
  // The first mapping asks for MAP_SYNC; later ones keep what it got, so is_pmem()
  // never changes during the life of the object.
  bool sync = try_map_sync_ && (first || map_sync_);
  const bool writable = writable_.load(std::memory_order_relaxed);
  Mapping fresh;
  int err = map_aligned(fd_.get(), capacity, writable, sync, fresh);
  if (err != 0 && sync && first && (err == EOPNOTSUPP || err == EINVAL)) {
    sync = false;
    err = map_aligned(fd_.get(), capacity, writable, sync, fresh);
  }
  if (err != 0)
    return err == ENOMEM ? NtStatus::INSUFFICIENT_RESOURCES : smb::errno_to_ntstatus(err);
  mapping_ = std::move(fresh);
  map_sync_ = sync;
  generation_.fetch_add(1, std::memory_order_acq_rel);
  return NtStatus::SUCCESS;
}

NtStatus FileTable::acquire(int fd, std::shared_ptr<MappedFile>& out, const MapOptions& options) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) return smb::last_error();
  const int fl = ::fcntl(fd, F_GETFL);
  if (fl < 0) return smb::last_error();
  const auto key = std::make_pair(st.st_dev, st.st_ino);
  std::lock_guard lock(mu_);
  if (auto it = files_.find(key); it != files_.end()) {
    if (auto existing = it->second.lock()) {
      if ((fl & O_ACCMODE) == O_RDWR && !existing->writable()) {
        const NtStatus status = existing->make_writable(fd);
        if (status != NtStatus::SUCCESS) return status;
      }
      out = std::move(existing);
      return NtStatus::SUCCESS;
    }
    files_.erase(it);
  }
  std::shared_ptr<MappedFile> file;
  const NtStatus status = MappedFile::open(fd, file, options);
  if (status != NtStatus::SUCCESS) return status;
  // Entries of closed files are dropped whenever the map has doubled since the last
  // sweep: amortised O(1) per open, and the map stays within twice the open set.
  if (files_.size() >= sweep_at_) {
    std::erase_if(files_, [](const auto& entry) { return entry.second.expired(); });
    sweep_at_ = std::max<std::size_t>(64, 2 * files_.size());
  }
  files_.emplace(key, file);
  out = std::move(file);
  return NtStatus::SUCCESS;
}

std::size_t FileTable::size() const {
  std::lock_guard lock(mu_);
  return static_cast<std::size_t>(std::count_if(files_.begin(), files_.end(),
                                                [](const auto& e) { return !e.second.expired(); }));
}

}  // namespace smb::pmem
