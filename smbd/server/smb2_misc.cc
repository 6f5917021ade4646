// ECHO (MS-SMB2 3.3.5.17), LOCK (3.3.5.14) and CANCEL (3.3.5.16).
#include "proto/echo.hh"
#include "server/dispatch.hh"
#include "server/worker.hh"

namespace smb::server {

void handle_echo(const RequestPtr& req) { req->reply(encode_body(EchoResponse{})); }

void handle_lock(const RequestPtr& req) {
  // Byte-range locks are not offered by this server yet.
  req->reply(NtStatus::NOT_SUPPORTED);
}

void Connection::cancel(const Header& request) {
  // Nothing this server does waits on the client's behalf (no change notify, no
  // blocking locks), so no request is ever pending to be cancelled.
  (void)request;
}

}  // namespace smb::server
