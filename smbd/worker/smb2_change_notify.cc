// CHANGE_NOTIFY (MS-SMB2 3.3.5.19).
#include "smbd/worker/dispatch.hh"
#include "smbd/worker/worker.hh"

namespace smb::server {

void handle_change_notify(const RequestPtr& req) {
  // Change notification is not offered by this server.
  req->reply(NtStatus::NOT_SUPPORTED);
}

}  // namespace smb::server
