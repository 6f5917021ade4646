// ECHO (MS-SMB2 3.3.5.17).
#include "smbd/proto/echo.hh"
#include "smbd/worker/dispatch.hh"
#include "smbd/worker/worker.hh"

namespace smb::server {

void handle_echo(const RequestPtr& req) { req->reply(encode_body(EchoResponse{})); }

}  // namespace smb::server
