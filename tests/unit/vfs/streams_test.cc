// Named streams in Samba's vfs_streams_xattr layout (vfs/streams.hh): the name rules and
// decoders, and a stream's data through FileData on a real file in the temporary
// directory (its file system must keep user xattrs; where it does not, those cases are
// skipped).
#include <doctest/doctest.h>
#include <fcntl.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <memory>

#include "smbd/base/unique_fd.hh"
#include "smbd/vfs/streams.hh"
#include "test_dir.hh"

using namespace smb;
using namespace smb::vfs;

namespace {

NtStatus split(std::string_view path, StreamPath& out) { return split_stream_path(path, out); }

}  // namespace

TEST_CASE("streams: paths") {
  StreamPath p;
  REQUIRE(split("dir\\f.txt", p) == NtStatus::SUCCESS);
  CHECK(p.base == "dir\\f.txt");
  CHECK_FALSE(p.has_stream_part);
  REQUIRE(split("dir\\f.txt:Stream One", p) == NtStatus::SUCCESS);
  CHECK(p.base == "dir\\f.txt");
  CHECK(p.stream == "Stream One");
  REQUIRE(split("f.txt:Second:$DaTa", p) == NtStatus::SUCCESS);
  CHECK(p.stream == "Second");
  REQUIRE(split("f.txt::$DATA", p) == NtStatus::SUCCESS);
  CHECK(p.has_stream_part);
  CHECK(p.stream.empty());
  REQUIRE(split("f.txt:\x05Stream\n ?*", p) == NtStatus::SUCCESS);  // allowed in streams
  CHECK(split("f.txt:", p) == NtStatus::OBJECT_NAME_INVALID);
  CHECK(split("f.txt:s:", p) == NtStatus::OBJECT_NAME_INVALID);
  CHECK(split("f.txt:s:x:$DATA", p) == NtStatus::OBJECT_NAME_INVALID);
  CHECK(split("f.txt:a/b", p) == NtStatus::OBJECT_NAME_INVALID);
  CHECK(split("dir:s\\f.txt", p) == NtStatus::OBJECT_NAME_INVALID);
  CHECK(split("f.txt:s:$FOO", p) == NtStatus::INVALID_PARAMETER);
  CHECK(split("f.txt:" + std::string(256, 'a'), p) == NtStatus::OBJECT_NAME_INVALID);
}

TEST_CASE("streams: attribute names and values") {
  CHECK(stream_xattr_name("Stream One") == "user.DosStream.Stream One:$DATA");
  std::string s;
  REQUIRE(stream_of_xattr_name("user.DosStream.Stream One:$DATA", s));
  CHECK(s == "Stream One");
  CHECK_FALSE(stream_of_xattr_name("user.DosStream.notype", s));
  CHECK_FALSE(stream_of_xattr_name("user.DosStream.x:$FOO", s));
  CHECK_FALSE(stream_of_xattr_name("user.DosStream.:$DATA", s));
  CHECK_FALSE(stream_of_xattr_name("user.DOSATTRIB", s));
  const std::uint8_t value[] = {'a', 'b', 0};
  ByteSpan data;
  REQUIRE(stream_data_of_value(ByteSpan(value, 3), data));
  CHECK(data.size() == 2);
  CHECK_FALSE(stream_data_of_value(ByteSpan(), data));
  // Names matched ignoring case share their key; the top bit keeps it off real inodes.
  CHECK(stream_key("Stream") == stream_key("sTREAM"));
  CHECK(stream_key("a") != stream_key("b"));
  CHECK((stream_key("a") >> 63) == 1);
}

TEST_CASE("streams: data through FileData") {
  test::TestDir dir;
  const std::string path = (dir.root() / "f").string();
  auto fd = std::make_shared<UniqueFd>(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644));
  REQUIRE(*fd);
  if (::fsetxattr(fd->get(), "user.probe", "x", 1, 0) != 0) {
    MESSAGE("no user xattrs in the temporary directory: skipped");
    return;
  }
  REQUIRE(create_stream(fd->get(), "One") == NtStatus::SUCCESS);
  std::string on_disk;
  bool exists = false;
  REQUIRE(find_stream(fd->get(), "ONE", on_disk, exists) == NtStatus::SUCCESS);
  CHECK(exists);
  CHECK(on_disk == "One");
  StreamFileData io(fd, on_disk);
  const std::uint8_t hello[] = {'h', 'e', 'l', 'l', 'o'};
  std::size_t done = 0;
  REQUIRE(io.write(3, ByteSpan(hello, 5), done) == NtStatus::SUCCESS);
  CHECK(done == 5);
  std::uint8_t buf[16] = {};
  REQUIRE(io.read(0, MutableByteSpan(buf, sizeof buf), done) == NtStatus::SUCCESS);
  CHECK(done == 8);
  CHECK(buf[0] == 0);
  CHECK(buf[3] == 'h');
  CHECK(io.read(8, MutableByteSpan(buf, sizeof buf), done) == NtStatus::END_OF_FILE);
  // On disk as Samba writes it: the data and one NUL.
  char raw[16];
  CHECK(::fgetxattr(fd->get(), "user.DosStream.One:$DATA", raw, sizeof raw) == 9);
  CHECK(raw[8] == 0);
  REQUIRE(io.set_end_of_file(4) == NtStatus::SUCCESS);
  std::uint64_t size = 0;
  REQUIRE(stream_size(fd->get(), "One", size) == NtStatus::SUCCESS);
  CHECK(size == 4);
  CHECK(io.write(kMaxStreamSize, ByteSpan(hello, 1), done) == NtStatus::DISK_FULL);
  std::string renamed;
  REQUIRE(create_stream(fd->get(), "Two") == NtStatus::SUCCESS);
  CHECK(rename_stream(fd->get(), "one", "two", false, renamed) == NtStatus::OBJECT_NAME_COLLISION);
  REQUIRE(rename_stream(fd->get(), "one", "Three", false, renamed) == NtStatus::SUCCESS);
  CHECK(renamed == "Three");
  std::vector<StreamEntry> streams;
  REQUIRE(list_streams(fd->get(), streams) == NtStatus::SUCCESS);
  CHECK(streams.size() == 2);
  REQUIRE(remove_stream(fd->get(), "Three") == NtStatus::SUCCESS);
  CHECK(remove_stream(fd->get(), "Three") == NtStatus::SUCCESS);
  REQUIRE(list_streams(fd->get(), streams) == NtStatus::SUCCESS);
  CHECK(streams.size() == 1);
}
