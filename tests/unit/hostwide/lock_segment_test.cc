// The host-wide byte-range lock table on its own: all-or-nothing requests, waiters rung by
// a release, a full table, a lock left by a dead process, and slots damaged on purpose.
// (Which lock conflicts with which is fsa's rule: here a plain overlap test stands in.)
#include "smbd/hostwide/lock_segment.hh"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <doctest/doctest.h>

#include <algorithm>
#include <cstring>
#include <random>

using namespace smb::hostwide;

namespace {

std::unique_ptr<LockSegment> make_segment(std::uint32_t locks, std::uint32_t waiters) {
  std::string error;
  auto segment = LockSegment::create(locks, waiters, error);
  REQUIRE_MESSAGE(segment, error);
  return segment;
}

LockRecord lock_of(pid_t owner, std::uint64_t open, std::uint64_t offset, std::uint64_t length,
                   bool exclusive = true) {
  return LockRecord{owner, open, offset, length, exclusive};
}

// Any overlap of nonempty ranges conflicts unless both are shared.
bool overlap(const LockRecord& held, const LockRecord& wanted) {
  if (!held.exclusive && !wanted.exclusive) return false;
  return held.offset < wanted.offset + wanted.length && wanted.offset < held.offset + held.length;
}

LockResult add_one(LockSegment& segment, const FileId& file, const LockRecord& lock,
                   const LockSegment::Waiter* waiter = nullptr) {
  std::size_t failed = 0;
  return segment.add(file, std::span<const LockRecord>(&lock, 1), overlap, waiter, failed);
}

const FileId kFile{7, 100};
const FileId kOther{7, 101};

}  // namespace

TEST_CASE("locks of one file from two workers hold against each other, not across files") {
  auto segment = make_segment(16, 4);
  CHECK(add_one(*segment, kFile, lock_of(1000, 1, 0, 10)) == LockResult::OK);
  CHECK(add_one(*segment, kFile, lock_of(2000, 1, 5, 10)) == LockResult::CONFLICT);
  CHECK(add_one(*segment, kOther, lock_of(2000, 1, 5, 10)) == LockResult::OK);
  CHECK(add_one(*segment, kFile, lock_of(2000, 1, 10, 10)) == LockResult::OK);
  bool found = false;
  CHECK(segment->any(
            kFile, [](const LockRecord& r) { return r.owner == 2000; }, found) == LockResult::OK);
  CHECK(found);
  CHECK(segment->lock_count() == 3);
}

TEST_CASE("a request of several ranges takes all of them or none") {
  auto segment = make_segment(16, 4);
  CHECK(add_one(*segment, kFile, lock_of(1000, 1, 100, 10)) == LockResult::OK);
  std::vector<LockRecord> wanted{lock_of(2000, 1, 0, 10), lock_of(2000, 1, 50, 10),
                                 lock_of(2000, 1, 105, 1)};
  std::size_t failed = 0;
  CHECK(segment->add(kFile, wanted, overlap, nullptr, failed) == LockResult::CONFLICT);
  CHECK(failed == 2);
  CHECK(segment->lock_count() == 1);
  // Two ranges of one request that conflict with each other: the second fails.
  std::vector<LockRecord> clashing{lock_of(2000, 1, 0, 10), lock_of(2000, 1, 5, 1)};
  CHECK(segment->add(kFile, clashing, overlap, nullptr, failed) == LockResult::CONFLICT);
  CHECK(failed == 1);
  CHECK(segment->lock_count() == 1);
}

TEST_CASE(
    "unlock takes exactly a range of the open, and a waiter is rung and leaves once granted") {
  auto segment = make_segment(16, 4);
  CHECK(add_one(*segment, kFile, lock_of(1000, 1, 0, 10)) == LockResult::OK);
  LockSegment::Waiter waiter{2000, 77};
  CHECK(add_one(*segment, kFile, lock_of(2000, 5, 0, 10), &waiter) == LockResult::CONFLICT);
  // Asking again records it once.
  CHECK(add_one(*segment, kFile, lock_of(2000, 5, 0, 10), &waiter) == LockResult::CONFLICT);
  CHECK(segment->waiter_count() == 1);
  std::vector<pid_t> wake;
  CHECK(segment->remove(kFile, lock_of(1000, 1, 0, 9), wake) == LockResult::NOT_FOUND);
  CHECK(segment->remove(kFile, lock_of(1000, 2, 0, 10), wake) == LockResult::NOT_FOUND);
  CHECK(segment->remove(kFile, lock_of(3000, 1, 0, 10), wake) == LockResult::NOT_FOUND);
  CHECK(wake.empty());
  CHECK(segment->remove(kFile, lock_of(1000, 1, 0, 10), wake) == LockResult::OK);
  CHECK(wake == std::vector<pid_t>{2000});
  CHECK(add_one(*segment, kFile, lock_of(2000, 5, 0, 10), &waiter) == LockResult::OK);
  CHECK(segment->waiter_count() == 0);
  // A waiter that gives up leaves too.
  CHECK(add_one(*segment, kFile, lock_of(3000, 1, 0, 1), &waiter) == LockResult::CONFLICT);
  segment->remove_waiter(2000, 77);
  CHECK(segment->waiter_count() == 0);
}

TEST_CASE("closing an open drops its locks and rings the file's waiters") {
  auto segment = make_segment(16, 4);
  CHECK(add_one(*segment, kFile, lock_of(1000, 1, 0, 10)) == LockResult::OK);
  CHECK(add_one(*segment, kFile, lock_of(1000, 1, 20, 10)) == LockResult::OK);
  CHECK(add_one(*segment, kFile, lock_of(1000, 2, 40, 10)) == LockResult::OK);
  LockSegment::Waiter waiter{2000, 1};
  CHECK(add_one(*segment, kFile, lock_of(2000, 1, 0, 30), &waiter) == LockResult::CONFLICT);
  std::vector<pid_t> wake;
  CHECK(segment->remove_open(kFile, 1000, 1, wake) == 2);
  CHECK(wake == std::vector<pid_t>{2000});
  CHECK(segment->lock_count() == 1);
}

TEST_CASE("a full table refuses locks and waiters, and takes them again once one goes") {
  auto segment = make_segment(4, 1);
  for (std::uint64_t i = 0; i < 4; ++i)
    CHECK(add_one(*segment, kFile, lock_of(1000, 1, i * 10, 1)) == LockResult::OK);
  CHECK(add_one(*segment, kFile, lock_of(1000, 1, 100, 1)) == LockResult::FULL);
  std::vector<LockRecord> two{lock_of(2000, 1, 200, 1), lock_of(2000, 1, 300, 1)};
  std::vector<pid_t> wake;
  CHECK(segment->remove(kFile, lock_of(1000, 1, 0, 1), wake) == LockResult::OK);
  std::size_t failed = 0;
  CHECK(segment->add(kFile, two, overlap, nullptr, failed) == LockResult::FULL);
  CHECK(segment->lock_count() == 3);  // nothing of the refused request stays
  CHECK(add_one(*segment, kFile, lock_of(1000, 1, 100, 1)) == LockResult::OK);
  LockSegment::Waiter first{2000, 1}, second{3000, 1};
  CHECK(add_one(*segment, kFile, lock_of(2000, 1, 10, 1), &first) == LockResult::CONFLICT);
  CHECK(add_one(*segment, kFile, lock_of(3000, 1, 10, 1), &second) == LockResult::FULL);
}

TEST_CASE("a gone worker's locks and waiters go, and the workers waiting on its files are named") {
  auto segment = make_segment(16, 4);
  CHECK(add_one(*segment, kFile, lock_of(1000, 1, 0, 10)) == LockResult::OK);
  CHECK(add_one(*segment, kOther, lock_of(1000, 1, 0, 10)) == LockResult::OK);
  LockSegment::Waiter waiter{2000, 1}, dead_waiter{1000, 9};
  CHECK(add_one(*segment, kFile, lock_of(2000, 1, 0, 10), &waiter) == LockResult::CONFLICT);
  CHECK(add_one(*segment, kOther, lock_of(1000, 3, 0, 10), &dead_waiter) == LockResult::CONFLICT);
  std::vector<pid_t> wake;
  CHECK(segment->remove_owner(1000, wake) == 2);
  CHECK(wake == std::vector<pid_t>{2000});
  CHECK(segment->lock_count() == 0);
  CHECK(segment->waiter_count() == 1);
  CHECK(add_one(*segment, kFile, lock_of(2000, 1, 0, 10), &waiter) == LockResult::OK);
}

TEST_CASE("a process that dies holding the table's mutex does not wedge the others") {
  auto segment = make_segment(8, 2);
  CHECK(add_one(*segment, kFile, lock_of(1000, 1, 0, 10)) == LockResult::OK);
  pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    if (pthread_mutex_lock(&segment->header().mutex) != 0) ::_exit(2);
    // Half-way through a write: fields of a slot written, not marked in use.
    segment->lock_slots()[5].owner = 4242;
    segment->lock_slots()[5].in_use = 7;  // and one torn beyond sense
    ::raise(SIGKILL);
    ::_exit(0);
  }
  int status = 0;
  REQUIRE(::waitpid(child, &status, 0) == child);
  CHECK(WIFSIGNALED(status));
  std::uint32_t before = segment->rebuilds();
  CHECK(before >= 1);
  CHECK(add_one(*segment, kFile, lock_of(2000, 1, 0, 10)) == LockResult::CONFLICT);
  CHECK(add_one(*segment, kFile, lock_of(2000, 1, 10, 10)) == LockResult::OK);
  CHECK(segment->lock_count() == 2);
}

TEST_CASE("a damaged record is refused and cleared, never followed") {
  auto segment = make_segment(8, 2);
  CHECK(add_one(*segment, kFile, lock_of(1000, 1, 0, 10)) == LockResult::OK);
  CHECK(add_one(*segment, kFile, lock_of(1000, 1, 20, 10)) == LockResult::OK);
  auto slots = segment->lock_slots();
  SUBCASE("a range past the 64-bit space") {
    slots[1].offset = ~std::uint64_t{0} - 2;
    slots[1].length = 10;
  }
  SUBCASE("a flag out of range") { slots[1].exclusive = 3; }
  SUBCASE("no owner") { slots[1].owner = -5; }
  SUBCASE("a mark past the array") { segment->header().lock_high = 0xFFFFFFF0u; }
  bool found = false;
  LockResult first = segment->any(
      kFile, [](const LockRecord&) { return false; }, found);
  if (segment->header().lock_high <= segment->lock_capacity()) {
    // The damaged slot was found and cleared (or the mark was only clamped).
    CHECK((first == LockResult::CORRUPT || first == LockResult::OK));
  }
  CHECK(segment->any(
            kFile, [](const LockRecord&) { return false; }, found) == LockResult::OK);
  CHECK(add_one(*segment, kFile, lock_of(2000, 1, 0, 10)) == LockResult::CONFLICT);
  CHECK(add_one(*segment, kFile, lock_of(2000, 1, 100, 10)) == LockResult::OK);
}

TEST_CASE("a segment full of garbage costs refusals, not a crash") {
  auto segment = make_segment(64, 16);
  std::mt19937_64 random(1234);
  for (int round = 0; round < 50; ++round) {
    auto locks = segment->lock_slots();
    auto waiters = segment->waiter_slots();
    auto* bytes = reinterpret_cast<std::uint8_t*>(locks.data());
    for (std::size_t i = 0; i < locks.size_bytes(); ++i) bytes[i] = random() & 0xFF;
    bytes = reinterpret_cast<std::uint8_t*>(waiters.data());
    for (std::size_t i = 0; i < waiters.size_bytes(); ++i) bytes[i] = random() & 0xFF;
    segment->header().lock_high = static_cast<std::uint32_t>(random());
    segment->header().waiter_high = static_cast<std::uint32_t>(random());
    std::vector<pid_t> wake;
    LockSegment::Waiter waiter{2000, 1};
    (void)add_one(*segment, kFile, lock_of(2000, 1, 0, 10), &waiter);
    (void)segment->remove(kFile, lock_of(2000, 1, 0, 10), wake);
    (void)segment->remove_open(kFile, 2000, 1, wake);
    (void)segment->remove_owner(1000, wake);
    segment->remove_waiter(2000, 1);
    // After the table has checked itself, it works.
    CHECK(add_one(*segment, {1, 1}, lock_of(3000, 1, 0, 1)) != LockResult::CORRUPT);
  }
}

TEST_CASE("an open's locks rehomed to another worker stay, as that worker's") {
  auto segment = make_segment(16, 4);
  CHECK(add_one(*segment, kFile, lock_of(1000, 1, 0, 10)) == LockResult::OK);
  CHECK(add_one(*segment, kFile, lock_of(1000, 2, 20, 10)) == LockResult::OK);
  CHECK(add_one(*segment, kOther, lock_of(1000, 1, 0, 10)) == LockResult::OK);
  CHECK(segment->rehome(kFile, 1000, 1, 2000, 7) == 1);
  CHECK(segment->rehome(kFile, 1000, 1, 2000, 7) == 0);
  std::vector<pid_t> wake;
  // The old worker's going leaves the moved lock in place.
  CHECK(segment->remove_owner(1000, wake) == 2);
  CHECK(segment->lock_count() == 1);
  CHECK(add_one(*segment, kFile, lock_of(3000, 1, 5, 1)) == LockResult::CONFLICT);
  CHECK(segment->remove_open(kFile, 2000, 7, wake) == 1);
  CHECK(add_one(*segment, kFile, lock_of(3000, 1, 5, 1)) == LockResult::OK);
}
