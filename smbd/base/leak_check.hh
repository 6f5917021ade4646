// A worker ends with _exit (it must not run the master's atexit handlers or flush the
// master's stdio buffers twice), which also skips the leak check LeakSanitizer runs at
// exit. In a sanitizer build the worker runs that check itself before it goes: a leak
// is reported on standard error ("ERROR: LeakSanitizer", which the test harnesses look
// for in the server's output) and the process exits with LeakSanitizer's exit code.
#pragma once

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_LEAK__)
#define SMB_LEAK_CHECK 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(leak_sanitizer)
#define SMB_LEAK_CHECK 1
#endif
#endif

#ifdef SMB_LEAK_CHECK
#include <sanitizer/lsan_interface.h>
#endif

namespace smb {

// Runs LeakSanitizer's check now when the build has it; nothing otherwise.
inline void check_leaks_before_exit() {
#ifdef SMB_LEAK_CHECK
  __lsan_do_leak_check();
#endif
}

}  // namespace smb
