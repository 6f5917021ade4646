// WRITE (MS-SMB2 3.3.5.13).
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

void handle_write(const RequestPtr& req) {
  WriteRequest request;
  if (decode(req->pdu, request) != NtStatus::SUCCESS) {
    req->reply(NtStatus::INVALID_PARAMETER);
    return;
  }
  Connection* c = req->connection();
  if (request.data.size() > c->max_write_size() ||
      !credit_charge_covers(*req, request.data.size())) {
    req->reply(NtStatus::INVALID_PARAMETER);
    return;
  }
  if (request.channel != Channel::NONE) {
    // rdma: served over an RDMA channel (rdma_io.cc); refused elsewhere.
    if (!serve_rdma_write(req, request)) req->reply(NtStatus::INVALID_PARAMETER);
    return;
  }
  Open& open = *req->open;
  if (open.pipe) {
    NtStatus status = open.pipe->write(request.data);
    if (status != NtStatus::SUCCESS) {
      req->reply(status);
      return;
    }
    WriteResponse response;
    response.count = static_cast<std::uint32_t>(request.data.size());
    req->reply(encode_body(response));
    return;
  }
  if (open.is_directory) {
    req->reply(NtStatus::INVALID_DEVICE_REQUEST);
    return;
  }
  bool append_only = (open.granted_access & 0x00000002u) == 0;
  // MS-FSA 2.1.5.3: all ones means "at the end" only for an append-only open; otherwise
  // offsets are signed and a write may not end past the largest file NTFS allows.
  constexpr std::uint64_t kMaxOffset = 0x7FFFFFFFFFFFFFFFull;
  constexpr std::uint64_t kMaxFileSize = 0xFFFFFFF0000ull;
  bool at_end = request.offset == ~std::uint64_t{0} && append_only;
  if (!at_end && (request.offset > kMaxOffset ||
                  (!request.data.empty() && request.offset >= kMaxFileSize))) {
    req->reply(NtStatus::INVALID_PARAMETER);
    return;
  }
  if (!at_end && !request.data.empty() && request.data.size() >= kMaxFileSize - request.offset) {
    req->reply(NtStatus::DISK_FULL);
    return;
  }
  if ((open.granted_access & (0x00000002u | 0x00000004u)) == 0 || req->tree->read_only) {
    req->reply(NtStatus::ACCESS_DENIED);
    return;
  }
  if (!open.io) {
    req->reply(NtStatus::INVALID_DEVICE_REQUEST);
    return;
  }
  auto io = open.io;
  auto done = std::make_shared<std::size_t>(0);
  auto status = std::make_shared<NtStatus>(NtStatus::SUCCESS);
  std::uint64_t offset = request.offset;
  ByteSpan data = request.data;
  auto keep = req->message;
  run_blocking(
      req->worker.loop(),
      [io, done, status, offset, data, keep, append_only]() {
        // MS-SMB2 3.3.5.13: an offset of all ones with append access writes at the end.
        *status = append_only ? io->append(data, *done) : io->write(offset, data, *done);
      },
      [req, done, status, offset, append_only]() {
        if (*status != NtStatus::SUCCESS) {
          req->reply(*status);
          return;
        }
        if (Open* o = req->client().open(req->file_id); o != nullptr && !append_only)
          o->position = offset + *done;
        WriteResponse response;
        response.count = static_cast<std::uint32_t>(*done);
        req->reply(encode_body(response));
      });
}

}  // namespace smb::server
