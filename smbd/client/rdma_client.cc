#include "smbd/client/rdma_client.hh"

#include <fcntl.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "rdmaproxy/fabric/soft_fabric.hh"
#include "rdmaproxy/fabric/verbs_fabric.hh"
#include "smbd/proto/header.hh"
#include "smbd/proto/read.hh"
#include "smbd/proto/write.hh"

namespace smb::client {

namespace {

constexpr std::size_t kFraming = 4;  // MS-SMB2 2.1 framing on the local socketpair

int timeout_until(std::optional<smbdirect::Clock::time_point> deadline, int cap_ms) {
  if (!deadline) return cap_ms;
  auto left = std::chrono::ceil<std::chrono::milliseconds>(*deadline - smbdirect::Clock::now());
  return static_cast<int>(std::clamp<std::int64_t>(left.count(), 0, cap_ms));
}

Call rdma_call(const Tree& tree, Command command, Bytes body, std::uint32_t length) {
  Call c;
  c.command = command;
  c.session_id = tree.session_id;
  c.tree_id = tree.tree_id;
  c.tree_encrypt = tree.encrypt;
  c.body = std::move(body);
  // The credit charge covers the bytes moved by RDMA (MS-SMB2 3.2.4.6, 3.2.4.7).
  c.response_payload = length;
  return c;
}

}  // namespace

// ---------------------------------------------------------------- buffers

RdmaBuffer::~RdmaBuffer() {
  if (owner_ == nullptr) return;
  std::lock_guard lock(owner_->mutex_);
  owner_->buffers_.erase(this);
  region_.reset();
}

bool RdmaBuffer::valid() const {
  if (owner_ == nullptr) return false;
  std::lock_guard lock(owner_->mutex_);
  return region_ && region_->valid();
}

BufferDescriptorV1 RdmaBuffer::descriptor(std::size_t offset, std::uint32_t length) const {
  return BufferDescriptorV1{base_.offset + offset, base_.token, length};
}

std::unique_ptr<RdmaBuffer> RdmaClient::register_buffer(std::span<std::uint8_t> memory,
                                                        std::string& error) {
  std::lock_guard lock(mutex_);
  if (engine_down_) {
    error = "the SMB Direct connection is down";
    return nullptr;
  }
  auto region = engine_->register_memory(memory, fabric::Access::remote_read_write, error);
  if (!region) return nullptr;
  std::unique_ptr<RdmaBuffer> b(new RdmaBuffer());
  b->owner_ = this;
  b->memory_ = memory;
  b->base_ = {region->remote_base(), region->remote_token(), 0};
  b->region_ = std::move(region);
  buffers_.insert(b.get());
  return b;
}

// ---------------------------------------------------------------- set-up

std::unique_ptr<RdmaClient> RdmaClient::connect(const std::string& host, std::uint16_t port,
                                                const Options& options, const RdmaOptions& rdma) {
  std::unique_ptr<RdmaClient> c(new RdmaClient());
  if (rdma.fabric == FabricKind::soft)
    c->fabric_ = std::make_unique<fabric::SoftFabric>();
  else
    c->fabric_ = std::make_unique<fabric::VerbsFabric>();
  std::string error = smbdirect::validate(rdma.engine);
  if (!error.empty()) throw Error(NtStatus::INVALID_PARAMETER, "SMB Direct config: " + error);
  auto qp = c->fabric_->connect(host, port, smbdirect::queue_pair_config(rdma.engine), error);
  if (!qp)
    throw Error(NtStatus::CONNECTION_DISCONNECTED,
                host + ":" + std::to_string(port) + ": " + error);
  RdmaClient* self = c.get();
  smbdirect::Callbacks callbacks{
      [self] { self->established_ = true; },
      [self](ByteSpan m) {
        std::uint8_t prefix[kFraming] = {0, static_cast<std::uint8_t>(m.size() >> 16),
                                         static_cast<std::uint8_t>(m.size() >> 8),
                                         static_cast<std::uint8_t>(m.size())};
        self->to_smb_.insert(self->to_smb_.end(), prefix, prefix + kFraming);
        self->to_smb_.insert(self->to_smb_.end(), m.begin(), m.end());
      },
      [self](smbdirect::DisconnectReason) { self->engine_down_ = true; }};
  c->engine_ = smbdirect::Connection::create(std::move(qp), smbdirect::Role::client, rdma.engine,
                                             std::move(callbacks), error);
  if (!c->engine_) throw Error(NtStatus::CONNECTION_DISCONNECTED, "SMB Direct: " + error);
  auto give_up = smbdirect::Clock::now() + options.timeout;
  while (!c->established_ && !c->engine_down_) {
    if (smbdirect::Clock::now() > give_up)
      throw Error(NtStatus::IO_TIMEOUT, "SMB Direct negotiation timed out");
    pollfd p{c->engine_->fd(), POLLIN, 0};
    ::poll(&p, 1, timeout_until(c->engine_->next_deadline(), 100));
    c->engine_->process();
  }
  if (!c->established_)
    throw Error(NtStatus::CONNECTION_DISCONNECTED, "SMB Direct negotiation failed");

  int pair[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) != 0)
    throw Error(NtStatus::INSUFFICIENT_RESOURCES,
                std::string("socketpair: ") + std::strerror(errno));
  c->bridge_fd_ = pair[1];
  ::fcntl(c->bridge_fd_, F_SETFL, ::fcntl(c->bridge_fd_, F_GETFL) | O_NONBLOCK);
  c->stop_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  c->smb_ = Connection::adopt(pair[0], options);
  c->thread_ = std::thread([self] { self->bridge(); });
  c->smb_->negotiate();
  return c;
}

RdmaClient::~RdmaClient() {
  smb_.reset();  // the bridge sees EOF and closes the engine
  if (thread_.joinable()) {
    std::uint64_t one = 1;
    if (::write(stop_fd_, &one, sizeof one) < 0) {
      // The thread also stops on EOF of the socketpair.
    }
    thread_.join();
  }
  for (RdmaBuffer* b : buffers_) {  // registrations go before their connection
    b->region_.reset();
    b->owner_ = nullptr;
  }
  buffers_.clear();
  if (engine_) {
    // Orderly close: let the peer see the disconnect (bounded).
    engine_->close();
    auto until = smbdirect::Clock::now() + std::chrono::seconds(2);
    while (!engine_down_ && smbdirect::Clock::now() < until) {
      pollfd p{engine_->fd(), POLLIN, 0};
      ::poll(&p, 1, timeout_until(engine_->next_deadline(), 50));
      engine_->process();
    }
    engine_.reset();
  }
  if (bridge_fd_ >= 0) ::close(bridge_fd_);
  if (stop_fd_ >= 0) ::close(stop_fd_);
}

smbdirect::Negotiated RdmaClient::negotiated() const {
  std::lock_guard lock(mutex_);
  return engine_->negotiated();
}

void RdmaClient::hold_receives(bool hold) { holding_ = hold; }

bool RdmaClient::connected() const {
  std::lock_guard lock(mutex_);
  return !engine_down_;
}

// ---------------------------------------------------------------- the bridge thread

void RdmaClient::bridge() {
  Bytes input(1 << 20);
  std::size_t have = 0;
  bool smb_open = true;
  bool shut = false;
  for (;;) {
    pollfd fds[3];
    int timeout;
    {
      std::lock_guard lock(mutex_);
      bool hold = holding_.load();
      fds[0] = {engine_down_ || hold ? -1 : engine_->fd(), POLLIN, 0};
      short want = smb_open ? POLLIN : 0;
      if (to_smb_sent_ < to_smb_.size()) want |= POLLOUT;
      fds[1] = {shut ? -1 : bridge_fd_, want, 0};
      fds[2] = {stop_fd_, POLLIN, 0};
      timeout = engine_down_ ? 1000 : timeout_until(engine_->next_deadline(), 1000);
      if (hold) timeout = std::min(timeout, 50);  // notices the release
    }
    ::poll(fds, 3, timeout);
    if (fds[2].revents & POLLIN) return;
    std::lock_guard lock(mutex_);
    if (!engine_down_ && !holding_) engine_->process();
    // SMB2 side → engine: whole framed messages.
    while (smb_open && !shut) {
      if (have == input.size()) input.resize(input.size() * 2);
      ssize_t n = ::recv(bridge_fd_, input.data() + have, input.size() - have, MSG_DONTWAIT);
      if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
        smb_open = false;
        if (!engine_down_) engine_->close();
        break;
      }
      if (n < 0) break;
      have += static_cast<std::size_t>(n);
      std::size_t at = 0;
      while (have - at >= kFraming) {
        const std::uint8_t* p = input.data() + at;
        std::size_t length = (std::size_t{p[1]} << 16) | (std::size_t{p[2]} << 8) | p[3];
        if (have - at - kFraming < length) {
          if (kFraming + length > input.size()) input.resize(kFraming + length);
          break;
        }
        if (!engine_down_ && engine_->send(ByteSpan(p + kFraming, length)) != NtStatus::SUCCESS) {
          engine_->close();
        }
        at += kFraming + length;
      }
      std::memmove(input.data(), input.data() + at, have - at);
      have -= at;
    }
    if (!engine_down_ && !holding_) engine_->process();
    // Engine → SMB2 side.
    while (!shut && to_smb_sent_ < to_smb_.size()) {
      ssize_t n = ::send(bridge_fd_, to_smb_.data() + to_smb_sent_, to_smb_.size() - to_smb_sent_,
                         MSG_DONTWAIT | MSG_NOSIGNAL);
      if (n < 0) {
        if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
          to_smb_.clear();
          to_smb_sent_ = 0;
        }
        break;
      }
      to_smb_sent_ += static_cast<std::size_t>(n);
    }
    if (to_smb_sent_ == to_smb_.size()) {
      to_smb_.clear();
      to_smb_sent_ = 0;
    }
    // Once the engine is gone and everything it delivered is out, the SMB2 side sees EOF.
    if (engine_down_ && !shut && to_smb_.empty()) {
      ::shutdown(bridge_fd_, SHUT_RDWR);
      shut = true;
    }
    if (shut && !smb_open) return;
  }
}

// ---------------------------------------------------------------- RDMA READ / WRITE

void RdmaClient::read_async(const Tree& tree, const FileId& file_id, std::uint64_t offset,
                            std::uint32_t length, const RdmaBuffer& buffer,
                            std::size_t buffer_offset, bool invalidate,
                            std::function<void(NtStatus, std::uint32_t)> done) {
  ReadRequest q;
  q.length = length;
  q.offset = offset;
  q.file_id = file_id;
  q.channel = invalidate ? Channel::RDMA_V1_INVALIDATE : Channel::RDMA_V1;
  q.descriptors.push_back(buffer.descriptor(buffer_offset, length));
  smb_->submit(rdma_call(tree, Command::READ, encode_body(q), length), [done = std::move(done)](
                                                                           const Response& r) {
    ReadResponse p;
    NtStatus s = r.status();
    // MS-SMB2 3.2.5.12: over RDMA the data is not in the response.
    if (s == NtStatus::SUCCESS && (decode(r.pdu, p) != NtStatus::SUCCESS || p.data_length != 0))
      s = NtStatus::INVALID_NETWORK_RESPONSE;
    done(s, p.data_remaining);
  });
}

void RdmaClient::write_async(const Tree& tree, const FileId& file_id, std::uint64_t offset,
                             std::uint32_t length, const RdmaBuffer& buffer,
                             std::size_t buffer_offset, bool invalidate,
                             std::function<void(NtStatus, std::uint32_t)> done) {
  WriteRequest q;
  q.data_length = 0;
  q.offset = offset;
  q.file_id = file_id;
  q.channel = invalidate ? Channel::RDMA_V1_INVALIDATE : Channel::RDMA_V1;
  q.remaining_bytes = length;
  q.descriptors.push_back(buffer.descriptor(buffer_offset, length));
  smb_->submit(rdma_call(tree, Command::WRITE, encode_body(q), length),
               [done = std::move(done)](const Response& r) {
                 WriteResponse p;
                 NtStatus s = r.status();
                 if (s == NtStatus::SUCCESS && decode(r.pdu, p) != NtStatus::SUCCESS)
                   s = NtStatus::INVALID_NETWORK_RESPONSE;
                 done(s, p.count);
               });
}

NtStatus RdmaClient::read(const Tree& tree, const FileId& file_id, std::uint64_t offset,
                          std::uint32_t length, const RdmaBuffer& buffer, std::size_t buffer_offset,
                          bool invalidate, std::uint32_t& count) {
  std::optional<NtStatus> result;
  read_async(tree, file_id, offset, length, buffer, buffer_offset, invalidate,
             [&](NtStatus s, std::uint32_t n) {
               result = s;
               count = n;
             });
  smb_->wait_until([&] { return result.has_value(); });
  return *result;
}

NtStatus RdmaClient::write(const Tree& tree, const FileId& file_id, std::uint64_t offset,
                           std::uint32_t length, const RdmaBuffer& buffer,
                           std::size_t buffer_offset, bool invalidate, std::uint32_t& count) {
  std::optional<NtStatus> result;
  write_async(tree, file_id, offset, length, buffer, buffer_offset, invalidate,
              [&](NtStatus s, std::uint32_t n) {
                result = s;
                count = n;
              });
  smb_->wait_until([&] { return result.has_value(); });
  return *result;
}

}  // namespace smb::client
