#include <doctest/doctest.h>

#include "smbd/fsa/change_notify.hh"
#include "smbd/vfs/dir_watch.hh"

using namespace smb;
using namespace smb::fsa;
namespace dc = smb::vfs::dir_change;

TEST_CASE("change notify: kernel changes as MS-FSA actions and filters") {
  auto created = map_dir_change(dc::created, false, false);
  REQUIRE(created.size() == 1);
  CHECK(created[0].action == notify_action::ADDED);
  CHECK(created[0].filter == notify_filter::FILE_NAME);

  auto dir_deleted = map_dir_change(dc::deleted, true, false);
  REQUIRE(dir_deleted.size() == 1);
  CHECK(dir_deleted[0].action == notify_action::REMOVED);
  CHECK(dir_deleted[0].filter == notify_filter::DIR_NAME);

  // Both halves of a rename seen: old and new names; one half alone: removal, addition.
  CHECK(map_dir_change(dc::moved_from, false, true)[0].action == notify_action::RENAMED_OLD_NAME);
  CHECK(map_dir_change(dc::moved_to, false, true)[0].action == notify_action::RENAMED_NEW_NAME);
  CHECK(map_dir_change(dc::moved_from, false, false)[0].action == notify_action::REMOVED);
  CHECK(map_dir_change(dc::moved_to, false, false)[0].action == notify_action::ADDED);
  // A file that arrives by a rename is also modified (attributes, creation time) under
  // its new name; a directory is not.
  auto moved_file = map_dir_change(dc::moved_to, false, true);
  REQUIRE(moved_file.size() == 2);
  CHECK(moved_file[1].action == notify_action::MODIFIED);
  CHECK(moved_file[1].filter == (notify_filter::ATTRIBUTES | notify_filter::CREATION));
  CHECK(moved_file[1].unless == notify_filter::FILE_NAME);  // a watcher of names sees the rename
  CHECK(map_dir_change(dc::moved_to, true, true).size() == 1);
  CHECK(map_dir_change(dc::moved_from, false, true).size() == 1);

  auto written = map_dir_change(dc::data, false, false);
  REQUIRE(written.size() == 1);
  CHECK(written[0].action == notify_action::MODIFIED);
  CHECK((written[0].filter & notify_filter::SIZE) != 0);
  CHECK((written[0].filter & notify_filter::LAST_WRITE) != 0);
  CHECK((written[0].filter & notify_filter::FILE_NAME) == 0);

  auto attrib = map_dir_change(dc::metadata, false, false);
  REQUIRE(attrib.size() == 1);
  for (std::uint32_t bit : {notify_filter::ATTRIBUTES, notify_filter::SECURITY, notify_filter::EA,
                            notify_filter::CREATION, notify_filter::STREAM_NAME})
    CHECK((attrib[0].filter & bit) != 0);
  CHECK((attrib[0].filter & (notify_filter::FILE_NAME | notify_filter::DIR_NAME)) == 0);

  CHECK(map_dir_change(dc::watch_gone, true, false).empty());
}

TEST_CASE("change notify: the open keeps what its filter selects, in order") {
  ChangeBuffer buffer(notify_filter::FILE_NAME, false, 1000);
  CHECK(!buffer.ready());
  CHECK(!buffer.add(notify_filter::DIR_NAME, notify_action::ADDED, "dir"));
  CHECK(!buffer.ready());
  CHECK(buffer.add(notify_filter::FILE_NAME, notify_action::ADDED, "a"));
  CHECK(buffer.add(notify_filter::FILE_NAME | notify_filter::ATTRIBUTES, notify_action::REMOVED,
                   "b"));
  REQUIRE(buffer.ready());
  auto taken = buffer.take(1000);
  CHECK(taken.status == NtStatus::SUCCESS);
  CHECK(taken.changes ==
        std::vector<NotifyChange>{{notify_action::ADDED, "a"}, {notify_action::REMOVED, "b"}});
  CHECK(!buffer.ready());  // taken: the open starts afresh
}

TEST_CASE("change notify: sizes as FILE_NOTIFY_INFORMATION") {
  CHECK(notify_information_size({}) == 0);
  CHECK(notify_information_size({{1, "a"}}) == 14);
  CHECK(notify_information_size({{1, "a"}, {1, "bc"}}) == 16 + 16);
}

TEST_CASE("change notify: more than the first request's buffer holds overflows to ENUM_DIR") {
  ChangeBuffer buffer(notify_filter::FILE_NAME, false, 40);
  CHECK(buffer.add(notify_filter::FILE_NAME, notify_action::ADDED, "abcd"));  // 20
  CHECK(buffer.add(notify_filter::FILE_NAME, notify_action::ADDED, "efgh"));  // 40
  CHECK(buffer.add(notify_filter::FILE_NAME, notify_action::ADDED, "i"));     // 54 > 40
  REQUIRE(buffer.ready());
  auto taken = buffer.take(1000);
  CHECK(taken.status == NtStatus::NOTIFY_ENUM_DIR);
  CHECK(taken.changes.empty());
  // After the enumeration is asked for, the open collects again.
  CHECK(!buffer.ready());
  CHECK(buffer.add(notify_filter::FILE_NAME, notify_action::ADDED, "j"));
  CHECK(buffer.take(1000).changes.size() == 1);
}

TEST_CASE("change notify: changes that do not fit the request's buffer give ENUM_DIR, no data") {
  ChangeBuffer buffer(notify_filter::FILE_NAME, true, 4096);
  CHECK(buffer.add(notify_filter::FILE_NAME, notify_action::ADDED, "long-name"));
  auto taken = buffer.take(8);
  CHECK(taken.status == NtStatus::NOTIFY_ENUM_DIR);
  CHECK(taken.changes.empty());
  // A zero-length buffer can hold no change at all.
  CHECK(buffer.add(notify_filter::FILE_NAME, notify_action::ADDED, "x"));
  CHECK(buffer.take(0).status == NtStatus::NOTIFY_ENUM_DIR);
}

TEST_CASE("change notify: a lost queue (overflow) is ENUM_DIR for the next request") {
  ChangeBuffer buffer(notify_filter::ALL, true, 4096);
  CHECK(buffer.add(notify_filter::SIZE, notify_action::MODIFIED, "f"));
  buffer.overflow();
  CHECK(buffer.ready());
  // Later changes are lost too until the overflow is reported.
  CHECK(buffer.add(notify_filter::SIZE, notify_action::MODIFIED, "g"));
  auto taken = buffer.take(4096);
  CHECK(taken.status == NtStatus::NOTIFY_ENUM_DIR);
  CHECK(taken.changes.empty());
}
