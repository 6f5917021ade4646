#include <doctest/doctest.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <memory>

#include "smbd/base/errno_map.hh"
#include "smbd/vfs/nt_time.hh"
#include "smbd/vfs/posix_file_data.hh"
#include "smbd/vfs/share.hh"
#include "test_dir.hh"

using smb::NtStatus;
using namespace smb::vfs;
using smb::vfs::test::TestDir;
namespace fs = std::filesystem;
namespace fa = smb::file_attribute;

namespace {

using D = CreateDisposition;

NtStatus open_path(const Share& share, std::string_view path, D disp, std::uint32_t options,
                   OpenResult& out,
                   std::uint32_t access = access_mask::GENERIC_READ | access_mask::GENERIC_WRITE,
                   std::uint32_t attributes = 0) {
  OpenRequest req;
  req.desired_access = access;
  req.create_disposition = disp;
  req.create_options = options;
  req.file_attributes = attributes;
  return share.open(path, req, out);
}

NtStatus open_status(const Share& share, std::string_view path, D disp, std::uint32_t options = 0) {
  OpenResult r;
  return open_path(share, path, disp, options, r);
}

struct Fixture {
  TestDir dir;
  Share share;
  Fixture() {
    std::string error;
    REQUIRE(Share::open(dir.root().string(), share, &error) == NtStatus::SUCCESS);
    fs::create_directory(dir.root() / "Docs");
    TestDir::write(dir.root() / "Docs" / "Report.TXT", "hello world");
    fs::create_directory(dir.root() / "empty");
  }
};

}  // namespace

TEST_CASE("share: opening a root that does not exist fails clearly") {
  Share s;
  std::string error;
  CHECK(Share::open("/nonexistent/share/root", s, &error) == NtStatus::OBJECT_NAME_NOT_FOUND);
  CHECK(error.find("cannot open share root") != std::string::npos);
}

TEST_CASE("share: path escapes are refused") {
  Fixture f;
  const fs::path root = f.dir.root();
  fs::create_symlink("/", root / "to_root");
  fs::create_symlink("../outside", root / "to_sibling");
  fs::create_symlink("../outside/secret", root / "secret_link");
  fs::create_symlink(f.dir.outside() / "secret", root / "abs_link");
  fs::create_symlink("Docs", root / "docs_link");
  fs::create_symlink("../Docs/Report.TXT", root / "empty" / "up_link");

  CHECK(open_status(f.share, "..", D::FILE_OPEN) == NtStatus::OBJECT_NAME_INVALID);
  CHECK(open_status(f.share, "Docs\\..\\..\\outside\\secret", D::FILE_OPEN) ==
        NtStatus::OBJECT_NAME_INVALID);
  CHECK(open_status(f.share, "/etc/passwd", D::FILE_OPEN) == NtStatus::OBJECT_NAME_INVALID);
  CHECK(open_status(f.share, "Docs/Report.TXT", D::FILE_OPEN) == NtStatus::OBJECT_NAME_INVALID);
  // Symlinks that lead out, as the last component or in the middle: the CREATE stops on
  // them (symlink.hh).
  constexpr auto STOP = NtStatus::STOPPED_ON_SYMLINK;
  CHECK(open_status(f.share, "to_root", D::FILE_OPEN) == STOP);
  CHECK(open_status(f.share, "to_root\\etc\\passwd", D::FILE_OPEN) == STOP);
  CHECK(open_status(f.share, "to_sibling\\secret", D::FILE_OPEN) == STOP);
  CHECK(open_status(f.share, "secret_link", D::FILE_OPEN) == STOP);
  CHECK(open_status(f.share, "abs_link", D::FILE_OPEN) == STOP);
  // Creating through an escaping link must not create anything outside either.
  CHECK(open_status(f.share, "to_sibling\\new", D::FILE_CREATE) == STOP);
  CHECK_FALSE(fs::exists(f.dir.outside() / "new"));
  CHECK(open_status(f.share, "secret_link", D::FILE_OVERWRITE_IF) == STOP);
  CHECK(open_status(f.share, "secret_link", D::FILE_CREATE) == NtStatus::OBJECT_NAME_COLLISION);
  // The link itself: attributes only, nothing of it to write or replace.
  constexpr std::uint32_t kReparse = create_option::FILE_OPEN_REPARSE_POINT;
  CHECK(open_status(f.share, "secret_link", D::FILE_OVERWRITE_IF, kReparse) ==
        NtStatus::ACCESS_DENIED);
  CHECK(open_status(f.share, "to_root\\etc\\passwd", D::FILE_OPEN, kReparse) == STOP);
  CHECK(TestDir::read(f.dir.outside() / "secret") == "outside");
  {
    OpenResult stopped;
    REQUIRE(open_path(f.share, "to_sibling\\secret", D::FILE_OPEN, 0, stopped) == STOP);
    REQUIRE(stopped.symlink);
    CHECK(stopped.symlink->target == "../outside");
    CHECK(stopped.symlink->unparsed_path_length == 14);  // "\\secret" in UTF-16
    REQUIRE(open_path(f.share, "abs_link", D::FILE_OPEN, 0, stopped) == STOP);
    REQUIRE(stopped.symlink);
    CHECK(stopped.symlink->target == (f.dir.outside() / "secret").string());
    CHECK(stopped.symlink->unparsed_path_length == 0);
    OpenResult link;
    REQUIRE(open_path(f.share, "secret_link", D::FILE_OPEN, kReparse, link,
                      access_mask::FILE_READ_ATTRIBUTES) == NtStatus::SUCCESS);
    CHECK(link.attribute_only);
    CHECK(link.info.reparse_tag == smb::IO_REPARSE_TAG_SYMLINK);
    CHECK((link.info.file_attributes & smb::file_attribute::FILE_ATTRIBUTE_REPARSE_POINT) != 0);
    std::string target;
    CHECK(read_symlink(link.fd.get(), {}, target) == NtStatus::SUCCESS);
    CHECK(target == "../outside/secret");
  }
  FileInfo info;
  CHECK(f.share.stat("to_sibling", info) == NtStatus::ACCESS_DENIED);

  // Links that stay inside are followed, also upwards.
  OpenResult r;
  REQUIRE(open_path(f.share, "docs_link\\report.txt", D::FILE_OPEN, 0, r) == NtStatus::SUCCESS);
  char buf[5];
  std::size_t n = 0;
  PosixFileData data(std::make_shared<smb::UniqueFd>(std::move(r.fd)));
  REQUIRE(data.read(0, smb::MutableByteSpan(reinterpret_cast<std::uint8_t*>(buf), 5), n) ==
          NtStatus::SUCCESS);
  CHECK(std::string(buf, n) == "hello");
  REQUIRE(open_path(f.share, "empty\\up_link", D::FILE_OPEN, 0, r) == NtStatus::SUCCESS);
  CHECK(r.info.end_of_file == 11);
}

TEST_CASE("share: a symlink swapped to point outside between two calls") {
  Fixture f;
  const fs::path link = f.dir.root() / "swing";
  fs::create_symlink("Docs", link);
  OpenResult r;
  REQUIRE(open_path(f.share, "swing\\Report.TXT", D::FILE_OPEN, 0, r) == NtStatus::SUCCESS);
  Resolved resolved;
  REQUIRE(f.share.resolve("swing\\Report.TXT", resolved) == NtStatus::SUCCESS);
  // Swap the link after resolution, as a racing local user would.
  fs::remove(link);
  fs::create_symlink(f.dir.outside(), link);
  CHECK(open_path(f.share, "swing\\secret", D::FILE_OPEN, 0, r) == NtStatus::STOPPED_ON_SYMLINK);
  CHECK(open_path(f.share, "swing\\Report.TXT", D::FILE_OPEN, 0, r) ==
        NtStatus::STOPPED_ON_SYMLINK);
  CHECK(f.share.rename("Docs\\Report.TXT", "swing\\moved", false) == NtStatus::ACCESS_DENIED);
  CHECK(f.share.remove("swing\\secret") == NtStatus::ACCESS_DENIED);
  CHECK(fs::exists(f.dir.outside() / "secret"));
  // The descriptor resolved before the swap still names the inside directory: an
  // *at() call on it cannot reach the new target.
  struct stat st {};
  CHECK(::fstatat(resolved.parent.get(), "secret", &st, 0) != 0);
  CHECK(::fstatat(resolved.parent.get(), "Report.TXT", &st, 0) == 0);
}

TEST_CASE("share: case-insensitive lookup keeps the on-disk spelling") {
  Fixture f;
  OpenResult r;
  REQUIRE(open_path(f.share, "\\DOCS\\report.txt", D::FILE_OPEN, 0, r) == NtStatus::SUCCESS);
  CHECK(r.path == "Docs\\Report.TXT");
  CHECK(r.name == "Report.TXT");
  // Creating with another case opens the existing file instead of adding a twin.
  REQUIRE(open_path(f.share, "docs\\REPORT.txt", D::FILE_OPEN_IF, 0, r) == NtStatus::SUCCESS);
  CHECK(r.create_action == CreateAction::FILE_OPENED);
  CHECK(open_status(f.share, "docs\\REPORT.txt", D::FILE_CREATE) ==
        NtStatus::OBJECT_NAME_COLLISION);
  // Non-ASCII: Cyrillic and Latin-1.
  fs::create_directory(f.dir.root() / "\xd0\x9f\xd0\xb0\xd0\xbf\xd0\xba\xd0\xb0");  // Папка
  TestDir::write(f.dir.root() / "\xd0\x9f\xd0\xb0\xd0\xbf\xd0\xba\xd0\xb0" / "\xc3\xa9t\xc3\xa9",
                 "x");
  REQUIRE(open_path(f.share, "\xd0\xbf\xd0\x90\xd0\x9f\xd0\x9a\xd0\x90\\\xc3\x89T\xc3\x89",
                    D::FILE_OPEN, 0, r) == NtStatus::SUCCESS);
  CHECK(r.name == "\xc3\xa9t\xc3\xa9");
  // An exact match wins over a case-insensitive one.
  TestDir::write(f.dir.root() / "Docs" / "report.txt", "lower");
  REQUIRE(open_path(f.share, "Docs\\report.txt", D::FILE_OPEN, 0, r) == NtStatus::SUCCESS);
  CHECK(r.info.end_of_file == 5);
}

TEST_CASE("share: create dispositions on missing and existing files") {
  Fixture f;
  const fs::path root = f.dir.root();
  OpenResult r;
  // Missing file.
  CHECK(open_status(f.share, "m1", D::FILE_OPEN) == NtStatus::OBJECT_NAME_NOT_FOUND);
  CHECK(open_status(f.share, "m1", D::FILE_OVERWRITE) == NtStatus::OBJECT_NAME_NOT_FOUND);
  CHECK_FALSE(fs::exists(root / "m1"));
  for (D d : {D::FILE_SUPERSEDE, D::FILE_CREATE, D::FILE_OPEN_IF, D::FILE_OVERWRITE_IF}) {
    CAPTURE(static_cast<int>(d));
    const std::string name = "new" + std::to_string(static_cast<int>(d));
    REQUIRE(open_path(f.share, name, d, 0, r) == NtStatus::SUCCESS);
    CHECK(r.create_action == CreateAction::FILE_CREATED);
    CHECK_FALSE(r.is_directory);
    CHECK(r.writable);
    CHECK(fs::is_regular_file(root / name));
    CHECK((r.info.file_attributes & fa::FILE_ATTRIBUTE_ARCHIVE) != 0);
  }
  // Missing parent.
  CHECK(open_status(f.share, "nodir\\file", D::FILE_CREATE) == NtStatus::OBJECT_PATH_NOT_FOUND);
  CHECK(open_status(f.share, "nodir\\file", D::FILE_OPEN) == NtStatus::OBJECT_PATH_NOT_FOUND);
  CHECK(open_status(f.share, "Docs\\Report.TXT\\x", D::FILE_OPEN) ==
        NtStatus::OBJECT_PATH_NOT_FOUND);

  // Existing file.
  auto reset = [&] { TestDir::write(root / "e", "0123456789"); };
  reset();
  REQUIRE(open_path(f.share, "e", D::FILE_OPEN, 0, r) == NtStatus::SUCCESS);
  CHECK(r.create_action == CreateAction::FILE_OPENED);
  CHECK(r.info.end_of_file == 10);
  REQUIRE(open_path(f.share, "e", D::FILE_OPEN_IF, 0, r) == NtStatus::SUCCESS);
  CHECK(r.create_action == CreateAction::FILE_OPENED);
  CHECK(r.info.end_of_file == 10);
  CHECK(open_status(f.share, "e", D::FILE_CREATE) == NtStatus::OBJECT_NAME_COLLISION);
  REQUIRE(open_path(f.share, "e", D::FILE_OVERWRITE, 0, r) == NtStatus::SUCCESS);
  CHECK(r.create_action == CreateAction::FILE_OVERWRITTEN);
  CHECK(r.info.end_of_file == 0);
  reset();
  REQUIRE(open_path(f.share, "e", D::FILE_OVERWRITE_IF, 0, r) == NtStatus::SUCCESS);
  CHECK(r.create_action == CreateAction::FILE_OVERWRITTEN);
  CHECK(fs::file_size(root / "e") == 0);
  reset();
  REQUIRE(open_path(f.share, "e", D::FILE_SUPERSEDE, 0, r) == NtStatus::SUCCESS);
  CHECK(r.create_action == CreateAction::FILE_SUPERSEDED);
  CHECK(fs::file_size(root / "e") == 0);
  // A file is not a directory.
  CHECK(open_status(f.share, "e", D::FILE_OPEN, create_option::FILE_DIRECTORY_FILE) ==
        NtStatus::NOT_A_DIRECTORY);
  CHECK(open_status(f.share, "e", D::FILE_OPEN_IF, create_option::FILE_DIRECTORY_FILE) ==
        NtStatus::NOT_A_DIRECTORY);
  // Read-only access gives a read-only descriptor.
  REQUIRE(open_path(f.share, "e", D::FILE_OPEN, 0, r, access_mask::FILE_READ_DATA) ==
          NtStatus::SUCCESS);
  CHECK_FALSE(r.writable);
}

TEST_CASE("share: create dispositions on directories") {
  Fixture f;
  const fs::path root = f.dir.root();
  OpenResult r;
  constexpr auto dir = create_option::FILE_DIRECTORY_FILE;
  constexpr auto nondir = create_option::FILE_NON_DIRECTORY_FILE;
  // Missing.
  CHECK(open_status(f.share, "d", D::FILE_OPEN, dir) == NtStatus::OBJECT_NAME_NOT_FOUND);
  REQUIRE(open_path(f.share, "d", D::FILE_CREATE, dir, r) == NtStatus::SUCCESS);
  CHECK(r.create_action == CreateAction::FILE_CREATED);
  CHECK(r.is_directory);
  CHECK(r.info.is_directory);
  CHECK((r.info.file_attributes & fa::FILE_ATTRIBUTE_DIRECTORY) != 0);
  CHECK(fs::is_directory(root / "d"));
  REQUIRE(open_path(f.share, "d2", D::FILE_OPEN_IF, dir, r) == NtStatus::SUCCESS);
  CHECK(r.create_action == CreateAction::FILE_CREATED);
  // Dispositions that would overwrite are invalid with FILE_DIRECTORY_FILE.
  for (D d : {D::FILE_SUPERSEDE, D::FILE_OVERWRITE, D::FILE_OVERWRITE_IF}) {
    CHECK(open_status(f.share, "d3", d, dir) == NtStatus::INVALID_PARAMETER);
    CHECK(open_status(f.share, "d", d, dir) == NtStatus::INVALID_PARAMETER);
  }
  CHECK_FALSE(fs::exists(root / "d3"));
  CHECK(open_status(f.share, "d", D::FILE_OPEN, dir | nondir) == NtStatus::INVALID_PARAMETER);
  // Existing.
  REQUIRE(open_path(f.share, "d", D::FILE_OPEN, dir, r) == NtStatus::SUCCESS);
  CHECK(r.create_action == CreateAction::FILE_OPENED);
  REQUIRE(open_path(f.share, "D", D::FILE_OPEN_IF, dir, r) == NtStatus::SUCCESS);
  CHECK(r.create_action == CreateAction::FILE_OPENED);
  CHECK(open_status(f.share, "d", D::FILE_CREATE, dir) == NtStatus::OBJECT_NAME_COLLISION);
  CHECK(open_status(f.share, "d", D::FILE_CREATE) == NtStatus::OBJECT_NAME_COLLISION);
  // Opening a directory without either option works; with NON_DIRECTORY it does not.
  REQUIRE(open_path(f.share, "d", D::FILE_OPEN, 0, r) == NtStatus::SUCCESS);
  CHECK(r.is_directory);
  CHECK_FALSE(r.writable);
  CHECK(open_status(f.share, "d", D::FILE_OPEN, nondir) == NtStatus::FILE_IS_A_DIRECTORY);
  CHECK(open_status(f.share, "d", D::FILE_OVERWRITE_IF) == NtStatus::INVALID_PARAMETER);
  // The share root.
  REQUIRE(open_path(f.share, "", D::FILE_OPEN, 0, r) == NtStatus::SUCCESS);
  CHECK(r.is_directory);
  CHECK(r.name.empty());
  CHECK(open_status(f.share, "\\", D::FILE_OPEN, nondir) == NtStatus::FILE_IS_A_DIRECTORY);
  // Delete-on-close is reported, and needs DELETE access.
  REQUIRE(open_path(f.share, "d", D::FILE_OPEN, dir | create_option::FILE_DELETE_ON_CLOSE, r,
                    access_mask::DELETE) == NtStatus::SUCCESS);
  CHECK(r.delete_on_close);
  CHECK(open_path(f.share, "d", D::FILE_OPEN, dir | create_option::FILE_DELETE_ON_CLOSE, r,
                  access_mask::GENERIC_READ) == NtStatus::INVALID_PARAMETER);
}

TEST_CASE("share: READONLY and HIDDEN attributes") {
  Fixture f;
  OpenResult r;
  REQUIRE(open_path(f.share, "ro", D::FILE_CREATE, 0, r, access_mask::GENERIC_WRITE,
                    fa::FILE_ATTRIBUTE_READONLY) == NtStatus::SUCCESS);
  CHECK((r.info.file_attributes & fa::FILE_ATTRIBUTE_READONLY) != 0);
  CHECK((fs::status(f.dir.root() / "ro").permissions() & fs::perms::owner_write) ==
        fs::perms::none);
  // Even as root, the attribute refuses writes and overwrites.
  CHECK(open_status(f.share, "ro", D::FILE_OPEN) == NtStatus::ACCESS_DENIED);
  CHECK(open_status(f.share, "ro", D::FILE_OVERWRITE_IF) == NtStatus::ACCESS_DENIED);
  REQUIRE(open_path(f.share, "ro", D::FILE_OPEN, 0, r, access_mask::FILE_READ_DATA) ==
          NtStatus::SUCCESS);
  CHECK(check_delete(r.fd.get()) == NtStatus::CANNOT_DELETE);
  CHECK(open_path(f.share, "ro", D::FILE_OPEN, create_option::FILE_DELETE_ON_CLOSE, r,
                  access_mask::DELETE) == NtStatus::CANNOT_DELETE);

  // Dot files are HIDDEN by default; overwriting one must repeat HIDDEN.
  TestDir::write(f.dir.root() / ".profile", "x");
  REQUIRE(open_path(f.share, ".profile", D::FILE_OPEN, 0, r) == NtStatus::SUCCESS);
  CHECK((r.info.file_attributes & fa::FILE_ATTRIBUTE_HIDDEN) != 0);
  CHECK(open_status(f.share, ".profile", D::FILE_OVERWRITE) == NtStatus::ACCESS_DENIED);
  REQUIRE(open_path(f.share, ".profile", D::FILE_OVERWRITE, 0, r,
                    access_mask::GENERIC_READ | access_mask::GENERIC_WRITE,
                    fa::FILE_ATTRIBUTE_HIDDEN) == NtStatus::SUCCESS);
  CHECK(r.create_action == CreateAction::FILE_OVERWRITTEN);
}

TEST_CASE("share: set basic info round-trips times at NT resolution and attributes") {
  Fixture f;
  OpenResult r;
  REQUIRE(open_path(f.share, "t", D::FILE_CREATE, 0, r) == NtStatus::SUCCESS);
  const std::uint64_t write_time = nt_time_from_unix(1600000000, 123456700);
  const std::uint64_t access_time = nt_time_from_unix(1500000000, 999999900);
  BasicInfoChange basic;
  basic.last_write_time = write_time;
  basic.last_access_time = access_time;
  REQUIRE(set_basic_info(r.fd.get(), "t", basic) == NtStatus::SUCCESS);
  FileInfo info;
  REQUIRE(query_info(r.fd.get(), "t", info) == NtStatus::SUCCESS);
  CHECK(info.last_write_time == write_time);
  CHECK(info.last_access_time == access_time);
  // 0 and -1 leave the times alone.
  basic.last_write_time = 0;
  basic.last_access_time = ~std::uint64_t{0};
  REQUIRE(set_basic_info(r.fd.get(), "t", basic) == NtStatus::SUCCESS);
  REQUIRE(query_info(r.fd.get(), "t", info) == NtStatus::SUCCESS);
  CHECK(info.last_write_time == write_time);
  CHECK(info.last_access_time == access_time);
  CHECK(info.creation_time != 0);
  CHECK(info.change_time >= info.creation_time);

  // Attributes: DIRECTORY on a file is invalid; HIDDEN|SYSTEM are stored when the
  // file system has user extended attributes.
  basic = {};
  basic.file_attributes = fa::FILE_ATTRIBUTE_DIRECTORY;
  CHECK(set_basic_info(r.fd.get(), "t", basic) == NtStatus::INVALID_PARAMETER);
  basic.file_attributes = fa::FILE_ATTRIBUTE_HIDDEN | fa::FILE_ATTRIBUTE_SYSTEM;
  REQUIRE(set_basic_info(r.fd.get(), "t", basic) == NtStatus::SUCCESS);
  REQUIRE(query_info(r.fd.get(), "t", info) == NtStatus::SUCCESS);
  char probe[16];
  if (::fgetxattr(r.fd.get(), kDosAttribXattr, probe, sizeof probe) > 0) {
    CHECK(info.file_attributes == (fa::FILE_ATTRIBUTE_HIDDEN | fa::FILE_ATTRIBUTE_SYSTEM));
  }
  basic.file_attributes = fa::FILE_ATTRIBUTE_NORMAL;
  REQUIRE(set_basic_info(r.fd.get(), "t", basic) == NtStatus::SUCCESS);
  REQUIRE(query_info(r.fd.get(), "t", info) == NtStatus::SUCCESS);
  CHECK(info.file_attributes == fa::FILE_ATTRIBUTE_NORMAL);
  basic.file_attributes = fa::FILE_ATTRIBUTE_READONLY | fa::FILE_ATTRIBUTE_ARCHIVE;
  REQUIRE(set_basic_info(r.fd.get(), "t", basic) == NtStatus::SUCCESS);
  REQUIRE(query_info(r.fd.get(), "t", info) == NtStatus::SUCCESS);
  CHECK(info.file_attributes == (fa::FILE_ATTRIBUTE_READONLY | fa::FILE_ATTRIBUTE_ARCHIVE));
  basic.file_attributes = fa::FILE_ATTRIBUTE_ARCHIVE;
  REQUIRE(set_basic_info(r.fd.get(), "t", basic) == NtStatus::SUCCESS);
  REQUIRE(query_info(r.fd.get(), "t", info) == NtStatus::SUCCESS);
  CHECK(info.file_attributes == fa::FILE_ATTRIBUTE_ARCHIVE);
}

TEST_CASE("share: a POSIX file's data: read, write, end of file, allocation, flush") {
  Fixture f;
  OpenResult r;
  REQUIRE(open_path(f.share, "io", D::FILE_CREATE, create_option::FILE_WRITE_THROUGH, r) ==
          NtStatus::SUCCESS);
  auto fd = std::make_shared<smb::UniqueFd>(std::move(r.fd));
  PosixFileData data(fd);
  CHECK_FALSE(data.mapped());
  CHECK(std::string(data.mode()) == "posix");
  const std::string text = "The quick brown fox";
  std::size_t n = 0;
  REQUIRE(data.write(100,
                     smb::ByteSpan(reinterpret_cast<const std::uint8_t*>(text.data()), text.size()),
                     n) == NtStatus::SUCCESS);
  CHECK(n == text.size());
  std::uint8_t buf[64];
  REQUIRE(data.read(104, smb::MutableByteSpan(buf, 5), n) == NtStatus::SUCCESS);
  CHECK(std::string(reinterpret_cast<char*>(buf), n) == "quick");
  REQUIRE(data.read(110, smb::MutableByteSpan(buf, 64), n) == NtStatus::SUCCESS);
  CHECK(n == 9);  // short read at the end of the file
  CHECK(data.read(119, smb::MutableByteSpan(buf, 64), n) == NtStatus::END_OF_FILE);
  CHECK(n == 0);
  // Just written, so in the page cache: answered without blocking, up to the end.
  REQUIRE(data.read_nowait(110, smb::MutableByteSpan(buf, 64), n));
  CHECK(n == 9);
  const std::string tail = "!";
  REQUIRE(data.append(smb::ByteSpan(reinterpret_cast<const std::uint8_t*>(tail.data()), 1), n) ==
          NtStatus::SUCCESS);
  REQUIRE(data.read(119, smb::MutableByteSpan(buf, 64), n) == NtStatus::SUCCESS);
  CHECK(std::string(reinterpret_cast<char*>(buf), n) == "!");
  CHECK(data.flush() == NtStatus::SUCCESS);
  REQUIRE(data.set_end_of_file(50) == NtStatus::SUCCESS);
  FileInfo info;
  REQUIRE(query_info(fd->get(), "io", info) == NtStatus::SUCCESS);
  CHECK(info.end_of_file == 50);
  REQUIRE(data.set_allocation_size(1 << 20) == NtStatus::SUCCESS);
  REQUIRE(query_info(fd->get(), "io", info) == NtStatus::SUCCESS);
  CHECK(info.end_of_file == 50);  // KEEP_SIZE
  CHECK(info.allocation_size >= 4096);
  REQUIRE(data.set_allocation_size(10) == NtStatus::SUCCESS);
  REQUIRE(query_info(fd->get(), "io", info) == NtStatus::SUCCESS);
  CHECK(info.end_of_file == 10);  // a smaller allocation truncates
  struct stat st {};
  REQUIRE(::fstat(fd->get(), &st) == 0);
  CHECK(info.file_id == st.st_ino);
  CHECK(info.number_of_links == 1);
  CHECK(data.set_end_of_file(~std::uint64_t{0}) == NtStatus::INVALID_PARAMETER);
}

TEST_CASE("share: rename with and without replace, files and directories") {
  Fixture f;
  const fs::path root = f.dir.root();
  TestDir::write(root / "a", "A");
  TestDir::write(root / "b", "B");
  OpenResult ra;
  REQUIRE(open_path(f.share, "a", D::FILE_OPEN, 0, ra) == NtStatus::SUCCESS);
  CHECK(f.share.rename("a", "B", false) == NtStatus::OBJECT_NAME_COLLISION);
  CHECK(TestDir::read(root / "b") == "B");
  REQUIRE(f.share.rename("a", "B", true, ra.fd.get()) == NtStatus::SUCCESS);
  CHECK_FALSE(fs::exists(root / "a"));
  CHECK(TestDir::read(root / "b") == "A");  // replaced the on-disk "b", no twin "B"
  CHECK_FALSE(fs::exists(root / "B"));
  // New name in another directory, with the client's spelling.
  REQUIRE(f.share.rename("b", "docs\\Moved.txt", false) == NtStatus::SUCCESS);
  CHECK(TestDir::read(root / "Docs" / "Moved.txt") == "A");
  // Case-only rename of the same entry.
  REQUIRE(f.share.rename("docs\\moved.txt", "Docs\\MOVED.TXT", false) == NtStatus::SUCCESS);
  CHECK(fs::exists(root / "Docs" / "MOVED.TXT"));
  CHECK_FALSE(fs::exists(root / "Docs" / "Moved.txt"));
  // Directories move too; an existing directory is never replaced.
  REQUIRE(f.share.rename("empty", "Docs\\sub", false) == NtStatus::SUCCESS);
  CHECK(fs::is_directory(root / "Docs" / "sub"));
  fs::create_directory(root / "other");
  CHECK(f.share.rename("Docs\\MOVED.TXT", "other", true) == NtStatus::ACCESS_DENIED);
  CHECK(f.share.rename("Docs", "Docs\\sub\\inner", false) == NtStatus::INVALID_PARAMETER);
  // Missing source, missing target directory, invalid target, the root.
  CHECK(f.share.rename("nope", "x", false) == NtStatus::OBJECT_NAME_NOT_FOUND);
  CHECK(f.share.rename("other", "nodir\\x", false) == NtStatus::OBJECT_PATH_NOT_FOUND);
  CHECK(f.share.rename("other", "x:y", false) == NtStatus::OBJECT_NAME_INVALID);
  CHECK(f.share.rename("", "x", false) == NtStatus::ACCESS_DENIED);
  // The identity guard: the descriptor no longer names what is at the path.
  TestDir::write(root / "c", "C");
  OpenResult rc;
  REQUIRE(open_path(f.share, "c", D::FILE_OPEN, 0, rc) == NtStatus::SUCCESS);
  fs::remove(root / "c");
  TestDir::write(root / "c", "impostor");
  CHECK(f.share.rename("c", "d", false, rc.fd.get()) == NtStatus::OBJECT_NAME_NOT_FOUND);
  CHECK(f.share.remove("c", rc.fd.get()) == NtStatus::OBJECT_NAME_NOT_FOUND);
}

TEST_CASE("share: delete files and directories") {
  Fixture f;
  const fs::path root = f.dir.root();
  OpenResult r;
  REQUIRE(open_path(f.share, "Docs", D::FILE_OPEN, create_option::FILE_DIRECTORY_FILE, r) ==
          NtStatus::SUCCESS);
  CHECK(check_delete(r.fd.get()) == NtStatus::DIRECTORY_NOT_EMPTY);
  CHECK(f.share.remove("docs") == NtStatus::DIRECTORY_NOT_EMPTY);
  REQUIRE(f.share.remove("docs\\report.txt") == NtStatus::SUCCESS);
  CHECK(check_delete(r.fd.get()) == NtStatus::SUCCESS);
  REQUIRE(f.share.remove("docs", r.fd.get()) == NtStatus::SUCCESS);
  CHECK_FALSE(fs::exists(root / "Docs"));
  CHECK(f.share.remove("docs") == NtStatus::OBJECT_NAME_NOT_FOUND);
  CHECK(f.share.remove("") == NtStatus::ACCESS_DENIED);
  // A symlink is removed itself, never its target.
  fs::create_symlink("../outside/secret", root / "link");
  REQUIRE(f.share.remove("link") == NtStatus::SUCCESS);
  CHECK(fs::exists(f.dir.outside() / "secret"));
}

TEST_CASE("share: volume information") {
  Fixture f;
  VolumeInfo v;
  REQUIRE(f.share.volume_info(v) == NtStatus::SUCCESS);
  CHECK(v.total_allocation_units > 0);
  CHECK(v.caller_available_allocation_units <= v.actual_available_allocation_units);
  CHECK(v.bytes_per_sector == 512);
  CHECK(v.sectors_per_allocation_unit >= 1);
  CHECK(v.maximum_component_name_length == 255);
  CHECK(v.case_preserved_names);
  CHECK_FALSE(v.case_sensitive_search);
  CHECK(v.unicode_on_disk);
  VolumeInfo again;
  REQUIRE(f.share.volume_info(again) == NtStatus::SUCCESS);
  CHECK(again.serial_number == v.serial_number);
}

TEST_CASE("errno mapping") {
  CHECK(smb::errno_to_ntstatus(ENOENT) == NtStatus::OBJECT_NAME_NOT_FOUND);
  CHECK(smb::errno_to_ntstatus(ENOTDIR) == NtStatus::OBJECT_PATH_NOT_FOUND);
  CHECK(smb::errno_to_ntstatus(EISDIR) == NtStatus::FILE_IS_A_DIRECTORY);
  CHECK(smb::errno_to_ntstatus(EEXIST) == NtStatus::OBJECT_NAME_COLLISION);
  CHECK(smb::errno_to_ntstatus(EACCES) == NtStatus::ACCESS_DENIED);
  CHECK(smb::errno_to_ntstatus(EPERM) == NtStatus::ACCESS_DENIED);
  CHECK(smb::errno_to_ntstatus(ENOSPC) == NtStatus::DISK_FULL);
  CHECK(smb::errno_to_ntstatus(EDQUOT) == NtStatus::DISK_FULL);
  CHECK(smb::errno_to_ntstatus(EFBIG) == NtStatus::DISK_FULL);
  CHECK(smb::errno_to_ntstatus(EROFS) == NtStatus::MEDIA_WRITE_PROTECTED);
  CHECK(smb::errno_to_ntstatus(ENOTEMPTY) == NtStatus::DIRECTORY_NOT_EMPTY);
  CHECK(smb::errno_to_ntstatus(EXDEV) == NtStatus::NOT_SAME_DEVICE);
  CHECK(smb::errno_to_ntstatus(ENAMETOOLONG) == NtStatus::NAME_TOO_LONG);
  CHECK(smb::errno_to_ntstatus(ELOOP) == NtStatus::ACCESS_DENIED);
  CHECK(smb::errno_to_ntstatus(EMFILE) == NtStatus::TOO_MANY_OPENED_FILES);
  CHECK(smb::errno_to_ntstatus(ENFILE) == NtStatus::TOO_MANY_OPENED_FILES);
  CHECK(smb::errno_to_ntstatus(EINVAL) == NtStatus::INVALID_PARAMETER);
  CHECK(smb::errno_to_ntstatus(EIO) == NtStatus::IO_DEVICE_ERROR);
  CHECK(smb::errno_to_ntstatus(0) == NtStatus::SUCCESS);
}
