// The open table: lookup, insert, remove and watch by file id.
#include "smbd/fsa/open_table.hh"

#include <doctest/doctest.h>

using namespace smb::fsa;
using smb::NtStatus;

namespace {

FileOpen open_of(FileKey key, std::uint32_t access, std::uint32_t share) {
  FileOpen open;
  open.key = key;
  open.granted_access = access;
  open.share_access = share;
  return open;
}

NtStatus admit_all(const FileRecord&) { return NtStatus::SUCCESS; }

}  // namespace

TEST_CASE("a file is in the table from its first insert to its last remove") {
  LocalOpenTable table;
  FileKey key{1, 42};
  CHECK_FALSE(table.lookup(key).has_value());
  FileOpen a = open_of(key, 1, 7);
  FileOpen b = open_of(key, 2, 3);
  REQUIRE(table.insert(a, admit_all) == NtStatus::SUCCESS);
  REQUIRE(table.insert(b, admit_all) == NtStatus::SUCCESS);
  auto record = table.lookup(key);
  REQUIRE(record.has_value());
  CHECK(record->entries == std::vector<ShareEntry>{{1, 7}, {2, 3}});
  CHECK_FALSE(table.lookup(FileKey{2, 42}).has_value());

  FileRecord left = table.remove(a);
  CHECK(left.entries == std::vector<ShareEntry>{{2, 3}});
  left = table.remove(b);
  CHECK(left.entries.empty());
  CHECK_FALSE(table.lookup(key).has_value());
}

TEST_CASE("insert runs the admission on the record as it is and records nothing it refuses") {
  LocalOpenTable table;
  FileKey key{1, 7};
  FileOpen a = open_of(key, 1, 0);
  FileOpen b = open_of(key, 1, 0);
  std::size_t seen = 99;
  auto refuse_second = [&seen](const FileRecord& record) {
    seen = record.entries.size();
    return record.entries.empty() ? NtStatus::SUCCESS : NtStatus::SHARING_VIOLATION;
  };
  CHECK(table.insert(a, refuse_second) == NtStatus::SUCCESS);
  CHECK(seen == 0);
  CHECK(table.insert(b, refuse_second) == NtStatus::SHARING_VIOLATION);
  CHECK(seen == 1);
  CHECK(table.lookup(key)->entries.size() == 1);
}

TEST_CASE("delete-pending is the file's: every open of it sees it") {
  LocalOpenTable table;
  FileKey key{3, 3};
  FileOpen a = open_of(key, 1, 7);
  FileOpen b = open_of(key, 1, 7);
  FileOpen other = open_of(FileKey{3, 4}, 1, 7);
  REQUIRE(table.insert(a, admit_all) == NtStatus::SUCCESS);
  REQUIRE(table.insert(b, admit_all) == NtStatus::SUCCESS);
  REQUIRE(table.insert(other, admit_all) == NtStatus::SUCCESS);
  table.set_delete_pending(key, true);
  CHECK(table.lookup(key)->delete_pending);
  CHECK(a.delete_pending);
  CHECK(b.delete_pending);
  CHECK_FALSE(other.delete_pending);
  CHECK_FALSE(table.lookup(other.key)->delete_pending);
  table.set_delete_pending(key, false);
  CHECK_FALSE(table.lookup(key)->delete_pending);
  CHECK_FALSE(a.delete_pending);
}

TEST_CASE("a watch fires once, at the next change of its file") {
  LocalOpenTable table;
  FileKey key{5, 5};
  FileOpen a = open_of(key, 1, 7);
  FileOpen elsewhere = open_of(FileKey{5, 6}, 1, 7);
  int fired = 0;
  Watch watch = table.watch(key, [&fired]() { ++fired; });
  REQUIRE(table.insert(elsewhere, admit_all) == NtStatus::SUCCESS);
  CHECK(fired == 0);
  REQUIRE(table.insert(a, admit_all) == NtStatus::SUCCESS);
  CHECK(fired == 1);
  table.set_delete_pending(key, true);
  CHECK(fired == 1);

  Watch again = table.watch(key, [&fired]() { ++fired; });
  table.set_delete_pending(key, false);
  CHECK(fired == 2);
  Watch on_remove = table.watch(key, [&fired]() { ++fired; });
  table.remove(a);
  CHECK(fired == 3);
}

TEST_CASE("a cancelled watch never fires; a refused insert is no change") {
  LocalOpenTable table;
  FileKey key{6, 6};
  FileOpen a = open_of(key, 1, 0);
  int fired = 0;
  {
    Watch gone = table.watch(key, [&fired]() { ++fired; });
  }
  Watch cancelled = table.watch(key, [&fired]() { ++fired; });
  cancelled.cancel();
  Watch refused = table.watch(key, [&fired]() { ++fired; });
  CHECK(table.insert(a, [](const FileRecord&) { return NtStatus::SHARING_VIOLATION; }) ==
        NtStatus::SHARING_VIOLATION);
  CHECK(fired == 0);
  REQUIRE(table.insert(a, admit_all) == NtStatus::SUCCESS);
  CHECK(fired == 1);
}

TEST_CASE("a watcher may look again and watch again from its callback") {
  LocalOpenTable table;
  FileKey key{7, 7};
  FileOpen a = open_of(key, 1, 7);
  FileOpen b = open_of(key, 1, 7);
  std::vector<std::size_t> seen;
  Watch watch;
  std::function<void()> look = [&]() {
    auto record = table.lookup(key);
    seen.push_back(record ? record->entries.size() : 0);
    watch = table.watch(key, look);
  };
  watch = table.watch(key, look);
  REQUIRE(table.insert(a, admit_all) == NtStatus::SUCCESS);
  REQUIRE(table.insert(b, admit_all) == NtStatus::SUCCESS);
  table.remove(a);
  table.remove(b);
  CHECK(seen == std::vector<std::size_t>{1, 2, 1, 0});
}
