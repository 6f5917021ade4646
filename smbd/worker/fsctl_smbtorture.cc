// The test-only FSCTLs of Samba's smbd that smbtorture drives to reach server states a
// client cannot cause by itself (codes in smbd/proto/ioctl.hh). They are served only with
// `smbd:FSCTL_SMBTORTURE = yes` (conf::Global::smbtorture_fsctls), a setting for test
// servers; otherwise they are refused as any unknown FSCTL is (INVALID_DEVICE_REQUEST).
//   IOCTL_RESPONSE_BODY_PADDING8       this IOCTL's answer carries 8 zero bytes between its
//                                      fixed part and its output, which is MaxOutputResponse
//                                      bytes of 8 (the client must follow the offsets)
//   GLOBAL_READ_RESPONSE_BODY_PADDING8 every later READ answer of the connection carries
//                                      8 zero bytes before its data
//   FSP_ASYNC_SLEEP                    the IOCTL goes async on its open and completes after
//                                      the milliseconds its one input byte says; a CLOSE
//                                      of the open meanwhile waits for it (open_holds.hh)
// Each takes no input but FSP_ASYNC_SLEEP's byte (INVALID_PARAMETER otherwise).
#include <chrono>
#include <memory>

#include "smbd/proto/ioctl.hh"
#include "smbd/worker/async.hh"
#include "smbd/worker/fsctl.hh"
#include "smbd/worker/worker.hh"

namespace smb::server {

namespace {

// An FSP_ASYNC_SLEEP waiting; lives in its pending entry (and its timer, weakly).
struct AsyncSleep {
  RequestPtr req;
  IoctlRequest request;
  FileId file_id;
  bool finished = false;
};

// Ends the sleep once: its hold on the open goes, and the answer goes now or (`later`:
// ended inside another request's handler) on the next turn of the loop (async.hh).
void finish(const std::shared_ptr<AsyncSleep>& sleep, NtStatus status, bool later = false) {
  if (sleep->finished) return;
  sleep->finished = true;
  Worker& worker = sleep->req->worker;
  worker.open_holds().release(sleep->file_id);
  auto answer = [sleep, status]() {
    if (status == NtStatus::SUCCESS)
      reply_ioctl(sleep->req, sleep->request, {});
    else
      sleep->req->reply(status);
  };
  if (later)
    worker.after(std::chrono::milliseconds(0), answer);
  else
    answer();
}

void async_sleep(const RequestPtr& req, const IoctlRequest& request) {
  if (request.input.size() != 1) {
    req->reply(NtStatus::INVALID_PARAMETER);
    return;
  }
  if (req->open == nullptr) {
    req->reply(NtStatus::INVALID_HANDLE);
    return;
  }
  auto sleep = std::make_shared<AsyncSleep>();
  sleep->req = req;
  sleep->request = request;
  sleep->request.input.clear();
  sleep->file_id = req->file_id;
  auto went = go_async(req, [sleep](AsyncEnd reason) { finish(sleep, status_for(reason, NtStatus::FILE_CLOSED), true); });
  if (!went) {
    req->reply(NtStatus::INSUFFICIENT_RESOURCES);
    return;
  }
  req->worker.open_holds().hold(sleep->file_id);
  std::weak_ptr<AsyncSleep> weak = sleep;
  req->worker.after(std::chrono::milliseconds(request.input[0]), [weak]() {
    auto s = weak.lock();
    if (!s || s->finished) return;
    // The open cannot have been closed by a CLOSE (it waits for the hold); anything else
    // that closed it ended the wait already.
    NtStatus status =
        s->req->client().open(s->file_id) != nullptr ? NtStatus::SUCCESS : NtStatus::FILE_CLOSED;
    finish(s, status);
  });
}

}  // namespace

bool is_smbtorture_fsctl(std::uint32_t ctl_code) {
  switch (ctl_code) {
    case FSCTL_SMBTORTURE_IOCTL_RESPONSE_BODY_PADDING8:
    case FSCTL_SMBTORTURE_GLOBAL_READ_RESPONSE_BODY_PADDING8:
    case FSCTL_SMBTORTURE_FSP_ASYNC_SLEEP:
    case FSCTL_SMBTORTURE_FORCE_UNACKED_TIMEOUT:
      return true;
    default:
      return false;
  }
}

void fsctl_smbtorture(const RequestPtr& req, const IoctlRequest& request) {
  if (!req->worker.config().conf.global.smbtorture_fsctls) {
    req->reply(NtStatus::INVALID_DEVICE_REQUEST);
    return;
  }
  switch (request.ctl_code) {
    case FSCTL_SMBTORTURE_IOCTL_RESPONSE_BODY_PADDING8: {
      if (!request.input.empty()) {
        req->reply(NtStatus::INVALID_PARAMETER);
        return;
      }
      IoctlResponse response;
      response.ctl_code = request.ctl_code;
      response.file_id = request.file_id;
      response.output.assign(request.max_output_response, 8);
      response.body_padding = 8;
      Response out;
      out.body = encode_body(response);
      out.has_body = true;
      req->complete(std::move(out));
      return;
    }
    case FSCTL_SMBTORTURE_GLOBAL_READ_RESPONSE_BODY_PADDING8: {
      if (!request.input.empty()) {
        req->reply(NtStatus::INVALID_PARAMETER);
        return;
      }
      if (Connection* c = req->connection()) c->set_read_response_padding(8);
      reply_ioctl(req, request, {});
      return;
    }
    case FSCTL_SMBTORTURE_FSP_ASYNC_SLEEP:
      async_sleep(req, request);
      return;
    case FSCTL_SMBTORTURE_FORCE_UNACKED_TIMEOUT:
      // It takes no input and names no open (as Samba's smbd serves it); from now on the
      // channel it came on counts as acknowledging nothing (break_delivery.hh).
      if (!request.input.empty() || request.file_id.persistent != ~std::uint64_t{0} ||
          request.file_id.volatile_ != ~std::uint64_t{0}) {
        req->reply(NtStatus::INVALID_PARAMETER);
        return;
      }
      if (Connection* c = req->connection()) c->force_unacknowledged();
      reply_ioctl(req, request, {});
      return;
    default:
      req->reply(NtStatus::INVALID_DEVICE_REQUEST);
      return;
  }
}

}  // namespace smb::server
