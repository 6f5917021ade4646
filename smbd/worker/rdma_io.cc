#include "smbd/worker/rdma_io.hh"

#include <vector>

#include "smbd/worker/blocking.hh"
#include "smbd/worker/transport/rdma_transport.hh"
#include "smbd/worker/worker.hh"
#include "smbd/vfs/file_data.hh"

namespace smb::server {

namespace {

namespace rc = rdmachannel;

constexpr std::uint32_t kFileReadData = 0x00000001;
constexpr std::uint32_t kFileWriteData = 0x00000002;
constexpr std::uint32_t kFileAppendData = 0x00000004;
constexpr std::uint32_t kFileExecute = 0x00000020;

// The client's buffers for `length` bytes, in order and trimmed to it; empty when the
// list is unusable (none, too many for one ring request, a zero length, or too small).
std::vector<shmring::BufferDescriptor> buffers_for(const std::vector<BufferDescriptorV1>& list,
                                                   std::uint64_t length) {
  std::vector<shmring::BufferDescriptor> out;
  if (list.empty() || list.size() > shmring::kMaxBuffers) return {};
  std::uint64_t left = length;
  for (const auto& d : list) {
    if (d.length == 0) return {};
    if (left == 0) break;
    std::uint32_t n = static_cast<std::uint32_t>(std::min<std::uint64_t>(d.length, left));
    out.push_back({d.offset, d.token, n});
    left -= n;
  }
  if (left != 0) return {};
  return out;
}

// Common checks of 3.3.5.12 / 3.3.5.13 for an RDMA channel; a status to answer with, or
// SUCCESS to go on.
NtStatus check_channel(const Request& req, Channel channel, std::uint32_t length,
                       RdmaChannelTransport& t) {
  Connection* c = req.connection();
  if (c == nullptr) return NtStatus::CONNECTION_DISCONNECTED;
  // RDMA channels are SMB 3.x; _INVALIDATE came with 3.0.2.
  std::uint16_t dialect = c->negotiated().dialect;
  if (dialect < 0x0300 || (channel == Channel::RDMA_V1_INVALIDATE && dialect < 0x0302))
    return NtStatus::INVALID_PARAMETER;
  if (length > t.max_read_write_size() || !credit_charge_covers(req, length))
    return NtStatus::INVALID_PARAMETER;
  return NtStatus::SUCCESS;
}

// Sends `out` for `req`, with send-with-invalidate of `token` when asked. The token is
// attached only if the response leaves inside complete() (it does unless it is part of a
// compound); otherwise the client invalidates the registration itself.
void complete_with_invalidate(const RequestPtr& req, Response out,
                              std::optional<std::uint32_t> token) {
  if (token) {
    if (auto* t = find_rdma_channel(req->connection_id)) t->invalidate_on_next_send(*token);
  }
  req->complete(std::move(out));
  if (token) {
    if (auto* t = find_rdma_channel(req->connection_id)) t->clear_invalidate();
  }
}

}  // namespace

bool serve_rdma_read(const RequestPtr& req, const ReadRequest& request) {
  RdmaChannelTransport* t = find_rdma_channel(req->connection_id);
  if (t == nullptr || !is_rdma_v1(request.channel)) return false;
  NtStatus checked = check_channel(*req, request.channel, request.length, *t);
  if (checked != NtStatus::SUCCESS) {
    req->reply(checked);
    return true;
  }
  auto buffers = buffers_for(request.descriptors, request.length);
  if (request.length != 0 && buffers.empty()) {
    req->reply(NtStatus::INVALID_PARAMETER);
    return true;
  }
  Open& open = *req->open;
  if (open.pipe) {
    req->reply(NtStatus::INVALID_PARAMETER);
    return true;
  }
  if (open.is_directory) {
    req->reply(NtStatus::INVALID_DEVICE_REQUEST);
    return true;
  }
  if ((open.granted_access & (kFileReadData | kFileExecute)) == 0) {
    req->reply(NtStatus::ACCESS_DENIED);
    return true;
  }
  if (!open.io) {
    req->reply(NtStatus::INVALID_DEVICE_REQUEST);
    return true;
  }
  std::optional<std::uint32_t> token;
  if (request.channel == Channel::RDMA_V1_INVALIDATE) token = request.descriptors.front().token;
  auto io = open.io;
  std::uint64_t offset = request.offset;
  std::uint32_t length = request.length;
  std::uint32_t minimum = request.minimum_count;
  t->with_slot([req, io, offset, length, minimum, buffers, token](SlotPtr slot) {
    if (!slot) {
      req->reply(NtStatus::CONNECTION_DISCONNECTED);
      return;
    }
    auto done = std::make_shared<std::size_t>(0);
    auto status = std::make_shared<NtStatus>(NtStatus::SUCCESS);
    MutableByteSpan into(slot->bytes.data(), length);
    run_blocking(
        req->worker.loop(),
        [io, into, offset, done, status]() { *status = io->read(offset, into, *done); },
        [req, slot, done, status, minimum, length, buffers, token]() {
          if (!req->refresh()) return;
          if (*status != NtStatus::SUCCESS) {
            req->reply(*status);
            return;
          }
          if (*done < minimum || (*done == 0 && length != 0)) {
            req->reply(NtStatus::END_OF_FILE);
            return;
          }
          auto bytes = static_cast<std::uint32_t>(*done);
          auto respond = [req, bytes, token](NtStatus s) {
            if (s != NtStatus::SUCCESS) {
              req->reply(s);
              return;
            }
            // MS-SMB2 3.3.5.12: the data went by RDMA: DataLength 0, DataRemaining the
            // number of bytes written to the client's buffers.
            ReadResponse response;
            response.data_length = 0;
            response.data_remaining = bytes;
            Response out;
            out.body = encode_body(response);
            // No Buffer byte: cifs.ko counts the RDMA'd bytes as read and never consumes
            // bytes after the 16-byte fixed part of this response, so a padding byte would
            // shift every message it reads after it.
            out.body.resize(16);
            out.has_body = true;
            complete_with_invalidate(req, std::move(out), token);
          };
          if (bytes == 0) {
            respond(NtStatus::SUCCESS);
            return;
          }
          auto* channel = find_rdma_channel(req->connection_id);
          if (channel == nullptr) return;
          auto trimmed = buffers_for(
              [&] {
                std::vector<BufferDescriptorV1> l;
                for (const auto& b : buffers) l.push_back({b.offset, b.token, b.length});
                return l;
              }(),
              bytes);
          channel->transfer(rc::RingOp::RDMA_WRITE, slot, bytes, trimmed,
                            [respond, slot](NtStatus s) { respond(s); });
        });
  });
  return true;
}

bool serve_rdma_write(const RequestPtr& req, const WriteRequest& request) {
  RdmaChannelTransport* t = find_rdma_channel(req->connection_id);
  if (t == nullptr || !is_rdma_v1(request.channel)) return false;
  // MS-SMB2 3.3.5.13: with an RDMA channel the data is not in the message; RemainingBytes
  // is its length and the channel info describes where it is.
  std::uint32_t length = request.remaining_bytes;
  if (!request.data.empty()) {
    req->reply(NtStatus::INVALID_PARAMETER);
    return true;
  }
  NtStatus checked = check_channel(*req, request.channel, length, *t);
  if (checked == NtStatus::SUCCESS && length > req->worker.config().conf.global.smb2_max_write)
    checked = NtStatus::INVALID_PARAMETER;
  if (checked != NtStatus::SUCCESS) {
    req->reply(checked);
    return true;
  }
  auto buffers = buffers_for(request.descriptors, length);
  if (length != 0 && buffers.empty()) {
    req->reply(NtStatus::INVALID_PARAMETER);
    return true;
  }
  Open& open = *req->open;
  if (open.pipe) {
    req->reply(NtStatus::INVALID_PARAMETER);
    return true;
  }
  if (open.is_directory) {
    req->reply(NtStatus::INVALID_DEVICE_REQUEST);
    return true;
  }
  if ((open.granted_access & (kFileWriteData | kFileAppendData)) == 0 || req->tree->read_only) {
    req->reply(NtStatus::ACCESS_DENIED);
    return true;
  }
  if (!open.io) {
    req->reply(NtStatus::INVALID_DEVICE_REQUEST);
    return true;
  }
  bool append_only = (open.granted_access & kFileWriteData) == 0;
  std::optional<std::uint32_t> token;
  if (request.channel == Channel::RDMA_V1_INVALIDATE) token = request.descriptors.front().token;
  auto io = open.io;
  std::uint64_t offset = request.offset;
  auto respond = [req, token](std::uint32_t count) {
    WriteResponse response;
    response.count = count;
    response.remaining = 0;
    Response out;
    out.body = encode_body(response);
    out.has_body = true;
    complete_with_invalidate(req, std::move(out), token);
  };
  if (length == 0) {
    respond(0);
    return true;
  }
  // The client's data is RDMA-read into the slot, then copied once into the file; for
  // a pmem share that copy is the persisting store into the mapping (vfs::FileData::write).
  // Reading straight into the mapping (push mode) needs the mapping registered with
  // the device by rdmaproxy, which is not done.
  t->with_slot([req, io, offset, length, buffers, append_only, respond](SlotPtr slot) {
    if (!slot) {
      req->reply(NtStatus::CONNECTION_DISCONNECTED);
      return;
    }
    auto* channel = find_rdma_channel(req->connection_id);
    if (channel == nullptr) return;
    channel->transfer(rc::RingOp::RDMA_READ, slot, length, buffers,
                      [req, io, offset, length, append_only, respond, slot](NtStatus s) {
                        if (s != NtStatus::SUCCESS) {
                          req->reply(s);
                          return;
                        }
                        auto done = std::make_shared<std::size_t>(0);
                        auto status = std::make_shared<NtStatus>(NtStatus::SUCCESS);
                        ByteSpan data(slot->bytes.data(), length);
                        run_blocking(
                            req->worker.loop(),
                            [io, done, status, offset, data, append_only]() {
                              // MS-SMB2 3.3.5.13: all ones with append access writes at the end.
                              *status = offset == ~std::uint64_t{0} || append_only
                                            ? io->append(data, *done)
                                            : io->write(offset, data, *done);
                            },
                            [req, done, status, respond, slot]() {
                              if (!req->refresh()) return;
                              if (*status != NtStatus::SUCCESS) {
                                req->reply(*status);
                                return;
                              }
                              respond(static_cast<std::uint32_t>(*done));
                            });
                      });
  });
  return true;
}

}  // namespace smb::server
