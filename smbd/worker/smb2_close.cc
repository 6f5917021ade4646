// CLOSE (MS-SMB2 3.3.5.10).
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

void handle_close(const RequestPtr& req) {
  CloseRequest request;
  if (decode(req->pdu, request) != NtStatus::SUCCESS) {
    req->reply(NtStatus::INVALID_PARAMETER);
    return;
  }
  std::shared_ptr<Open> open(req->client().take_open(req->file_id).release());
  bool post_query = (request.flags & kCloseFlagPostqueryAttrib) != 0;
  auto info = std::make_shared<vfs::FileInfo>();
  auto have_info = std::make_shared<bool>(false);
  bool last = req->client().settle_delete_on_close(*open);
  run_blocking(
      req->worker.loop(),
      [open, post_query, info, have_info, last]() {
        if (post_query && open->fd && open->fd->valid())
          *have_info = vfs::query_info(open->fd->get(), open->path, *info) == NtStatus::SUCCESS;
        if (last) finish_close(*open);
      },
      [req, open, post_query, info, have_info]() {
        CloseResponse response;
        if (post_query && *have_info) {
          response.flags = kCloseFlagPostqueryAttrib;
          response.creation_time = info->creation_time;
          response.last_access_time = info->last_access_time;
          response.last_write_time = info->last_write_time;
          response.change_time = info->change_time;
          response.allocation_size = info->is_directory ? 0 : info->allocation_size;
          response.end_of_file = info->is_directory ? 0 : info->end_of_file;
          response.file_attributes = info->file_attributes;
        }
        Response out;
        out.body = encode_body(response);
        out.has_body = true;
        req->complete(std::move(out));
      });
}

void finish_close(Open& open) {
  if (!open.fs) return;
  NtStatus status = open.fs->remove(open.path, open.fd ? open.fd->get() : -1);
  if (status != NtStatus::SUCCESS && status != NtStatus::OBJECT_NAME_NOT_FOUND)
    log::notice(nullptr, "delete on close of '%s' failed: %s", open.path.c_str(),
                std::string(nt_status_name(status)).c_str());
}

}  // namespace smb::server
