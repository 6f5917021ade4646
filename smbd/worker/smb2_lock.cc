// LOCK (MS-SMB2 3.3.5.14).
#include "smbd/proto/echo.hh"
#include "smbd/worker/dispatch.hh"
#include "smbd/worker/worker.hh"

namespace smb::server {

void handle_lock(const RequestPtr& req) {
  // Byte-range locks are not offered by this server yet.
  req->reply(NtStatus::NOT_SUPPORTED);
}

}  // namespace smb::server
