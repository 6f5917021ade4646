// CHANGE_NOTIFY (MS-SMB2 3.3.5.19) over the worker's change notifier (change_notify.hh).
#include "smbd/base/wire.hh"
#include "smbd/proto/change_notify.hh"
#include "smbd/worker/change_notify.hh"
#include "smbd/worker/dispatch.hh"
#include "smbd/worker/worker.hh"

namespace smb::server {

void handle_change_notify(const RequestPtr& req) {
  ChangeNotifyRequest request;
  if (decode(req->pdu, request) != NtStatus::SUCCESS) {
    req->reply(NtStatus::INVALID_PARAMETER);
    return;
  }
  Open& open = *req->open;
  // MS-SMB2 3.3.5.19: only a directory can be watched.
  if (open.pipe || !open.is_directory) {
    req->reply(NtStatus::INVALID_PARAMETER);
    return;
  }
  // MS-FSA 2.1.5.10: the open must have been granted FILE_LIST_DIRECTORY.
  if ((open.granted_access & access_mask::FILE_LIST_DIRECTORY) == 0) {
    req->reply(NtStatus::ACCESS_DENIED);
    return;
  }
  // MS-SMB2 3.3.5.19: OutputBufferLength within the negotiated MaxTransactSize.
  Connection* c = req->connection();
  if (c == nullptr || request.output_buffer_length > c->max_transact_size()) {
    req->reply(NtStatus::INVALID_PARAMETER);
    return;
  }
  req->worker.notifier().serve(req, open, request.completion_filter,
                               (request.flags & kWatchTree) != 0, request.output_buffer_length);
}

}  // namespace smb::server
