#include <doctest/doctest.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "pmem/mapped_file.hh"
#include "pmem/probe.hh"
#include "smbd/base/unique_fd.hh"

using smb::ByteSpan;
using smb::MutableByteSpan;
using smb::NtStatus;
using smb::pmem::FileTable;
using smb::pmem::MappedFile;
using smb::pmem::WriteRange;
using smb::UniqueFd;

namespace {

// True while thread `tid` of this process sleeps in futex(2): how a thread blocked on a
// lock shows from outside (/proc/self/task/TID/syscall starts with the call's number).
bool blocked_in_futex(pid_t tid) {
  std::ifstream in("/proc/self/task/" + std::to_string(tid) + "/syscall");
  long number = -1;
  return (in >> number) && number == SYS_futex;
}

// Polls `done` until it holds or `limit` passes; the result of the last poll.
template <typename Pred>
bool wait_until(Pred done, std::chrono::milliseconds limit = std::chrono::seconds(10)) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!done()) {
    if (std::chrono::steady_clock::now() >= deadline) return done();
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return true;
}

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
  // Resize until both sides have done their share, however fast this machine runs; the
  // deadline only keeps a reader starved by the resizes from hanging the test.
  constexpr int kRemaps = 50;
  constexpr long kReads = 1000;
  int remaps = 0;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  for (std::uint64_t i = 0;
       (remaps < kRemaps || reads.load() < kReads) && std::chrono::steady_clock::now() < deadline;
       ++i) {
    const std::uint64_t gen = f->generation();
    REQUIRE(f->set_end_of_file((i % 2 == 0) ? (16 + i % 48) * kMiB : kPrefix) == NtStatus::SUCCESS);
    remaps += f->generation() != gen;
  }
  stop = true;
  for (auto& t : readers) t.join();
  CHECK(remaps >= kRemaps);
  CHECK(reads.load() >= kReads);
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

  // A resize must wait for the transfer to finish with the range: the resizer blocks on
  // the file's lock (seen as a futex wait) and has not resized.
  std::atomic<bool> resized{false};
  std::atomic<pid_t> resizer_tid{0};
  std::thread resizer([&] {
    resizer_tid = static_cast<pid_t>(::syscall(SYS_gettid));
    CHECK(f->set_end_of_file(100) == NtStatus::SUCCESS);
    resized = true;
  });
  REQUIRE(wait_until([&] { return resizer_tid.load() != 0; }));
  CHECK(wait_until([&] { return resized.load() || blocked_in_futex(resizer_tid.load()); }));
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

// A file shrinking behind the mapping (another worker's MappedFile, a local process):
// the next access to a dropped page must fail cleanly, not kill the process. Also run
// with PMEM_IS_PMEM_FORCE=1 (CMakeLists.txt) for the pmem_memcpy_persist/pmem_persist
// path.
namespace {

struct Shrunk {
  TempDir dir;
  UniqueFd fd;
  std::shared_ptr<MappedFile> f;
  std::vector<std::uint8_t> data = pattern(3 * kMiB, 21);

  Shrunk() : fd(dir.open("shrunk")) {
    REQUIRE(MappedFile::open(fd.get(), f) == NtStatus::SUCCESS);
    std::size_t done = 0;
    REQUIRE(f->write(0, ByteSpan(data), done) == NtStatus::SUCCESS);
    MESSAGE(std::string(f->is_pmem() ? "pmem_memcpy_persist/pmem_persist" : "memcpy+msync"));
  }
  // Truncates through a descriptor of its own, as another worker would.
  void truncate_elsewhere(std::uint64_t size) const {
    UniqueFd other = dir.open("shrunk", O_RDWR);
    REQUIRE(::ftruncate(other.get(), static_cast<off_t>(size)) == 0);
  }
};

}  // namespace

TEST_CASE("a file shrunk behind the mapping: reads return what is left") {
  Shrunk s;
  // Through another MappedFile of the same file: what SET_INFO does in another worker.
  UniqueFd other_fd = s.dir.open("shrunk", O_RDWR);
  std::shared_ptr<MappedFile> other;
  REQUIRE(MappedFile::open(other_fd.get(), other) == NtStatus::SUCCESS);
  REQUIRE(other->set_end_of_file(kMiB + 100) == NtStatus::SUCCESS);
  CHECK(s.f->size() == 3 * kMiB);  // not known yet

  // Straddles the new end: the page after it is gone, the copy faults, the size is
  // re-read and the read comes back short with the bytes that still exist.
  std::vector<std::uint8_t> buf(64 * 1024);
  std::size_t done = 0;
  REQUIRE(s.f->read(kMiB, MutableByteSpan(buf), done) == NtStatus::SUCCESS);
  CHECK(done == 100);
  CHECK(std::memcmp(buf.data(), s.data.data() + kMiB, 100) == 0);
  CHECK(s.f->size() == kMiB + 100);
  CHECK(s.f->read(2 * kMiB, MutableByteSpan(buf), done) == NtStatus::END_OF_FILE);
  CHECK(done == 0);

  // Again, by a plain ftruncate; this time the faulting read is past the new end.
  s.truncate_elsewhere(5000);
  CHECK(s.f->read(512 * 1024, MutableByteSpan(buf), done) == NtStatus::END_OF_FILE);
  CHECK(done == 0);
  CHECK(s.f->size() == 5000);
  REQUIRE(s.f->read(0, MutableByteSpan(buf), done) == NtStatus::SUCCESS);
  CHECK(done == 5000);
  CHECK(std::memcmp(buf.data(), s.data.data(), 5000) == 0);
}

TEST_CASE("a file truncated behind the mapping by another process") {
  Shrunk s;
  const std::string path = s.dir.path + "/shrunk";
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) _exit(::truncate(path.c_str(), 0) == 0 ? 0 : 1);
  int status = 0;
  REQUIRE(::waitpid(pid, &status, 0) == pid);
  REQUIRE((WIFEXITED(status) && WEXITSTATUS(status) == 0));

  std::vector<std::uint8_t> buf(4096);
  std::size_t done = 1;
  CHECK(s.f->read(0, MutableByteSpan(buf), done) == NtStatus::END_OF_FILE);
  CHECK(done == 0);
  CHECK(s.f->size() == 0);
  // Many threads hitting the dropped range at once: one refresh, every read clean.
  s.truncate_elsewhere(0);
  REQUIRE(s.f->set_end_of_file(2 * kMiB) == NtStatus::SUCCESS);  // known size 2 MiB
  s.truncate_elsewhere(0);
  std::atomic<int> bad{0};
  std::vector<std::thread> readers;
  for (int t = 0; t < 4; ++t) {
    readers.emplace_back([&, t] {
      std::vector<std::uint8_t> b(8192);
      std::size_t n = 0;
      const NtStatus st = s.f->read(static_cast<std::uint64_t>(t) * 300000, MutableByteSpan(b), n);
      if (st != NtStatus::END_OF_FILE || n != 0) ++bad;
    });
  }
  for (auto& t : readers) t.join();
  CHECK(bad.load() == 0);
  CHECK(s.f->size() == 0);
}

TEST_CASE("a write into the range dropped behind the mapping extends the file again") {
  Shrunk s;
  s.truncate_elsewhere(kMiB + 100);
  const auto data = pattern(10000, 99);
  std::size_t done = 0;
  REQUIRE(s.f->write(2 * kMiB, ByteSpan(data), done) == NtStatus::SUCCESS);
  CHECK(done == data.size());
  CHECK(s.f->size() == 2 * kMiB + 10000);
  CHECK(file_size(s.fd.get()) == 2 * kMiB + 10000);

  // What survived the truncation, zeros where the other side dropped data, then ours.
  std::vector<std::uint8_t> back(2 * kMiB + 10000);
  REQUIRE(::pread(s.fd.get(), back.data(), back.size(), 0) == static_cast<ssize_t>(back.size()));
  CHECK(std::memcmp(back.data(), s.data.data(), kMiB + 100) == 0);
  CHECK(std::all_of(back.begin() + static_cast<std::ptrdiff_t>(kMiB + 100),
                    back.begin() + static_cast<std::ptrdiff_t>(2 * kMiB),
                    [](auto b) { return b == 0; }));
  CHECK(std::memcmp(back.data() + 2 * kMiB, data.data(), data.size()) == 0);

  // A write below the new end of file, into pages that were dropped and re-created
  // by the other side's growth (as holes): stored, and the size stays.
  s.truncate_elsewhere(0);
  s.truncate_elsewhere(3 * kMiB);
  const auto more = pattern(8192, 5);
  // Nothing faults here (the pages exist again), and nothing needs to.
  REQUIRE(s.f->write(kMiB, ByteSpan(more), done) == NtStatus::SUCCESS);
  s.truncate_elsewhere(4096);
  REQUIRE(s.f->write(kMiB, ByteSpan(more), done) == NtStatus::SUCCESS);
  CHECK(s.f->size() == kMiB + 8192);
  CHECK(file_size(s.fd.get()) == kMiB + 8192);
  std::vector<std::uint8_t> tail(8192);
  REQUIRE(::pread(s.fd.get(), tail.data(), tail.size(), kMiB) == 8192);
  CHECK(tail == more);
  std::vector<std::uint8_t> head(4096);
  REQUIRE(::pread(s.fd.get(), head.data(), head.size(), 0) == 4096);
  CHECK(std::all_of(head.begin(), head.end(), [](auto b) { return b == 0; }));
}

TEST_CASE("a write range whose pages were dropped behind the mapping") {
  Shrunk s;
  WriteRange range;
  REQUIRE(s.f->range(2 * kMiB, 8192, range) == NtStatus::SUCCESS);
  s.truncate_elsewhere(4096);
  const NtStatus status = range.persist();
  if (s.f->is_pmem()) {
    // The cache-line flush of a dropped page faults: the data placed there is lost.
    CHECK(status == NtStatus::DATA_ERROR);
    CHECK_FALSE(range.valid());
    CHECK(s.f->size() == 4096);
  } else {
    // msync is a system call: no fault, and nothing tells that the range was dropped.
    CHECK(status == NtStatus::SUCCESS);
    range.reset();
  }
  // Either way the file stays usable.
  std::size_t done = 0;
  const auto data = pattern(100, 1);
  REQUIRE(s.f->write(2 * kMiB, ByteSpan(data), done) == NtStatus::SUCCESS);
  CHECK(file_size(s.fd.get()) == 2 * kMiB + 100);
}
