#include "smbd/vfs/dir.hh"

#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <filesystem>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "test_dir.hh"

using smb::NtStatus;
using namespace smb::vfs;
using smb::vfs::test::TestDir;
namespace fs = std::filesystem;
namespace fa = smb::file_attribute;

namespace {

NameExpression expr(std::string_view pattern) {
  NameExpression e;
  REQUIRE(NameExpression::compile(pattern, e) == NtStatus::SUCCESS);
  return e;
}

// Everything from the cursor on that matches `pattern`.
std::vector<std::string> list(DirEnumerator& e, std::string_view pattern, bool restart = false) {
  std::vector<std::string> names;
  REQUIRE(e.list(expr(pattern), restart, [&](const DirEntry& entry) {
    names.push_back(entry.name);
    return Take::more;
  }) == NtStatus::SUCCESS);
  return names;
}

std::map<std::string, FileInfo> infos(DirEnumerator& e) {
  std::map<std::string, FileInfo> out;
  REQUIRE(e.list(expr("*"), false, [&](const DirEntry& entry) {
    out[entry.name] = entry.info;
    return Take::more;
  }) == NtStatus::SUCCESS);
  return out;
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
  CHECK(list(e, "*").empty());  // the cursor is at the end
  // Files created after the snapshot appear after a restart.
  TestDir::write(f.dir.root() / "c.txt", "");
  CHECK(list(e, "*.txt", true) == std::vector<std::string>{"b.txt", "c.txt"});
  CHECK(list(e, "A*", true) == std::vector<std::string>{"A.doc"});
  CHECK(list(e, "B.TXT", true) == std::vector<std::string>{"b.txt"});
  CHECK(list(e, "nothing*", true).empty());
  // Removed between snapshot and stat: skipped. (A restart that takes nothing.)
  REQUIRE(e.list(expr("*"), true, [](const DirEntry&) { return Take::none; }) == NtStatus::SUCCESS);
  fs::remove(f.dir.root() / "c.txt");
  CHECK(list(e, "*.txt") == std::vector<std::string>{"b.txt"});
}

TEST_CASE("dir: an entry not taken comes first next time, so a full buffer can resume") {
  Fixture f;
  DirEnumerator e;
  REQUIRE(e.open(f.share, "") == NtStatus::SUCCESS);
  std::vector<std::string> seen;
  auto refuse = [&](const DirEntry& entry) {
    seen.push_back(entry.name);
    return Take::none;
  };
  REQUIRE(e.list(expr("*.txt"), false, refuse) == NtStatus::SUCCESS);
  REQUIRE(e.list(expr("*.txt"), false, refuse) == NtStatus::SUCCESS);
  CHECK(seen == std::vector<std::string>{"b.txt", "b.txt"});
  // Taken as the last of a listing: consumed, and the listing stops there.
  seen.clear();
  REQUIRE(e.list(expr("*"), true, [&](const DirEntry& entry) {
    seen.push_back(entry.name);
    return Take::last;
  }) == NtStatus::SUCCESS);
  CHECK(seen == std::vector<std::string>{"."});
  CHECK(list(e, "*").front() == "..");
}

TEST_CASE("dir: entry information") {
  Fixture f;
  DirEnumerator e;
  REQUIRE(e.open(f.share, "") == NtStatus::SUCCESS);
  std::map<std::string, FileInfo> info = infos(e);
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
  std::map<std::string, FileInfo> sub_info = infos(sub);
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
  CHECK(e.list(expr("*"), false, [](const DirEntry&) { return Take::more; }) ==
        NtStatus::INVALID_HANDLE);
}

// Several threads on one enumerator, as pipelined queries of one open would be without the
// SMB layer's ordering: restarting listings, listings that resume from the shared cursor,
// and listings that move it one entry at a time, all at once. Each restarting listing must
// be the whole directory in order, whatever the others do meanwhile; the others must see
// entries in snapshot order. Also run under ThreadSanitizer (build-tsan).
TEST_CASE("dir: one enumerator used from several threads at once") {
  TestDir dir;
  Share share;
  REQUIRE(Share::open(dir.root().string(), share) == NtStatus::SUCCESS);
  constexpr int kFiles = 600;
  std::vector<std::string> expected{".", ".."};
  for (int i = 0; i < kFiles; ++i) {
    char name[16];
    std::snprintf(name, sizeof name, "f%04d", i);
    TestDir::write(dir.root() / name, "");
    expected.emplace_back(name);
  }
  DirEnumerator e;
  REQUIRE(e.open(share, "") == NtStatus::SUCCESS);
  const NameExpression all = expr("*");

  std::atomic<int> complete_listings{0};
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 6; ++t) {
    threads.emplace_back([&, t]() {
      for (int round = 0; round < 8; ++round) {
        std::vector<std::string> names;
        if (t % 3 == 0) {
          // RESTART_SCANS, everything in one answer.
          if (e.list(all, true,
                     [&](const DirEntry& entry) {
                       names.push_back(entry.name);
                       return Take::more;
                     }) != NtStatus::SUCCESS ||
              names != expected) {
            ++failures;
          } else {
            ++complete_listings;
          }
        } else {
          // Small answers from wherever the shared cursor is: in order within one call.
          const Take how = t % 3 == 1 ? Take::last : Take::more;
          int budget = 50;
          if (e.list(all, false,
                     [&](const DirEntry& entry) {
                       names.push_back(entry.name);
                       return --budget > 0 ? how : Take::none;
                     }) != NtStatus::SUCCESS ||
              !std::is_sorted(names.begin(), names.end())) {
            ++failures;
          }
        }
      }
    });
  }
  for (auto& thread : threads) thread.join();
  CHECK(failures.load() == 0);
  CHECK(complete_listings.load() == 2 * 8);
}

TEST_CASE(
    "dir: a link leading out of the share is listed as a reparse point, one inside as its target") {
  Fixture f;
  DirEnumerator e;
  REQUIRE(e.open(f.share, "") == NtStatus::SUCCESS);
  std::map<std::string, FileInfo> seen;
  REQUIRE(e.list(expr("link_*"), true, [&](const DirEntry& d) {
    seen[d.name] = d.info;
    return Take::more;
  }) == NtStatus::SUCCESS);
  REQUIRE(seen.size() == 2);
  CHECK(seen["link_out"].reparse_tag == smb::IO_REPARSE_TAG_SYMLINK);
  CHECK((seen["link_out"].file_attributes & smb::file_attribute::FILE_ATTRIBUTE_REPARSE_POINT) !=
        0);
  CHECK(seen["link_in"].reparse_tag == 0);
  CHECK(seen["link_in"].end_of_file == 4);  // sub/inner.txt
}
