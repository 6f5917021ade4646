#include "smbd/hostwide/open_segment.hh"

#include <pthread.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace smb::hostwide {

using layout::EntrySlot;
using layout::FileSlot;
using layout::kNone;

namespace {

std::uint32_t round_up_power_of_two(std::uint32_t n) {
  std::uint32_t p = 1;
  while (p < n) p <<= 1;
  return p;
}

std::size_t align(std::size_t n) { return (n + 63) & ~std::size_t{63}; }

// A caching level read from the segment: anything out of range is no caching.
Caching caching_of(std::uint8_t value) {
  return value <= static_cast<std::uint8_t>(Caching::LEASE) ? static_cast<Caching>(value)
                                                            : Caching::NONE;
}

constexpr std::uint8_t kLeaseBits = kLeaseRead | kLeaseHandle | kLeaseWrite;
constexpr std::uint8_t kBreakBits = kBreakNotify | kBreakAwaitsAck;

OpenEntry entry_of(const EntrySlot& slot) {
  OpenEntry entry;
  entry.owner = slot.owner;
  entry.token = slot.token;
  std::memcpy(entry.client.data(), slot.client, sizeof slot.client);
  entry.granted_access = slot.granted_access;
  entry.share_access = slot.share_access;
  entry.delete_on_close = (slot.flags & layout::kDeleteOnClose) != 0;
  entry.caching = caching_of(slot.caching);
  entry.oplock_breaking_to = caching_of(slot.oplock_breaking_to);
  entry.break_flags = slot.break_flags & kBreakBits;
  if (entry.caching == Caching::LEASE) {
    LeaseRecord& lease = entry.lease;
    std::memcpy(lease.key.data(), slot.lease_key, sizeof slot.lease_key);
    std::memcpy(lease.parent_key.data(), slot.parent_lease_key, sizeof slot.parent_lease_key);
    lease.parent_set = (slot.flags & layout::kParentLeaseKeySet) != 0;
    lease.state = slot.lease_state & kLeaseBits;
    lease.breaking_to = slot.lease_breaking_to & kLeaseBits;
    lease.breaking_required = slot.lease_breaking_required & kLeaseBits;
    lease.epoch = slot.lease_epoch;
    lease.version = slot.lease_version == 2 ? 2 : 1;
  }
  return entry;
}

void write_caching(EntrySlot& slot, const OpenEntry& entry) {
  slot.caching = static_cast<std::uint8_t>(entry.caching);
  slot.oplock_breaking_to = static_cast<std::uint8_t>(entry.oplock_breaking_to);
  slot.break_flags = entry.break_flags & kBreakBits;
  std::memcpy(slot.lease_key, entry.lease.key.data(), sizeof slot.lease_key);
  std::memcpy(slot.parent_lease_key, entry.lease.parent_key.data(), sizeof slot.parent_lease_key);
  slot.lease_state = entry.lease.state & kLeaseBits;
  slot.lease_breaking_to = entry.lease.breaking_to & kLeaseBits;
  slot.lease_breaking_required = entry.lease.breaking_required & kLeaseBits;
  slot.lease_epoch = entry.lease.epoch;
  slot.lease_version = entry.lease.version;
  slot.flags = (entry.delete_on_close ? layout::kDeleteOnClose : 0) |
               (entry.lease.parent_set ? layout::kParentLeaseKeySet : 0);
}

}  // namespace

// Holds the table's mutex; a lock left by a dead holder is taken over after the links are
// rebuilt, so whatever the holder was half-way through does not survive as broken links.
class OpenSegment::Lock {
 public:
  explicit Lock(OpenSegment& segment) : segment_(segment) {
    int rc = pthread_mutex_lock(&segment_.header_->mutex);
    if (rc == EOWNERDEAD) {
      segment_.rebuild();
      segment_.header_->rebuilds++;
      pthread_mutex_consistent(&segment_.header_->mutex);
      rc = 0;
    }
    held_ = rc == 0;
  }
  ~Lock() {
    if (held_) pthread_mutex_unlock(&segment_.header_->mutex);
  }
  bool held() const { return held_; }

 private:
  OpenSegment& segment_;
  bool held_ = false;
};

std::unique_ptr<OpenSegment> OpenSegment::create(std::uint32_t capacity, std::string& error) {
  if (capacity == 0 || capacity >= kNone / 2) {
    error = "open file table size out of range";
    return nullptr;
  }
  std::uint32_t buckets = round_up_power_of_two(capacity);
  std::size_t size = align(sizeof(layout::Header)) + align(sizeof(std::uint32_t) * buckets) +
                     align(sizeof(FileSlot) * capacity) + align(sizeof(EntrySlot) * capacity);
  // Shared with every process forked afterwards; the descriptor is not needed once mapped.
  int fd = ::memfd_create("smbd-open-files", MFD_CLOEXEC);
  if (fd < 0) {
    error = std::string("memfd_create: ") + std::strerror(errno);
    return nullptr;
  }
  if (::ftruncate(fd, static_cast<off_t>(size)) != 0) {
    error = std::string("sizing the open file table: ") + std::strerror(errno);
    ::close(fd);
    return nullptr;
  }
  void* base = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  int saved = errno;
  ::close(fd);
  if (base == MAP_FAILED) {
    error = std::string("mapping the open file table: ") + std::strerror(saved);
    return nullptr;
  }
  std::unique_ptr<OpenSegment> segment(new OpenSegment(base, size, capacity, buckets));
  while (::getrandom(&segment->host_id_, sizeof segment->host_id_, 0) < 0 && errno == EINTR) {
  }
  segment->initialise();
  pthread_mutexattr_t attr;
  pthread_mutexattr_init(&attr);
  pthread_mutexattr_setpshared(&attr, PTHREAD_PROCESS_SHARED);
  pthread_mutexattr_setrobust(&attr, PTHREAD_MUTEX_ROBUST);
  int rc = pthread_mutex_init(&segment->header_->mutex, &attr);
  pthread_mutexattr_destroy(&attr);
  if (rc != 0) {
    error = std::string("open file table mutex: ") + std::strerror(rc);
    return nullptr;
  }
  return segment;
}

OpenSegment::OpenSegment(void* base, std::size_t size, std::uint32_t capacity,
                         std::uint32_t buckets)
    : base_(base), size_(size), capacity_(capacity), bucket_count_(buckets) {
  auto* bytes = static_cast<std::uint8_t*>(base);
  header_ = reinterpret_cast<layout::Header*>(bytes);
  bytes += align(sizeof(layout::Header));
  buckets_ = reinterpret_cast<std::uint32_t*>(bytes);
  bytes += align(sizeof(std::uint32_t) * buckets);
  files_ = reinterpret_cast<FileSlot*>(bytes);
  bytes += align(sizeof(FileSlot) * capacity);
  entries_ = reinterpret_cast<EntrySlot*>(bytes);
}

OpenSegment::~OpenSegment() { ::munmap(base_, size_); }

void OpenSegment::initialise() {
  header_->magic = layout::kMagic;
  header_->host_id = host_id_;
  header_->rebuilds = 0;
  for (std::uint32_t i = 0; i < capacity_; ++i) {
    files_[i] = FileSlot{};
    entries_[i] = EntrySlot{};
  }
  rebuild();
}

// The links from the slots' own fields: an open is kept when it is in use and names a
// file slot in use; a file is kept while it has an open; two slots of one file are merged.
void OpenSegment::rebuild() {
  for (std::uint32_t b = 0; b < bucket_count_; ++b) buckets_[b] = kNone;
  for (std::uint32_t f = 0; f < capacity_; ++f) {
    if (files_[f].in_use != 1) files_[f].in_use = 0;
    files_[f].first_entry = kNone;
    files_[f].next = kNone;
  }
  for (std::uint32_t e = capacity_; e-- > 0;) {
    EntrySlot& entry = entries_[e];
    if (entry.in_use != 1 || entry.file >= capacity_ || files_[entry.file].in_use != 1) {
      entry.in_use = 0;
      continue;
    }
    entry.next = files_[entry.file].first_entry;
    files_[entry.file].first_entry = e;
  }
  for (std::uint32_t f = 0; f < capacity_; ++f) {
    FileSlot& file = files_[f];
    if (file.in_use == 0) continue;
    if (file.first_entry == kNone) {
      file.in_use = 0;
      continue;
    }
    std::uint32_t existing = kNone;
    if (find_file({file.device, file.inode}, existing) && existing != kNone) {
      // Another slot of the same file: its opens join that one.
      for (std::uint32_t e = file.first_entry; e != kNone;) {
        std::uint32_t next = entries_[e].next;
        entries_[e].file = existing;
        entries_[e].next = files_[existing].first_entry;
        files_[existing].first_entry = e;
        e = next;
      }
      files_[existing].delete_pending |= file.delete_pending;
      file.in_use = 0;
      file.first_entry = kNone;
      continue;
    }
    std::uint32_t b = bucket_of({file.device, file.inode});
    file.next = buckets_[b];
    buckets_[b] = f;
  }
  header_->free_file = kNone;
  header_->free_entry = kNone;
  for (std::uint32_t i = capacity_; i-- > 0;) {
    if (files_[i].in_use == 0) {
      files_[i].next = header_->free_file;
      header_->free_file = i;
    }
    if (entries_[i].in_use == 0) {
      entries_[i].next = header_->free_entry;
      header_->free_entry = i;
    }
  }
}

std::uint32_t OpenSegment::bucket_of(const FileId& id) const {
  std::uint64_t h = (id.inode * 0x9E3779B97F4A7C15ull) ^ (id.device * 0xC2B2AE3D27D4EB4Full);
  h ^= h >> 29;
  return static_cast<std::uint32_t>(h & (bucket_count_ - 1));
}

bool OpenSegment::find_file(const FileId& id, std::uint32_t& slot) const {
  slot = kNone;
  std::uint32_t f = buckets_[bucket_of(id)];
  for (std::uint32_t steps = 0; f != kNone; ++steps) {
    if (f >= capacity_ || steps >= capacity_ || files_[f].in_use != 1) return false;
    if (files_[f].device == id.device && files_[f].inode == id.inode) {
      slot = f;
      return true;
    }
    f = files_[f].next;
  }
  return true;
}

bool OpenSegment::read_entries(std::uint32_t file, FileState& out,
                               std::vector<std::uint32_t>* slots) const {
  out = FileState{};
  if (slots) slots->clear();
  out.delete_pending = files_[file].delete_pending != 0;
  for (std::int32_t waiter : files_[file].waiters)
    if (waiter > 0) out.waiters.push_back(waiter);
  std::uint32_t e = files_[file].first_entry;
  for (std::uint32_t steps = 0; e != kNone; ++steps) {
    if (e >= capacity_ || steps >= capacity_) return false;
    const EntrySlot& slot = entries_[e];
    if (slot.in_use != 1 || slot.file != file) return false;
    out.entries.push_back(entry_of(slot));
    if (slots) slots->push_back(e);
    e = slot.next;
  }
  return true;
}

bool OpenSegment::write_back(std::uint32_t file, const FileState& state,
                             const std::vector<std::uint32_t>& slots) {
  for (std::size_t i = 0; i < slots.size() && i < state.entries.size(); ++i)
    write_caching(entries_[slots[i]], state.entries[i]);
  if (state.waiters.size() > kMaxWaiters) return false;
  for (std::size_t i = 0; i < kMaxWaiters; ++i)
    files_[file].waiters[i] = i < state.waiters.size() ? state.waiters[i] : 0;
  return true;
}

Result OpenSegment::lookup(const FileId& id, FileState& out) {
  out = FileState{};
  Lock lock(*this);
  if (!lock.held()) return Result::CORRUPT;
  std::uint32_t file;
  if (!find_file(id, file) || (file != kNone && !read_entries(file, out))) {
    out = FileState{};
    rebuild();
    header_->rebuilds++;
    return Result::CORRUPT;
  }
  return file == kNone ? Result::NOT_FOUND : Result::OK;
}

Result OpenSegment::insert(const FileId& id, const OpenEntry& entry, const Admission& admit) {
  Lock lock(*this);
  if (!lock.held()) return Result::CORRUPT;
  std::uint32_t file;
  FileState state;
  std::vector<std::uint32_t> slots;
  if (!find_file(id, file) || (file != kNone && !read_entries(file, state, &slots))) {
    rebuild();
    header_->rebuilds++;
    return Result::CORRUPT;
  }
  OpenEntry admitted = entry;
  bool admit_it = admit(state, admitted);
  // The entries read are the ones written back: admission may not add or drop any.
  if (file != kNone && state.entries.size() == slots.size() && !write_back(file, state, slots))
    return Result::FULL;
  if (!admit_it) return Result::REFUSED;
  std::uint32_t e = header_->free_entry;
  std::uint32_t f = file == kNone ? header_->free_file : file;
  if (e == kNone || f == kNone) return Result::FULL;
  if (e >= capacity_ || f >= capacity_ || entries_[e].in_use != 0 ||
      (file == kNone && files_[f].in_use != 0)) {
    rebuild();
    header_->rebuilds++;
    return Result::CORRUPT;
  }
  if (file == kNone) {
    header_->free_file = files_[f].next;
    FileSlot& slot = files_[f];
    slot.device = id.device;
    slot.inode = id.inode;
    slot.delete_pending = 0;
    slot.first_entry = kNone;
    for (auto& waiter : slot.waiters) waiter = 0;
    std::uint32_t b = bucket_of(id);
    slot.next = buckets_[b];
    slot.in_use = 1;
    buckets_[b] = f;
  }
  header_->free_entry = entries_[e].next;
  EntrySlot& slot = entries_[e];
  slot.file = f;
  slot.owner = entry.owner;
  slot.token = entry.token;
  std::memcpy(slot.client, entry.client.data(), sizeof slot.client);
  slot.granted_access = admitted.granted_access;
  slot.share_access = admitted.share_access;
  admitted.delete_on_close = entry.delete_on_close;
  write_caching(slot, admitted);
  slot.next = files_[f].first_entry;
  slot.in_use = 1;
  files_[f].first_entry = e;
  return Result::OK;
}

void OpenSegment::free_file(std::uint32_t file) {
  std::uint32_t* link = &buckets_[bucket_of({files_[file].device, files_[file].inode})];
  for (std::uint32_t steps = 0; *link != kNone && steps < capacity_; ++steps) {
    if (*link >= capacity_) break;
    if (*link == file) {
      *link = files_[file].next;
      break;
    }
    link = &files_[*link].next;
  }
  files_[file].in_use = 0;
  files_[file].first_entry = kNone;
  files_[file].next = header_->free_file;
  header_->free_file = file;
}

Result OpenSegment::remove(const FileId& id, pid_t owner, std::uint64_t token, bool delete_on_close,
                           FileState& left) {
  left = FileState{};
  Lock lock(*this);
  if (!lock.held()) return Result::CORRUPT;
  std::uint32_t file;
  FileState state;
  if (!find_file(id, file) || (file != kNone && !read_entries(file, state))) {
    rebuild();
    header_->rebuilds++;
    return Result::CORRUPT;
  }
  if (file == kNone) return Result::NOT_FOUND;
  // The chain was read whole above, so every link followed here is in bounds.
  std::uint32_t* link = &files_[file].first_entry;
  while (*link != kNone) {
    EntrySlot& slot = entries_[*link];
    if (slot.owner == owner && slot.token == token) break;
    link = &slot.next;
  }
  if (*link == kNone) return Result::NOT_FOUND;
  std::uint32_t e = *link;
  entries_[e].in_use = 0;
  *link = entries_[e].next;
  entries_[e].next = header_->free_entry;
  header_->free_entry = e;
  if (delete_on_close) files_[file].delete_pending = 1;
  bool pending = files_[file].delete_pending != 0;
  // The waiters go to the caller, who rings them: the file has changed for them.
  for (auto& waiter : files_[file].waiters) waiter = 0;
  if (files_[file].first_entry == kNone) {
    free_file(file);
  } else {
    (void)read_entries(file, left);
  }
  left.delete_pending = pending;
  left.waiters = state.waiters;
  return Result::OK;
}

Result OpenSegment::rehome(const FileId& id, pid_t owner, std::uint64_t token, pid_t new_owner,
                           std::uint64_t new_token, const std::array<std::uint8_t, 16>& client) {
  Lock lock(*this);
  if (!lock.held()) return Result::CORRUPT;
  std::uint32_t file;
  FileState state;
  if (!find_file(id, file) || (file != kNone && !read_entries(file, state))) {
    rebuild();
    header_->rebuilds++;
    return Result::CORRUPT;
  }
  if (file == kNone) return Result::NOT_FOUND;
  // The chain was read whole above, so every link followed here is in bounds.
  for (std::uint32_t e = files_[file].first_entry; e != kNone; e = entries_[e].next) {
    EntrySlot& slot = entries_[e];
    if (slot.owner != owner || slot.token != token) continue;
    slot.owner = new_owner;
    slot.token = new_token;
    std::copy(client.begin(), client.end(), slot.client);
    return Result::OK;
  }
  return Result::NOT_FOUND;
}

Result OpenSegment::update(const FileId& id, const Change& change) {
  Lock lock(*this);
  if (!lock.held()) return Result::CORRUPT;
  std::uint32_t file;
  FileState state;
  std::vector<std::uint32_t> slots;
  if (!find_file(id, file) || (file != kNone && !read_entries(file, state, &slots))) {
    rebuild();
    header_->rebuilds++;
    return Result::CORRUPT;
  }
  if (file == kNone) return Result::NOT_FOUND;
  change(state);
  if (state.entries.size() != slots.size()) return Result::CORRUPT;
  return write_back(file, state, slots) ? Result::OK : Result::FULL;
}

std::vector<std::pair<FileId, OpenEntry>> OpenSegment::take_notifications(pid_t owner) {
  std::vector<std::pair<FileId, OpenEntry>> out;
  Lock lock(*this);
  if (!lock.held()) return out;
  for (std::uint32_t e = 0; e < capacity_; ++e) {
    EntrySlot& slot = entries_[e];
    if (slot.in_use != 1 || slot.owner != owner || (slot.break_flags & kBreakNotify) == 0) continue;
    if (slot.file >= capacity_ || files_[slot.file].in_use != 1) continue;
    slot.break_flags &= static_cast<std::uint8_t>(~kBreakNotify);
    out.emplace_back(FileId{files_[slot.file].device, files_[slot.file].inode}, entry_of(slot));
  }
  return out;
}

Result OpenSegment::set_delete_pending(const FileId& id, bool pending) {
  Lock lock(*this);
  if (!lock.held()) return Result::CORRUPT;
  std::uint32_t file;
  if (!find_file(id, file)) {
    rebuild();
    header_->rebuilds++;
    return Result::CORRUPT;
  }
  if (file == kNone) return Result::NOT_FOUND;
  files_[file].delete_pending = pending ? 1 : 0;
  return Result::OK;
}

void OpenSegment::set_client(pid_t owner, const std::array<std::uint8_t, 16>& client) {
  Lock lock(*this);
  if (!lock.held()) return;
  for (std::uint32_t e = 0; e < capacity_; ++e)
    if (entries_[e].in_use == 1 && entries_[e].owner == owner)
      std::memcpy(entries_[e].client, client.data(), sizeof entries_[e].client);
}

std::size_t OpenSegment::remove_owner(pid_t owner) {
  Lock lock(*this);
  if (!lock.held()) return 0;
  std::size_t removed = 0;
  for (std::uint32_t e = 0; e < capacity_; ++e) {
    if (entries_[e].in_use == 1 && entries_[e].owner == owner) {
      entries_[e].in_use = 0;
      ++removed;
    }
  }
  // The links, the files left without an open and the free lists follow from the slots.
  if (removed != 0) rebuild();
  return removed;
}

std::size_t OpenSegment::open_count() {
  Lock lock(*this);
  std::size_t count = 0;
  for (std::uint32_t e = 0; e < capacity_; ++e) count += entries_[e].in_use == 1 ? 1 : 0;
  return count;
}

std::uint32_t OpenSegment::rebuilds() {
  Lock lock(*this);
  return header_->rebuilds;
}

}  // namespace smb::hostwide
