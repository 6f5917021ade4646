#include <doctest/doctest.h>

#include <filesystem>
#include <map>

#include "test_dir.hh"
#include "smbd/vfs/dir.hh"

using smb::NtStatus;
using namespace smb::vfs;
using smb::vfs::test::TestDir;
namespace fs = std::filesystem;
namespace fa = smb::file_attribute;

namespace {

std::vector<std::string> list(DirEnumerator& e, std::string_view expression) {
  std::vector<std::string> names;
  DirEntry entry;
  while (e.peek(expression, entry) == NtStatus::SUCCESS) {
    names.push_back(entry.name);
    e.advance();
  }
  return names;
}

struct Fixture {
  TestDir dir;
  Share share;
  Fixture() {
    REQUIRE(Share::open(dir.root().string(), share) == NtStatus::SUCCESS);
    fs::create_directory(dir.root() / "sub");
    TestDir::write(dir.root() / "b.txt", "bb");
    TestDir::write(dir.root() / "A.doc", "a");
    TestDir::write(dir.root() / ".hidden", "");
    TestDir::write(dir.root() / "sub" / "inner.txt", "1234");
    fs::create_symlink("sub/inner.txt", dir.root() / "link_in");
    fs::create_symlink("../outside/secret", dir.root() / "link_out");
  }
};

}  // namespace

TEST_CASE("dir: enumeration order, dot entries, restart") {
  Fixture f;
  DirEnumerator e;
  REQUIRE(e.open(f.share, "") == NtStatus::SUCCESS);
  const std::vector<std::string> all = list(e, "*");
  CHECK(all == std::vector<std::string>{".", "..", ".hidden", "A.doc", "b.txt", "link_in",
                                        "link_out", "sub"});
  DirEntry entry;
  CHECK(e.peek("*", entry) == NtStatus::NO_MORE_FILES);
  // Files created after the snapshot appear after a restart.
  TestDir::write(f.dir.root() / "c.txt", "");
  REQUIRE(e.restart() == NtStatus::SUCCESS);
  CHECK(list(e, "*.txt") == std::vector<std::string>{"b.txt", "c.txt"});
  REQUIRE(e.restart() == NtStatus::SUCCESS);
  CHECK(list(e, "A*") == std::vector<std::string>{"A.doc"});
  REQUIRE(e.restart() == NtStatus::SUCCESS);
  CHECK(list(e, "B.TXT") == std::vector<std::string>{"b.txt"});
  REQUIRE(e.restart() == NtStatus::SUCCESS);
  CHECK(list(e, "nothing*").empty());
  // Removed between snapshot and stat: skipped.
  REQUIRE(e.restart() == NtStatus::SUCCESS);
  fs::remove(f.dir.root() / "c.txt");
  CHECK(list(e, "*.txt") == std::vector<std::string>{"b.txt"});
}

TEST_CASE("dir: peek does not consume, so a full buffer can resume") {
  Fixture f;
  DirEnumerator e;
  REQUIRE(e.open(f.share, "") == NtStatus::SUCCESS);
  DirEntry first;
  DirEntry again;
  REQUIRE(e.peek("*.txt", first) == NtStatus::SUCCESS);
  REQUIRE(e.peek("*.txt", again) == NtStatus::SUCCESS);
  CHECK(first.name == again.name);
  e.advance();
  CHECK(e.peek("*.txt", again) == NtStatus::NO_MORE_FILES);
}

TEST_CASE("dir: entry information") {
  Fixture f;
  DirEnumerator e;
  REQUIRE(e.open(f.share, "") == NtStatus::SUCCESS);
  std::map<std::string, FileInfo> info;
  DirEntry entry;
  while (e.peek("*", entry) == NtStatus::SUCCESS) {
    info[entry.name] = entry.info;
    e.advance();
  }
  CHECK(info["b.txt"].end_of_file == 2);
  CHECK((info["b.txt"].file_attributes & fa::FILE_ATTRIBUTE_ARCHIVE) != 0);
  CHECK((info[".hidden"].file_attributes & fa::FILE_ATTRIBUTE_HIDDEN) != 0);
  CHECK(info["sub"].is_directory);
  CHECK(info["sub"].file_attributes == fa::FILE_ATTRIBUTE_DIRECTORY);
  CHECK(info["."].is_directory);
  CHECK(info[".."].file_id == info["."].file_id);  // at the root, ".." is the root
  // A link inside is followed; one outside is shown as the link itself.
  CHECK(info["link_in"].end_of_file == 4);
  CHECK(info["link_out"].end_of_file != 7);

  DirEnumerator sub;
  REQUIRE(sub.open(f.share, "SUB") == NtStatus::SUCCESS);
  std::map<std::string, FileInfo> sub_info;
  while (sub.peek("*", entry) == NtStatus::SUCCESS) {
    sub_info[entry.name] = entry.info;
    sub.advance();
  }
  CHECK(sub_info.size() == 3);
  CHECK(sub_info[".."].file_id == info["."].file_id);
  CHECK(sub_info["inner.txt"].end_of_file == 4);
}

TEST_CASE("dir: opening something that is not a directory") {
  Fixture f;
  DirEnumerator e;
  CHECK(e.open(f.share, "b.txt") == NtStatus::NOT_A_DIRECTORY);
  CHECK(e.open(f.share, "missing") == NtStatus::OBJECT_NAME_NOT_FOUND);
  CHECK(e.open(f.share, "link_out") == NtStatus::ACCESS_DENIED);
}
