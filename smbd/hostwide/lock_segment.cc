#include "smbd/hostwide/lock_segment.hh"

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace smb::hostwide {

using lock_layout::LockSlot;
using lock_layout::WaiterSlot;

namespace {

std::size_t align(std::size_t n) { return (n + 63) & ~std::size_t{63}; }

// A slot another process wrote: its fields are checked before they mean anything.
bool possible(const LockSlot& slot) {
  if (slot.in_use == 0) return true;
  if (slot.in_use != 1 || slot.exclusive > 1 || slot.owner <= 0) return false;
  // MS-FSA 2.1.5.8: no lock reaches past the last 64-bit offset.
  return slot.length == 0 || slot.offset + (slot.length - 1) >= slot.offset;
}

bool possible(const WaiterSlot& slot) {
  if (slot.in_use == 0) return true;
  return slot.in_use == 1 && slot.owner > 0;
}

bool same_file(const LockSlot& slot, const FileId& file) {
  return slot.device == file.device && slot.inode == file.inode;
}

LockRecord record_of(const LockSlot& slot) {
  LockRecord r;
  r.owner = slot.owner;
  r.open = slot.open;
  r.offset = slot.offset;
  r.length = slot.length;
  r.exclusive = slot.exclusive != 0;
  return r;
}

}  // namespace

// Holds the table's mutex. A lock left by a dead holder is taken over after every slot
// was checked: whatever the holder was half-way through does not survive as an
// impossible record (a slot is marked in use only once its fields are written).
class LockSegment::Guard {
 public:
  explicit Guard(LockSegment& segment) : segment_(segment) {
    int rc = pthread_mutex_lock(&segment_.header_->mutex);
    if (rc == EOWNERDEAD) {
      segment_.check_all();
      segment_.header_->rebuilds++;
      pthread_mutex_consistent(&segment_.header_->mutex);
      rc = 0;
    }
    held_ = rc == 0;
  }
  ~Guard() {
    if (held_) pthread_mutex_unlock(&segment_.header_->mutex);
  }
  bool held() const { return held_; }

 private:
  LockSegment& segment_;
  bool held_ = false;
};

std::unique_ptr<LockSegment> LockSegment::create(std::uint32_t locks, std::uint32_t waiters,
                                                 std::string& error) {
  if (locks == 0 || waiters == 0 || locks > (1u << 24) || waiters > (1u << 24)) {
    error = "byte-range lock table size out of range";
    return nullptr;
  }
  std::size_t size = align(sizeof(lock_layout::Header)) + align(sizeof(LockSlot) * locks) +
                     align(sizeof(WaiterSlot) * waiters);
  int fd = ::memfd_create("smbd-byte-range-locks", MFD_CLOEXEC);
  if (fd < 0) {
    error = std::string("memfd_create: ") + std::strerror(errno);
    return nullptr;
  }
  if (::ftruncate(fd, static_cast<off_t>(size)) != 0) {
    error = std::string("sizing the byte-range lock table: ") + std::strerror(errno);
    ::close(fd);
    return nullptr;
  }
  void* base = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  int saved = errno;
  ::close(fd);
  if (base == MAP_FAILED) {
    error = std::string("mapping the byte-range lock table: ") + std::strerror(saved);
    return nullptr;
  }
  // A fresh memfd reads as zeros: every slot is free.
  std::unique_ptr<LockSegment> segment(new LockSegment(base, size, locks, waiters));
  segment->header_->magic = lock_layout::kMagic;
  pthread_mutexattr_t attr;
  pthread_mutexattr_init(&attr);
  pthread_mutexattr_setpshared(&attr, PTHREAD_PROCESS_SHARED);
  pthread_mutexattr_setrobust(&attr, PTHREAD_MUTEX_ROBUST);
  int rc = pthread_mutex_init(&segment->header_->mutex, &attr);
  pthread_mutexattr_destroy(&attr);
  if (rc != 0) {
    error = std::string("byte-range lock table mutex: ") + std::strerror(rc);
    return nullptr;
  }
  return segment;
}

LockSegment::LockSegment(void* base, std::size_t size, std::uint32_t locks, std::uint32_t waiters)
    : base_(base), size_(size), lock_capacity_(locks), waiter_capacity_(waiters) {
  auto* bytes = static_cast<std::uint8_t*>(base);
  header_ = reinterpret_cast<lock_layout::Header*>(bytes);
  bytes += align(sizeof(lock_layout::Header));
  locks_ = reinterpret_cast<LockSlot*>(bytes);
  bytes += align(sizeof(LockSlot) * locks);
  waiters_ = reinterpret_cast<WaiterSlot*>(bytes);
}

LockSegment::~LockSegment() { ::munmap(base_, size_); }

// The marks are read from shared memory: never past the arrays.
std::uint32_t LockSegment::lock_high() const {
  return std::min(header_->lock_high, lock_capacity_);
}
std::uint32_t LockSegment::waiter_high() const {
  return std::min(header_->waiter_high, waiter_capacity_);
}

bool LockSegment::check_all() {
  bool clean = true;
  std::uint32_t high = 0;
  for (std::uint32_t i = 0; i < lock_capacity_; ++i) {
    if (!possible(locks_[i])) {
      locks_[i] = LockSlot{};
      clean = false;
    }
    if (locks_[i].in_use == 1) high = i + 1;
  }
  header_->lock_high = high;
  high = 0;
  for (std::uint32_t i = 0; i < waiter_capacity_; ++i) {
    if (!possible(waiters_[i])) {
      waiters_[i] = WaiterSlot{};
      clean = false;
    }
    if (waiters_[i].in_use == 1) high = i + 1;
  }
  header_->waiter_high = high;
  return clean;
}

void LockSegment::shrink_lock_high() {
  std::uint32_t high = lock_high();
  while (high > 0 && locks_[high - 1].in_use == 0) --high;
  header_->lock_high = high;
}

void LockSegment::shrink_waiter_high() {
  std::uint32_t high = waiter_high();
  while (high > 0 && waiters_[high - 1].in_use == 0) --high;
  header_->waiter_high = high;
}

void LockSegment::waiters_of(const FileId& file, std::vector<pid_t>& wake) const {
  for (std::uint32_t i = 0, high = waiter_high(); i < high; ++i) {
    const WaiterSlot& w = waiters_[i];
    if (w.in_use != 1 || w.owner <= 0 || w.device != file.device || w.inode != file.inode) continue;
    if (std::find(wake.begin(), wake.end(), w.owner) == wake.end()) wake.push_back(w.owner);
  }
}

LockResult LockSegment::add(const FileId& file, std::span<const LockRecord> wanted,
                            const Conflict& conflict, const Waiter* waiter, std::size_t& failed) {
  failed = 0;
  Guard guard(*this);
  if (!guard.held()) return LockResult::CORRUPT;
  std::uint32_t high = lock_high();
  for (std::uint32_t i = 0; i < high; ++i) {
    if (!possible(locks_[i])) {
      check_all();
      header_->rebuilds++;
      return LockResult::CORRUPT;
    }
  }
  for (std::size_t w = 0; w < wanted.size(); ++w) {
    bool blocked = false;
    for (std::uint32_t i = 0; i < high && !blocked; ++i)
      blocked = locks_[i].in_use == 1 && same_file(locks_[i], file) &&
                conflict(record_of(locks_[i]), wanted[w]);
    for (std::size_t earlier = 0; earlier < w && !blocked; ++earlier)
      blocked = conflict(wanted[earlier], wanted[w]);
    if (!blocked) continue;
    failed = w;
    if (waiter == nullptr) return LockResult::CONFLICT;
    std::uint32_t free_slot = waiter_capacity_;
    for (std::uint32_t i = 0, wh = waiter_high(); i < wh; ++i) {
      const WaiterSlot& slot = waiters_[i];
      if (slot.in_use == 1 && slot.owner == waiter->owner && slot.token == waiter->token)
        return LockResult::CONFLICT;  // recorded already
    }
    for (std::uint32_t i = 0; i < waiter_capacity_ && free_slot == waiter_capacity_; ++i)
      if (waiters_[i].in_use == 0) free_slot = i;
    if (free_slot == waiter_capacity_) return LockResult::FULL;
    WaiterSlot& slot = waiters_[free_slot];
    slot.owner = waiter->owner;
    slot.device = file.device;
    slot.inode = file.inode;
    slot.token = waiter->token;
    slot.in_use = 1;
    header_->waiter_high = std::max(waiter_high(), free_slot + 1);
    return LockResult::CONFLICT;
  }
  // Room for all of them first: all or none.
  std::vector<std::uint32_t> slots;
  for (std::uint32_t i = 0; i < lock_capacity_ && slots.size() < wanted.size(); ++i)
    if (locks_[i].in_use == 0) slots.push_back(i);
  if (slots.size() < wanted.size()) return LockResult::FULL;
  for (std::size_t w = 0; w < wanted.size(); ++w) {
    LockSlot& slot = locks_[slots[w]];
    slot.exclusive = wanted[w].exclusive ? 1 : 0;
    slot.owner = wanted[w].owner;
    slot.device = file.device;
    slot.inode = file.inode;
    slot.open = wanted[w].open;
    slot.offset = wanted[w].offset;
    slot.length = wanted[w].length;
    slot.in_use = 1;
    header_->lock_high = std::max(lock_high(), slots[w] + 1);
  }
  if (waiter != nullptr) {
    for (std::uint32_t i = 0, wh = waiter_high(); i < wh; ++i) {
      WaiterSlot& slot = waiters_[i];
      if (slot.in_use == 1 && slot.owner == waiter->owner && slot.token == waiter->token)
        slot.in_use = 0;
    }
    shrink_waiter_high();
  }
  return LockResult::OK;
}

LockResult LockSegment::remove(const FileId& file, const LockRecord& lock,
                               std::vector<pid_t>& wake) {
  Guard guard(*this);
  if (!guard.held()) return LockResult::CORRUPT;
  std::uint32_t found = lock_capacity_;
  for (std::uint32_t i = 0, high = lock_high(); i < high; ++i) {
    const LockSlot& slot = locks_[i];
    if (!possible(slot)) {
      check_all();
      header_->rebuilds++;
      return LockResult::CORRUPT;
    }
    if (slot.in_use != 1 || !same_file(slot, file) || slot.owner != lock.owner ||
        slot.open != lock.open || slot.offset != lock.offset || slot.length != lock.length)
      continue;
    if (found == lock_capacity_ || (slot.exclusive == 1 && locks_[found].exclusive == 0)) found = i;
  }
  if (found == lock_capacity_) return LockResult::NOT_FOUND;
  locks_[found].in_use = 0;
  shrink_lock_high();
  waiters_of(file, wake);
  return LockResult::OK;
}

std::size_t LockSegment::remove_open(const FileId& file, pid_t owner, std::uint64_t open,
                                     std::vector<pid_t>& wake) {
  Guard guard(*this);
  if (!guard.held()) return 0;
  std::size_t removed = 0;
  for (std::uint32_t i = 0, high = lock_high(); i < high; ++i) {
    LockSlot& slot = locks_[i];
    if (slot.in_use == 1 && same_file(slot, file) && slot.owner == owner && slot.open == open) {
      slot.in_use = 0;
      ++removed;
    }
  }
  if (removed != 0) {
    shrink_lock_high();
    waiters_of(file, wake);
  }
  return removed;
}

std::size_t LockSegment::rehome(const FileId& file, pid_t owner, std::uint64_t open,
                                pid_t new_owner, std::uint64_t new_open) {
  Guard guard(*this);
  if (!guard.held()) return 0;
  std::size_t moved = 0;
  for (std::uint32_t i = 0, high = lock_high(); i < high; ++i) {
    LockSlot& slot = locks_[i];
    if (slot.in_use == 1 && same_file(slot, file) && slot.owner == owner && slot.open == open) {
      slot.owner = new_owner;
      slot.open = new_open;
      ++moved;
    }
  }
  return moved;
}

LockResult LockSegment::any(const FileId& file, const std::function<bool(const LockRecord&)>& match,
                            bool& found) {
  found = false;
  Guard guard(*this);
  if (!guard.held()) return LockResult::CORRUPT;
  for (std::uint32_t i = 0, high = lock_high(); i < high && !found; ++i) {
    const LockSlot& slot = locks_[i];
    if (!possible(slot)) {
      found = false;
      check_all();
      header_->rebuilds++;
      return LockResult::CORRUPT;
    }
    found = slot.in_use == 1 && same_file(slot, file) && match(record_of(slot));
  }
  return LockResult::OK;
}

void LockSegment::remove_waiter(pid_t owner, std::uint64_t token) {
  Guard guard(*this);
  if (!guard.held()) return;
  for (std::uint32_t i = 0, high = waiter_high(); i < high; ++i) {
    WaiterSlot& slot = waiters_[i];
    if (slot.in_use == 1 && slot.owner == owner && slot.token == token) slot.in_use = 0;
  }
  shrink_waiter_high();
}

std::size_t LockSegment::remove_owner(pid_t owner, std::vector<pid_t>& wake) {
  Guard guard(*this);
  if (!guard.held()) return 0;
  // Within the high-water marks only: the master does this for every worker that exits,
  // and the slots past them are free (a slot in use past a damaged mark is found by the
  // next check of the whole table, after a holder died).
  std::size_t removed = 0;
  for (std::uint32_t i = 0, high = waiter_high(); i < high; ++i)
    if (waiters_[i].in_use != 0 && waiters_[i].owner == owner) waiters_[i] = WaiterSlot{};
  std::vector<FileId> files;
  for (std::uint32_t i = 0, high = lock_high(); i < high; ++i) {
    LockSlot& slot = locks_[i];
    if (slot.in_use == 0 || slot.owner != owner) continue;
    FileId file{slot.device, slot.inode};
    if (std::find(files.begin(), files.end(), file) == files.end()) files.push_back(file);
    slot = LockSlot{};
    ++removed;
  }
  shrink_lock_high();
  shrink_waiter_high();
  for (const FileId& file : files) waiters_of(file, wake);
  return removed;
}

std::size_t LockSegment::lock_count() {
  Guard guard(*this);
  std::size_t n = 0;
  for (std::uint32_t i = 0; i < lock_capacity_; ++i) n += locks_[i].in_use == 1 ? 1 : 0;
  return n;
}

std::size_t LockSegment::waiter_count() {
  Guard guard(*this);
  std::size_t n = 0;
  for (std::uint32_t i = 0; i < waiter_capacity_; ++i) n += waiters_[i].in_use == 1 ? 1 : 0;
  return n;
}

std::uint32_t LockSegment::rebuilds() {
  Guard guard(*this);
  return header_->rebuilds;
}

}  // namespace smb::hostwide
