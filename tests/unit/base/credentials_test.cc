// Per-thread identities (smbd/base/credentials.hh): threads acting as different users at
// the same time, and jobs that cannot carry one user's identity into the next job.
// Switching needs root; without it these tests are skipped.
#include <doctest/doctest.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <barrier>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <thread>

#include "smbd/base/credentials.hh"

using namespace smb;

namespace {

bool root() { return ::geteuid() == 0; }

IdentityPtr identity(uid_t uid, gid_t gid, std::vector<gid_t> groups = {}) {
  return std::make_shared<const PosixIdentity>(PosixIdentity::make(uid, gid, std::move(groups)));
}

// A directory anyone may create files in, removed at the end.
struct OpenDir {
  std::filesystem::path path;
  OpenDir() {
    std::string tmpl = "/tmp/credentials_test.XXXXXX";
    REQUIRE(::mkdtemp(tmpl.data()) != nullptr);
    path = tmpl;
    REQUIRE(::chmod(path.c_str(), 01777) == 0);
  }
  ~OpenDir() { std::filesystem::remove_all(path); }
};

// Creates `name` and reports its owner as the kernel recorded it.
std::pair<uid_t, gid_t> create_owned(const std::filesystem::path& name) {
  int fd = ::open(name.c_str(), O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0600);
  if (fd < 0) return {static_cast<uid_t>(-1), static_cast<gid_t>(-1)};
  struct stat st {};
  ::fstat(fd, &st);
  ::close(fd);
  return {st.st_uid, st.st_gid};
}

constexpr uid_t kAlice = 54321;
constexpr uid_t kBob = 54322;
constexpr uid_t kCarol = 54323;

}  // namespace

TEST_CASE("the process identity is the one the test started with" * doctest::skip(!root())) {
  CHECK(credentials::can_switch());
  CHECK(credentials::process_identity()->uid == 0);
  CHECK(credentials::thread_acts_as(*credentials::process_identity()));
}

TEST_CASE("two threads acting as different users at once create files each user owns" *
          doctest::skip(!root())) {
  OpenDir dir;
  auto alice = identity(kAlice, kAlice, {kAlice, 4242});
  auto bob = identity(kBob, kBob);
  std::barrier both_switched(2);
  std::pair<uid_t, gid_t> alice_file, bob_file;
  bool alice_ok = false, bob_ok = false, alice_checked = false, bob_checked = false;
  auto act = [&](const IdentityPtr& who, const char* name, bool& ok, bool& checked,
                 std::pair<uid_t, gid_t>& owner) {
    ok = credentials::become(who);
    // Both threads have switched before either creates its file: a process-wide switch
    // (glibc's setresuid) would leave both files to whoever switched last.
    both_switched.arrive_and_wait();
    owner = create_owned(dir.path / name);
    checked = credentials::thread_acts_as(*who);
    both_switched.arrive_and_wait();
    ok = ok && credentials::become(credentials::process_identity());
  };
  std::thread a([&] { act(alice, "alice", alice_ok, alice_checked, alice_file); });
  std::thread b([&] { act(bob, "bob", bob_ok, bob_checked, bob_file); });
  a.join();
  b.join();
  CHECK(alice_ok);
  CHECK(bob_ok);
  CHECK(alice_checked);
  CHECK(bob_checked);
  CHECK(alice_file == std::make_pair(kAlice, kAlice));
  CHECK(bob_file == std::make_pair(kBob, kBob));
  // The main thread never switched.
  CHECK(credentials::thread_acts_as(*credentials::process_identity()));
  CHECK(create_owned(dir.path / "main").first == 0);
}

TEST_CASE("a job runs as its identity, and its supplementary groups grant access" *
          doctest::skip(!root())) {
  OpenDir dir;
  // A directory only group 4242 may write to.
  auto group_dir = dir.path / "group";
  REQUIRE(::mkdir(group_dir.c_str(), 0700) == 0);
  REQUIRE(::chown(group_dir.c_str(), 0, 4242) == 0);
  REQUIRE(::chmod(group_dir.c_str(), 0770) == 0);
  std::pair<uid_t, gid_t> member_file, outsider_file;
  std::thread t([&] {
    auto member = identity(kAlice, kAlice, {4242});
    auto outsider = identity(kBob, kBob);
    CHECK(credentials::run_as(member, [&] { member_file = create_owned(group_dir / "a"); }) ==
          credentials::JobIdentity::kept);
    CHECK(credentials::run_as(outsider, [&] { outsider_file = create_owned(group_dir / "b"); }) ==
          credentials::JobIdentity::kept);
  });
  t.join();
  CHECK(member_file == std::make_pair(kAlice, kAlice));  // no setgid on the dir: primary gid
  CHECK(outsider_file.first == static_cast<uid_t>(-1));  // EACCES
}

TEST_CASE(
    "a job that switches and does not switch back is caught, and the next job runs as "
    "its own identity" *
    doctest::skip(!root())) {
  OpenDir dir;
  auto alice = identity(kAlice, kAlice);
  auto carol = identity(kCarol, kCarol);
  // The raw calls, as a careless job might make them: root back, then someone else.
  auto forgetful = [] {
    (void)::syscall(SYS_setresuid, static_cast<uid_t>(-1), uid_t{0}, static_cast<uid_t>(-1));
    (void)::syscall(SYS_setresuid, kBob, kBob, static_cast<uid_t>(-1));
  };
  std::pair<uid_t, gid_t> carol_file, alice_file;
  credentials::JobIdentity first{}, second{}, third{}, fourth{};
  std::thread t([&] {
    first = credentials::run_as(alice, forgetful);
    second = credentials::run_as(carol, [&] { carol_file = create_owned(dir.path / "carol"); });
    // Again as the identity the leaking job had: what the thread recorded before the leak
    // must not be trusted.
    third = credentials::run_as(alice, forgetful);
    fourth = credentials::run_as(alice, [&] { alice_file = create_owned(dir.path / "alice"); });
  });
  t.join();
  CHECK(first == credentials::JobIdentity::changed);
  CHECK(second == credentials::JobIdentity::kept);
  CHECK(carol_file == std::make_pair(kCarol, kCarol));
  CHECK(third == credentials::JobIdentity::changed);
  CHECK(fourth == credentials::JobIdentity::kept);
  CHECK(alice_file == std::make_pair(kAlice, kAlice));
}

TEST_CASE("a job whose identity the kernel refuses does not run" * doctest::skip(!root())) {
  // More supplementary groups than the kernel allows (NGROUPS_MAX is 65536).
  std::vector<gid_t> too_many(70000);
  for (std::size_t i = 0; i < too_many.size(); ++i) too_many[i] = static_cast<gid_t>(100000 + i);
  auto impossible = identity(kAlice, kAlice, too_many);
  bool ran = false;
  credentials::JobIdentity outcome{};
  bool back_to_process = false;
  std::thread t([&] {
    outcome = credentials::run_as(impossible, [&] { ran = true; });
    back_to_process = credentials::run_as(credentials::process_identity(), [] {}) ==
                      credentials::JobIdentity::kept;
  });
  t.join();
  CHECK(outcome == credentials::JobIdentity::not_taken);
  CHECK_FALSE(ran);
  CHECK(back_to_process);
}

TEST_CASE("an identity scope returns the thread to the identity it had" * doctest::skip(!root())) {
  auto alice = identity(kAlice, kAlice);
  auto bob = identity(kBob, kBob, {5000});
  bool inner = false, middle = false, outer = false;
  std::thread t([&] {
    credentials::IdentityScope as_alice(alice);
    {
      credentials::IdentityScope as_bob(bob);
      inner = as_bob.ok() && credentials::thread_acts_as(*bob);
    }
    middle = credentials::thread_acts_as(*alice) && credentials::current() == alice;
  });
  t.join();
  std::thread u([&] {
    { credentials::IdentityScope as_alice(alice); }
    outer = credentials::thread_acts_as(*credentials::process_identity());
  });
  u.join();
  CHECK(inner);
  CHECK(middle);
  CHECK(outer);
}
