#include <doctest/doctest.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "pmem/mapped_file.hh"
#include "pmem/probe.hh"
#include "vfs/unique_fd.hh"

using smb::ByteSpan;
using smb::MutableByteSpan;
using smb::NtStatus;
using smb::pmem::FileTable;
using smb::pmem::MappedFile;
using smb::pmem::WriteRange;
using smb::vfs::UniqueFd;

namespace {

struct TempDir {
  std::string path;
  TempDir() {
    char tmpl[] = "/tmp/pmem_test.XXXXXX";
    REQUIRE(::mkdtemp(tmpl) != nullptr);
    path = tmpl;
  }
  ~TempDir() { std::filesystem::remove_all(path); }
  UniqueFd open(const char* name, int flags = O_RDWR | O_CREAT) const {
    UniqueFd fd(::open((path + "/" + name).c_str(), flags | O_CLOEXEC, 0644));
    REQUIRE(fd.valid());
    return fd;
  }
};

std::vector<std::uint8_t> pattern(std::size_t n, std::uint8_t seed) {
  std::vector<std::uint8_t> v(n);
  for (std::size_t i = 0; i < n; ++i) v[i] = static_cast<std::uint8_t>(seed + i * 7 + (i >> 9));
  return v;
}

std::uint64_t file_size(int fd) {
  struct stat st {};
  REQUIRE(::fstat(fd, &st) == 0);
  return static_cast<std::uint64_t>(st.st_size);
}

constexpr std::size_t kMiB = std::size_t{1} << 20;

}  // namespace

TEST_CASE("write and read round trip, coherent with pread/pwrite") {
  TempDir dir;
  UniqueFd fd = dir.open("a");
  std::shared_ptr<MappedFile> f;
  REQUIRE(MappedFile::open(fd.get(), f) == NtStatus::SUCCESS);
  // MAP_SYNC is granted exactly where the file is in DAX state.
  CHECK(f->map_sync() == (smb::pmem::dax_kind(fd.get()) == smb::pmem::DaxKind::fsdax));
  CHECK(f->writable());
  CHECK(f->size() == 0);

  const auto data = pattern(10000, 3);
  std::size_t done = 0;
  REQUIRE(f->write(5000, ByteSpan(data), done) == NtStatus::SUCCESS);
  CHECK(done == data.size());
  CHECK(f->size() == 15000);
  CHECK(file_size(fd.get()) == 15000);

  std::vector<std::uint8_t> back(20000, 0xee);
  REQUIRE(f->read(0, MutableByteSpan(back), done) == NtStatus::SUCCESS);
  CHECK(done == 15000);
  CHECK(std::all_of(back.begin(), back.begin() + 5000, [](auto b) { return b == 0; }));
  CHECK(std::memcmp(back.data() + 5000, data.data(), data.size()) == 0);

  std::vector<std::uint8_t> via_pread(data.size());
  REQUIRE(::pread(fd.get(), via_pread.data(), via_pread.size(), 5000) ==
          static_cast<ssize_t>(data.size()));
  CHECK(via_pread == data);
  const auto other = pattern(100, 9);
  REQUIRE(::pwrite(fd.get(), other.data(), other.size(), 100) == 100);
  REQUIRE(f->read(100, MutableByteSpan(back.data(), 100), done) == NtStatus::SUCCESS);
  CHECK(std::memcmp(back.data(), other.data(), 100) == 0);

  CHECK(f->read(15000, MutableByteSpan(back), done) == NtStatus::END_OF_FILE);
  CHECK(done == 0);
  CHECK(f->read(14990, MutableByteSpan(back), done) == NtStatus::SUCCESS);
  CHECK(done == 10);
  CHECK(f->flush() == NtStatus::SUCCESS);
}

TEST_CASE("growing past the reservation remaps, shrinking drops data and address space") {
  TempDir dir;
  UniqueFd fd = dir.open("g");
  std::shared_ptr<MappedFile> f;
  REQUIRE(MappedFile::open(fd.get(), f) == NtStatus::SUCCESS);
  const auto head = pattern(4096, 1);
  std::size_t done = 0;
  REQUIRE(f->write(0, ByteSpan(head), done) == NtStatus::SUCCESS);
  const std::size_t cap0 = f->capacity();
  const std::uint64_t gen0 = f->generation();
  CHECK(cap0 >= 2 * kMiB);

  // Within the reservation: no remap.
  REQUIRE(f->set_end_of_file(cap0 - 1) == NtStatus::SUCCESS);
  CHECK(f->generation() == gen0);
  // Past it: remap, the data stays, the new range reads as zeros and is allocated.
  REQUIRE(f->set_end_of_file(64 * kMiB + 123) == NtStatus::SUCCESS);
  CHECK(f->generation() > gen0);
  CHECK(f->capacity() >= 64 * kMiB + 123);
  CHECK(file_size(fd.get()) == 64 * kMiB + 123);
  struct stat st {};
  REQUIRE(::fstat(fd.get(), &st) == 0);
  CHECK(static_cast<std::uint64_t>(st.st_blocks) * 512 >= 64 * kMiB);
  std::vector<std::uint8_t> back(4096);
  REQUIRE(f->read(0, MutableByteSpan(back), done) == NtStatus::SUCCESS);
  CHECK(back == head);
  REQUIRE(f->read(64 * kMiB, MutableByteSpan(back), done) == NtStatus::SUCCESS);
  CHECK(done == 123);
  CHECK(std::all_of(back.begin(), back.begin() + 123, [](auto b) { return b == 0; }));
  const auto tail = pattern(1000, 5);
  REQUIRE(f->write(64 * kMiB - 500, ByteSpan(tail), done) == NtStatus::SUCCESS);

  // Shrink to 1000 bytes: the reservation is given back, bytes past the end are gone,
  // and growing again reads zeros there, not the old contents.
  const std::uint64_t gen1 = f->generation();
  REQUIRE(f->set_end_of_file(1000) == NtStatus::SUCCESS);
  CHECK(f->size() == 1000);
  CHECK(f->generation() > gen1);
  CHECK(f->capacity() == 2 * kMiB);
  CHECK(f->read(1000, MutableByteSpan(back), done) == NtStatus::END_OF_FILE);
  REQUIRE(f->set_end_of_file(8192) == NtStatus::SUCCESS);
  REQUIRE(f->read(0, MutableByteSpan(back), done) == NtStatus::SUCCESS);
  CHECK(std::memcmp(back.data(), head.data(), 1000) == 0);
  CHECK(std::all_of(back.begin() + 1000, back.end(), [](auto b) { return b == 0; }));
}

TEST_CASE("readers keep reading correct data while the file is grown, shrunk and remapped") {
  TempDir dir;
  UniqueFd fd = dir.open("c");
  std::shared_ptr<MappedFile> f;
  REQUIRE(MappedFile::open(fd.get(), f) == NtStatus::SUCCESS);
  constexpr std::size_t kPrefix = 256 * 1024;
  const auto prefix = pattern(kPrefix, 42);
  std::size_t done = 0;
  REQUIRE(f->write(0, ByteSpan(prefix), done) == NtStatus::SUCCESS);

  std::atomic<bool> stop{false};
  std::atomic<long> reads{0}, bad{0};
  std::vector<std::thread> readers;
  for (int t = 0; t < 3; ++t) {
    readers.emplace_back([&, t] {
      std::vector<std::uint8_t> buf(8192);
      std::size_t off = static_cast<std::size_t>(t) * 4099;
      while (!stop.load()) {
        off = (off + 12289) % (kPrefix - buf.size());
        std::size_t n = 0;
        if (f->read(off, MutableByteSpan(buf), n) != NtStatus::SUCCESS || n != buf.size() ||
            std::memcmp(buf.data(), prefix.data() + off, n) != 0) {
          ++bad;
        }
        // Past the prefix: whatever the size is now, never a fault.
        (void)f->read(kPrefix + off * 64, MutableByteSpan(buf), n);
        ++reads;
      }
    });
  }
  int remaps = 0;
  const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(600);
  for (std::uint64_t i = 0; std::chrono::steady_clock::now() < until; ++i) {
    const std::uint64_t gen = f->generation();
    REQUIRE(f->set_end_of_file((i % 2 == 0) ? (16 + i % 48) * kMiB : kPrefix) == NtStatus::SUCCESS);
    remaps += f->generation() != gen;
  }
  stop = true;
  for (auto& t : readers) t.join();
  CHECK(remaps >= 10);
  CHECK(reads.load() > 100);
  CHECK(bad.load() == 0);
  MESSAGE(remaps << " remaps, " << reads.load() << " concurrent reads");
}

TEST_CASE("push-mode range: extends the file, persists, and holds off a resize") {
  TempDir dir;
  UniqueFd fd = dir.open("r");
  std::shared_ptr<MappedFile> f;
  REQUIRE(MappedFile::open(fd.get(), f) == NtStatus::SUCCESS);
  WriteRange range;
  REQUIRE(f->range(3 * kMiB, 65536, range) == NtStatus::SUCCESS);
  CHECK(range.valid());
  CHECK(range.offset() == 3 * kMiB);
  CHECK(range.span().size() == 65536);
  CHECK(range.generation() == f->generation());
  CHECK(f->size() == 3 * kMiB + 65536);
  const auto data = pattern(65536, 77);
  std::memcpy(range.span().data(), data.data(), data.size());
  CHECK(range.persist(100, 1000) == NtStatus::SUCCESS);
  CHECK(range.persist() == NtStatus::SUCCESS);
  CHECK(range.persist(65000, 1000) == NtStatus::INVALID_PARAMETER);

  // A resize must wait for the transfer to finish with the range.
  std::atomic<bool> resized{false};
  std::thread resizer([&] {
    CHECK(f->set_end_of_file(100) == NtStatus::SUCCESS);
    resized = true;
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  CHECK_FALSE(resized.load());
  std::vector<std::uint8_t> back(65536);
  std::size_t done = 0;
  REQUIRE(::pread(fd.get(), back.data(), back.size(), 3 * kMiB) == 65536);
  CHECK(back == data);
  WriteRange moved = std::move(range);
  CHECK_FALSE(range.valid());
  CHECK(moved.valid());
  moved.reset();
  resizer.join();
  CHECK(resized.load());
  CHECK(f->size() == 100);
  CHECK(f->read(0, MutableByteSpan(back), done) == NtStatus::SUCCESS);
  CHECK(done == 100);
}

TEST_CASE("descriptors that cannot be mapped or written are refused") {
  TempDir dir;
  { UniqueFd create = dir.open("ro"); }
  UniqueFd ro = dir.open("ro", O_RDONLY);
  std::shared_ptr<MappedFile> f;
  REQUIRE(MappedFile::open(ro.get(), f) == NtStatus::SUCCESS);
  CHECK_FALSE(f->writable());
  std::size_t done = 0;
  const std::uint8_t byte = 1;
  CHECK(f->write(0, ByteSpan(&byte, 1), done) == NtStatus::ACCESS_DENIED);
  WriteRange range;
  CHECK(f->range(0, 1, range) == NtStatus::ACCESS_DENIED);
  CHECK(f->set_end_of_file(10) == NtStatus::ACCESS_DENIED);

  UniqueFd wo = dir.open("ro", O_WRONLY);
  std::shared_ptr<MappedFile> g;
  CHECK(MappedFile::open(wo.get(), g) == NtStatus::ACCESS_DENIED);
  UniqueFd d(::open(dir.path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  CHECK(MappedFile::open(d.get(), g) == NtStatus::FILE_IS_A_DIRECTORY);
  UniqueFd null(::open("/dev/null", O_RDWR | O_CLOEXEC));
  CHECK(MappedFile::open(null.get(), g) == NtStatus::INVALID_DEVICE_REQUEST);
}

TEST_CASE("writes into holes of a sparse file allocate them first") {
  TempDir dir;
  UniqueFd fd = dir.open("s");
  REQUIRE(::ftruncate(fd.get(), 8 * kMiB) == 0);  // all hole
  std::shared_ptr<MappedFile> f;
  REQUIRE(MappedFile::open(fd.get(), f) == NtStatus::SUCCESS);
  struct stat before {
  }, after{};
  REQUIRE(::fstat(fd.get(), &before) == 0);
  const auto data = pattern(3 * 4096, 11);
  std::size_t done = 0;
  REQUIRE(f->write(5 * kMiB + 10, ByteSpan(data), done) == NtStatus::SUCCESS);
  REQUIRE(::fstat(fd.get(), &after) == 0);
  CHECK(after.st_blocks > before.st_blocks);
  CHECK(after.st_size == before.st_size);
  std::vector<std::uint8_t> back(data.size());
  REQUIRE(::pread(fd.get(), back.data(), back.size(), 5 * kMiB + 10) ==
          static_cast<ssize_t>(back.size()));
  CHECK(back == data);
}

TEST_CASE("the file table gives every open of a file the same mapping") {
  TempDir dir;
  FileTable table;
  { UniqueFd create = dir.open("t"); }
  UniqueFd ro = dir.open("t", O_RDONLY);
  UniqueFd rw = dir.open("t", O_RDWR);
  UniqueFd other = dir.open("u");
  std::shared_ptr<MappedFile> a, b, c;
  REQUIRE(table.acquire(ro.get(), a) == NtStatus::SUCCESS);
  CHECK_FALSE(a->writable());
  REQUIRE(table.acquire(rw.get(), b) == NtStatus::SUCCESS);
  CHECK(a == b);
  CHECK(a->writable());  // upgraded for the writer
  REQUIRE(table.acquire(other.get(), c) == NtStatus::SUCCESS);
  CHECK(c != a);
  CHECK(table.size() == 2);

  // A size change through one open is seen by the other.
  const auto data = pattern(5000, 2);
  std::size_t done = 0;
  REQUIRE(b->write(0, ByteSpan(data), done) == NtStatus::SUCCESS);
  CHECK(a->size() == 5000);
  a.reset();
  b.reset();
  CHECK(table.size() == 1);
  c.reset();
  CHECK(table.size() == 0);
}
