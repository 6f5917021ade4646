#include "rdmaproxy/smbdirect/connection.hh"

#include <algorithm>
#include <cstring>

namespace smb::smbdirect {
namespace {

constexpr std::uint64_t kRecvTag = std::uint64_t{1} << 56;
constexpr std::uint64_t kSendTag = std::uint64_t{2} << 56;
constexpr std::uint64_t kRdmaTag = std::uint64_t{3} << 56;
constexpr std::uint64_t kTagMask = std::uint64_t{0xFF} << 56;
constexpr std::size_t kMaxRdmaWorkRequests = 256;
constexpr std::size_t kMaxSendSlots = 1024;

NtStatus rdma_status(fabric::Status s) {
  switch (s) {
    case fabric::Status::success:
      return NtStatus::SUCCESS;
    case fabric::Status::remote_access_error:
      return NtStatus::ACCESS_DENIED;
    case fabric::Status::flushed:
    case fabric::Status::not_connected:
      return NtStatus::CONNECTION_DISCONNECTED;
    case fabric::Status::invalid_argument:
    case fabric::Status::local_protection_error:
      return NtStatus::INVALID_PARAMETER;
    default:
      return NtStatus::IO_DEVICE_ERROR;
  }
}

std::size_t send_slot_count(const Config& c) {
  return std::min<std::size_t>(std::size_t{c.send_credit_target} + 1, kMaxSendSlots);
}

}  // namespace

fabric::QueuePairConfig queue_pair_config(const Config& c) {
  fabric::QueuePairConfig q;
  q.max_recv_wr = std::uint32_t{c.receive_credit_max} + 1;
  q.max_send_wr = static_cast<std::uint32_t>(send_slot_count(c) + kMaxRdmaWorkRequests);
  return q;
}

std::string validate(const Config& c) {
  if (c.receive_credit_max == 0) return "receive_credit_max must be at least 1";
  if (c.send_credit_target == 0) return "send_credit_target must be at least 1";
  if (c.max_send_size < kMinReceiveSize) return "max_send_size must be at least 128";
  if (c.max_receive_size < kMinReceiveSize) return "max_receive_size must be at least 128";
  if (c.max_fragmented_size < kMinFragmentedSize)
    return "max_fragmented_size must be at least 131072";
  std::uint64_t capacity =
      std::uint64_t{c.receive_credit_max} * (c.max_receive_size - kDataTransferHeaderSize);
  if (c.max_fragmented_size > capacity)
    return "max_fragmented_size exceeds receive_credit_max x (max_receive_size - 24)";
  if (c.max_read_write_size == 0) return "max_read_write_size must be nonzero";
  if (c.keepalive_interval.count() <= 0 || c.keepalive_timeout.count() <= 0 ||
      c.negotiate_timeout.count() <= 0)
    return "timers must be positive";
  if (c.max_rdma_descriptors == 0 || c.max_rdma_descriptors > kMaxRdmaWorkRequests)
    return "max_rdma_descriptors must be within 1..256";
  return {};
}

std::string_view reason_name(DisconnectReason r) {
  switch (r) {
    case DisconnectReason::local_close:
      return "local_close";
    case DisconnectReason::peer_close:
      return "peer_close";
    case DisconnectReason::connection_lost:
      return "connection_lost";
    case DisconnectReason::protocol_error:
      return "protocol_error";
    case DisconnectReason::negotiate_failed:
      return "negotiate_failed";
    case DisconnectReason::negotiate_timeout:
      return "negotiate_timeout";
    case DisconnectReason::keepalive_timeout:
      return "keepalive_timeout";
  }
  return "unknown";
}

Connection::Connection(std::unique_ptr<fabric::QueuePair> qp, Role role, const Config& config,
                       Callbacks callbacks)
    : qp_(std::move(qp)), role_(role), config_(config), callbacks_(std::move(callbacks)) {}

Connection::~Connection() {
  // Registrations go before the queue pair that owns their protection domain.
  recv_region_.reset();
  send_region_.reset();
}

std::unique_ptr<Connection> Connection::create(std::unique_ptr<fabric::QueuePair> qp, Role role,
                                               const Config& config, Callbacks callbacks,
                                               std::string& error) {
  error = validate(config);
  if (!error.empty()) return nullptr;
  if (!qp) {
    error = "no queue pair";
    return nullptr;
  }
  std::unique_ptr<Connection> c(new Connection(std::move(qp), role, config, std::move(callbacks)));
  c->negotiate_deadline_ = Clock::now() + config.negotiate_timeout;
  if (role == Role::server) {
    // 3.1.4.2 / 3.1.5.6: receives are posted before the connection is accepted, so the
    // peer's Negotiate Request always finds one.
    if (!c->setup_buffers(error)) return nullptr;
    for (std::size_t i = 0; i < c->recv_slots_; ++i) {
      if (!c->post_receive(i)) {
        error = "posting receives failed";
        return nullptr;
      }
    }
    if (c->qp_->accept() != fabric::Status::success) {
      error = "accept failed";
      return nullptr;
    }
  }
  return c;
}

bool Connection::setup_buffers(std::string& error) {
  recv_slots_ = std::size_t{config_.receive_credit_max} + 1;  // one reserve, see credits_to_grant
  recv_memory_.assign(recv_slots_ * config_.max_receive_size, 0);
  recv_region_ = qp_->register_memory(recv_memory_, fabric::Access::local, error);
  if (!recv_region_) return false;
  std::size_t slots = send_slot_count(config_);
  send_memory_.assign(slots * config_.max_send_size, 0);
  send_region_ = qp_->register_memory(send_memory_, fabric::Access::local, error);
  if (!send_region_) return false;
  free_send_slots_.clear();
  for (std::size_t i = slots; i-- > 0;) free_send_slots_.push_back(i);
  return true;
}

bool Connection::post_receive(std::size_t slot) {
  fabric::LocalBuffer b{recv_region_.get(), slot * config_.max_receive_size,
                        config_.max_receive_size};
  if (qp_->post_recv(kRecvTag | slot, b) != fabric::Status::success) return false;
  ++recv_posted_;
  return true;
}

std::optional<Clock::time_point> Connection::next_deadline() const {
  switch (state_) {
    case State::connecting:
    case State::negotiating:
      return negotiate_deadline_;
    case State::established:
      return keepalive_ == Keepalive::none ? idle_deadline_ : keepalive_deadline_;
    default:
      return std::nullopt;
  }
}

void Connection::process(Clock::time_point now) {
  fabric::Completion batch[32];
  std::size_t n;
  do {
    n = qp_->poll(batch);
    for (std::size_t i = 0; i < n; ++i) on_completion(batch[i]);
  } while (n == std::size(batch));
  check_timers(now);
  pump_sends();
}

void Connection::check_timers(Clock::time_point now) {
  if ((state_ == State::connecting || state_ == State::negotiating) && now >= negotiate_deadline_)
    return terminate(DisconnectReason::negotiate_timeout);
  if (state_ != State::established) return;
  // 3.1.6.2: an idle connection sends an empty message with RESPONSE_REQUESTED;
  // 3.1.6.3: no message at all before the idle timer expires ends the connection.
  if (keepalive_ == Keepalive::none && now >= idle_deadline_) {
    keepalive_ = Keepalive::pending;
    keepalive_deadline_ = now + config_.keepalive_timeout;
  } else if (keepalive_ != Keepalive::none && now >= keepalive_deadline_) {
    terminate(DisconnectReason::keepalive_timeout);
  }
}

void Connection::on_completion(const fabric::Completion& c) {
  using fabric::CompletionKind;
  switch (c.kind) {
    case CompletionKind::established:
      return on_established_now();
    case CompletionKind::disconnected:
      return finish(c.status == fabric::Status::success ? DisconnectReason::peer_close
                                                        : DisconnectReason::connection_lost);
    case CompletionKind::recv:
      if ((c.wr_id & kTagMask) != kRecvTag) return;
      if (c.status != fabric::Status::success) {
        if (recv_posted_ > 0) --recv_posted_;
        return;
      }
      return on_receive(static_cast<std::size_t>(c.wr_id & ~kTagMask), c.byte_len);
    case CompletionKind::send:
      if ((c.wr_id & kTagMask) != kSendTag) return;
      free_send_slots_.push_back(static_cast<std::size_t>(c.wr_id & ~kTagMask));
      if (sends_outstanding_ > 0) --sends_outstanding_;
      if (close_after_send_ && sends_outstanding_ == 0 && state_ == State::closing) {
        close_after_send_ = false;
        qp_->disconnect();
      }
      return maybe_finish_close();
    case CompletionKind::rdma_read:
    case CompletionKind::rdma_write: {
      if ((c.wr_id & kTagMask) != kRdmaTag) return;
      auto it = rdma_ops_.find(c.wr_id & ~kTagMask);
      if (it == rdma_ops_.end()) return;
      if (rdma_outstanding_ > 0) --rdma_outstanding_;
      RdmaOp& op = it->second;
      if (c.status != fabric::Status::success && op.status == NtStatus::SUCCESS)
        op.status = rdma_status(c.status);
      if (--op.outstanding == 0) {
        RdmaDone done = std::move(op.done);
        NtStatus status = op.status;
        rdma_ops_.erase(it);
        if (done) done(status);
        maybe_finish_close();
      }
      return;
    }
  }
}

void Connection::on_established_now() {
  if (state_ != State::connecting) return;
  state_ = State::negotiating;
  negotiate_deadline_ = Clock::now() + config_.negotiate_timeout;
  if (role_ == Role::server) return;  // receives were posted before accepting
  std::string error;
  if (!setup_buffers(error)) return terminate(DisconnectReason::connection_lost);
  for (std::size_t i = 0; i < recv_slots_; ++i)
    if (!post_receive(i)) return terminate(DisconnectReason::connection_lost);
  // 3.1.5.2 Sending a Negotiate Request Message.
  NegotiateRequest req;
  req.credits_requested = config_.send_credit_target;
  req.preferred_send_size = config_.max_send_size;
  req.max_receive_size = config_.max_receive_size;
  req.max_fragmented_size = config_.max_fragmented_size;
  Bytes msg;
  encode(req, msg);
  if (!post_raw(msg)) terminate(DisconnectReason::connection_lost);
}

bool Connection::post_raw(const Bytes& message) {
  if (free_send_slots_.empty() || message.size() > config_.max_send_size) return false;
  std::size_t slot = free_send_slots_.back();
  std::memcpy(send_memory_.data() + slot * config_.max_send_size, message.data(), message.size());
  fabric::LocalBuffer b{send_region_.get(), slot * config_.max_send_size, message.size()};
  if (qp_->post_send(kSendTag | slot, b) != fabric::Status::success) return false;
  free_send_slots_.pop_back();
  ++sends_outstanding_;
  return true;
}

void Connection::on_receive(std::size_t slot, std::uint32_t length) {
  if (recv_posted_ > 0) --recv_posted_;
  if (slot >= recv_slots_ || length > config_.max_receive_size)
    return terminate(DisconnectReason::protocol_error);
  ByteSpan msg(recv_memory_.data() + slot * config_.max_receive_size, length);
  if (state_ == State::negotiating) {
    Bytes copy(msg.begin(), msg.end());
    if (!post_receive(slot)) return terminate(DisconnectReason::connection_lost);
    if (role_ == Role::server)
      on_negotiate_request(copy);
    else
      on_negotiate_response(copy);
    return;
  }
  if (state_ != State::established && state_ != State::closing) return;
  // A peer may only send with a credit we granted (3.1.5.1).
  if (recv_granted_ == 0) return terminate(DisconnectReason::protocol_error);
  --recv_granted_;
  ++counters_.fragments_received;
  DataTransfer dt;
  if (decode_data_transfer(msg, negotiated_.max_fragmented_recv_size, dt) != NtStatus::SUCCESS)
    return terminate(DisconnectReason::protocol_error);
  on_data_transfer(dt);
  if (state_ != State::established && state_ != State::closing) return;
  if (!post_receive(slot)) return terminate(DisconnectReason::connection_lost);
  // 3.1.5.8: grant the reposted receives promptly when the peer is running low. A
  // credit-only message is answered only when the peer holds no credit at all, so two
  // idle peers do not trade credit messages forever.
  if (!send_immediate_ && queue_.empty() && recv_posted_ > recv_granted_) {
    std::uint32_t target = std::min<std::uint32_t>(recv_credit_target_, config_.receive_credit_max);
    if (recv_granted_ == 0 || (dt.data_length > 0 && recv_granted_ * 2 <= target))
      send_immediate_ = true;
  }
}

void Connection::on_negotiate_request(ByteSpan message) {
  // 3.1.5.6 Receiving a Negotiate Request Message.
  NegotiateRequest req;
  if (decode(message, req) != NtStatus::SUCCESS)
    return terminate(DisconnectReason::negotiate_failed);
  switch (check_negotiate_request(req)) {
    case RequestVerdict::terminate:
      return terminate(DisconnectReason::negotiate_failed);
    case RequestVerdict::not_supported: {
      // 3.1.5.3: a failure response, all other fields zero, then a graceful close.
      NegotiateResponse resp{};
      resp.negotiated_version = 0;
      resp.status = static_cast<std::uint32_t>(NtStatus::NOT_SUPPORTED);
      Bytes out;
      encode(resp, out);
      reason_ = DisconnectReason::negotiate_failed;
      state_ = State::closing;
      if (post_raw(out))
        close_after_send_ = true;
      else
        qp_->disconnect();
      return;
    }
    case RequestVerdict::accept:
      break;
  }
  negotiated_.max_receive_size = std::max<std::uint32_t>(
      kMinReceiveSize, std::min(config_.max_receive_size, req.preferred_send_size));
  negotiated_.max_send_size = std::min(config_.max_send_size, req.max_receive_size);
  negotiated_.max_fragmented_send_size = req.max_fragmented_size;
  negotiated_.max_fragmented_recv_size = config_.max_fragmented_size;
  negotiated_.max_read_write_size = config_.max_read_write_size;
  recv_credit_target_ = req.credits_requested;
  negotiated_.receive_credit_target = recv_credit_target_;

  // 3.1.5.3 Sending a Negotiate Response Message.
  NegotiateResponse resp;
  resp.credits_requested = config_.send_credit_target;
  resp.credits_granted = credits_to_grant();
  recv_granted_ += resp.credits_granted;
  resp.max_read_write_size = negotiated_.max_read_write_size;
  resp.preferred_send_size = negotiated_.max_send_size;
  resp.max_receive_size = negotiated_.max_receive_size;
  resp.max_fragmented_size = negotiated_.max_fragmented_recv_size;
  Bytes out;
  encode(resp, out);
  if (!post_raw(out)) return terminate(DisconnectReason::connection_lost);
  state_ = State::established;
  idle_deadline_ = Clock::now() + config_.keepalive_interval;
  if (callbacks_.on_established) callbacks_.on_established();
}

void Connection::on_negotiate_response(ByteSpan message) {
  // 3.1.5.7 Receiving a Negotiate Response Message.
  NegotiateResponse resp;
  if (decode(message, resp) != NtStatus::SUCCESS ||
      !check_negotiate_response(resp, config_.max_receive_size))
    return terminate(DisconnectReason::negotiate_failed);
  recv_credit_target_ = resp.credits_requested;
  negotiated_.receive_credit_target = recv_credit_target_;
  negotiated_.max_receive_size = std::max<std::uint32_t>(
      kMinReceiveSize, std::min(config_.max_receive_size, resp.preferred_send_size));
  negotiated_.max_send_size = std::min(config_.max_send_size, resp.max_receive_size);
  negotiated_.max_read_write_size = std::min(config_.max_read_write_size, resp.max_read_write_size);
  negotiated_.max_fragmented_send_size = resp.max_fragmented_size;
  negotiated_.max_fragmented_recv_size = config_.max_fragmented_size;
  send_credits_ = resp.credits_granted;
  state_ = State::established;
  idle_deadline_ = Clock::now() + config_.keepalive_interval;
  // The peer holds no credit yet: grant with the first message (3.1.5.1).
  send_immediate_ = true;
  if (callbacks_.on_established) callbacks_.on_established();
}

void Connection::on_data_transfer(const DataTransfer& dt) {
  // 3.1.5.8: credits.
  recv_credit_target_ = dt.credits_requested;
  if (std::uint32_t{send_credits_} + dt.credits_granted > 0xFFFF)
    return terminate(DisconnectReason::protocol_error);
  send_credits_ += dt.credits_granted;
  // Any message answers a keep-alive and restarts the idle timer.
  keepalive_ = Keepalive::none;
  idle_deadline_ = Clock::now() + config_.keepalive_interval;
  if (dt.flags & kResponseRequested) send_immediate_ = true;
  if (dt.data_length == 0) return;

  // Reassembly: RemainingDataLength counts down to 0 over consecutive fragments.
  if (!reassembling_) {
    if (dt.remaining_data_length == 0) {
      ++counters_.messages_received;
      if (callbacks_.on_message) callbacks_.on_message(dt.data);
      return;
    }
    reassembly_.clear();
    reassembly_.reserve(std::size_t{dt.data_length} + dt.remaining_data_length);
    reassembly_.insert(reassembly_.end(), dt.data.begin(), dt.data.end());
    reassembly_remaining_ = dt.remaining_data_length;
    reassembling_ = true;
    return;
  }
  if (dt.data_length > reassembly_remaining_ ||
      reassembly_remaining_ - dt.data_length != dt.remaining_data_length)
    return terminate(DisconnectReason::protocol_error);
  reassembly_.insert(reassembly_.end(), dt.data.begin(), dt.data.end());
  reassembly_remaining_ = dt.remaining_data_length;
  if (reassembly_remaining_ != 0) return;
  reassembling_ = false;
  Bytes whole = std::move(reassembly_);
  reassembly_ = Bytes();
  ++counters_.messages_received;
  if (callbacks_.on_message) callbacks_.on_message(whole);
}

std::uint16_t Connection::credits_to_grant() {
  // 3.1.5.9 Managing Credits Prior to Sending. Every posted receive not yet granted may
  // be granted, up to the peer's CreditsRequested and ReceiveCreditMax. One receive
  // beyond ReceiveCreditMax is kept in reserve for the two cases the section requires a
  // grant: the peer holds no credit, or this side is about to spend its last send credit
  // (which 3.1.5.1 allows only on a message that grants credits).
  std::uint32_t ungranted = recv_posted_ > recv_granted_ ? recv_posted_ - recv_granted_ : 0;
  std::uint32_t target = std::min<std::uint32_t>(recv_credit_target_, config_.receive_credit_max);
  std::uint32_t grant = 0;
  if (recv_granted_ < target) grant = std::min(ungranted, target - recv_granted_);
  if (grant == 0 && ungranted > 0 && (recv_granted_ == 0 || send_credits_ == 1)) grant = 1;
  return static_cast<std::uint16_t>(std::min<std::uint32_t>(grant, 0xFFFF));
}

void Connection::pump_sends() {
  // 3.1.5.1 Sending Upper Layer Messages.
  while (state_ == State::established) {
    bool have_data = !queue_.empty();
    if (!have_data && !send_immediate_ && keepalive_ != Keepalive::pending) break;
    if (send_credits_ == 0 || free_send_slots_.empty()) break;
    std::uint16_t grant = credits_to_grant();
    if (send_credits_ == 1 && grant == 0) break;

    std::size_t slot = free_send_slots_.back();
    std::uint8_t* buf = send_memory_.data() + slot * config_.max_send_size;
    std::uint16_t flags = 0;
    if (keepalive_ == Keepalive::pending) {
      flags |= kResponseRequested;
      keepalive_ = Keepalive::sent;
      ++counters_.keepalives_sent;
    }
    std::uint32_t data_length = 0;
    std::uint32_t remaining = 0;
    std::optional<std::uint32_t> invalidate;
    if (have_data) {
      Outgoing& o = queue_.front();
      std::size_t room = negotiated_.max_send_size - kDataTransferHeaderSize;
      data_length = static_cast<std::uint32_t>(std::min(room, o.data.size() - o.sent));
      remaining = static_cast<std::uint32_t>(o.data.size() - o.sent - data_length);
      std::memcpy(buf + kDataTransferHeaderSize, o.data.data() + o.sent, data_length);
      if (remaining == 0) invalidate = o.invalidate_token;
    }
    // Spending the last credit on data: ask for a prompt answer, which brings credits.
    if (have_data && send_credits_ == 1) flags |= kResponseRequested;
    encode_data_transfer_header(config_.send_credit_target, grant, flags, remaining, data_length,
                                MutableByteSpan(buf, kDataTransferHeaderSize));
    fabric::LocalBuffer b{send_region_.get(), slot * config_.max_send_size,
                          kDataTransferHeaderSize + data_length};
    if (qp_->post_send(kSendTag | slot, b, invalidate) != fabric::Status::success)
      return terminate(DisconnectReason::connection_lost);
    free_send_slots_.pop_back();
    ++sends_outstanding_;
    --send_credits_;
    recv_granted_ += grant;
    send_immediate_ = false;
    if (have_data) {
      ++counters_.fragments_sent;
      Outgoing& o = queue_.front();
      o.sent += data_length;
      if (remaining == 0) {
        queued_bytes_ -= o.data.size();
        queue_.pop_front();
        ++counters_.messages_sent;
      }
    } else {
      ++counters_.credit_only_sent;
    }
  }
  counters_.send_credits = send_credits_;
  counters_.receive_credits = recv_granted_;
  counters_.receives_posted = recv_posted_;
  maybe_finish_close();
}

NtStatus Connection::send(ByteSpan message, std::optional<std::uint32_t> invalidate_token) {
  if (state_ != State::established || close_requested_) return NtStatus::CONNECTION_DISCONNECTED;
  // 3.1.4.1: larger than MaxFragmentedSendSize cannot be sent.
  if (message.empty() || message.size() > negotiated_.max_fragmented_send_size)
    return NtStatus::INVALID_PARAMETER;
  queue_.push_back(Outgoing{Bytes(message.begin(), message.end()), 0, invalidate_token});
  queued_bytes_ += message.size();
  pump_sends();
  return NtStatus::SUCCESS;
}

NtStatus Connection::rdma_write(const fabric::MemoryRegion& region, std::size_t offset,
                                std::span<const BufferDescriptorV1> descriptors, RdmaDone done) {
  return start_rdma(true, region, offset, descriptors, std::move(done));
}

NtStatus Connection::rdma_read(const fabric::MemoryRegion& region, std::size_t offset,
                               std::span<const BufferDescriptorV1> descriptors, RdmaDone done) {
  return start_rdma(false, region, offset, descriptors, std::move(done));
}

NtStatus Connection::start_rdma(bool write, const fabric::MemoryRegion& region, std::size_t offset,
                                std::span<const BufferDescriptorV1> descriptors, RdmaDone done) {
  if (state_ != State::established || close_requested_) return NtStatus::CONNECTION_DISCONNECTED;
  if (descriptors.empty() || descriptors.size() > config_.max_rdma_descriptors)
    return NtStatus::INVALID_PARAMETER;
  std::uint64_t total = 0;
  for (const auto& d : descriptors) {
    if (d.length == 0) return NtStatus::INVALID_PARAMETER;
    total += d.length;
  }
  if (total > negotiated_.max_read_write_size || !in_bounds(offset, total, region.span().size()))
    return NtStatus::INVALID_PARAMETER;
  if (rdma_outstanding_ + descriptors.size() > kMaxRdmaWorkRequests)
    return NtStatus::INSUFFICIENT_RESOURCES;
  std::uint64_t id = next_rdma_op_++ & ~kTagMask;
  RdmaOp& op = rdma_ops_[id];
  op.done = std::move(done);
  std::size_t at = offset;
  for (const auto& d : descriptors) {
    fabric::LocalBuffer local{&region, at, d.length};
    fabric::Status s = write ? qp_->post_rdma_write(kRdmaTag | id, local, d)
                             : qp_->post_rdma_read(kRdmaTag | id, local, d);
    if (s != fabric::Status::success) {
      op.status = rdma_status(s);
      break;
    }
    ++op.outstanding;
    ++rdma_outstanding_;
    at += d.length;
  }
  if (op.outstanding == 0) {
    NtStatus status = op.status;
    rdma_ops_.erase(id);
    return status;
  }
  return NtStatus::SUCCESS;
}

std::unique_ptr<fabric::MemoryRegion> Connection::register_memory(std::span<std::uint8_t> memory,
                                                                  fabric::Access access,
                                                                  std::string& error) {
  return qp_->register_memory(memory, access, error);
}

void Connection::close() {
  if (state_ == State::closing || state_ == State::closed) return;
  if (!reason_) reason_ = DisconnectReason::local_close;
  if (state_ != State::established) {
    state_ = State::closing;
    qp_->disconnect();
    return;
  }
  close_requested_ = true;
  maybe_finish_close();
}

void Connection::maybe_finish_close() {
  if (!close_requested_ || state_ != State::established) return;
  if (!queue_.empty() || sends_outstanding_ > 0 || rdma_outstanding_ > 0) return;
  state_ = State::closing;
  qp_->disconnect();
}

void Connection::terminate(DisconnectReason reason) {
  if (state_ == State::closed) return;
  if (!reason_) reason_ = reason;
  queue_.clear();
  queued_bytes_ = 0;
  state_ = State::closing;
  qp_->disconnect();
}

void Connection::finish(DisconnectReason fallback) {
  if (state_ == State::closed) return;
  state_ = State::closed;
  DisconnectReason reason = reason_.value_or(fallback);
  queue_.clear();
  queued_bytes_ = 0;
  auto ops = std::move(rdma_ops_);
  rdma_ops_.clear();
  rdma_outstanding_ = 0;
  for (auto& [id, op] : ops)
    if (op.done) op.done(NtStatus::CONNECTION_DISCONNECTED);
  if (callbacks_.on_disconnect) callbacks_.on_disconnect(reason);
}

}  // namespace smb::smbdirect
