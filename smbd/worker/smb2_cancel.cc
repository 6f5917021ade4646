// CANCEL (MS-SMB2 3.3.5.16). The dispatch table marks it unanswered and outside the
// credit window: the gate sends nothing for it, whatever it completes with. The request
// it names ends its wait (Connection::cancel, async.hh) and answers STATUS_CANCELLED.
#include "smbd/worker/dispatch.hh"
#include "smbd/worker/worker.hh"

namespace smb::server {

void handle_cancel(const RequestPtr& req) {
  if (Connection* c = req->connection()) c->cancel(req->header);
  req->reply(NtStatus::SUCCESS);
}

}  // namespace smb::server
