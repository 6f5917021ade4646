// FLUSH (MS-SMB2 3.3.5.11): a pipe has nothing to flush; a file's data goes to stable
// storage through the object store (fsa/flush.hh).
#include "smbd/fsa/flush.hh"
#include "smbd/proto/flush.hh"
#include "smbd/worker/blocking.hh"
#include "smbd/worker/dispatch.hh"
#include "smbd/worker/worker.hh"

namespace smb::server {

void handle_flush(const RequestPtr& req) {
  Open& open = *req->open;
  if (open.pipe) {
    req->reply(encode_body(FlushResponse{}));
    return;
  }
  if (NtStatus allowed = fsa::check_flush(open); allowed != NtStatus::SUCCESS) {
    req->reply(allowed);
    return;
  }
  auto io = open.io;
  auto status = std::make_shared<NtStatus>(NtStatus::SUCCESS);
  run_blocking(
      req->worker.loop(), [io, status]() { *status = fsa::flush(*io); },
      [req, status]() {
        if (*status != NtStatus::SUCCESS) {
          req->reply(*status);
          return;
        }
        req->reply(encode_body(FlushResponse{}));
      });
}

}  // namespace smb::server
