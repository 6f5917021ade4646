// Runs blocking file-system work on libuv's thread pool and continues on the loop thread.
// The work function must not touch loop-owned state; the continuation looks state up
// again by id, since the connection or open may have gone while the work ran.
//
// Every job runs as a user (docs/security.md): the identity the loop thread serves the
// current request as. The gate sets it before a handler runs (Serving), a job's
// continuation runs as the job did, and Request::refresh() takes it on again after any
// other wait (Serving::resume). The pool thread takes the identity on before the job
// and is checked after it; a job that could not run as its user, or that left its thread
// as someone else, is logged and its request answered with an error instead of its
// continuation running.
//
// A request woken by another (a lock released, a break acknowledged) must be resumed
// from the loop, not called from inside the other request's handler: its refresh() would
// leave the loop acting as the woken request's user for the rest of that handler.
#pragma once

#include <cstdint>
#include <functional>

#include "smbd/base/credentials.hh"
#include "smbd/base/ntstatus.hh"
#include "smbd/worker/uv.hh"

namespace smb::server {

struct Request;
struct Session;
struct TreeConnect;

// The identity a request acts as: its tree connect's (which applies `force user` and
// the like), else its session's, else (no user yet) the process's own.
IdentityPtr identity_for(const Session* session, const TreeConnect* tree);

// The identity the requests on an open's tree connect run as (`session` may be null).
IdentityPtr identity_for_open(const Session* session, std::uint32_t tree_id);

// What the loop thread is serving: the identity it acts as, and how the request is
// answered when a job started for it cannot run as that identity.
//
// The kernel identity of the loop thread changes only when a scope needs another one
// (as Samba's smbd keeps the last user until another is needed): one client's requests
// for one user switch nothing. At the end of a scope nested in another, the loop takes
// the outer scope's identity back; at the end of an outermost scope it keeps the one it
// has, and what runs outside any scope names its identity itself (a Serving, an
// IdentityScope, or run_blocking with an identity). run_blocking without one, outside
// any scope, runs its job as the process.
class Serving {
 public:
  Serving(const IdentityPtr& identity, const Request& request);
  // No request: the loop itself (configuration reload, control messages, teardown).
  explicit Serving(const IdentityPtr& identity);
  ~Serving();
  Serving(const Serving&) = delete;
  Serving& operator=(const Serving&) = delete;
  // False when the thread could not take the identity on (logged); the request must be
  // answered with ACCESS_DENIED, as Samba does when it cannot become the user.
  bool ok() const { return ok_; }

  // After a wait: the continuation of `request` acts as `identity` until the loop next
  // waits for events.
  static bool resume(const IdentityPtr& identity, const Request& request);

 private:
  IdentityPtr previous_;  // the enclosing scope's identity; null outside any scope
  std::function<void(NtStatus)> previous_fail_;
  bool ok_ = false;
};

// Before the loop waits for events: it serves nobody from here on. The kernel identity
// is left as it is (the next scope switches only if it needs another).
void serve_nobody();

// The identity the loop thread serves now: the innermost scope's, else the process's.
const IdentityPtr& serving_identity();

// Runs `work` on the pool as serving_identity(), then `then` on the loop thread as that
// identity again.
void run_blocking(uv_loop_t* loop, std::function<void()> work, std::function<void()> then);

// As run_blocking, except that work which cannot wait for a device (`on_loop`: a file on
// tmpfs or ramfs, vfs::Share::in_memory) runs right here, on the loop and as the identity
// it serves, and `then` right after: a pool hop costs more than such work.
void run_here_or_blocking(uv_loop_t* loop, bool on_loop, std::function<void()> work,
                          std::function<void()> then);

// The same for a given identity; `failed` answers when the job could not run as it.
void run_blocking(uv_loop_t* loop, IdentityPtr identity, std::function<void()> work,
                  std::function<void()> then, std::function<void(NtStatus)> failed);

}  // namespace smb::server
