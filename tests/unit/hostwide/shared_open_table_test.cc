// Share modes and delete-pending between two workers' views of one host-wide table: the
// rules of fsa/share_modes over the shared segment.
#include "smbd/fsa/shared_open_table.hh"

#include <doctest/doctest.h>

#include "smbd/base/wire.hh"
#include "smbd/fsa/share_modes.hh"

using namespace smb::fsa;
using smb::NtStatus;
namespace am = smb::access_mask;

namespace {

constexpr std::uint32_t R = smb::kFileShareRead;
constexpr std::uint32_t W = smb::kFileShareWrite;
constexpr std::uint32_t D = smb::kFileShareDelete;

FileOpen open_of(FileKey key, std::uint32_t access, std::uint32_t share) {
  FileOpen open;
  open.key = key;
  open.granted_access = access;
  open.share_access = share;
  return open;
}

struct TwoWorkers {
  std::shared_ptr<smb::hostwide::OpenSegment> segment;
  std::unique_ptr<SharedOpenTable> first, second;

  explicit TwoWorkers(std::uint32_t capacity = 64) {
    std::string error;
    segment = smb::hostwide::OpenSegment::create(capacity, error);
    REQUIRE_MESSAGE(segment, error);
    first = std::make_unique<SharedOpenTable>(*segment, 1001);
    second = std::make_unique<SharedOpenTable>(*segment, 1002);
  }
};

}  // namespace

TEST_CASE("an open in one worker refuses a conflicting open in another") {
  TwoWorkers host;
  FileKey key{7, 70};
  FileOpen reader = open_of(key, am::FILE_READ_DATA, R);
  REQUIRE(admit(*host.first, reader) == NtStatus::SUCCESS);
  FileOpen writer = open_of(key, am::FILE_WRITE_DATA, R | W);
  CHECK(admit(*host.second, writer) == NtStatus::SHARING_VIOLATION);
  FileOpen second_reader = open_of(key, am::FILE_READ_DATA, R | W | D);
  CHECK(admit(*host.second, second_reader) == NtStatus::SUCCESS);
  // Attributes only: no sharing check.
  FileOpen attributes = open_of(key, am::FILE_READ_ATTRIBUTES, 0);
  CHECK(admit(*host.second, attributes) == NtStatus::SUCCESS);
  auto record = host.second->lookup(key);
  REQUIRE(record);
  CHECK(record->entries.size() == 3);

  CHECK_FALSE(leave(*host.first, reader));
  CHECK(admit(*host.second, writer) == NtStatus::SUCCESS);
}

TEST_CASE("delete-pending set in one worker is seen by the other, and the last close deletes") {
  TwoWorkers host;
  FileKey key{7, 71};
  FileOpen mine = open_of(key, am::FILE_READ_DATA | am::DELETE, R | W | D);
  FileOpen theirs = open_of(key, am::FILE_READ_DATA, R | W | D);
  REQUIRE(admit(*host.first, mine) == NtStatus::SUCCESS);
  FileOpen mine_too = open_of(key, am::FILE_READ_DATA, R | W | D);
  REQUIRE(admit(*host.first, mine_too) == NtStatus::SUCCESS);
  REQUIRE(admit(*host.second, theirs) == NtStatus::SUCCESS);

  set_disposition(*host.first, mine, true);
  CHECK(mine_too.delete_pending);  // this worker's other opens hear of it at once
  CHECK(host.second->lookup(key)->delete_pending);
  FileOpen late = open_of(key, am::FILE_READ_DATA, R | W | D);
  CHECK(admit(*host.second, late) == NtStatus::DELETE_PENDING);

  CHECK_FALSE(leave(*host.first, mine));
  CHECK_FALSE(leave(*host.first, mine_too));
  CHECK(leave(*host.second, theirs));  // the last open, in the other worker
  CHECK_FALSE(host.first->lookup(key));
}

TEST_CASE("a delete-on-close open closed in one worker leaves the file pending for the other") {
  TwoWorkers host;
  FileKey key{7, 72};
  FileOpen doomed = open_of(key, am::DELETE, R | W | D);
  doomed.delete_on_close = true;
  REQUIRE(admit(*host.first, doomed) == NtStatus::SUCCESS);
  smb::hostwide::FileState state;
  REQUIRE(host.segment->lookup({key.device, key.inode}, state) == smb::hostwide::Result::OK);
  REQUIRE(state.entries.size() == 1);
  CHECK(state.entries[0].delete_on_close);
  CHECK(state.entries[0].owner == 1001);
  FileOpen theirs = open_of(key, am::FILE_READ_DATA, R | W | D);
  REQUIRE(admit(*host.second, theirs) == NtStatus::SUCCESS);
  CHECK_FALSE(leave(*host.first, doomed));
  FileOpen late = open_of(key, am::FILE_READ_DATA, R | W | D);
  CHECK(admit(*host.first, late) == NtStatus::DELETE_PENDING);
  CHECK(leave(*host.second, theirs));
}

TEST_CASE("the opens of a worker that has gone stop conflicting") {
  TwoWorkers host;
  FileKey key{7, 73};
  FileOpen exclusive = open_of(key, am::FILE_READ_DATA | am::FILE_WRITE_DATA, 0);
  REQUIRE(admit(*host.first, exclusive) == NtStatus::SUCCESS);
  FileOpen other = open_of(key, am::FILE_READ_DATA, R | W | D);
  CHECK(admit(*host.second, other) == NtStatus::SHARING_VIOLATION);
  CHECK(host.segment->remove_owner(1001) == 1);
  CHECK(admit(*host.second, other) == NtStatus::SUCCESS);
}

TEST_CASE("a full host table answers INSUFFICIENT_RESOURCES") {
  TwoWorkers host(16);
  std::vector<FileOpen> opens;
  opens.reserve(17);
  for (std::uint64_t inode = 0; inode < 16; ++inode) {
    opens.push_back(open_of(FileKey{8, inode}, am::FILE_READ_DATA, R));
    REQUIRE(admit(inode % 2 ? *host.first : *host.second, opens.back()) == NtStatus::SUCCESS);
  }
  opens.push_back(open_of(FileKey{8, 99}, am::FILE_READ_DATA, R));
  CHECK(admit(*host.first, opens.back()) == NtStatus::INSUFFICIENT_RESOURCES);
  CHECK(host.segment->open_count() == 16);
}

TEST_CASE("a damaged record refuses the open and the table carries on") {
  TwoWorkers host;
  FileKey key{7, 74};
  FileOpen first = open_of(key, am::FILE_READ_DATA, R);
  REQUIRE(admit(*host.first, first) == NtStatus::SUCCESS);
  for (auto& slot : host.segment->entry_slots())
    if (slot.in_use == 1) slot.next = 0xDEADBEEFu;
  FileOpen second = open_of(key, am::FILE_READ_DATA, R);
  CHECK(admit(*host.second, second) == NtStatus::INTERNAL_ERROR);
  CHECK(admit(*host.second, second) == NtStatus::SUCCESS);
  CHECK(host.second->lookup(key)->entries.size() == 2);
}

TEST_CASE("a worker's view takes its opens out of the table when it goes") {
  TwoWorkers host;
  FileOpen open = open_of(FileKey{7, 75}, am::FILE_READ_DATA, 0);
  REQUIRE(admit(*host.first, open) == NtStatus::SUCCESS);
  host.first.reset();
  CHECK(host.segment->open_count() == 0);
}
