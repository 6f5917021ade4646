// run_blocking (smbd/worker/blocking.hh) carries the loop thread's identity to the pool
// thread and back, and answers for a job that left its pool thread as someone else.
// Switching needs root; without it these tests are skipped.
#include <doctest/doctest.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <optional>
#include <string>

#include "smbd/base/credentials.hh"
#include "smbd/worker/blocking.hh"

using namespace smb;
using namespace smb::server;

namespace {

bool root() { return ::geteuid() == 0; }

IdentityPtr identity(uid_t uid, gid_t gid) {
  return std::make_shared<const PosixIdentity>(PosixIdentity::make(uid, gid, {}));
}

uid_t create_owned(const std::filesystem::path& name) {
  int fd = ::open(name.c_str(), O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0600);
  if (fd < 0) return static_cast<uid_t>(-1);
  struct stat st {};
  ::fstat(fd, &st);
  ::close(fd);
  return st.st_uid;
}

struct Fixture {
  uv_loop_t loop{};
  std::filesystem::path dir;
  Fixture() {
    // One pool thread: consecutive jobs run on the same thread.
    ::setenv("UV_THREADPOOL_SIZE", "1", 1);
    uv_loop_init(&loop);
    std::string tmpl = "/tmp/blocking_identity_test.XXXXXX";
    REQUIRE(::mkdtemp(tmpl.data()) != nullptr);
    dir = tmpl;
    REQUIRE(::chmod(dir.c_str(), 01777) == 0);
  }
  ~Fixture() {
    // The loop thread keeps the last identity it served: the test itself goes on as root.
    REQUIRE(credentials::become(credentials::process_identity()));
    uv_loop_close(&loop);
    std::filesystem::remove_all(dir);
  }
};

constexpr uid_t kAlice = 54331;
constexpr uid_t kBob = 54332;
constexpr uid_t kCarol = 54333;

}  // namespace

TEST_CASE_FIXTURE(Fixture, "a job and its continuation run as the identity the loop serves" *
                               doctest::skip(!root())) {
  auto alice = identity(kAlice, kAlice);
  uid_t owner = 0;
  bool work_as_alice = false, then_as_alice = false;
  {
    Serving serving(alice);
    REQUIRE(serving.ok());
    run_blocking(
        &loop,
        [&] {
          work_as_alice = credentials::thread_acts_as(*alice);
          owner = create_owned(dir / "a");
        },
        [&] { then_as_alice = credentials::thread_acts_as(*alice); });
  }
  // Outside the scope the loop serves nobody: its next job would run as the process.
  CHECK(serving_identity() == credentials::process_identity());
  uv_run(&loop, UV_RUN_DEFAULT);
  CHECK(work_as_alice);
  CHECK(then_as_alice);
  CHECK(owner == kAlice);
}

TEST_CASE_FIXTURE(Fixture,
                  "outside any scope a job runs as the process, whatever user the loop thread "
                  "was left as" *
                      doctest::skip(!root())) {
  auto alice = identity(kAlice, kAlice);
  {
    Serving serving(alice);
    REQUIRE(serving.ok());
  }
  serve_nobody();
  // The loop thread's kernel identity is still alice's: switching back is left to the
  // next scope that needs another identity.
  CHECK(credentials::thread_acts_as(*alice));
  uid_t owner = 1;
  bool work_as_process = false;
  run_blocking(
      &loop,
      [&] {
        work_as_process = credentials::thread_acts_as(*credentials::process_identity());
        owner = create_owned(dir / "p");
      },
      [] {});
  uv_run(&loop, UV_RUN_DEFAULT);
  CHECK(work_as_process);
  CHECK(owner == ::geteuid());
}

TEST_CASE_FIXTURE(Fixture,
                  "a scope inside another gives the outer scope's identity back when it ends" *
                      doctest::skip(!root())) {
  auto alice = identity(kAlice, kAlice);
  auto bob = identity(kBob, kBob);
  Serving outer(alice);
  REQUIRE(outer.ok());
  {
    Serving inner(bob);
    REQUIRE(inner.ok());
    CHECK(credentials::thread_acts_as(*bob));
    CHECK(serving_identity() == bob);
  }
  CHECK(credentials::thread_acts_as(*alice));
  CHECK(serving_identity() == alice);
  {
    Serving as_process(credentials::process_identity());
    CHECK(credentials::thread_acts_as(*credentials::process_identity()));
  }
  CHECK(credentials::thread_acts_as(*alice));
  // A file made now belongs to alice.
  CHECK(create_owned(dir / "n") == kAlice);
}

TEST_CASE_FIXTURE(Fixture,
                  "a job that leaves its pool thread as another user is answered with an error, "
                  "and the next job on that thread runs as its own user" *
                      doctest::skip(!root())) {
  auto alice = identity(kAlice, kAlice);
  auto carol = identity(kCarol, kCarol);
  std::optional<NtStatus> first_failed, second_failed;
  bool first_then = false, second_then = false;
  uid_t owner = 0;
  run_blocking(
      &loop, alice,
      [] {
        (void)::syscall(SYS_setresuid, static_cast<uid_t>(-1), uid_t{0}, static_cast<uid_t>(-1));
        (void)::syscall(SYS_setresuid, kBob, kBob, static_cast<uid_t>(-1));
      },
      [&] { first_then = true; }, [&](NtStatus s) { first_failed = s; });
  run_blocking(
      &loop, carol, [&] { owner = create_owned(dir / "c"); }, [&] { second_then = true; },
      [&](NtStatus s) { second_failed = s; });
  uv_run(&loop, UV_RUN_DEFAULT);
  REQUIRE(first_failed.has_value());
  CHECK(*first_failed == NtStatus::INTERNAL_ERROR);
  CHECK_FALSE(first_then);
  CHECK_FALSE(second_failed.has_value());
  CHECK(second_then);
  CHECK(owner == kCarol);
}
