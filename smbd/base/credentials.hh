// Who a thread acts as when it touches files: a POSIX identity (uid, primary gid,
// supplementary groups), switched per thread.
//
// Linux keeps credentials per thread, but glibc's setresuid(), setresgid() and
// setgroups() change every thread of the process (POSIX asks for process-wide ids, and
// glibc signals each thread to follow). A worker serves several users at once from its
// loop thread and its pool threads, so the raw system calls are used here: each changes
// the calling thread only. The saved uid keeps the value the process started with (0 for
// a server started as root); that is what lets a thread acting as a user take root back
// and then become another user.
//
// A thread's identity is set before each job and read back from the kernel after it
// (run_as): a job that leaves the thread as someone else is reported, never carried on
// into the next job.
#pragma once

#include <sys/types.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace smb {

struct PosixIdentity {
  uid_t uid = 0;
  gid_t gid = 0;
  std::vector<gid_t> groups;  // supplementary groups, sorted, each once

  // Sorts and de-duplicates `groups`, as the kernel reports them back.
  static PosixIdentity make(uid_t uid, gid_t gid, std::vector<gid_t> groups);
  bool operator==(const PosixIdentity&) const = default;
  // "uid 1001, gid 1001, groups 27,1001" for log lines.
  std::string describe() const;
};

// Identities are shared by sessions, tree connects and jobs in flight; copies are cheap.
using IdentityPtr = std::shared_ptr<const PosixIdentity>;

namespace credentials {

// The identity the process started with, read before main() ran. Workers return their
// threads to it between requests; it is root for a server started as root.
const IdentityPtr& process_identity();

// Whether this process can act as other users: it started with effective uid 0.
bool can_switch();

// The calling thread's identity as the kernel has it, read with the raw getresuid,
// getresgid and getgroups system calls: real and effective ids must agree, and the saved
// uid must still be the process's, for the thread to count as acting as `identity`.
bool thread_acts_as(const PosixIdentity& identity);

// The identity the calling thread was last made to act as (process_identity() before
// the first switch).
const IdentityPtr& current();

// Makes the calling thread act as `identity`. Without the privilege to switch, only the
// process identity can be taken on. False (errno set) when the kernel refuses; the
// thread's identity is then unknown, and the next become() sets every id again.
bool become(const IdentityPtr& identity);
// become(), then the thread's identity read back from the kernel. A thread found acting
// as someone else than recorded is switched again; false when that was needed or the
// switch failed.
bool become_verified(const IdentityPtr& identity);

// Acts as `identity` for a scope and returns to the previous identity at its end.
// Failing to return is fatal for the process: the thread's identity would be unknown.
class IdentityScope {
 public:
  explicit IdentityScope(const IdentityPtr& identity);
  ~IdentityScope();
  IdentityScope(const IdentityScope&) = delete;
  IdentityScope& operator=(const IdentityScope&) = delete;
  bool ok() const { return ok_; }

 private:
  IdentityPtr previous_;
  bool ok_ = false;
};

// Runs `job` on the calling thread as `identity`, then checks from the kernel's view
// that the job left the thread as that identity.
enum class JobIdentity {
  kept,       // the job ran as `identity` and left the thread so
  not_taken,  // the thread could not become `identity`; the job did not run
  changed,    // the job ran but left the thread as someone else
};
JobIdentity run_as(const IdentityPtr& identity, const std::function<void()>& job);

}  // namespace credentials
}  // namespace smb
