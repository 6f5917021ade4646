// WRITE (MS-SMB2 3.3.5.13): decode, the MS-FSA write rules (fsa/read_write.hh), the
// client's data brought here by the connection's transport (inline in the request, or by
// RDMA from the client's buffers), then the file written from it. The transport decides
// how the bytes move; the rules are the same for both.
#include <memory>

#include "smbd/fsa/read_write.hh"
#include "smbd/proto/write.hh"
#include "smbd/rpc/pipe.hh"
#include "smbd/vfs/file.hh"
#include "smbd/worker/blocking.hh"
#include "smbd/worker/dispatch.hh"
#include "smbd/worker/info_classes.hh"
#include "smbd/worker/worker.hh"

namespace smb::server {

namespace {

void answer(const RequestPtr& req, std::size_t count,
            std::optional<std::uint32_t> invalidate_token) {
  WriteResponse response;
  response.count = static_cast<std::uint32_t>(count);
  Response out;
  out.body = encode_body(response);
  out.has_body = true;
  out.invalidate_token = invalidate_token;
  req->complete(std::move(out));
}

void write_pipe(const RequestPtr& req, const WriteData& data) {
  Open* open = req->client().open(req->file_id);
  if (open == nullptr || !open->pipe) {
    req->reply(NtStatus::FILE_CLOSED);
    return;
  }
  NtStatus status = open->pipe->write(data.bytes);
  if (status != NtStatus::SUCCESS) {
    req->reply(status);
    return;
  }
  answer(req, data.bytes.size(), data.invalidate_token);
}

// What the first WRITE of an open also does: set ARCHIVE, as Windows does once a file's
// data changes, on shares that store DOS attributes.
struct AfterWrite {
  std::shared_ptr<UniqueFd> fd;
  std::string name;
  bool mark_archive = false;
  // MS-FSA 2.1.5.14.2 Open.UserSetModificationTime: the write time to put back.
  std::optional<std::uint64_t> write_time;
};

AfterWrite after_write(const RequestPtr& req) {
  Open* open = req->client().open(req->file_id);
  if (open == nullptr) return {};
  AfterWrite after{open->fd, last_component(open->path)};
  after.mark_archive = !open->archive_marked && req->tree->new_file.store_dos_attributes;
  open->archive_marked = true;
  after.write_time = open->frozen_write_time;
  return after;
}

void write_file(const RequestPtr& req, const WriteData& data, std::shared_ptr<vfs::FileData> io,
                fsa::WritePosition where) {
  auto done = std::make_shared<std::size_t>(0);
  auto status = std::make_shared<NtStatus>(NtStatus::SUCCESS);
  run_blocking(
      req->worker.loop(),
      [io, data, where, done, status, after = after_write(req)]() {
        *status = fsa::write(*io, where, data.bytes, *done);
        if (*status != NtStatus::SUCCESS || !after.fd) return;
        if (after.mark_archive) (void)vfs::mark_archive(after.fd->get(), after.name);
        if (after.write_time) (void)vfs::set_last_write_time(after.fd->get(), *after.write_time);
      },
      [req, done, status, where, invalidate = data.invalidate_token]() {
        if (*status != NtStatus::SUCCESS) {
          req->reply(*status);
          return;
        }
        if (Open* o = req->client().open(req->file_id)) {
          if (auto position = fsa::position_after_write(where, *done)) o->position = *position;
        }
        answer(req, *done, invalidate);
      });
}

}  // namespace

void handle_write(const RequestPtr& req) {
  WriteRequest request;
  if (decode(req->pdu, request) != NtStatus::SUCCESS) {
    req->reply(NtStatus::INVALID_PARAMETER);
    return;
  }
  // MS-SMB2 3.3.5.13: with an RDMA channel the data is not in the message; RemainingBytes
  // is its length.
  bool in_message = request.channel == Channel::NONE;
  if (!in_message && !request.data.empty()) {
    req->reply(NtStatus::INVALID_PARAMETER);
    return;
  }
  std::uint32_t length =
      in_message ? static_cast<std::uint32_t>(request.data.size()) : request.remaining_bytes;
  Connection* c = req->connection();
  if (length > c->max_write_size()) {
    req->reply(NtStatus::INVALID_PARAMETER);
    return;
  }
  DataChannel channel{request.channel, request.descriptors};
  NtStatus status = c->transport().check_channel(channel, length, c->negotiated().dialect);
  // Bytes moved by RDMA cross the fabric as they are: no transform header covers them
  // (this server negotiates no RDMA transform, MS-SMB2 2.2.3.1.6). A request whose data
  // must be encrypted is refused an RDMA channel, as an unencrypted request on such a
  // session or share is (MS-SMB2 3.3.5.2.9, 3.3.5.2.11), so the client sends the data
  // inline, inside the encrypted message.
  if (status == NtStatus::SUCCESS && request.channel != Channel::NONE && req->needs_encryption())
    status = NtStatus::ACCESS_DENIED;
  if (status != NtStatus::SUCCESS) {
    req->reply(status);
    return;
  }
  Open& open = *req->open;
  bool pipe = open.pipe != nullptr;
  fsa::WritePosition where;
  if (!pipe) {
    status = fsa::check_write({.granted_access = open.granted_access,
                               .is_directory = open.is_directory,
                               .read_only_share = req->tree->read_only,
                               .io = open.io.get()},
                              request.offset, length, where);
    // MS-FSA 2.1.5.4: not into another open's lock, nor into a shared lock. A WRITE at the
    // end of the file (append-only opens) is not checked: its offset is known only then.
    fsa::ByteRangeLocks* locks = req->client().locks();
    if (status == NtStatus::SUCCESS && locks != nullptr && !where.at_end)
      status = locks->check_io(lock_owner_of(open), where.offset, length, true);
    if (status != NtStatus::SUCCESS) {
      req->reply(status);
      return;
    }
    // MS-FSA 2.1.5.3 (2.1.4.12): a write breaks the read caching of the file's opens.
    if (fsa::SharedOpenTable* table = req->client().host_files(); table && open.caching_in_table)
      table->break_readers(open);
    // The close of a written file changes its directory's entry (directory_changed).
    open.modified = true;
  }
  auto write = [req, pipe, io = open.io, where](NtStatus received, WriteData data) {
    if (received != NtStatus::SUCCESS) {
      req->reply(received);
      return;
    }
    // Over RDMA this runs once the client's data has been read into a slot, outside the
    // request's turn on the loop: look the request up again, which also takes its user's
    // identity back on.
    if (!req->refresh()) return;
    if (pipe)
      write_pipe(req, data);
    else
      write_file(req, data, io, where);
  };
  c->transport().receive_write_data(channel, request.data, req->message, length, std::move(write));
}

}  // namespace smb::server
