#include "smbd/worker/blocking.hh"

#include <memory>

namespace smb::server {

namespace {
struct Job {
  uv_work_t req{};
  std::function<void()> work;
  std::function<void()> then;
};
}  // namespace

void run_blocking(uv_loop_t* loop, std::function<void()> work, std::function<void()> then) {
  auto job = std::make_unique<Job>();
  job->work = std::move(work);
  job->then = std::move(then);
  job->req.data = job.get();
  int rc = uv_queue_work(
      loop, &job->req, [](uv_work_t* req) { static_cast<Job*>(req->data)->work(); },
      [](uv_work_t* req, int) {
        std::unique_ptr<Job> owned(static_cast<Job*>(req->data));
        owned->then();
      });
  if (rc == 0) {
    job.release();
  } else {
    job->work();
    job->then();
  }
}

}  // namespace smb::server
