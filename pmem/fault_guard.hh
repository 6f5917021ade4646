// Turns a SIGBUS raised by an access to a file mapping into an error return.
//
// A load or store in a MAP_SHARED mapping raises SIGBUS when the page behind it is gone:
// the file was truncated behind the mapping (by another process, or by another worker
// serving another client), or the medium reported an uncorrectable error (a poisoned
// pmem line, an I/O error reading the page in). MappedFile runs every access to mapped
// bytes through run_guarded(), so such a fault fails that one copy instead of killing
// the process.
//
// How it works: one process-wide SIGBUS handler (installed on first use, SA_SIGINFO)
// and, per thread, a pointer to the sigjmp_buf of the guarded call in progress. A fault
// the kernel raises for a memory access (BUS_ADRERR, BUS_OBJERR, BUS_MCEERR_AR) on a
// thread with a guard set siglongjmp()s back into run_guarded(), which returns false;
// sigsetjmp(env, 1) restores the signal mask, so SIGBUS is not left blocked.
// Every other SIGBUS (no guard on the faulting thread, or sent with kill/raise) goes
// where it went before the handler was installed: to the previous handler if there was
// one (a sanitizer's, a crash reporter's), else the default action is restored and the
// signal raised again, so a genuine bug still ends the process with SIGBUS.
//
// Rules for the guarded function:
//   - it must not own objects with destructors, take locks or allocate: a fault skips
//     the rest of it with a longjmp, which runs no destructors and releases nothing.
//     memcpy, pmem_memcpy_persist and pmem_persist on plain pointers are what it is for;
//   - the bytes it had copied before the fault are left as they are (a partial copy).
// Anyone installing a SIGBUS handler after this one must chain to it, or mapped files
// are back to crashing the process on a truncation. Under AddressSanitizer this handler
// goes in on top of ASan's (handle_sigbus=1, the default) and passes it every SIGBUS
// that is not a guarded fault; handle_sigbus=2 keeps it out, and a fault is fatal again.
#pragma once

namespace smb::pmem {

// Runs fn(ctx); false when it was cut short by a SIGBUS from a memory access (the
// effects of fn up to the fault remain), true when it returned. Thread-safe; a guarded
// function may itself call run_guarded.
bool run_guarded(void (*fn)(void*), void* ctx);

// Installs the handler now (run_guarded does it on first use); idempotent.
void install_fault_guard();

}  // namespace smb::pmem
