// CANCEL (MS-SMB2 3.3.5.16). The dispatch table marks it unanswered and outside the
// credit window: the gate sends nothing for it, whatever it completes with.
#include "smbd/worker/dispatch.hh"
#include "smbd/worker/worker.hh"

namespace smb::server {

void handle_cancel(const RequestPtr& req) {
  if (Connection* c = req->connection()) c->cancel(req->header);
  req->reply(NtStatus::SUCCESS);
}

void Connection::cancel(const Header& request) {
  // Nothing this server does waits on the client's behalf (no change notify, no
  // blocking locks), so no request is ever pending to be cancelled.
  (void)request;
}

}  // namespace smb::server
