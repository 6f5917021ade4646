// Oplocks over kernel leases: the grant, the break the kernel starts when another opener
// comes, the acknowledgment that lets the opener in.
#include "smbd/fsa/oplocks.hh"

#include <doctest/doctest.h>
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <vector>

#include "fixture.hh"

using namespace smb::fsa;
using namespace smb::fsa::test;
using smb::NtStatus;

namespace {

// The kernel signals a lease break with SIGIO, whose default action ends the process;
// the tests call lease_broken() themselves.
struct IgnoreSigio {
  struct sigaction old {};
  IgnoreSigio() {
    struct sigaction ignore {};
    ignore.sa_handler = SIG_IGN;
    ::sigaction(SIGIO, &ignore, &old);
  }
  ~IgnoreSigio() { ::sigaction(SIGIO, &old, nullptr); }
};

struct Break {
  FileOpen* open;
  OplockType new_level;
};

// Another opener of the file, as a local program would be: O_NONBLOCK makes the kernel
// start the lease break and answer EWOULDBLOCK instead of waiting for it.
int open_elsewhere(const Fixture& f, const char* name, int& error) {
  int fd = ::open((f.dir.root() / name).c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  error = fd < 0 ? errno : 0;
  return fd;
}

std::unique_ptr<FileOpen> writer(Fixture& f, const char* name) {
  std::unique_ptr<FileOpen> open;
  REQUIRE(f.create(name, am::FILE_READ_DATA | am::FILE_WRITE_DATA, kShareAll, open) ==
          NtStatus::SUCCESS);
  return open;
}

}  // namespace

TEST_CASE("LEVEL_ONE and LEVEL_BATCH are granted to the only open of a file") {
  Fixture f;
  auto open = writer(f, "a.txt");
  CHECK(f.oplocks.request(*open, OplockType::LEVEL_BATCH) == OplockType::LEVEL_BATCH);
  CHECK(open->oplock_level == OplockType::LEVEL_BATCH);
  CHECK(::fcntl(open->fd->get(), F_GETLEASE) == F_WRLCK);
  CHECK(f.oplocks.held() == 1);

  auto other = writer(f, "b.txt");
  CHECK(f.oplocks.request(*other, OplockType::LEVEL_ONE) == OplockType::LEVEL_ONE);
  CHECK(f.oplocks.held() == 2);
  f.oplocks.release(*open);
  f.oplocks.release(*other);
  CHECK(f.oplocks.held() == 0);
}

TEST_CASE("no oplock while another descriptor of the file is open, nor of other kinds") {
  Fixture f;
  auto first = writer(f, "a.txt");
  auto second = writer(f, "a.txt");
  CHECK(f.oplocks.request(*second, OplockType::LEVEL_BATCH) == OplockType::LEVEL_NONE);
  CHECK(second->oplock_level == OplockType::LEVEL_NONE);
  f.close(first);
  for (OplockType type :
       {OplockType::LEVEL_NONE, OplockType::LEVEL_TWO, OplockType::LEVEL_GRANULAR}) {
    CAPTURE(static_cast<int>(type));
    CHECK(f.oplocks.request(*second, type) == OplockType::LEVEL_NONE);
  }
  std::unique_ptr<FileOpen> dir;
  REQUIRE(f.create(Fixture::parameters("d", am::FILE_READ_DATA, kShareAll,
                                       smb::CreateDisposition::FILE_CREATE,
                                       smb::create_option::FILE_DIRECTORY_FILE),
                   dir) == NtStatus::SUCCESS);
  CHECK(f.oplocks.request(*dir, OplockType::LEVEL_BATCH) == OplockType::LEVEL_NONE);
  CHECK(f.oplocks.held() == 0);
}

TEST_CASE("another opener breaks the oplock; the acknowledgment lets it in") {
  IgnoreSigio sigio;
  Fixture f;
  std::vector<Break> breaks;
  f.oplocks.on_break([&breaks](FileOpen& open, OplockType level) {
    breaks.push_back({&open, level});
    return true;
  });
  auto held = writer(f, "a.txt");
  auto quiet = writer(f, "quiet.txt");
  REQUIRE(f.oplocks.request(*held, OplockType::LEVEL_BATCH) == OplockType::LEVEL_BATCH);
  REQUIRE(f.oplocks.request(*quiet, OplockType::LEVEL_ONE) == OplockType::LEVEL_ONE);

  // Nothing is being broken yet.
  f.oplocks.lease_broken();
  CHECK(breaks.empty());

  int error = 0;
  CHECK(open_elsewhere(f, "a.txt", error) < 0);
  CHECK(error == EWOULDBLOCK);
  f.oplocks.lease_broken();
  REQUIRE(breaks.size() == 1);
  CHECK(breaks[0].open == held.get());
  CHECK(breaks[0].new_level == OplockType::LEVEL_NONE);
  CHECK(held->oplock_break_pending);
  CHECK_FALSE(quiet->oplock_break_pending);
  // One break per oplock, however often the kernel signals.
  f.oplocks.lease_broken();
  CHECK(breaks.size() == 1);

  OplockType granted = OplockType::LEVEL_BATCH;
  CHECK(f.oplocks.acknowledge(*held, OplockType::LEVEL_ONE, granted) ==
        NtStatus::INVALID_PARAMETER);
  CHECK(held->oplock_break_pending);
  REQUIRE(f.oplocks.acknowledge(*held, OplockType::LEVEL_NONE, granted) == NtStatus::SUCCESS);
  CHECK(granted == OplockType::LEVEL_NONE);
  CHECK(held->oplock_level == OplockType::LEVEL_NONE);
  CHECK(f.oplocks.held() == 1);
  int fd = open_elsewhere(f, "a.txt", error);
  CHECK(fd >= 0);
  if (fd >= 0) ::close(fd);
  CHECK(f.oplocks.acknowledge(*held, OplockType::LEVEL_NONE, granted) ==
        kStatusInvalidOplockProtocol);
  f.oplocks.release(*quiet);
}

TEST_CASE("an oplock whose holder cannot be told is released at once") {
  IgnoreSigio sigio;
  Fixture f;
  int asked = 0;
  f.oplocks.on_break([&asked](FileOpen&, OplockType) {
    ++asked;
    return false;
  });
  auto held = writer(f, "a.txt");
  REQUIRE(f.oplocks.request(*held, OplockType::LEVEL_BATCH) == OplockType::LEVEL_BATCH);
  int error = 0;
  CHECK(open_elsewhere(f, "a.txt", error) < 0);
  f.oplocks.lease_broken();
  CHECK(asked == 1);
  CHECK(held->oplock_level == OplockType::LEVEL_NONE);
  CHECK_FALSE(held->oplock_break_pending);
  CHECK(f.oplocks.held() == 0);
  int fd = open_elsewhere(f, "a.txt", error);
  CHECK(fd >= 0);
  if (fd >= 0) ::close(fd);
}
