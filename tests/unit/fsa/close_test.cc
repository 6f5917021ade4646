// CLOSE in the object store: the open leaves the table and its oplock, the attributes at
// the close, the deletion of the last open's file.
#include "smbd/fsa/close.hh"

#include <doctest/doctest.h>
#include <fcntl.h>

#include "fixture.hh"

using namespace smb::fsa;
using namespace smb::fsa::test;
using smb::NtStatus;

TEST_CASE("a closed open leaves the table, and the attributes are those at the close") {
  Fixture f;
  smb::vfs::test::TestDir::write(f.dir.root() / ".hidden", "12345");
  std::unique_ptr<FileOpen> open;
  REQUIRE(f.create(".hidden", am::FILE_READ_DATA, kShareAll, open) == NtStatus::SUCCESS);
  const FileKey key = open->key;
  CHECK_FALSE(close_open(f.table, f.oplocks, *open));
  CHECK_FALSE(f.table.lookup(key).has_value());
  smb::vfs::test::TestDir::write(f.dir.root() / ".hidden", "1234567");
  FileInfo info;
  REQUIRE(query_closed_file(*open, info) == NtStatus::SUCCESS);
  CHECK(info.end_of_file == 7);
  CHECK(info.file_id == key.inode);
  // The name's leading dot makes the file hidden (vfs::default_attributes).
  CHECK((info.file_attributes & smb::file_attribute::FILE_ATTRIBUTE_HIDDEN) != 0);
}

TEST_CASE("the attributes of a closed file in a subdirectory come from its own name") {
  Fixture f;
  std::filesystem::create_directory(f.dir.root() / "sub");
  smb::vfs::test::TestDir::write(f.dir.root() / "sub" / ".dot", "x");
  smb::vfs::test::TestDir::write(f.dir.root() / "sub" / "plain", "x");
  for (const char* name : {"sub\\.dot", "sub\\plain"}) {
    CAPTURE(name);
    std::unique_ptr<FileOpen> open;
    REQUIRE(f.create(name, am::FILE_READ_DATA, kShareAll, open) == NtStatus::SUCCESS);
    CHECK_FALSE(close_open(f.table, f.oplocks, *open));
    FileInfo info;
    REQUIRE(query_closed_file(*open, info) == NtStatus::SUCCESS);
    bool hidden = (info.file_attributes & smb::file_attribute::FILE_ATTRIBUTE_HIDDEN) != 0;
    CHECK(hidden == (open->name() == ".dot"));
  }
}

TEST_CASE("deleting the file of a closed open: gone already is no failure") {
  Fixture f;
  std::unique_ptr<FileOpen> open;
  REQUIRE(f.create(Fixture::parameters("t.txt", am::DELETE, kShareAll,
                                       smb::CreateDisposition::FILE_CREATE,
                                       smb::create_option::FILE_DELETE_ON_CLOSE),
                   open) == NtStatus::SUCCESS);
  REQUIRE(close_open(f.table, f.oplocks, *open));
  REQUIRE(delete_closed_file(*open) == NtStatus::SUCCESS);
  CHECK_FALSE(f.exists("t.txt"));
  CHECK(delete_closed_file(*open) == NtStatus::SUCCESS);
}

TEST_CASE("a directory marked for deletion that is not empty stays") {
  Fixture f;
  std::unique_ptr<FileOpen> dir;
  REQUIRE(f.create(Fixture::parameters("full", am::FILE_READ_DATA | am::DELETE, kShareAll,
                                       smb::CreateDisposition::FILE_CREATE,
                                       smb::create_option::FILE_DIRECTORY_FILE |
                                           smb::create_option::FILE_DELETE_ON_CLOSE),
                   dir) == NtStatus::SUCCESS);
  smb::vfs::test::TestDir::write(f.dir.root() / "full" / "child", "x");
  REQUIRE(close_open(f.table, f.oplocks, *dir));
  CHECK(delete_closed_file(*dir) == NtStatus::DIRECTORY_NOT_EMPTY);
  CHECK(f.exists("full"));
}

TEST_CASE("closing an open gives up its oplock; the lease goes with the descriptor") {
  Fixture f;
  std::unique_ptr<FileOpen> open;
  REQUIRE(f.create("o.txt", am::FILE_READ_DATA | am::FILE_WRITE_DATA, kShareAll, open) ==
          NtStatus::SUCCESS);
  REQUIRE(f.oplocks.request(*open, OplockType::LEVEL_BATCH) == OplockType::LEVEL_BATCH);
  CHECK(f.oplocks.held() == 1);
  CHECK_FALSE(close_open(f.table, f.oplocks, *open));
  CHECK(f.oplocks.held() == 0);
  CHECK(open->oplock_level == OplockType::LEVEL_NONE);
  // The kernel lease stays until the descriptor closes: an opener waiting on it must not
  // get in while this descriptor is still open.
  CHECK(::fcntl(open->fd->get(), F_GETLEASE) == F_WRLCK);
}
