// READ (MS-SMB2 3.3.5.12).
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

void handle_read(const RequestPtr& req) {
  ReadRequest request;
  if (decode(req->pdu, request) != NtStatus::SUCCESS) {
    req->reply(NtStatus::INVALID_PARAMETER);
    return;
  }
  Connection* c = req->connection();
  if (request.length > c->max_read_size() || !credit_charge_covers(*req, request.length)) {
    req->reply(NtStatus::INVALID_PARAMETER);
    return;
  }
  // MS-FSA 2.1.5.2: offsets are signed 64-bit; a range past INT64_MAX is invalid.
  constexpr std::uint64_t kMaxOffset = 0x7FFFFFFFFFFFFFFFull;
  if (request.offset > kMaxOffset || request.length > kMaxOffset - request.offset) {
    req->reply(NtStatus::INVALID_PARAMETER);
    return;
  }
  if (request.channel != Channel::NONE) {
    // rdma: served over an RDMA channel (rdma_io.cc); refused elsewhere.
    if (!serve_rdma_read(req, request)) req->reply(NtStatus::INVALID_PARAMETER);
    return;
  }
  // MS-SMB2 3.3.5.12 lets a READ return less than asked: over SMB Direct an inline
  // answer must fit one SMB Direct message of the client's.
  if (request.length > c->max_inline_read()) {
    request.length = static_cast<std::uint32_t>(c->max_inline_read());
    request.minimum_count = std::min(request.minimum_count, request.length);
  }
  Open& open = *req->open;
  if (open.pipe) {
    Bytes data;
    NtStatus status = open.pipe->read(request.length, data);
    if (!nt_success(status) && status != NtStatus::BUFFER_OVERFLOW) {
      req->reply(status);
      return;
    }
    ReadResponse response;
    response.data_length = static_cast<std::uint32_t>(data.size());
    Response out;
    out.status = status;
    out.body = encode_body(response);
    out.body.insert(out.body.end(), data.begin(), data.end());
    out.has_body = true;
    req->complete(std::move(out));
    return;
  }
  if (open.is_directory) {
    req->reply(NtStatus::INVALID_DEVICE_REQUEST);
    return;
  }
  if ((open.granted_access & (0x00000001u | 0x00000020u)) == 0) {
    req->reply(NtStatus::ACCESS_DENIED);
    return;
  }
  if (!open.io) {
    req->reply(NtStatus::INVALID_DEVICE_REQUEST);
    return;
  }
  auto io = open.io;
  auto buffer = std::make_shared<Bytes>(request.length);
  auto done = std::make_shared<std::size_t>(0);
  auto status = std::make_shared<NtStatus>(NtStatus::SUCCESS);
  std::uint64_t offset = request.offset;
  std::uint32_t minimum = request.minimum_count;
  auto finish = [req, buffer, done, status, minimum, offset]() {
    if (*status != NtStatus::SUCCESS) {
      req->reply(*status);
      return;
    }
    // The open may have been closed meanwhile; the read itself still answers.
    if (Open* o = req->client().open(req->file_id)) o->position = offset + *done;
    if (*done < minimum || (*done == 0 && !buffer->empty())) {
      req->reply(NtStatus::END_OF_FILE);
      return;
    }
    ReadResponse response;
    response.data_length = static_cast<std::uint32_t>(*done);
    Response out;
    out.body = encode_body(response);
    out.has_body = true;
    out.payload = ByteSpan(buffer->data(), *done);
    out.keep = buffer;
    req->complete(std::move(out));
  };
  // Data already in the page cache is read on the loop: RWF_NOWAIT fails with EAGAIN
  // instead of waiting for the disk, and only then does the read go to a pool thread.
  if (io->read_nowait(offset, MutableByteSpan(*buffer), *done)) {
    finish();
    return;
  }
  run_blocking(
      req->worker.loop(),
      [io, buffer, done, status, offset]() {
        *status = io->read(offset, MutableByteSpan(*buffer), *done);
      },
      finish);
}

}  // namespace smb::server
