// The byte-range lock rules of MS-FSA (2.1.4.10, 2.1.5.8, 2.1.5.9) over a lock table, with
// two workers' views of one segment standing for two processes.
#include "smbd/fsa/byte_range_locks.hh"

#include <doctest/doctest.h>

#include <vector>

using namespace smb;
using namespace smb::fsa;

namespace {

struct Host {
  std::shared_ptr<hostwide::LockSegment> segment;
  std::vector<pid_t> rung;
  ByteRangeLocks first;
  ByteRangeLocks second;

  static std::shared_ptr<hostwide::LockSegment> make() {
    std::string error;
    auto s = hostwide::LockSegment::create(64, 8, error);
    REQUIRE_MESSAGE(s, error);
    return s;
  }
  Host()
      : segment(make()),
        first(segment, 1000, [this](pid_t p) { rung.push_back(p); }),
        second(segment, 2000, [this](pid_t p) { rung.push_back(p); }) {}
};

const FileKey kFile{3, 33};
const LockOwner kA{kFile, 1};  // in `first`
const LockOwner kB{kFile, 2};  // in `first`, another open
const LockOwner kC{kFile, 1};  // in `second`: the same number, another worker

NtStatus lock(ByteRangeLocks& locks, const LockOwner& owner, std::uint64_t offset,
              std::uint64_t length, bool exclusive, std::uint64_t waiter = 0) {
  LockRange r{offset, length, exclusive};
  return locks.lock(owner, std::span<const LockRange>(&r, 1), waiter);
}

}  // namespace

TEST_CASE("MS-FSA 2.1.5.8: a range past the last 64-bit offset is INVALID_LOCK_RANGE") {
  CHECK(check_lock_range(~std::uint64_t{0}, 1) == NtStatus::SUCCESS);
  CHECK(check_lock_range(~std::uint64_t{0}, 2) == NtStatus::INVALID_LOCK_RANGE);
  CHECK(check_lock_range(~std::uint64_t{0}, 0) == NtStatus::SUCCESS);
  CHECK(check_lock_range(0xFFFFFFFF, 0xFFFFFFFF) == NtStatus::SUCCESS);
  Host host;
  CHECK(lock(host.first, kA, ~std::uint64_t{0}, ~std::uint64_t{0}, true) ==
        NtStatus::INVALID_LOCK_RANGE);
}

TEST_CASE("MS-FSA 2.1.4.10: overlap, the {0,0} range and empty ranges") {
  CHECK(ranges_overlap(0, 10, 9, 1));
  CHECK_FALSE(ranges_overlap(0, 10, 10, 1));
  CHECK_FALSE(ranges_overlap(0, 0, 0, 10));  // {0, 0} overlaps nothing
  CHECK_FALSE(ranges_overlap(0, 10, 0, 0));
  CHECK(ranges_overlap(0, 10, 5, 0));        // an empty range inside another
  CHECK_FALSE(ranges_overlap(5, 10, 5, 0));  // at its first byte it is not inside
  CHECK_FALSE(ranges_overlap(5, 0, 5, 0));
  CHECK(ranges_overlap(~std::uint64_t{0}, 1, 0, ~std::uint64_t{0}) == false);
  CHECK(ranges_overlap(~std::uint64_t{0} - 1, 2, ~std::uint64_t{0}, 1));
}

TEST_CASE("which lock stands in the way of which") {
  LockRange exclusive{0, 10, true}, shared{0, 10, false};
  // Another open: exclusive blocks all; shared blocks only exclusive.
  CHECK(lock_conflicts(exclusive, false, shared));
  CHECK(lock_conflicts(exclusive, false, exclusive));
  CHECK(lock_conflicts(shared, false, exclusive));
  CHECK_FALSE(lock_conflicts(shared, false, shared));
  // The same open: a shared lock on its own exclusive lock is granted, nothing else new.
  CHECK_FALSE(lock_conflicts(exclusive, true, shared));
  CHECK(lock_conflicts(exclusive, true, exclusive));
  CHECK(lock_conflicts(shared, true, exclusive));
  // I/O: a READ only against other opens' exclusive locks; a WRITE against those and
  // every shared lock.
  CHECK(io_conflicts(exclusive, false, 0, 1, false));
  CHECK_FALSE(io_conflicts(exclusive, true, 0, 1, false));
  CHECK_FALSE(io_conflicts(exclusive, true, 0, 1, true));
  CHECK_FALSE(io_conflicts(shared, false, 0, 1, false));
  CHECK(io_conflicts(shared, true, 0, 1, true));
  CHECK(io_conflicts(shared, false, 0, 1, true));
}

TEST_CASE("locks hold between opens and between workers, and READ and WRITE honour them") {
  Host host;
  CHECK(lock(host.first, kA, 0, 10, true) == NtStatus::SUCCESS);
  CHECK(lock(host.first, kB, 5, 1, false) == NtStatus::LOCK_NOT_GRANTED);
  CHECK(lock(host.second, kC, 5, 1, false) == NtStatus::LOCK_NOT_GRANTED);
  CHECK(lock(host.first, kA, 5, 1, false) == NtStatus::SUCCESS);  // stacked on its own
  CHECK(host.second.check_io(kC, 0, 1, false) == NtStatus::FILE_LOCK_CONFLICT);
  CHECK(host.second.check_io(kC, 10, 100, true) == NtStatus::SUCCESS);
  CHECK(host.first.check_io(kA, 0, 4, false) == NtStatus::SUCCESS);
  // Its own shared lock keeps the owner's WRITE out of byte 5.
  CHECK(host.first.check_io(kA, 0, 4, true) == NtStatus::SUCCESS);
  CHECK(host.first.check_io(kA, 0, 10, true) == NtStatus::FILE_LOCK_CONFLICT);
  CHECK(host.first.check_io(kA, 0, 0, true) == NtStatus::SUCCESS);  // nothing moves
}

TEST_CASE("MS-FSA 2.1.5.9: unlock of exactly a locked range, the exclusive one first") {
  Host host;
  CHECK(lock(host.first, kA, 0, 10, true) == NtStatus::SUCCESS);
  CHECK(lock(host.first, kA, 0, 10, false) == NtStatus::SUCCESS);
  CHECK(host.first.unlock(kA, 0, 5) == NtStatus::RANGE_NOT_LOCKED);
  CHECK(host.first.unlock(kB, 0, 10) == NtStatus::RANGE_NOT_LOCKED);
  CHECK(host.second.unlock(kC, 0, 10) == NtStatus::RANGE_NOT_LOCKED);
  CHECK(host.first.unlock(kA, 0, 10) == NtStatus::SUCCESS);
  // The shared lock is left: another open may share, not write.
  CHECK(lock(host.second, kC, 0, 10, false) == NtStatus::SUCCESS);
  CHECK(host.second.check_io(kC, 0, 10, false) == NtStatus::SUCCESS);
  CHECK(host.first.unlock(kA, 0, 10) == NtStatus::SUCCESS);
  CHECK(host.first.unlock(kA, 0, 10) == NtStatus::RANGE_NOT_LOCKED);
}

TEST_CASE("a waiting request is rung when the lock in its way goes, and by a close") {
  Host host;
  CHECK(lock(host.second, kC, 0, 10, true) == NtStatus::SUCCESS);
  CHECK(lock(host.first, kA, 0, 10, true, /*waiter=*/7) == NtStatus::LOCK_NOT_GRANTED);
  CHECK(host.second.unlock(kC, 0, 10) == NtStatus::SUCCESS);
  CHECK(host.rung == std::vector<pid_t>{1000});
  CHECK(lock(host.first, kA, 0, 10, true, 7) == NtStatus::SUCCESS);
  host.rung.clear();
  CHECK(lock(host.second, kC, 0, 10, true, 9) == NtStatus::LOCK_NOT_GRANTED);
  host.first.unlock_all(kA);
  CHECK(host.rung == std::vector<pid_t>{2000});
  host.second.stop_waiting(9);
  CHECK(host.segment->waiter_count() == 0);
}
