// CHANGE_NOTIFY (MS-SMB2 3.3.5.19).
#include "smbd/proto/fscc.hh"
#include "smbd/proto/query_directory.hh"
#include "smbd/worker/blocking.hh"
#include "smbd/worker/dispatch.hh"
#include "smbd/worker/worker.hh"
#include "smbd/vfs/dir.hh"

namespace smb::server {

void handle_change_notify(const RequestPtr& req) {
  // Change notification is not offered by this server.
  req->reply(NtStatus::NOT_SUPPORTED);
}

}  // namespace smb::server
