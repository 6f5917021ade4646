// FLUSH (MS-SMB2 3.3.5.11).
#include <algorithm>

#include "smbd/conf/log.hh"
#include "smbd/proto/close.hh"
#include "smbd/proto/create.hh"
#include "smbd/proto/flush.hh"
#include "smbd/proto/read.hh"
#include "smbd/proto/write.hh"
#include "smbd/rpc/pipe.hh"
#include "smbd/rpc/srvsvc.hh"
#include "smbd/worker/access.hh"
#include "smbd/worker/blocking.hh"
#include "smbd/worker/dispatch.hh"
#include "smbd/worker/rdma_io.hh"  // rdma
#include "smbd/worker/oplocks.hh"
#include "smbd/worker/share_modes.hh"
#include "smbd/worker/worker.hh"
#include "smbd/vfs/file_data.hh"
#include "smbd/vfs/security.hh"
#include "smbd/vfs/share.hh"

namespace smb::server {

void handle_flush(const RequestPtr& req) {
  Open& open = *req->open;
  if (open.pipe) {
    req->reply(encode_body(FlushResponse{}));
    return;
  }
  if ((open.granted_access & (0x00000002u | 0x00000004u)) == 0) {
    req->reply(NtStatus::ACCESS_DENIED);
    return;
  }
  if (!open.io) {
    req->reply(NtStatus::INVALID_DEVICE_REQUEST);
    return;
  }
  auto io = open.io;
  auto status = std::make_shared<NtStatus>(NtStatus::SUCCESS);
  run_blocking(
      req->worker.loop(), [io, status]() { *status = io->flush(); },
      [req, status]() {
        if (*status != NtStatus::SUCCESS) {
          req->reply(*status);
          return;
        }
        req->reply(encode_body(FlushResponse{}));
      });
}

}  // namespace smb::server
