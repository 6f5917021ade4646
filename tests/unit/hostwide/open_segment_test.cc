// The host-wide open segment on its own: a full table, a lock left by a dead process, and
// records damaged on purpose.
#include "smbd/hostwide/open_segment.hh"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <doctest/doctest.h>

#include <cstring>
#include <random>

using namespace smb::hostwide;

namespace {

std::unique_ptr<OpenSegment> make_segment(std::uint32_t capacity) {
  std::string error;
  auto segment = OpenSegment::create(capacity, error);
  REQUIRE_MESSAGE(segment, error);
  return segment;
}

OpenEntry entry_of(pid_t owner, std::uint64_t token, std::uint32_t access = 1,
                   std::uint32_t share = 7) {
  OpenEntry entry;
  entry.owner = owner;
  entry.token = token;
  entry.granted_access = access;
  entry.share_access = share;
  return entry;
}

bool admit_all(FileState&, OpenEntry&) { return true; }

// Inserts one open per file until the table says otherwise; the number inserted.
std::uint32_t fill(OpenSegment& segment, std::uint64_t first_inode, pid_t owner) {
  std::uint32_t inserted = 0;
  for (std::uint64_t inode = first_inode;; ++inode) {
    Result result = segment.insert({9, inode}, entry_of(owner, inode), admit_all);
    if (result != Result::OK) {
      CHECK(result == Result::FULL);
      return inserted;
    }
    ++inserted;
  }
}

// Forks a child that takes the table's lock, leaks an open slot as a half-done insert
// would, and dies holding the lock by `how`.
void die_holding_the_lock(OpenSegment& segment, bool sigkill) {
  pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    if (pthread_mutex_lock(&segment.header().mutex) != 0) ::_exit(2);
    std::uint32_t taken = segment.header().free_entry;
    if (taken < segment.capacity()) segment.header().free_entry = segment.entry_slots()[taken].next;
    if (sigkill) ::raise(SIGKILL);
    ::_exit(0);
  }
  int status = 0;
  REQUIRE(::waitpid(child, &status, 0) == child);
  if (sigkill) {
    REQUIRE(WIFSIGNALED(status));
    CHECK(WTERMSIG(status) == SIGKILL);
  } else {
    REQUIRE(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
  }
}

}  // namespace

TEST_CASE("opens of one file from two workers are one record, and a gone worker's opens go") {
  auto segment = make_segment(64);
  FileId file{1, 42};
  REQUIRE(segment->insert(file, entry_of(100, 1, 1, 1), admit_all) == Result::OK);
  REQUIRE(segment->insert(file, entry_of(200, 1, 2, 3), admit_all) == Result::OK);
  REQUIRE(segment->insert({1, 43}, entry_of(200, 2), admit_all) == Result::OK);
  FileState state;
  REQUIRE(segment->lookup(file, state) == Result::OK);
  REQUIRE(state.entries.size() == 2);
  CHECK(segment->open_count() == 3);

  CHECK(segment->remove_owner(100) == 1);
  REQUIRE(segment->lookup(file, state) == Result::OK);
  REQUIRE(state.entries.size() == 1);
  CHECK(state.entries[0].owner == 200);
  CHECK(segment->remove_owner(200) == 2);
  CHECK(segment->lookup(file, state) == Result::NOT_FOUND);
  CHECK(segment->open_count() == 0);
}

TEST_CASE(
    "the last open of a delete-on-close file leaves it to be deleted, others see it pending") {
  auto segment = make_segment(16);
  FileId file{2, 1};
  REQUIRE(segment->insert(file, entry_of(100, 1), admit_all) == Result::OK);
  REQUIRE(segment->insert(file, entry_of(200, 1), admit_all) == Result::OK);
  FileState left;
  REQUIRE(segment->remove(file, 100, 1, true, left) == Result::OK);
  CHECK(left.entries.size() == 1);
  CHECK(left.delete_pending);
  FileState state;
  REQUIRE(segment->lookup(file, state) == Result::OK);
  CHECK(state.delete_pending);
  CHECK(segment->remove(file, 100, 1, false, left) == Result::NOT_FOUND);
  REQUIRE(segment->remove(file, 200, 1, false, left) == Result::OK);
  CHECK(left.entries.empty());
  CHECK(left.delete_pending);
  CHECK(segment->lookup(file, state) == Result::NOT_FOUND);
}

TEST_CASE("a full table refuses the next open and takes opens again once one goes") {
  auto segment = make_segment(16);
  CHECK(fill(*segment, 1, 100) == 16);
  // A further open of a file already recorded needs a slot too.
  CHECK(segment->insert({9, 1}, entry_of(100, 99), admit_all) == Result::FULL);
  FileState left;
  REQUIRE(segment->remove({9, 5}, 100, 5, false, left) == Result::OK);
  CHECK(segment->insert({9, 1}, entry_of(100, 99), admit_all) == Result::OK);
  CHECK(segment->insert({9, 100}, entry_of(100, 100), admit_all) == Result::FULL);
  CHECK(segment->open_count() == 16);
}

TEST_CASE("a process that dies holding the lock does not wedge the others") {
  for (bool sigkill : {false, true}) {
    CAPTURE(sigkill);
    auto segment = make_segment(16);
    REQUIRE(segment->insert({3, 1}, entry_of(100, 1), admit_all) == Result::OK);
    die_holding_the_lock(*segment, sigkill);
    // The next locker takes the lock over and rebuilds: the leaked slot is free again and
    // the record made before is whole.
    FileState state;
    REQUIRE(segment->lookup({3, 1}, state) == Result::OK);
    CHECK(state.entries.size() == 1);
    CHECK(segment->rebuilds() == 1);
    CHECK(fill(*segment, 100, 100) == 15);
    CHECK(segment->open_count() == 16);
    CHECK(pthread_mutex_trylock(&segment->header().mutex) == 0);
    pthread_mutex_unlock(&segment->header().mutex);
  }
}

TEST_CASE("a damaged record is refused, never followed, and the table is repaired") {
  enum class Damage { cycle, index_out_of_bounds, foreign_entry, freed_while_linked };
  for (Damage damage : {Damage::cycle, Damage::index_out_of_bounds, Damage::foreign_entry,
                        Damage::freed_while_linked}) {
    CAPTURE(static_cast<int>(damage));
    auto segment = make_segment(16);
    FileId file{4, 1};
    REQUIRE(segment->insert(file, entry_of(100, 1), admit_all) == Result::OK);
    REQUIRE(segment->insert(file, entry_of(100, 2), admit_all) == Result::OK);
    REQUIRE(segment->insert({4, 2}, entry_of(100, 3), admit_all) == Result::OK);
    auto files = segment->file_slots();
    auto entries = segment->entry_slots();
    std::uint32_t f = 0;
    while (!(files[f].in_use == 1 && files[f].inode == 1)) ++f;
    std::uint32_t first = files[f].first_entry;
    switch (damage) {
      case Damage::cycle:
        entries[first].next = first;
        break;
      case Damage::index_out_of_bounds:
        entries[first].next = 0xFFFFFFF0u;
        break;
      case Damage::foreign_entry:
        entries[first].file = (f + 1) % segment->capacity();
        break;
      case Damage::freed_while_linked:
        files[f].in_use = 0;
        break;
    }
    FileState state;
    bool admitted = false;
    Result result = segment->insert(file, entry_of(200, 1), [&](FileState&, OpenEntry&) {
      admitted = true;
      return true;
    });
    CHECK(result == Result::CORRUPT);
    CHECK_FALSE(admitted);
    CHECK(segment->rebuilds() == 1);
    // Repaired: every operation works again and the table keeps to its size.
    CHECK(segment->lookup(file, state) != Result::CORRUPT);
    CHECK(segment->insert(file, entry_of(300, 1), admit_all) == Result::OK);
    CHECK(segment->open_count() <= segment->capacity());
    fill(*segment, 1000, 300);
    CHECK(segment->open_count() == segment->capacity());
  }
}

TEST_CASE("a segment full of garbage costs refusals, not a crash") {
  auto segment = make_segment(64);
  std::mt19937_64 random(20261207);
  for (int round = 0; round < 50; ++round) {
    for (auto& slot : segment->file_slots())
      for (std::size_t i = 0; i < sizeof slot; ++i)
        reinterpret_cast<std::uint8_t*>(&slot)[i] = static_cast<std::uint8_t>(random() % 4);
    for (auto& slot : segment->entry_slots())
      for (std::size_t i = 0; i < sizeof slot; ++i)
        reinterpret_cast<std::uint8_t*>(&slot)[i] = static_cast<std::uint8_t>(random() % 4);
    segment->header().free_file = static_cast<std::uint32_t>(random());
    segment->header().free_entry = static_cast<std::uint32_t>(random() % 80);
    for (std::uint64_t inode = 0; inode < 8; ++inode) {
      FileState state;
      FileId file{static_cast<std::uint64_t>(random() % 4), inode};
      (void)segment->lookup(file, state);
      (void)segment->insert(file, entry_of(1, inode), admit_all);
      (void)segment->remove(file, 1, inode, true, state);
      (void)segment->set_delete_pending(file, true);
      CHECK(state.entries.size() <= segment->capacity());
    }
    (void)segment->remove_owner(1);
    CHECK(segment->open_count() <= segment->capacity());
  }
}

TEST_CASE("an open rehomed to another worker keeps its record, caching and place") {
  auto segment = make_segment(16);
  FileId file{1, 77};
  OpenEntry held = entry_of(100, 5, 1, 0);
  held.caching = Caching::BATCH;
  REQUIRE(segment->insert(file, held, admit_all) == Result::OK);
  REQUIRE(segment->insert(file, entry_of(300, 1), admit_all) == Result::OK);
  std::array<std::uint8_t, 16> client{};
  client[0] = 0xAB;
  CHECK(segment->rehome(file, 100, 6, 200, 9, client) == Result::NOT_FOUND);  // wrong token
  CHECK(segment->rehome({1, 78}, 100, 5, 200, 9, client) == Result::NOT_FOUND);
  REQUIRE(segment->rehome(file, 100, 5, 200, 9, client) == Result::OK);
  FileState state;
  REQUIRE(segment->lookup(file, state) == Result::OK);
  REQUIRE(state.entries.size() == 2);
  const OpenEntry& moved = state.entries[0].owner == 200 ? state.entries[0] : state.entries[1];
  CHECK(moved.owner == 200);
  CHECK(moved.token == 9);
  CHECK(moved.client == client);
  CHECK(moved.caching == Caching::BATCH);
  CHECK(moved.share_access == 0);
  // The old owner going takes nothing; the new one going takes it.
  CHECK(segment->remove_owner(100) == 0);
  CHECK(segment->remove_owner(200) == 1);
  CHECK(segment->open_count() == 1);
}
