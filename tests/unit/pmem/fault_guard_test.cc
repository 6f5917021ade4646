// pmem/fault_guard.hh: a SIGBUS from a dropped page inside run_guarded() is an error
// return; any other SIGBUS behaves as if the guard did not exist. What happens to a
// SIGBUS outside a guard depends on the disposition found when the handler was
// installed, which is once per process: each such case runs in a fresh process (this
// program executed again with --fault-guard-child SCENARIO).
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>
#include <fcntl.h>
#include <pthread.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "pmem/fault_guard.hh"

using smb::pmem::install_fault_guard;
using smb::pmem::run_guarded;

namespace {

#if defined(__SANITIZE_ADDRESS__)
constexpr bool kAsan = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
constexpr bool kAsan = true;
#else
constexpr bool kAsan = false;
#endif
#else
constexpr bool kAsan = false;
#endif

// Two pages of a file mapped MAP_SHARED; shrink() drops the file under them, so any
// access to the mapping raises SIGBUS (BUS_ADRERR).
struct DroppedMapping {
  int fd = -1;
  std::size_t length = 2 * static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
  std::uint8_t* data = nullptr;

  DroppedMapping() {
    char path[] = "/tmp/fault_guard_test.XXXXXX";
    fd = ::mkstemp(path);
    if (fd < 0) std::abort();
    ::unlink(path);
    if (::ftruncate(fd, static_cast<off_t>(length)) != 0) std::abort();
    void* p = ::mmap(nullptr, length, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED) std::abort();
    data = static_cast<std::uint8_t*>(p);
    std::memset(data, 0x5a, length);
  }
  ~DroppedMapping() {
    ::munmap(data, length);
    ::close(fd);
  }
  void shrink() {
    if (::ftruncate(fd, 0) != 0) std::abort();
  }
};

struct Load {
  const std::uint8_t* from;
  std::size_t length;
  std::uint8_t* to;
};

void load(void* arg) {
  const auto* l = static_cast<const Load*>(arg);
  std::memcpy(l->to, l->from, l->length);
}

void raise_sigbus(void*) { ::raise(SIGBUS); }

bool sigbus_blocked() {
  sigset_t now;
  sigemptyset(&now);
  pthread_sigmask(SIG_BLOCK, nullptr, &now);
  return sigismember(&now, SIGBUS) == 1;
}

// A load from a dropped page, outside any guard.
[[noreturn]] void fault_unguarded(DroppedMapping& m, int exit_if_survived) {
  volatile std::uint8_t sink = *static_cast<volatile std::uint8_t*>(m.data);
  (void)sink;
  _exit(exit_if_survived);
}

bool fault_guarded(DroppedMapping& m) {
  std::uint8_t buf[64];
  Load l{m.data, sizeof buf, buf};
  return run_guarded(load, &l);
}

void on_sigbus_info(int, siginfo_t* info, void*) { _exit(info->si_code == BUS_ADRERR ? 42 : 40); }
void on_sigbus_plain(int) { _exit(43); }

// The scenarios run in a fresh process. Exit codes 10..19 mean a step went wrong.
int child_main(const std::string& scenario) {
  // The SIGBUS deaths below are expected: no core files.
  rlimit no_core{0, 0};
  ::setrlimit(RLIMIT_CORE, &no_core);
  DroppedMapping m;
  m.shrink();
  if (scenario == "default") {
    // Whatever a sanitizer installed is dropped: the default action is what is tested.
    std::signal(SIGBUS, SIG_DFL);
    if (fault_guarded(m)) return 10;
    if (sigbus_blocked()) return 11;
    fault_unguarded(m, 12);
  }
  if (scenario == "chain-siginfo" || scenario == "chain-plain") {
    struct sigaction sa {};
    sigemptyset(&sa.sa_mask);
    if (scenario == "chain-siginfo") {
      sa.sa_sigaction = on_sigbus_info;
      sa.sa_flags = SA_SIGINFO;
    } else {
      sa.sa_handler = on_sigbus_plain;
    }
    ::sigaction(SIGBUS, &sa, nullptr);
    // The guard goes in on top of the handler, takes the guarded fault itself and
    // hands it the rest.
    if (fault_guarded(m)) return 10;
    fault_unguarded(m, 12);
  }
  if (scenario == "sent") {
    // A SIGBUS sent to the process is not a fault of the guarded copy: not swallowed.
    std::signal(SIGBUS, SIG_DFL);
    run_guarded(raise_sigbus, nullptr);
    return 12;
  }
  if (scenario == "ignored") {
    std::signal(SIGBUS, SIG_IGN);
    install_fault_guard();
    ::raise(SIGBUS);  // ignored, as before the guard
    if (fault_guarded(m)) return 10;
    fault_unguarded(m, 12);  // a fault cannot be ignored
  }
  if (scenario == "inherited") {
    // The disposition the process started with (a sanitizer's handler under ASan, whose
    // report of the expected fault would only look like a failure in the test log).
    if (kAsan) {
      const int null = ::open("/dev/null", O_WRONLY | O_CLOEXEC);
      if (null >= 0) ::dup2(null, STDERR_FILENO);
    }
    if (fault_guarded(m)) return 10;
    fault_unguarded(m, 12);
  }
  return 19;
}

int run_child(const char* scenario) {
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    ::execl("/proc/self/exe", "pmem_fault_guard_test", "--fault-guard-child", scenario,
            static_cast<char*>(nullptr));
    _exit(127);
  }
  int status = 0;
  REQUIRE(::waitpid(pid, &status, 0) == pid);
  return status;
}

}  // namespace

TEST_CASE("run_guarded returns false for a SIGBUS from a dropped page, and runs on") {
  DroppedMapping m;
  std::uint8_t buf[128] = {};
  Load l{m.data, sizeof buf, buf};
  CHECK(run_guarded(load, &l));
  CHECK(buf[0] == 0x5a);
  m.shrink();
  for (int i = 0; i < 3; ++i) {
    CHECK_FALSE(run_guarded(load, &l));
    // sigsetjmp(env, 1): the handler's mask is not left behind.
    CHECK_FALSE(sigbus_blocked());
  }
  // A nested guard catches the inner fault; the outer call completes.
  struct Outer {
    Load* inner;
    bool inner_ok = true;
  } outer{&l};
  CHECK(run_guarded(
      [](void* arg) {
        auto* o = static_cast<Outer*>(arg);
        o->inner_ok = run_guarded(load, o->inner);
      },
      &outer));
  CHECK_FALSE(outer.inner_ok);
  // And an unrelated guarded call afterwards is unaffected.
  std::uint8_t a[16] = {1, 2, 3}, b[16] = {};
  Load ok{a, sizeof a, b};
  CHECK(run_guarded(load, &ok));
  CHECK(b[2] == 3);
}

TEST_CASE("guards are per thread: concurrent faults on several threads") {
  DroppedMapping m;
  m.shrink();
  std::atomic<int> caught{0}, wrong{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      std::uint8_t local[256];
      std::uint8_t copy[256];
      std::memset(local, 7, sizeof local);
      for (int i = 0; i < 200; ++i) {
        if (fault_guarded(m)) {
          ++wrong;
        } else {
          ++caught;
        }
        Load l{local, sizeof local, copy};
        if (!run_guarded(load, &l) || copy[100] != 7) ++wrong;
      }
    });
  }
  for (auto& t : threads) t.join();
  CHECK(caught.load() == 800);
  CHECK(wrong.load() == 0);
}

TEST_CASE("a SIGBUS outside a guard still kills the process with SIGBUS") {
  const int status = run_child("default");
  INFO("status " << status);
  REQUIRE(WIFSIGNALED(status));
  CHECK(WTERMSIG(status) == SIGBUS);
}

TEST_CASE("a SIGBUS sent to a thread inside a guard is not taken for a fault") {
  const int status = run_child("sent");
  INFO("status " << status);
  REQUIRE(WIFSIGNALED(status));
  CHECK(WTERMSIG(status) == SIGBUS);
}

TEST_CASE("an ignored SIGBUS stays ignored when sent, a fault outside a guard still kills") {
  const int status = run_child("ignored");
  INFO("status " << status);
  REQUIRE(WIFSIGNALED(status));
  CHECK(WTERMSIG(status) == SIGBUS);
}

TEST_CASE("a SIGBUS outside a guard goes to the handler installed before the guard") {
  int status = run_child("chain-siginfo");
  INFO("status " << status);
  REQUIRE(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 42);
  status = run_child("chain-plain");
  REQUIRE(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 43);
}

TEST_CASE("with the disposition the process started with, an unguarded fault is fatal") {
  const int status = run_child("inherited");
  INFO("status " << status);
  if (kAsan) {
    // ASan's own SIGBUS handler (handle_sigbus=1, its default) gets the fault and
    // reports it: an exit with its error code, or SIGABRT under abort_on_error=1.
    CHECK(((WIFEXITED(status) && WEXITSTATUS(status) != 0 && WEXITSTATUS(status) < 10) ||
           WIFSIGNALED(status)));
  } else {
    REQUIRE(WIFSIGNALED(status));
    CHECK(WTERMSIG(status) == SIGBUS);
  }
}

int main(int argc, char** argv) {
  if (argc == 3 && std::strcmp(argv[1], "--fault-guard-child") == 0) return child_main(argv[2]);
  doctest::Context context(argc, argv);
  return context.run();
}
