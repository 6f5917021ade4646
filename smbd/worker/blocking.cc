#include "smbd/worker/blocking.hh"

#include <unistd.h>

#include <memory>

#include "smbd/conf/log.hh"
#include "smbd/worker/request.hh"
#include "smbd/worker/server_state.hh"

namespace smb::server {

namespace {

// How the request the loop thread serves is answered when one of its jobs cannot run as
// its user; empty while the loop serves no request. The loop thread's only.
thread_local std::function<void(NtStatus)> t_fail;

// The identity the loop thread serves (the innermost Serving's, or the one a resumed
// request took on); null when it serves nobody. The kernel's may differ outside scopes.
thread_local IdentityPtr t_serving;

std::function<void(NtStatus)> answer_with_status(const Request& request) {
  return [complete = request.complete](NtStatus status) {
    Response response;
    response.status = status;
    complete(std::move(response));
  };
}

struct Job {
  uv_work_t req{};
  IdentityPtr identity;
  std::function<void()> work;
  std::function<void()> then;
  std::function<void(NtStatus)> failed;
  credentials::JobIdentity outcome = credentials::JobIdentity::not_taken;
};

void refuse(const Job& job, const char* what, NtStatus status) {
  log::error(nullptr, "a job for %s %s; its request is answered with %s",
             job.identity->describe().c_str(), what, std::string(nt_status_name(status)).c_str());
  if (job.failed) job.failed(status);
}

// On the loop thread, once the work is done.
void finish(Job& job) {
  switch (job.outcome) {
    case credentials::JobIdentity::kept:
      break;
    case credentials::JobIdentity::not_taken:
      refuse(job, "could not run as that user", NtStatus::ACCESS_DENIED);
      return;
    case credentials::JobIdentity::changed:
      refuse(job, "left its thread acting as another user", NtStatus::INTERNAL_ERROR);
      return;
  }
  Serving serving(job.identity);
  t_fail = job.failed;
  if (!serving.ok()) {
    refuse(job, "cannot continue on the loop as that user", NtStatus::ACCESS_DENIED);
    return;
  }
  job.then();
}

}  // namespace

IdentityPtr identity_for(const Session* session, const TreeConnect* tree) {
  if (tree != nullptr && tree->identity) return tree->identity;
  if (session != nullptr && session->identity) return session->identity;
  return credentials::process_identity();
}

IdentityPtr identity_for_open(const Session* session, std::uint32_t tree_id) {
  const TreeConnect* tree = nullptr;
  if (session != nullptr) {
    auto found = session->trees.find(tree_id);
    if (found != session->trees.end()) tree = &found->second;
  }
  return identity_for(session, tree);
}

Serving::Serving(const IdentityPtr& identity, const Request& request) : Serving(identity) {
  t_fail = answer_with_status(request);
}

Serving::Serving(const IdentityPtr& identity)
    : previous_(t_serving), previous_fail_(t_fail) {
  t_fail = nullptr;
  t_serving = identity;
  ok_ = credentials::become(identity);
  if (!ok_) log::error(nullptr, "the loop cannot act as %s", identity->describe().c_str());
}

Serving::~Serving() {
  t_fail = std::move(previous_fail_);
  t_serving = previous_;
  // Inside another scope: the rest of it runs as that scope's identity again.
  if (previous_ && !credentials::become(previous_)) {
    static constexpr char kMessage[] = "fatal: the loop cannot take its previous identity back\n";
    (void)!::write(2, kMessage, sizeof kMessage - 1);
    std::abort();
  }
}

bool Serving::resume(const IdentityPtr& identity, const Request& request) {
  t_fail = answer_with_status(request);
  t_serving = identity;
  if (credentials::become(identity)) return true;
  log::error(nullptr, "the loop cannot act as %s", identity->describe().c_str());
  return false;
}

void serve_nobody() {
  t_fail = nullptr;
  t_serving = nullptr;
}

const IdentityPtr& serving_identity() {
  return t_serving ? t_serving : credentials::process_identity();
}

void run_blocking(uv_loop_t* loop, std::function<void()> work, std::function<void()> then) {
  run_blocking(loop, serving_identity(), std::move(work), std::move(then), t_fail);
}

void run_here_or_blocking(uv_loop_t* loop, bool on_loop, std::function<void()> work,
                          std::function<void()> then) {
  if (!on_loop) return run_blocking(loop, std::move(work), std::move(then));
  work();
  then();
}

void run_blocking(uv_loop_t* loop, IdentityPtr identity, std::function<void()> work,
                  std::function<void()> then, std::function<void(NtStatus)> failed) {
  auto job = std::make_unique<Job>();
  job->identity = std::move(identity);
  job->work = std::move(work);
  job->then = std::move(then);
  job->failed = std::move(failed);
  job->req.data = job.get();
  int rc = uv_queue_work(
      loop, &job->req,
      [](uv_work_t* req) {
        auto* j = static_cast<Job*>(req->data);
        j->outcome = credentials::run_as(j->identity, j->work);
      },
      [](uv_work_t* req, int) {
        std::unique_ptr<Job> owned(static_cast<Job*>(req->data));
        finish(*owned);
      });
  if (rc == 0) {
    job.release();
  } else {
    job->outcome = credentials::run_as(job->identity, job->work);
    finish(*job);
  }
}

}  // namespace smb::server
