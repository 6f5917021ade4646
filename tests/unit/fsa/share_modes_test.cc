// Share modes (MS-FSA 2.1.5.1.2.2), delete-pending (MS-FSA 2.1.5.15.3) and the last-close
// rule (MS-FSA 2.1.5.5), on the record and on real files.
#include "smbd/fsa/share_modes.hh"

#include <doctest/doctest.h>

#include "fixture.hh"

using namespace smb::fsa;
using namespace smb::fsa::test;
using smb::NtStatus;

namespace {

constexpr std::uint32_t R = smb::kFileShareRead;
constexpr std::uint32_t W = smb::kFileShareWrite;
constexpr std::uint32_t D = smb::kFileShareDelete;

NtStatus check(std::uint32_t existing_access, std::uint32_t existing_share, std::uint32_t access,
               std::uint32_t share) {
  FileRecord record;
  record.entries.push_back({existing_access, existing_share});
  return check_sharing(record, access, share);
}

}  // namespace

TEST_CASE("share-mode matrix: each side must share what the other uses") {
  constexpr auto OK = NtStatus::SUCCESS;
  constexpr auto SV = NtStatus::SHARING_VIOLATION;
  struct Row {
    std::uint32_t existing_access, existing_share, access, share;
    NtStatus expected;
  };
  const Row rows[] = {
      {am::FILE_READ_DATA, R, am::FILE_READ_DATA, R, OK},
      {am::FILE_READ_DATA, R, am::FILE_WRITE_DATA, R | W, SV},  // the reader shares no write
      {am::FILE_WRITE_DATA, R | W, am::FILE_READ_DATA, R, SV},  // the new one shares no write
      {am::FILE_READ_DATA, R | W, am::FILE_WRITE_DATA, R | W, OK},
      {am::FILE_APPEND_DATA, R, am::FILE_READ_DATA, R, SV},  // append is writing
      {am::FILE_READ_DATA, R, am::FILE_APPEND_DATA, R | W, SV},
      {am::FILE_EXECUTE, 0, am::FILE_READ_DATA, R | W | D, SV},  // execute is reading
      {am::FILE_EXECUTE, R, am::FILE_EXECUTE, R, OK},
      {am::DELETE, R | W, am::FILE_READ_DATA, R | W, SV},      // the new one shares no delete
      {am::FILE_READ_DATA, R | W, am::DELETE, R | W | D, SV},  // the reader shares no delete
      {am::FILE_READ_DATA, R | D, am::DELETE, R | W | D, OK},
      {am::FILE_READ_DATA | am::FILE_WRITE_DATA, 0, am::FILE_READ_DATA, R | W | D, SV},
      // Opens for attributes only take part in no check, on either side.
      {am::FILE_READ_ATTRIBUTES | am::WRITE_DAC, 0, am::FILE_READ_DATA | am::FILE_WRITE_DATA, 0,
       OK},
      {am::FILE_READ_DATA | am::FILE_WRITE_DATA, 0, am::FILE_READ_ATTRIBUTES | am::SYNCHRONIZE, 0,
       OK},
  };
  for (const Row& row : rows) {
    CAPTURE(row.existing_access);
    CAPTURE(row.existing_share);
    CAPTURE(row.access);
    CAPTURE(row.share);
    CHECK(check(row.existing_access, row.existing_share, row.access, row.share) == row.expected);
  }
}

TEST_CASE("share-mode matrix: the check is the same from either side, and sharing all admits all") {
  const std::uint32_t accesses[] = {0,
                                    am::FILE_READ_ATTRIBUTES,
                                    am::FILE_READ_DATA,
                                    am::FILE_WRITE_DATA,
                                    am::FILE_APPEND_DATA,
                                    am::FILE_EXECUTE,
                                    am::DELETE,
                                    am::FILE_READ_DATA | am::FILE_WRITE_DATA | am::DELETE};
  for (std::uint32_t a1 : accesses)
    for (std::uint32_t a2 : accesses)
      for (std::uint32_t s1 = 0; s1 <= 7; ++s1)
        for (std::uint32_t s2 = 0; s2 <= 7; ++s2) {
          CAPTURE(a1);
          CAPTURE(s1);
          CAPTURE(a2);
          CAPTURE(s2);
          CHECK(check(a1, s1, a2, s2) == check(a2, s2, a1, s1));
          if (s1 == 7 && s2 == 7) CHECK(check(a1, s1, a2, s2) == NtStatus::SUCCESS);
        }
  FileRecord none;
  CHECK(check_sharing(none, am::FILE_READ_DATA | am::FILE_WRITE_DATA | am::DELETE, 0) ==
        NtStatus::SUCCESS);
}

TEST_CASE("a delete-pending file admits no new open, whatever it asks") {
  FileRecord record;
  record.delete_pending = true;
  record.entries.push_back({am::FILE_READ_DATA, kShareAll});
  CHECK(check_sharing(record, am::FILE_READ_ATTRIBUTES, kShareAll) == NtStatus::DELETE_PENDING);
  CHECK(check_sharing(record, am::FILE_READ_DATA, kShareAll) == NtStatus::DELETE_PENDING);
}

TEST_CASE("on real files: a conflicting open is refused and not recorded") {
  Fixture f;
  std::unique_ptr<FileOpen> reader;
  REQUIRE(f.create("a.txt", am::FILE_READ_DATA, R, reader) == NtStatus::SUCCESS);
  std::unique_ptr<FileOpen> writer;
  CHECK(f.create("a.txt", am::FILE_WRITE_DATA, kShareAll, writer) == NtStatus::SHARING_VIOLATION);
  CHECK(writer == nullptr);
  CHECK(f.table.lookup(reader->key)->entries.size() == 1);
  std::unique_ptr<FileOpen> second_reader;
  CHECK(f.create("A.TXT", am::FILE_READ_DATA, R, second_reader) == NtStatus::SUCCESS);
  CHECK(f.table.lookup(reader->key)->entries.size() == 2);
  f.close(reader);
  f.close(second_reader);
  CHECK(f.create("a.txt", am::FILE_WRITE_DATA, 0, writer) == NtStatus::SUCCESS);
}

TEST_CASE("a disposition makes the file delete-pending; taking it back admits opens again") {
  Fixture f;
  std::unique_ptr<FileOpen> a;
  REQUIRE(f.create("d.txt", am::FILE_READ_DATA | am::DELETE, kShareAll, a) == NtStatus::SUCCESS);
  set_disposition(f.table, *a, true);
  CHECK(a->delete_on_close);
  std::unique_ptr<FileOpen> b;
  CHECK(f.create("d.txt", am::FILE_READ_DATA, kShareAll, b) == NtStatus::DELETE_PENDING);
  set_disposition(f.table, *a, false);
  CHECK_FALSE(a->delete_on_close);
  REQUIRE(f.create("d.txt", am::FILE_READ_DATA, kShareAll, b) == NtStatus::SUCCESS);
  CHECK_FALSE(f.close(a));
  CHECK_FALSE(f.close(b));
  CHECK(f.exists("d.txt"));
}

TEST_CASE("last close: a delete-on-close open alone deletes the file when it closes") {
  Fixture f;
  std::unique_ptr<FileOpen> a;
  REQUIRE(f.create(Fixture::parameters("doc.txt", am::FILE_READ_DATA | am::DELETE, kShareAll,
                                       smb::CreateDisposition::FILE_CREATE,
                                       smb::create_option::FILE_DELETE_ON_CLOSE),
                   a) == NtStatus::SUCCESS);
  CHECK(a->delete_on_close);
  CHECK(f.exists("doc.txt"));
  CHECK(f.close(a));
  CHECK_FALSE(f.exists("doc.txt"));
}

TEST_CASE(
    "last close: with other opens left the file becomes delete-pending and goes with the last") {
  Fixture f;
  std::unique_ptr<FileOpen> doc;
  REQUIRE(f.create(Fixture::parameters("x.txt", am::FILE_READ_DATA | am::DELETE, kShareAll,
                                       smb::CreateDisposition::FILE_CREATE,
                                       smb::create_option::FILE_DELETE_ON_CLOSE),
                   doc) == NtStatus::SUCCESS);
  // FILE_DELETE_ON_CLOSE alone does not make the file delete-pending while it is open.
  std::unique_ptr<FileOpen> b;
  REQUIRE(f.create("x.txt", am::FILE_READ_DATA, kShareAll, b) == NtStatus::SUCCESS);
  std::unique_ptr<FileOpen> c;
  REQUIRE(f.create("x.txt", am::FILE_READ_ATTRIBUTES, kShareAll, c) == NtStatus::SUCCESS);
  const FileKey key = b->key;
  CHECK_FALSE(f.close(doc));
  CHECK(f.exists("x.txt"));
  CHECK(b->delete_pending);
  CHECK(f.table.lookup(b->key)->delete_pending);
  std::unique_ptr<FileOpen> late;
  CHECK(f.create("x.txt", am::FILE_READ_ATTRIBUTES, kShareAll, late) == NtStatus::DELETE_PENDING);
  CHECK_FALSE(f.close(b));
  CHECK(f.exists("x.txt"));
  CHECK(f.close(c));
  CHECK_FALSE(f.exists("x.txt"));
  CHECK_FALSE(f.table.lookup(key).has_value());
}

TEST_CASE("rename: the new name's directory is opened to add an entry, sharing read and write") {
  Fixture f;
  std::unique_ptr<FileOpen> dir;
  const auto dir_params = [](std::uint32_t access, std::uint32_t share) {
    return Fixture::parameters("d", access, share, smb::CreateDisposition::FILE_OPEN_IF,
                               smb::create_option::FILE_DIRECTORY_FILE);
  };
  std::unique_ptr<FileOpen> file;
  REQUIRE(f.create(dir_params(am::FILE_READ_DATA, kShareAll), dir) == NtStatus::SUCCESS);
  REQUIRE(f.create("d\\f.txt", am::FILE_READ_DATA | am::DELETE, 0, file) == NtStatus::SUCCESS);
  const FileKey directory = dir->key;
  // Windows' smb2.rename cases: the directory's open decides.
  CHECK(check_rename(f.table, *file, directory, std::nullopt) == NtStatus::SUCCESS);
  f.close(dir);
  REQUIRE(f.create(dir_params(am::FILE_READ_DATA | am::DELETE, kShareAll), dir) ==
          NtStatus::SUCCESS);
  CHECK(check_rename(f.table, *file, directory, std::nullopt) == NtStatus::SHARING_VIOLATION);
  f.close(dir);
  REQUIRE(f.create(dir_params(am::FILE_READ_DATA, R | D), dir) == NtStatus::SUCCESS);
  CHECK(check_rename(f.table, *file, directory, std::nullopt) == NtStatus::SHARING_VIOLATION);
  f.close(dir);
  // An open for attributes only takes part in no sharing check.
  REQUIRE(f.create(dir_params(am::FILE_READ_ATTRIBUTES | am::SYNCHRONIZE, 0), dir) ==
          NtStatus::SUCCESS);
  CHECK(check_rename(f.table, *file, directory, std::nullopt) == NtStatus::SUCCESS);
  f.close(dir);
  f.close(file);
}

TEST_CASE("rename: a replaced file that is open refuses the rename; the file itself does not") {
  Fixture f;
  std::unique_ptr<FileOpen> source;
  std::unique_ptr<FileOpen> target;
  REQUIRE(f.create("s.txt", am::DELETE, kShareAll, source) == NtStatus::SUCCESS);
  REQUIRE(f.create("t.txt", am::FILE_READ_ATTRIBUTES, kShareAll, target) == NtStatus::SUCCESS);
  const FileKey nowhere{};
  CHECK(check_rename(f.table, *source, nowhere, target->key) == NtStatus::ACCESS_DENIED);
  // A change of case only: the name is the renamed file's own.
  CHECK(check_rename(f.table, *source, nowhere, source->key) == NtStatus::SUCCESS);
  const FileKey target_key = target->key;
  f.close(target);
  CHECK(check_rename(f.table, *source, nowhere, target_key) == NtStatus::SUCCESS);
  f.close(source);
}
