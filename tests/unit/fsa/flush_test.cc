// FLUSH in the object store.
#include "smbd/fsa/flush.hh"

#include <doctest/doctest.h>

#include "fixture.hh"

using namespace smb::fsa;
using namespace smb::fsa::test;
using smb::NtStatus;

TEST_CASE("only an open that may write has something to flush") {
  Fixture f;
  std::unique_ptr<FileOpen> reader;
  REQUIRE(f.create("f.txt", am::FILE_READ_DATA, kShareAll, reader) == NtStatus::SUCCESS);
  CHECK(check_flush(*reader) == NtStatus::ACCESS_DENIED);
  for (std::uint32_t write : {am::FILE_WRITE_DATA, am::FILE_APPEND_DATA}) {
    CAPTURE(write);
    std::unique_ptr<FileOpen> writer;
    REQUIRE(f.create("f.txt", write, kShareAll, writer) == NtStatus::SUCCESS);
    REQUIRE(check_flush(*writer) == NtStatus::SUCCESS);
    CHECK(flush(*writer->io) == NtStatus::SUCCESS);
    // An open leaves the table before it goes, as the worker's CLOSE does.
    f.close(writer);
  }
  f.close(reader);
}

TEST_CASE("a directory has no data path to flush") {
  Fixture f;
  std::unique_ptr<FileOpen> dir;
  REQUIRE(f.create(Fixture::parameters("d", am::FILE_ADD_FILE, kShareAll,
                                       smb::CreateDisposition::FILE_CREATE,
                                       smb::create_option::FILE_DIRECTORY_FILE),
                   dir) == NtStatus::SUCCESS);
  CHECK(check_flush(*dir) == NtStatus::INVALID_DEVICE_REQUEST);
}

TEST_CASE("a pmem file flushes its metadata") {
  Fixture f(smb::vfs::Backend::pmem);
  std::unique_ptr<FileOpen> writer;
  REQUIRE(f.create("p.dat", am::FILE_READ_DATA | am::FILE_WRITE_DATA, kShareAll, writer) ==
          NtStatus::SUCCESS);
  REQUIRE(check_flush(*writer) == NtStatus::SUCCESS);
  CHECK(writer->io->mapped());
  CHECK(flush(*writer->io) == NtStatus::SUCCESS);
}
