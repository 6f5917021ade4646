// CLOSE (MS-SMB2 3.3.5.10): the open is taken out and closed for the object store
// (fsa/close.hh); with SMB2_CLOSE_FLAG_POSTQUERY_ATTRIB the response carries the file's
// attributes as they are at the close. It waits for the open's requests in flight
// (open_holds.hh).
#include "smbd/fsa/close.hh"
#include "smbd/proto/close.hh"
#include "smbd/worker/blocking.hh"
#include "smbd/worker/dispatch.hh"
#include "smbd/worker/oplocks.hh"
#include "smbd/worker/worker.hh"

namespace smb::server {

namespace {

void close_now(const RequestPtr& req, const CloseRequest& request) {
  ClientState& client = req->client();
  std::shared_ptr<Open> open(client.take_open(req->file_id).release());
  if (!open) {  // gone while the CLOSE waited (another CLOSE, LOGOFF, TREE_DISCONNECT)
    req->reply(NtStatus::FILE_CLOSED);
    return;
  }
  bool delete_file = !open->pipe && fsa::close_open(client.files(), client.oplocks(), *open);
  bool post_query = (request.flags & kCloseFlagPostqueryAttrib) != 0 && !open->pipe;
  // MS-SMB2 3.3.4.7: the close of a written file changes its directory's entry (its
  // times and size), as the delete does once it is done.
  if (!open->pipe && open->modified && !delete_file) directory_changed(client, open->parent, *open);
  if (!post_query && !delete_file) {
    // Nothing to ask the file system: answered on the loop, without a hop to the pool.
    // The descriptor goes with the last reference to the open, on the loop either way.
    CloseResponse response;
    Response out;
    out.body = encode_body(response);
    out.has_body = true;
    req->complete(std::move(out));
    return;
  }
  auto info = std::make_shared<fsa::FileInfo>();
  auto have_info = std::make_shared<bool>(false);
  run_blocking(
      req->worker.loop(),
      [open, post_query, info, have_info, delete_file]() {
        if (post_query) *have_info = fsa::query_closed_file(*open, *info) == NtStatus::SUCCESS;
        if (delete_file) delete_closed_file(*open);
      },
      [req, open, info, have_info, delete_file]() {
        if (delete_file) directory_changed(req->worker.client(), open->parent, *open);
        CloseResponse response;
        if (*have_info) {
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

}  // namespace

void handle_close(const RequestPtr& req) {
  CloseRequest request;
  if (decode(req->pdu, request) != NtStatus::SUCCESS) {
    req->reply(NtStatus::INVALID_PARAMETER);
    return;
  }
  // The open's requests in flight end first (open_holds.hh); a CLOSE that waited for them
  // looks its session, tree and open up again.
  OpenHolds& holds = req->worker.open_holds();
  if (!holds.held(req->file_id)) {
    close_now(req, request);
    return;
  }
  holds.when_released(req->file_id, [req, request]() {
    if (req->refresh()) close_now(req, request);
  });
}

}  // namespace smb::server
