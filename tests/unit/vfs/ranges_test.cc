// vfs/ranges.hh on real files in a scratch directory: zeroing with and without holes,
// allocated ranges with their bound, and copying ranges (directly and through a buffer,
// overlapping ranges of one file included).
#include "smbd/vfs/ranges.hh"

#include <doctest/doctest.h>
#include <fcntl.h>
#include <unistd.h>

#include <memory>
#include <string>
#include <vector>

#include "smbd/vfs/posix_file_data.hh"
#include "test_dir.hh"

using smb::Bytes;
using smb::ByteSpan;
using smb::NtStatus;
using smb::UniqueFd;
using namespace smb::vfs;
using smb::vfs::test::TestDir;

namespace {

struct File {
  std::shared_ptr<UniqueFd> fd;
  std::shared_ptr<PosixFileData> data;
  File(const TestDir& dir, const std::string& name) {
    fd = std::make_shared<UniqueFd>(
        ::open((dir.root() / name).c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644));
    REQUIRE(fd->get() >= 0);
    data = std::make_shared<PosixFileData>(fd);
  }
  void write(std::uint64_t offset, const Bytes& bytes) {
    std::size_t done = 0;
    REQUIRE(data->write(offset, bytes, done) == NtStatus::SUCCESS);
  }
  Bytes read(std::uint64_t offset, std::size_t n) {
    Bytes out(n);
    std::size_t done = 0;
    REQUIRE(data->read(offset, out, done) == NtStatus::SUCCESS);
    out.resize(done);
    return out;
  }
};

Bytes pattern(std::size_t n, std::uint8_t seed) {
  Bytes b(n);
  for (std::size_t i = 0; i < n; ++i) b[i] = static_cast<std::uint8_t>(seed + i * 7 + (i >> 9));
  return b;
}

}  // namespace

TEST_CASE("ranges: zeroing keeps the size and reads back zeros, with or without a hole") {
  TestDir dir;
  for (bool punch : {true, false}) {
    File f(dir, punch ? "sparse" : "dense");
    f.write(0, pattern(256 * 1024, 1));
    REQUIRE(zero_range(f.fd->get(), 65536, 131072, punch) == NtStatus::SUCCESS);
    std::uint64_t size = 0;
    REQUIRE(end_of_file(f.fd->get(), size) == NtStatus::SUCCESS);
    CHECK(size == 256 * 1024);
    Bytes all = f.read(0, 256 * 1024);
    Bytes expected = pattern(256 * 1024, 1);
    std::fill(expected.begin() + 65536, expected.begin() + 131072, 0);
    CHECK(all == expected);
    // Beyond the end: nothing changes, the size stays.
    REQUIRE(zero_range(f.fd->get(), 200 * 1024, 1 << 30, punch) == NtStatus::SUCCESS);
    REQUIRE(end_of_file(f.fd->get(), size) == NtStatus::SUCCESS);
    CHECK(size == 256 * 1024);
  }
}

TEST_CASE("ranges: allocated ranges of a file with a hole, and the bound on their number") {
  TestDir dir;
  File f(dir, "holes");
  f.write(0, pattern(65536, 2));
  f.write(1 << 20, pattern(65536, 3));
  std::vector<AllocatedRange> ranges;
  bool more = false;
  REQUIRE(allocated_ranges(f.fd->get(), 0, 1 << 30, 16, ranges, more) == NtStatus::SUCCESS);
  CHECK(!more);
  REQUIRE(!ranges.empty());
  CHECK(ranges.front().offset == 0);
  CHECK(ranges.back().offset + ranges.back().length == (1 << 20) + 65536);
  if (ranges.size() == 2) {  // a file system with holes (tmpfs, ext4, xfs, btrfs)
    CHECK(ranges[0].length >= 65536);
    CHECK(ranges[1].offset <= (1 << 20));
    REQUIRE(allocated_ranges(f.fd->get(), 0, 1 << 30, 1, ranges, more) == NtStatus::SUCCESS);
    CHECK(more);
    CHECK(ranges.size() == 1);
    // A query inside the hole finds nothing.
    REQUIRE(allocated_ranges(f.fd->get(), 300000, 4096, 16, ranges, more) == NtStatus::SUCCESS);
    CHECK(ranges.empty());
  }
  // Clipped to the query and to the end of the file.
  REQUIRE(allocated_ranges(f.fd->get(), 4096, 4096, 16, ranges, more) == NtStatus::SUCCESS);
  REQUIRE(ranges.size() == 1);
  CHECK(ranges[0] == AllocatedRange{4096, 4096});
  REQUIRE(allocated_ranges(f.fd->get(), 5 << 20, 4096, 16, ranges, more) == NtStatus::SUCCESS);
  CHECK(ranges.empty());
}

TEST_CASE("ranges: copying between files, directly and through a buffer") {
  TestDir dir;
  File source(dir, "source");
  const Bytes data = pattern(3 * 1024 * 1024 + 17, 5);
  source.write(0, data);
  for (bool direct : {true, false}) {
    File target(dir, direct ? "direct" : "buffered");
    std::uint64_t done = 0;
    REQUIRE(copy_range(source.fd->get(), *source.data, 0, target.fd->get(), *target.data, 0,
                       1 << 20, direct, done) == NtStatus::SUCCESS);
    CHECK(done == (1 << 20));
    REQUIRE(copy_range(source.fd->get(), *source.data, 1 << 20, target.fd->get(), *target.data,
                       1 << 20, static_cast<std::uint32_t>(data.size() - (1 << 20)), direct,
                       done) == NtStatus::SUCCESS);
    CHECK(target.read(0, data.size() + 10) == data);
  }
}

TEST_CASE("ranges: overlapping ranges of one file copy as if through a buffer") {
  TestDir dir;
  File f(dir, "self");
  const Bytes data = pattern(8192, 9);
  f.write(0, data);
  std::uint64_t done = 0;
  REQUIRE(copy_range(f.fd->get(), *f.data, 0, f.fd->get(), *f.data, 1000, 4096, true, done) ==
          NtStatus::SUCCESS);
  Bytes expected = data;
  std::copy(data.begin(), data.begin() + 4096, expected.begin() + 1000);
  CHECK(f.read(0, 8192) == expected);
}

TEST_CASE("ranges: a source shorter than the range, and offsets past the largest file") {
  TestDir dir;
  File source(dir, "short");
  File target(dir, "target");
  source.write(0, pattern(100, 1));
  std::uint64_t done = 0;
  CHECK(copy_range(source.fd->get(), *source.data, 0, target.fd->get(), *target.data, 0, 200, false,
                   done) == NtStatus::INVALID_VIEW_SIZE);
  CHECK(copy_range(source.fd->get(), *source.data, ~std::uint64_t{0} - 10, target.fd->get(),
                   *target.data, 0, 100, true, done) == NtStatus::INVALID_PARAMETER);
}

TEST_CASE("ranges: cloning shares the data where the file system can, else NOT_SUPPORTED") {
  TestDir dir;
  File source(dir, "clone-source");
  File target(dir, "clone-target");
  const Bytes data = pattern(65536, 4);
  source.write(0, data);
  NtStatus s = clone_range(source.fd->get(), 0, target.fd->get(), 0, 65536);
  if (s == NtStatus::SUCCESS) {
    CHECK(target.read(0, 65536) == data);
  } else {
    CHECK(s == NtStatus::NOT_SUPPORTED);  // tmpfs, ext4: no reflinks
    std::uint64_t size = 1;
    REQUIRE(end_of_file(target.fd->get(), size) == NtStatus::SUCCESS);
    CHECK(size == 0);
  }
  CHECK(clone_range(source.fd->get(), ~std::uint64_t{0} - 5, target.fd->get(), 0, 100) ==
        NtStatus::INVALID_PARAMETER);
  CHECK(clone_range(source.fd->get(), 0, target.fd->get(), 0, 0) == NtStatus::SUCCESS);
}
