// pmem_crash_test DIRECTORY [SECONDS] [--no-map-sync]
//
// A child process appends a stream of records (sequence number, payload, checksum)
// to a file through smb::pmem::MappedFile, alternating write() and the push-mode
// range() + persist(), and reports each sequence number to the parent over a pipe
// only after the call returned, just as the SMB layer acknowledges a WRITE. The parent
// SIGKILLs the child at a random moment, reopens the file and checks that every
// acknowledged record is there, intact. Rounds repeat for SECONDS (default 3).
//
// What it proves: the durability protocol end to end (nothing is acknowledged before
// write()/persist() returned, a fresh open sees every acknowledged byte, and growing
// and remapping under the writer neither lose nor tear acknowledged records).
// What it does not prove: survival of a power loss. SIGKILL loses neither the page
// cache (page-cache file systems: the msync path) nor CPU caches (DAX: the MAP_SYNC
// path, where stores sit in coherent caches until flushed). Run on a DAX mount (the VM
// lab does) it checks the MAP_SYNC/pmem_memcpy_persist path does the same; that the
// flushes reach the persistence domain needs a power-fail or cache-tracking tool.
//
// Exit status: 0 all rounds passed, 1 a record was lost or damaged, 2 usage/setup.
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "pmem/mapped_file.hh"
#include "pmem/probe.hh"
#include "smbd/base/unique_fd.hh"

namespace {

using smb::NtStatus;
using smb::pmem::MappedFile;

constexpr std::uint64_t kMagic = 0x31444d4550424d53ull;  // "SMBPEMD1"
// Not a divisor of the page size, so records straddle pages and 2 MiB boundaries.
constexpr std::size_t kRecordSize = 1000;
constexpr std::size_t kHeaderSize = 24;  // magic, seq, checksum

std::uint64_t fnv1a(const std::uint8_t* p, std::size_t n, std::uint64_t h = 0xcbf29ce484222325ull) {
  for (std::size_t i = 0; i < n; ++i) h = (h ^ p[i]) * 0x100000001b3ull;
  return h;
}

void put64(std::uint8_t* p, std::uint64_t v) { std::memcpy(p, &v, 8); }
std::uint64_t get64(const std::uint8_t* p) {
  std::uint64_t v;
  std::memcpy(&v, p, 8);
  return v;
}

// Record `seq`: the payload is a function of seq, so the parent can check every byte.
void make_record(std::uint64_t seq, std::uint8_t* out) {
  std::uint64_t x = seq * 0x9e3779b97f4a7c15ull + 1;
  for (std::size_t i = kHeaderSize; i < kRecordSize; ++i) {
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    out[i] = static_cast<std::uint8_t>(x);
  }
  put64(out, kMagic);
  put64(out + 8, seq);
  put64(out + 16, fnv1a(out + kHeaderSize, kRecordSize - kHeaderSize, seq));
}

[[noreturn]] void child(int fd, int ack, bool map_sync) {
  std::shared_ptr<MappedFile> file;
  if (MappedFile::open(fd, file, {.try_map_sync = map_sync}) != NtStatus::SUCCESS) _exit(3);
  std::uint8_t rec[kRecordSize];
  for (std::uint64_t seq = 0;; ++seq) {
    make_record(seq, rec);
    const std::uint64_t offset = seq * kRecordSize;
    if (seq % 2 == 0) {
      std::size_t done = 0;
      if (file->write(offset, smb::ByteSpan(rec, kRecordSize), done) != NtStatus::SUCCESS ||
          done != kRecordSize) {
        _exit(4);
      }
    } else {
      // Push mode: the bytes land in the mapping (here by memcpy, by RDMA in the
      // proxy), then persist() before the acknowledgement.
      smb::pmem::WriteRange range;
      if (file->range(offset, kRecordSize, range) != NtStatus::SUCCESS) _exit(5);
      std::memcpy(range.span().data(), rec, kRecordSize);
      if (range.persist() != NtStatus::SUCCESS) _exit(6);
    }
    if (::write(ack, &seq, sizeof seq) != sizeof seq) _exit(7);
  }
}

struct Round {
  bool ok = true;
  std::uint64_t acked = 0;       // records acknowledged
  std::uint64_t unacked_ok = 0;  // intact records past the last acknowledgement
  long killed_after_ms = 0;
};

Round run_round(const std::string& path, bool map_sync, long kill_after_ms) {
  Round r;
  smb::UniqueFd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
  int p[2];
  if (!fd || ::pipe2(p, O_CLOEXEC) != 0) {
    std::perror("pmem_crash_test: open/pipe");
    std::exit(2);
  }
  smb::UniqueFd ack_read(p[0]), ack_write(p[1]);
  const pid_t pid = ::fork();
  if (pid < 0) {
    std::perror("pmem_crash_test: fork");
    std::exit(2);
  }
  if (pid == 0) {
    ack_read.reset();
    child(fd.get(), ack_write.get(), map_sync);
  }
  ack_write.reset();
  fd.reset();

  // Collect acknowledgements until the deadline, then kill: the kill lands while the
  // child is inside write()/persist() or between records, never at a chosen point.
  std::uint64_t last = 0;
  bool any = false;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(kill_after_ms);
  ::fcntl(ack_read.get(), F_SETFL, O_NONBLOCK);
  auto drain = [&] {
    std::uint64_t buf[512];
    for (;;) {
      const ssize_t n = ::read(ack_read.get(), buf, sizeof buf);
      if (n <= 0) return n == 0;
      for (ssize_t i = 0; i < n / 8; ++i) last = buf[i], any = true;
    }
  };
  while (std::chrono::steady_clock::now() < deadline) {
    if (drain()) break;  // the child died on its own
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
  ::kill(pid, SIGKILL);
  int wstatus = 0;
  ::waitpid(pid, &wstatus, 0);
  ::fcntl(ack_read.get(), F_SETFL, 0);
  drain();
  r.killed_after_ms = kill_after_ms;
  if (!WIFSIGNALED(wstatus) || WTERMSIG(wstatus) != SIGKILL) {
    std::printf("  writer exited by itself (status %d) before the kill\n",
                WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : -1);
    r.ok = false;
  }
  r.acked = any ? last + 1 : 0;

  // Verify through a fresh descriptor and a fresh mapping.
  smb::UniqueFd check(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  std::shared_ptr<MappedFile> file;
  if (!check || MappedFile::open(check.get(), file) != NtStatus::SUCCESS) {
    std::printf("  cannot reopen %s\n", path.c_str());
    r.ok = false;
    return r;
  }
  std::uint8_t want[kRecordSize], got[kRecordSize];
  for (std::uint64_t seq = 0;; ++seq) {
    std::size_t done = 0;
    const NtStatus st = file->read(seq * kRecordSize, smb::MutableByteSpan(got, kRecordSize), done);
    const bool present = st == NtStatus::SUCCESS && done == kRecordSize;
    make_record(seq, want);
    const bool intact = present && std::memcmp(want, got, kRecordSize) == 0 &&
                        get64(got + 16) == fnv1a(got + kHeaderSize, kRecordSize - kHeaderSize, seq);
    if (seq < r.acked) {
      if (!intact) {
        std::printf("  FAIL: acknowledged record %llu is %s\n",
                    static_cast<unsigned long long>(seq), present ? "damaged" : "missing");
        r.ok = false;
        break;
      }
    } else if (intact) {
      ++r.unacked_ok;
    } else {
      break;
    }
  }
  ::unlink(path.c_str());
  return r;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || argc > 4) {
    std::fprintf(stderr, "usage: %s DIRECTORY [SECONDS] [--no-map-sync]\n", argv[0]);
    return 2;
  }
  const std::string dir = argv[1];
  const double seconds = argc >= 3 ? std::atof(argv[2]) : 3.0;
  const bool map_sync = !(argc == 4 && std::strcmp(argv[3], "--no-map-sync") == 0);
  const std::string path = dir + "/pmem_crash_test." + std::to_string(::getpid()) + ".dat";

  // Report what the writer will get on this directory.
  {
    smb::UniqueFd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
    std::shared_ptr<MappedFile> file;
    if (!fd || MappedFile::open(fd.get(), file, {.try_map_sync = map_sync}) != NtStatus::SUCCESS) {
      std::fprintf(stderr, "pmem_crash_test: cannot create and map %s: %s\n", path.c_str(),
                   std::strerror(errno));
      return 2;
    }
    smb::pmem::MountInfo mount;
    const bool known = smb::pmem::find_mount(dir, mount);
    std::printf("pmem_crash_test: %s (%s, dax=%s) pmem_is_pmem=%d MAP_SYNC=%s path=%s\n",
                dir.c_str(), known ? mount.fs_type.c_str() : "?",
                known && !smb::pmem::dax_option(mount).empty()
                    ? smb::pmem::dax_option(mount).c_str()
                    : "none",
                file->is_pmem() ? 1 : 0, file->map_sync() ? "granted" : "not granted",
                file->is_pmem() ? "pmem_memcpy_persist/pmem_persist" : "memcpy+msync");
    ::unlink(path.c_str());
  }

  std::mt19937_64 rng(
      static_cast<std::uint64_t>(::getpid()) ^
      static_cast<std::uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count()));
  std::uniform_int_distribution<long> delay(20, 400);
  const auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  int rounds = 0, failed = 0;
  std::uint64_t total_acked = 0;
  do {
    const Round r = run_round(path, map_sync, delay(rng));
    ++rounds;
    total_acked += r.acked;
    if (!r.ok) ++failed;
    std::printf(
        "round %d: killed after %ld ms, %llu records acknowledged (%llu bytes), "
        "%llu more complete but unacknowledged: %s\n",
        rounds, r.killed_after_ms, static_cast<unsigned long long>(r.acked),
        static_cast<unsigned long long>(r.acked * kRecordSize),
        static_cast<unsigned long long>(r.unacked_ok), r.ok ? "ok" : "FAIL");
  } while (std::chrono::steady_clock::now() < end);
  std::printf("pmem_crash_test: %d rounds, %llu acknowledged records checked, %s\n", rounds,
              static_cast<unsigned long long>(total_acked), failed == 0 ? "PASS" : "FAIL");
  return failed == 0 ? 0 : 1;
}
