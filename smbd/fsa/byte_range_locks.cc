#include "smbd/fsa/byte_range_locks.hh"

#include <vector>

namespace smb::fsa {

namespace {

hostwide::FileId file_of(const LockOwner& owner) {
  return hostwide::FileId{owner.file.device, owner.file.inode};
}

LockRange range_of(const hostwide::LockRecord& r) { return {r.offset, r.length, r.exclusive}; }

}  // namespace

NtStatus check_lock_range(std::uint64_t offset, std::uint64_t length) {
  if (length != 0 && offset + (length - 1) < offset) return NtStatus::INVALID_LOCK_RANGE;
  return NtStatus::SUCCESS;
}

bool ranges_overlap(std::uint64_t offset1, std::uint64_t length1, std::uint64_t offset2,
                    std::uint64_t length2) {
  if ((offset1 == 0 && length1 == 0) || (offset2 == 0 && length2 == 0)) return false;
  // Last bytes as 2.1.4.10 computes them; an empty range at a nonzero offset ends one
  // byte before it starts, so it overlaps only a range holding its offset past that
  // range's first byte. Lengths were checked not to run past the 64-bit space.
  std::uint64_t last1 = offset1 + length1 - 1;
  std::uint64_t last2 = offset2 + length2 - 1;
  if (length1 == 0) return offset1 > offset2 && offset1 <= last2;
  if (length2 == 0) return offset2 > offset1 && offset2 <= last1;
  return offset1 <= last2 && last1 >= offset2;
}

bool lock_conflicts(const LockRange& held, bool same_open, const LockRange& wanted) {
  if (!ranges_overlap(held.offset, held.length, wanted.offset, wanted.length)) return false;
  if (held.exclusive) return !(same_open && !wanted.exclusive);
  return wanted.exclusive;
}

bool io_conflicts(const LockRange& held, bool same_open, std::uint64_t offset, std::uint64_t length,
                  bool write) {
  if (!ranges_overlap(held.offset, held.length, offset, length)) return false;
  if (held.exclusive) return !same_open;
  return write;
}

ByteRangeLocks::ByteRangeLocks(std::shared_ptr<hostwide::LockSegment> segment, pid_t self,
                               std::function<void(pid_t)> ring)
    : segment_(std::move(segment)), self_(self), ring_(std::move(ring)) {}

void ByteRangeLocks::wake(const std::vector<pid_t>& workers) {
  if (!ring_) return;
  for (pid_t worker : workers) ring_(worker);
}

NtStatus ByteRangeLocks::lock(const LockOwner& owner, std::span<const LockRange> ranges,
                              std::uint64_t waiter) {
  std::vector<hostwide::LockRecord> wanted;
  wanted.reserve(ranges.size());
  for (const LockRange& r : ranges) {
    if (NtStatus s = check_lock_range(r.offset, r.length); s != NtStatus::SUCCESS) return s;
    wanted.push_back({self_, owner.open, r.offset, r.length, r.exclusive});
  }
  pid_t self = self_;
  auto conflict = [self](const hostwide::LockRecord& held, const hostwide::LockRecord& want) {
    bool same_open = held.owner == want.owner && held.open == want.open && held.owner == self;
    return lock_conflicts(range_of(held), same_open, range_of(want));
  };
  hostwide::LockSegment::Waiter who{self_, waiter};
  std::size_t failed = 0;
  switch (segment_->add(file_of(owner), wanted, conflict, waiter != 0 ? &who : nullptr, failed)) {
    case hostwide::LockResult::OK:
      return NtStatus::SUCCESS;
    case hostwide::LockResult::CONFLICT:
      return NtStatus::LOCK_NOT_GRANTED;
    case hostwide::LockResult::FULL:
      return NtStatus::INSUFFICIENT_RESOURCES;
    default:
      return NtStatus::INTERNAL_ERROR;
  }
}

NtStatus ByteRangeLocks::unlock(const LockOwner& owner, std::uint64_t offset,
                                std::uint64_t length) {
  std::vector<pid_t> workers;
  hostwide::LockRecord lock{self_, owner.open, offset, length, false};
  switch (segment_->remove(file_of(owner), lock, workers)) {
    case hostwide::LockResult::OK:
      wake(workers);
      return NtStatus::SUCCESS;
    case hostwide::LockResult::NOT_FOUND:
      return NtStatus::RANGE_NOT_LOCKED;
    default:
      return NtStatus::INTERNAL_ERROR;
  }
}

void ByteRangeLocks::unlock_all(const LockOwner& owner) {
  std::vector<pid_t> workers;
  if (segment_->remove_open(file_of(owner), self_, owner.open, workers) != 0) wake(workers);
}

void ByteRangeLocks::stop_waiting(std::uint64_t waiter) { segment_->remove_waiter(self_, waiter); }

NtStatus ByteRangeLocks::check_io(const LockOwner& owner, std::uint64_t offset,
                                  std::uint64_t length, bool write) {
  if (length == 0) return NtStatus::SUCCESS;
  pid_t self = self_;
  std::uint64_t open = owner.open;
  bool found = false;
  auto match = [&](const hostwide::LockRecord& held) {
    bool same_open = held.owner == self && held.open == open;
    return io_conflicts(range_of(held), same_open, offset, length, write);
  };
  hostwide::LockResult r = segment_->any(file_of(owner), match, found);
  if (r != hostwide::LockResult::OK) return NtStatus::INTERNAL_ERROR;
  return found ? NtStatus::FILE_LOCK_CONFLICT : NtStatus::SUCCESS;
}

void ByteRangeLocks::hand_over(const LockOwner& owner, pid_t new_worker, std::uint64_t new_open) {
  (void)segment_->rehome(file_of(owner), self_, owner.open, new_worker, new_open);
}

}  // namespace smb::fsa
