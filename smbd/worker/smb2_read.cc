// READ (MS-SMB2 3.3.5.12): decode, the MS-FSA read rules (fsa/read_write.hh), the file
// read into memory the connection's transport provides, then the data on its way to the
// client, inline in the response or by RDMA into the client's buffers; the transport
// decides which and the rules are the same for both.
#include <algorithm>
#include <memory>

#include "smbd/fsa/read_write.hh"
#include "smbd/proto/read.hh"
#include "smbd/rpc/pipe.hh"
#include "smbd/worker/blocking.hh"
#include "smbd/worker/dispatch.hh"
#include "smbd/worker/read_memory.hh"
#include "smbd/worker/worker.hh"

namespace smb::server {

namespace {

// The READ's data and its share of the connection's READ memory, which go together once
// the response has been sent.
struct HeldRead {
  std::shared_ptr<ReadData> data;
  ReadMemory::Grant grant;
};

// Hands the first `count` bytes of `data` to the client and answers with `status`.
void answer(const RequestPtr& req, const std::shared_ptr<HeldRead>& held, std::uint32_t count,
            NtStatus status) {
  const std::shared_ptr<ReadData>& data = held->data;
  data->deliver(count, [req, held, status](NtStatus delivered, ReadDelivery d) {
    if (delivered != NtStatus::SUCCESS) {
      req->reply(delivered);
      return;
    }
    ReadResponse response;
    response.data_length = d.data_length;
    response.data_remaining = d.data_remaining;
    // Data sent inline only: an RDMA READ's response is the fixed part alone.
    if (Connection* c = req->connection(); c != nullptr && d.data_length != 0)
      response.body_padding = c->read_response_padding();
    Response out;
    out.status = status;
    out.body = encode_body(response);
    out.has_body = true;
    out.payload = d.payload;
    out.payload_private = d.payload_private;
    out.keep = held;
    out.invalidate_token = d.invalidate_token;
    req->complete(std::move(out));
  });
}

// A named pipe: the next message, or as much of it as fits (BUFFER_OVERFLOW).
void read_pipe(const RequestPtr& req, const std::shared_ptr<HeldRead>& held) {
  Open* open = req->client().open(req->file_id);
  if (open == nullptr || !open->pipe) {
    req->reply(NtStatus::FILE_CLOSED);
    return;
  }
  MutableByteSpan into = held->data->buffer();
  Bytes message;
  NtStatus status = open->pipe->read(into.size(), message);
  if (!nt_success(status) && status != NtStatus::BUFFER_OVERFLOW) {
    req->reply(status);
    return;
  }
  std::size_t n = std::min(message.size(), into.size());
  std::copy_n(message.begin(), n, into.begin());
  answer(req, held, static_cast<std::uint32_t>(n), status);
}

void read_file(const RequestPtr& req, const std::shared_ptr<HeldRead>& held,
               std::shared_ptr<vfs::FileData> io, std::uint64_t offset, std::uint32_t minimum_count,
               vfs::LoopRead in_memory) {
  MutableByteSpan into = held->data->buffer();
  auto done = std::make_shared<std::size_t>(0);
  auto status = std::make_shared<NtStatus>(NtStatus::SUCCESS);
  auto finish = [req, held, done, status, offset, minimum_count, length = into.size()]() {
    if (*status != NtStatus::SUCCESS) {
      req->reply(*status);
      return;
    }
    // The open may have been closed meanwhile; the read itself still answers.
    if (Open* o = req->client().open(req->file_id))
      o->position = fsa::position_after_read(offset, *done);
    NtStatus counted =
        fsa::check_read_count(*done, static_cast<std::uint32_t>(length), minimum_count);
    if (counted != NtStatus::SUCCESS) {
      req->reply(counted);
      return;
    }
    answer(req, held, static_cast<std::uint32_t>(*done), NtStatus::SUCCESS);
  };
  // Data already in the page cache is read on the loop; only then does a read go to a
  // pool thread.
  if (fsa::read_without_waiting(*io, offset, into, *done, in_memory)) {
    finish();
    return;
  }
  run_blocking(
      req->worker.loop(),
      [io, into, done, status, offset]() { *status = fsa::read(*io, offset, into, *done); },
      finish);
}

}  // namespace

void handle_read(const RequestPtr& req) {
  ReadRequest request;
  if (decode(req->pdu, request) != NtStatus::SUCCESS) {
    req->reply(NtStatus::INVALID_PARAMETER);
    return;
  }
  Connection* c = req->connection();
  if (request.length > c->max_read_size()) {
    req->reply(NtStatus::INVALID_PARAMETER);
    return;
  }
  DataChannel channel{request.channel, request.descriptors};
  NtStatus status = c->transport().check_channel(channel, request.length, c->negotiated().dialect);
  // Bytes moved by RDMA cross the fabric as they are: no transform header covers them
  // (this server negotiates no RDMA transform, MS-SMB2 2.2.3.1.6). A request whose data
  // must be encrypted is refused an RDMA channel, as an unencrypted request on such a
  // session or share is (MS-SMB2 3.3.5.2.9, 3.3.5.2.11), so the client sends the data
  // inline, inside the encrypted message.
  if (status == NtStatus::SUCCESS && request.channel != Channel::NONE && req->needs_encryption())
    status = NtStatus::ACCESS_DENIED;
  if (status == NtStatus::SUCCESS) status = fsa::check_read_range(request.offset, request.length);
  if (status != NtStatus::SUCCESS) {
    req->reply(status);
    return;
  }
  // MS-SMB2 3.3.5.12 lets a READ return less than asked: data sent in the response must
  // fit one message of the client's (over SMB Direct, its MaxFragmentedRecvSize).
  std::uint32_t length = request.length;
  std::uint32_t minimum_count = request.minimum_count;
  if (request.channel == Channel::NONE && length > c->max_inline_read()) {
    length = static_cast<std::uint32_t>(c->max_inline_read());
    minimum_count = std::min(minimum_count, length);
  }
  Open& open = *req->open;
  bool pipe = open.pipe != nullptr;
  // An answer that is signed or encrypted is read on the loop from a file system that
  // holds its pages in memory, whatever its size: the loop then signs it (or hands it to
  // a pool thread to encrypt) without the data going to a pool thread and back first.
  const bool protected_answer = req->needs_encryption() || (req->header.flags & kFlagSigned) != 0 ||
                                (req->session != nullptr && req->session->signing_required);
  const vfs::LoopRead in_memory =
      protected_answer ? vfs::LoopRead::any_size : vfs::LoopRead::small_only;
  if (!pipe) {
    status = fsa::check_read({.granted_access = open.granted_access,
                              .is_directory = open.is_directory,
                              .io = open.io.get()});
    // MS-FSA 2.1.5.3: not from another open's exclusive lock.
    fsa::ByteRangeLocks* locks = req->client().locks();
    if (status == NtStatus::SUCCESS && locks != nullptr)
      status = locks->check_io(lock_owner_of(open), request.offset, request.length, false);
    if (status != NtStatus::SUCCESS) {
      req->reply(status);
      return;
    }
  }
  // The buffer is taken once the connection's READ memory has room for it (a READ may
  // wait for earlier READs' data to be sent; read_memory.hh).
  auto decoded = std::make_shared<ReadRequest>(std::move(request));
  auto start = [req, pipe, io = open.io, decoded, minimum_count, length, in_memory](
                   NtStatus admitted, ReadMemory::Grant grant) {
    if (admitted != NtStatus::SUCCESS) {
      req->reply(admitted);
      return;
    }
    // The descriptors of an RDMA channel live in `decoded`, which the read keeps.
    auto read = [req, pipe, io, decoded, minimum_count, grant, in_memory](
                    NtStatus prepared, std::shared_ptr<ReadData> data) {
      if (prepared != NtStatus::SUCCESS) {
        req->reply(prepared);
        return;
      }
      // Over RDMA this runs once a data slot is free, and after a wait for READ memory
      // outside the request's turn on the loop: look the request up again, which also
      // takes its user's identity back on.
      if (!req->refresh()) return;
      auto held = std::make_shared<HeldRead>(HeldRead{std::move(data), grant});
      if (pipe)
        read_pipe(req, held);
      else
        read_file(req, held, io, decoded->offset, minimum_count, in_memory);
    };
    Connection* connection = req->connection();
    if (connection == nullptr) return;
    DataChannel channel_now{decoded->channel, decoded->descriptors};
    connection->transport().prepare_read(channel_now, length, std::move(read));
  };
  c->read_memory().acquire(length, req->message, c->max_read_size(), std::move(start));
}

}  // namespace smb::server
