// CANCEL (MS-SMB2 3.3.5.16).
#include "smbd/proto/echo.hh"
#include "smbd/worker/dispatch.hh"
#include "smbd/worker/worker.hh"

namespace smb::server {

void Connection::cancel(const Header& request) {
  // Nothing this server does waits on the client's behalf (no change notify, no
  // blocking locks), so no request is ever pending to be cancelled.
  (void)request;
}

}  // namespace smb::server
