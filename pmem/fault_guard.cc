#include "pmem/fault_guard.hh"

#include <csetjmp>
#include <csignal>

#include <atomic>
#include <mutex>

namespace smb::pmem {

namespace {

// The guarded call in progress on this thread. A plain pointer with no dynamic
// initialisation, so the handler reads it without calling into the TLS machinery.
thread_local sigjmp_buf* t_guard = nullptr;

// The disposition found when the handler was installed; written once, before the
// handler can run.
struct sigaction g_previous {};

// Kernel-generated codes for an access that could not be satisfied. BUS_MCEERR_AO is
// left out: it reports a memory error somewhere else, asynchronously, and unwinding the
// copy in progress would hide it.
bool is_access_fault(const siginfo_t* info) {
  if (info == nullptr) return false;
  switch (info->si_code) {
    case BUS_ADRERR:     // the page is past the end of the file
    case BUS_OBJERR:     // the object reported an error (I/O error paging it in)
    case BUS_MCEERR_AR:  // a poisoned line was consumed (pmem media error)
      return true;
    default:
      return false;
  }
}

void on_sigbus(int sig, siginfo_t* info, void* context) {
  sigjmp_buf* const env = t_guard;
  if (env != nullptr && is_access_fault(info)) {
    // Cleared first: a fault before run_guarded resumes must not jump again.
    t_guard = nullptr;
    siglongjmp(*env, 1);
  }
  const struct sigaction& previous = g_previous;
  if ((previous.sa_flags & SA_SIGINFO) != 0) {
    if (previous.sa_sigaction != nullptr) {
      previous.sa_sigaction(sig, info, context);
      return;
    }
  } else if (previous.sa_handler == SIG_IGN) {
    // An ignored SIGBUS stays ignored when sent; a fault was fatal even then (the
    // kernel forces the default action on a synchronous signal nobody can handle).
    if (info == nullptr || info->si_code <= 0) return;
  } else if (previous.sa_handler != SIG_DFL) {
    previous.sa_handler(sig);
    return;
  }
  // The default action, with the same signal: the exit status and core dump say
  // SIGBUS, as they did before this handler existed. The raised signal is delivered
  // when the handler returns (it is blocked until then); a fault would also recur at
  // the faulting instruction.
  struct sigaction dfl {};
  dfl.sa_handler = SIG_DFL;
  sigemptyset(&dfl.sa_mask);
  ::sigaction(SIGBUS, &dfl, nullptr);
  ::raise(SIGBUS);
}

}  // namespace

void install_fault_guard() {
  static std::once_flag once;
  std::call_once(once, [] {
    // The previous disposition is recorded before ours goes in, so a SIGBUS on another
    // thread right after the switch already finds it.
    ::sigaction(SIGBUS, nullptr, &g_previous);
    struct sigaction sa {};
    sa.sa_sigaction = on_sigbus;
    sa.sa_flags = SA_SIGINFO;
    sigemptyset(&sa.sa_mask);
    ::sigaction(SIGBUS, &sa, nullptr);
  });
}

bool run_guarded(void (*fn)(void*), void* ctx) {
  install_fault_guard();
  sigjmp_buf env;
  // Restored on both ways out, so a guarded function may nest another guarded call.
  sigjmp_buf* const outer = t_guard;
  if (sigsetjmp(env, 1) != 0) {
    t_guard = outer;
    return false;
  }
  t_guard = &env;
  // The handler runs on this thread: only the compiler must not move the stores.
  std::atomic_signal_fence(std::memory_order_seq_cst);
  fn(ctx);
  std::atomic_signal_fence(std::memory_order_seq_cst);
  t_guard = outer;
  return true;
}

}  // namespace smb::pmem
