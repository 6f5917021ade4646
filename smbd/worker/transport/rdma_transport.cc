#include "smbd/worker/transport/rdma_transport.hh"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <vector>

#include "shmring/channel.hh"
#include "shmring/slot_pool.hh"
#include "smbd/base/fd_passing.hh"
#include "smbd/base/wire.hh"
#include "smbd/conf/log.hh"
#include "smbd/master/control.hh"

namespace smb::server {

namespace rc = rdmachannel;

namespace {

// The client's buffers for `length` bytes, in order and trimmed to it; nullopt when the
// list cannot carry them: none, more than one ring request holds, a zero length before
// `length` is reached, or too little room in all. Any list carries zero bytes.
std::optional<std::vector<BufferDescriptorV1>> buffers_for(std::span<const BufferDescriptorV1> list,
                                                           std::uint32_t length) {
  std::vector<BufferDescriptorV1> out;
  if (length == 0) return out;
  if (list.empty() || list.size() > shmring::kMaxBuffers) return std::nullopt;
  std::uint32_t left = length;
  for (const auto& d : list) {
    if (left == 0) break;
    if (d.length == 0) return std::nullopt;
    std::uint32_t n = std::min(d.length, left);
    out.push_back({d.offset, d.token, n});
    left -= n;
  }
  if (left != 0) return std::nullopt;
  return out;
}

// MS-SMB2 3.3.5.12, 3.3.5.13: with SMB2_CHANNEL_RDMA_V1_INVALIDATE the response goes
// with remote invalidation of the first buffer's token ([MS-SMBD] 3.1.4.1).
std::optional<std::uint32_t> invalidate_token(const DataChannel& channel) {
  if (channel.channel != Channel::RDMA_V1_INVALIDATE || channel.descriptors.empty())
    return std::nullopt;
  return channel.descriptors.front().token;
}

// Slots per channel: enough for a deep queue of 1 MiB transfers.
constexpr std::uint32_t kSlotCount = 32;
constexpr std::uint32_t kRingCapacity = 64;

// A client that does not take its responses (the proxy stops reading them when the
// client withholds its SMB Direct credits) stops being read from once this much output
// is queued, and is read again when half of it has drained: the TCP transport's limits.
constexpr std::size_t kSendBacklogLimit = 32u << 20;

}  // namespace

// ---------------------------------------------------------------- the data segment

// A data slot held for one request; the slot returns to the pool when the last copy of
// the shared_ptr goes. The bytes stay mapped while any lease exists.
struct SlotLease {
  std::shared_ptr<RdmaRing> ring;
  std::uint32_t index = 0;
  std::span<std::uint8_t> bytes;
  ~SlotLease();
};
using SlotPtr = std::shared_ptr<SlotLease>;

class RdmaRing : public std::enable_shared_from_this<RdmaRing> {
 public:
  RdmaRing(shmring::Channel c, std::uint32_t size)
      : channel(std::move(c)), pool(channel.geometry().slot_count), slot_size(size) {}

  struct PendingOp {
    std::function<void(NtStatus)> done;
    std::uint32_t length = 0;
  };

  shmring::Channel channel;
  shmring::SlotPool pool;
  std::uint32_t slot_size;
  uv_poll_t* doorbell = nullptr;
  uv_poll_t* hangup = nullptr;
  std::map<std::uint64_t, PendingOp> pending;
  std::deque<std::pair<shmring::Descriptor, PendingOp>> backlog;
  std::deque<std::function<void(SlotPtr)>> slot_waiters;
  std::uint64_t next_id = 1;
  bool failed = false;
  std::function<void(const char*)> on_failure;

  bool start(uv_loop_t* loop) {
    doorbell = new uv_poll_t();
    hangup = new uv_poll_t();
    if (uv_poll_init(loop, doorbell, channel.doorbell_fd()) != 0 ||
        uv_poll_init(loop, hangup, channel.socket_fd()) != 0) {
      delete doorbell;
      delete hangup;
      doorbell = hangup = nullptr;
      return false;
    }
    doorbell->data = this;
    hangup->data = this;
    uv_poll_start(doorbell, UV_READABLE,
                  [](uv_poll_t* p, int, int) { static_cast<RdmaRing*>(p->data)->pump(); });
    uv_poll_start(hangup, UV_DISCONNECT, [](uv_poll_t* p, int, int events) {
      auto* self = static_cast<RdmaRing*>(p->data);
      if ((events & UV_DISCONNECT) == 0) return;
      auto keep = self->shared_from_this();
      self->pump();  // completions posted before the proxy went
      self->shutdown("rdmaproxy went away");
    });
    channel.arm(shmring::Interest::receive);
    return true;
  }

  SlotPtr acquire() {
    auto index = pool.acquire();
    if (!index) return nullptr;
    auto bytes = channel.segment().slot_bytes(*index, 0, slot_size);
    if (!bytes) {
      pool.release(*index);
      return nullptr;
    }
    auto lease = std::make_shared<SlotLease>();
    lease->ring = shared_from_this();
    lease->index = *index;
    lease->bytes = *bytes;
    return lease;
  }

  void release(std::uint32_t index) {
    pool.release(index);
    while (!failed && !slot_waiters.empty()) {
      SlotPtr slot = acquire();
      if (!slot) return;
      auto then = std::move(slot_waiters.front());
      slot_waiters.pop_front();
      then(std::move(slot));
    }
  }

  // Asks the proxy to move `length` bytes between `slot` and the client's `buffers`.
  // `done` runs once on the loop with the proxy's status (or CONNECTION_DISCONNECTED).
  void transfer(rc::RingOp op, const SlotPtr& slot, std::uint32_t length,
                std::span<const BufferDescriptorV1> buffers, std::function<void(NtStatus)> done) {
    if (!slot || slot->ring.get() != this || length > slot->bytes.size()) {
      done(NtStatus::CONNECTION_DISCONNECTED);
      return;
    }
    shmring::Descriptor d;
    d.op = static_cast<std::uint16_t>(op);
    d.slot = slot->index;
    d.slot_offset = 0;
    d.length = length;
    if (!shmring::set_buffers(d, buffers)) {
      done(NtStatus::INVALID_PARAMETER);
      return;
    }
    submit(d, PendingOp{std::move(done), length});
  }

  void submit(shmring::Descriptor d, PendingOp op) {
    if (failed) {
      op.done(NtStatus::CONNECTION_DISCONNECTED);
      return;
    }
    d.request_id = next_id++;
    if (!backlog.empty()) {
      backlog.emplace_back(d, std::move(op));
      return;
    }
    auto s = channel.send(d);
    if (s == shmring::RingStatus::ok) {
      pending.emplace(d.request_id, std::move(op));
    } else if (s == shmring::RingStatus::full) {
      backlog.emplace_back(d, std::move(op));
      channel.arm(shmring::Interest::either);
    } else {
      pending.emplace(d.request_id, std::move(op));
      shutdown("the shared ring is corrupt");
    }
  }

  void pump() {
    auto self = shared_from_this();  // callbacks may drop the transport's reference
    for (;;) {
      if (failed) return;
      channel.disarm(shmring::Interest::either);
      channel.clear_doorbell();
      // Completions first: they free slots and ring space.
      for (;;) {
        shmring::Descriptor d;
        auto s = channel.receive(d);
        if (s == shmring::RingStatus::empty) break;
        if (s != shmring::RingStatus::ok) {
          shutdown("the shared ring is corrupt");
          return;
        }
        auto it = pending.find(d.request_id);
        if (d.op != static_cast<std::uint16_t>(rc::RingOp::COMPLETE) || it == pending.end()) {
          shutdown("rdmaproxy posted an unknown completion");
          return;
        }
        PendingOp op = std::move(it->second);
        pending.erase(it);
        auto status = static_cast<NtStatus>(d.status);
        if (status == NtStatus::SUCCESS && d.length != op.length) {
          shutdown("rdmaproxy reported a short transfer");
          op.done(NtStatus::CONNECTION_DISCONNECTED);
          return;
        }
        // Only error statuses pass through from the proxy; anything else is a failure.
        if (status != NtStatus::SUCCESS && nt_success(status)) status = NtStatus::INTERNAL_ERROR;
        op.done(status);
        if (failed) return;
      }
      while (!backlog.empty()) {
        auto s = channel.send(backlog.front().first);
        if (s == shmring::RingStatus::full) break;
        if (s != shmring::RingStatus::ok) {
          shutdown("the shared ring is corrupt");
          return;
        }
        pending.emplace(backlog.front().first.request_id, std::move(backlog.front().second));
        backlog.pop_front();
      }
      auto interest = backlog.empty() ? shmring::Interest::receive : shmring::Interest::either;
      if (!channel.arm(interest)) return;
    }
  }

  // Fails every transfer and stops watching the segment; leases stay valid.
  void shutdown(const char* why) {
    if (failed) return;
    failed = true;
    auto self = shared_from_this();
    for (uv_poll_t* h : {doorbell, hangup}) {
      if (h == nullptr) continue;
      uv_poll_stop(h);
      uv_close(reinterpret_cast<uv_handle_t*>(h),
               [](uv_handle_t* hh) { delete reinterpret_cast<uv_poll_t*>(hh); });
    }
    doorbell = hangup = nullptr;
    auto ops = std::move(pending);
    pending.clear();
    for (auto& [d, op] : backlog) ops.emplace(d.request_id, std::move(op));
    backlog.clear();
    auto waiters = std::move(slot_waiters);
    slot_waiters.clear();
    for (auto& [id, op] : ops) op.done(NtStatus::CONNECTION_DISCONNECTED);
    for (auto& w : waiters) w(nullptr);
    if (on_failure) {
      auto notify = std::move(on_failure);
      on_failure = nullptr;
      notify(why);
    }
  }
};

SlotLease::~SlotLease() {
  if (ring) ring->release(index);
}

// ---------------------------------------------------------------- the channel socket

struct RdmaChannelTransport::Handle {
  uv_poll_t poll{};
  RdmaChannelTransport* owner = nullptr;
  int fd = -1;
  int events = 0;
};

std::unique_ptr<RdmaChannelTransport> RdmaChannelTransport::adopt(uv_loop_t* loop, UniqueFd socket,
                                                                  std::uint64_t connection_id,
                                                                  std::size_t max_message,
                                                                  std::optional<ByteSpan> hello) {
  Bytes packet;
  if (hello) {
    packet.assign(hello->begin(), hello->end());
  } else {
    // The proxy sends HELLO right after connecting; it is normally queued already.
    pollfd p{socket.get(), POLLIN, 0};
    if (::poll(&p, 1, 5000) != 1) return nullptr;
    packet.resize(rc::kMaxPacket);
    ssize_t n = ::recv(socket.get(), packet.data(), packet.size(), MSG_DONTWAIT | MSG_TRUNC);
    if (n <= 0 || static_cast<std::size_t>(n) > packet.size()) return nullptr;
    packet.resize(static_cast<std::size_t>(n));
  }
  std::unique_ptr<RdmaChannelTransport> t(new RdmaChannelTransport());
  if (!rc::decode_hello(packet, t->hello_)) return nullptr;
  t->loop_ = loop;
  t->connection_id_ = connection_id;
  t->peer_ = t->hello_.peer_address;
  t->max_message_ = std::min<std::size_t>(max_message, t->hello_.max_receive_message);
  t->reassembler_.emplace(t->max_message_);
  auto* h = new Handle();
  h->owner = t.get();
  h->fd = socket.get();
  if (uv_poll_init(loop, &h->poll, h->fd) != 0) {
    delete h;
    return nullptr;
  }
  h->poll.data = h;
  (void)socket.release();  // closed with the handle
  t->handle_ = h;
  return t;
}

RdmaChannelTransport::~RdmaChannelTransport() { close(); }

void RdmaChannelTransport::start(Events events) {
  events_ = std::move(events);
  resume();
}

void RdmaChannelTransport::pause() {
  paused_ = true;
  update_poll();
}

void RdmaChannelTransport::resume() {
  paused_ = false;
  update_poll();
  // Packets may have arrived while paused; the poll reports them (level-triggered).
}

void RdmaChannelTransport::update_backpressure() {
  if (!send_backlogged_ && pending_send_ > kSendBacklogLimit) {
    send_backlogged_ = true;
    log::info(peer_.c_str(), "rdma: %zu bytes of output queued: reading paused", pending_send_);
  } else if (send_backlogged_ && pending_send_ < kSendBacklogLimit / 2) {
    send_backlogged_ = false;
    log::info(peer_.c_str(), "rdma: output drained to %zu bytes: reading resumed", pending_send_);
  }
}

void RdmaChannelTransport::update_poll() {
  if (handle_ == nullptr) return;
  update_backpressure();
  bool reading = !paused_ && !send_backlogged_;
  int events = (reading ? UV_READABLE : 0) | (out_.empty() ? 0 : UV_WRITABLE);
  if (events == handle_->events) return;
  handle_->events = events;
  if (events == 0) {
    uv_poll_stop(&handle_->poll);
    return;
  }
  uv_poll_start(&handle_->poll, events, [](uv_poll_t* p, int status, int ev) {
    auto* self = static_cast<Handle*>(p->data)->owner;
    if (self == nullptr) return;
    if (status < 0) {
      self->fail(uv_strerror(status));
      return;
    }
    if (ev & UV_WRITABLE) self->flush();
    if (self->handle_ != nullptr && (ev & UV_READABLE)) self->on_readable();
  });
}

void RdmaChannelTransport::on_readable() {
  // One receive buffer for the channel's life, not a zero-filled one per readable event.
  if (!receive_buffer_) receive_buffer_ = std::make_unique_for_overwrite<std::uint8_t[]>(rc::kMaxPacket);
  std::span<std::uint8_t> packet(receive_buffer_.get(), rc::kMaxPacket);
  for (int burst = 0; burst < 64 && handle_ != nullptr && !paused_ && !send_backlogged_; ++burst) {
    Received received = receive_with_fds(handle_->fd, packet, 4, 0);
    if (received.error != 0) {
      if (received.error == EAGAIN || received.error == EWOULDBLOCK || received.error == EINTR)
        return;
      fail(std::strerror(received.error));
      return;
    }
    if (received.bytes == 0) {
      fail("rdmaproxy closed the channel");
      return;
    }
    rc::PacketHeader h;
    ByteSpan data(packet.data(), received.bytes);
    // Descriptors travel only with the proxy's HELLO; any here are closed with `r`.
    if (!received.fds.empty() || received.truncated || !rc::decode_header(data, h) ||
        h.type != rc::PacketType::SMB2 || (h.flags & rc::kFlagInvalidate) != 0) {
      fail("malformed packet from rdmaproxy");
      return;
    }
    auto r = reassembler_->feed(h, data.subspan(rc::kHeaderSize));
    if (r == rc::Reassembler::Result::error) {
      fail("bad SMB2 message from rdmaproxy");
      return;
    }
    if (r == rc::Reassembler::Result::message && events_.on_message)
      events_.on_message(Buffer(reassembler_->take()));
  }
}

void RdmaChannelTransport::queue_message(ByteSpan head, ByteSpan payload,
                                         std::optional<std::uint32_t> invalidate) {
  std::size_t total = head.size() + payload.size();
  std::size_t at = 0;
  do {
    std::size_t n = std::min(rc::kMaxChunk, total - at);
    Packet p;
    p.data.resize(rc::kHeaderSize);
    bool last = at + n == total;
    std::uint16_t flags = last ? 0 : rc::kFlagMore;
    if (last && invalidate) flags |= rc::kFlagInvalidate;
    rc::encode_header({rc::PacketType::SMB2, flags, last && invalidate ? *invalidate : 0},
                      p.data.data());
    // Copy [at, at + n) of head ++ payload.
    for (std::size_t i = at; i < at + n;) {
      if (i < head.size()) {
        std::size_t k = std::min(at + n, head.size()) - i;
        p.data.insert(p.data.end(), head.begin() + static_cast<std::ptrdiff_t>(i),
                      head.begin() + static_cast<std::ptrdiff_t>(i + k));
        i += k;
      } else {
        std::size_t off = i - head.size();
        std::size_t k = at + n - i;
        p.data.insert(p.data.end(), payload.begin() + static_cast<std::ptrdiff_t>(off),
                      payload.begin() + static_cast<std::ptrdiff_t>(off + k));
        i += k;
      }
    }
    pending_send_ += p.data.size();
    out_.push_back(std::move(p));
    at += n;
  } while (at < total);
}

void RdmaChannelTransport::send(Frame frame) {
  if (handle_ == nullptr) return;
  if (frame.size() == 0) return;
  if (frame.size() > hello_.max_send_message) {
    // The client cannot receive it ([MS-SMBD] MaxFragmentedRecvSize).
    log::notice(peer_.c_str(), "rdma: a %zu-byte response exceeds the client's limit of %u",
                frame.size(), hello_.max_send_message);
    fail("response larger than the SMB Direct limit");
    return;
  }
  queue_message(frame.head, frame.payload, frame.invalidate_token);
  update_backpressure();
  flush();
}

void RdmaChannelTransport::flush() {
  while (handle_ != nullptr && !out_.empty()) {
    Packet& p = out_.front();
    int fd = p.fd.get();
    int err = send_with_fds(handle_->fd, p.data,
                            p.fd ? std::span<const int>(&fd, 1) : std::span<const int>(), true);
    if (err == EINTR) continue;
    if (err == EAGAIN || err == EWOULDBLOCK) break;
    if (err != 0) {
      fail(std::strerror(err));
      return;
    }
    pending_send_ -= p.data.size();
    out_.pop_front();
  }
  update_poll();
}

void RdmaChannelTransport::fail(const char* reason) {
  if (handle_ == nullptr) return;
  auto on_closed = std::move(events_.on_closed);
  close();
  if (on_closed) on_closed(reason);
}

HandOff RdmaChannelTransport::hand_off(Bytes negotiate) {
  if (handle_ == nullptr || ring_ || !out_.empty()) return {};
  HandOff out;
  out.socket = UniqueFd(::fcntl(handle_->fd, F_DUPFD_CLOEXEC, 0));
  if (!out.socket) return {};
  out.payload = pack_rdma_handoff(rc::encode_hello(hello_), negotiate);
  out.rdma = true;
  close();
  return out;
}

void RdmaChannelTransport::close() {
  if (ring_) {
    ring_->on_failure = nullptr;
    ring_->shutdown("channel closed");
    ring_.reset();
  }
  if (handle_ == nullptr) return;
  handle_->owner = nullptr;
  uv_close(reinterpret_cast<uv_handle_t*>(&handle_->poll), [](uv_handle_t* hh) {
    auto* h = static_cast<Handle*>(hh->data);
    ::close(h->fd);
    delete h;
  });
  handle_ = nullptr;
  out_.clear();
  pending_send_ = 0;
}

bool RdmaChannelTransport::ensure_ring() {
  if (ring_) return !ring_->failed;
  if (handle_ == nullptr) return false;
  int pair[2];
  if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, pair) != 0)
    return false;
  UniqueFd ours(pair[0]), theirs(pair[1]);
  shmring::Geometry g;
  g.ring_capacity = kRingCapacity;
  g.slot_count = kSlotCount;
  g.slot_size = (hello_.max_read_write_size + 4095u) & ~4095u;
  try {
    // The proxy's end goes first, so it can attach when the handshake arrives.
    Packet attach;
    attach.data.resize(rc::kHeaderSize);
    rc::encode_header({rc::PacketType::SHM_ATTACH, 0, 0}, attach.data.data());
    attach.fd = std::move(theirs);
    pending_send_ += attach.data.size();
    out_.push_back(std::move(attach));
    auto channel = shmring::Channel::create(smb::UniqueFd(ours.release()), g);
    ring_ = std::make_shared<RdmaRing>(std::move(channel), g.slot_size);
  } catch (const std::exception& e) {
    log::error(peer_.c_str(), "rdma: cannot set up the data segment: %s", e.what());
    fail("cannot set up the data segment");
    return false;
  }
  if (!ring_->start(loop_)) {
    ring_.reset();
    fail("cannot watch the data segment");
    return false;
  }
  ring_->on_failure = [this](const char* why) { fail(why); };
  flush();
  return handle_ != nullptr;
}

void RdmaChannelTransport::with_slot(std::function<void(SlotPtr)> then) {
  if (!ensure_ring()) {
    then(nullptr);
    return;
  }
  if (SlotPtr slot = ring_->acquire()) {
    then(std::move(slot));
    return;
  }
  ring_->slot_waiters.push_back(std::move(then));
}

// ---------------------------------------------------------------- READ and WRITE data

namespace {

// A READ over an RDMA channel: the file is read into a data slot, from which rdmaproxy
// RDMA-writes the bytes into the client's buffers.
class RdmaReadData final : public ReadData {
 public:
  RdmaReadData(SlotPtr slot, std::uint32_t length, std::vector<BufferDescriptorV1> buffers,
               std::optional<std::uint32_t> invalidate)
      : slot_(std::move(slot)),
        length_(length),
        buffers_(std::move(buffers)),
        invalidate_(invalidate) {}

  MutableByteSpan buffer() override {
    return slot_ ? slot_->bytes.first(length_) : MutableByteSpan();
  }

  void deliver(std::uint32_t count, std::function<void(NtStatus, ReadDelivery)> done) override {
    // MS-SMB2 3.3.5.12: the data goes to the client's buffers; the response says how much
    // in DataRemaining and carries none itself.
    ReadDelivery delivery;
    delivery.data_remaining = count;
    delivery.invalidate_token = invalidate_;
    if (count == 0) {
      done(NtStatus::SUCCESS, delivery);
      return;
    }
    auto trimmed = count <= length_ ? buffers_for(buffers_, count) : std::nullopt;
    if (!slot_ || !trimmed) {
      done(NtStatus::INTERNAL_ERROR, {});
      return;
    }
    // The slot stays leased until the proxy has written from it.
    slot_->ring->transfer(rc::RingOp::RDMA_WRITE, slot_, count, *trimmed,
                          [slot = slot_, delivery, done](NtStatus s) {
                            done(s, s == NtStatus::SUCCESS ? delivery : ReadDelivery{});
                          });
  }

 private:
  SlotPtr slot_;
  std::uint32_t length_;
  std::vector<BufferDescriptorV1> buffers_;
  std::optional<std::uint32_t> invalidate_;
};

}  // namespace

NtStatus RdmaChannelTransport::check_channel(const DataChannel& channel, std::uint32_t length,
                                             std::uint16_t dialect) const {
  if (channel.channel == Channel::NONE) return NtStatus::SUCCESS;
  if (!is_rdma_v1(channel.channel)) return NtStatus::INVALID_PARAMETER;
  // MS-SMB2 3.3.5.12, 3.3.5.13: RDMA channels came with 3.0, remote invalidation with 3.0.2.
  if (dialect < to_u16(Dialect::SMB3_0) ||
      (channel.channel == Channel::RDMA_V1_INVALIDATE && dialect < to_u16(Dialect::SMB3_0_2)))
    return NtStatus::INVALID_PARAMETER;
  if (length > max_read_write_size() || !buffers_for(channel.descriptors, length))
    return NtStatus::INVALID_PARAMETER;
  return NtStatus::SUCCESS;
}

void RdmaChannelTransport::receive_write_data(const DataChannel& channel, ByteSpan in_message,
                                              std::shared_ptr<const void> message,
                                              std::uint32_t length,
                                              std::function<void(NtStatus, WriteData)> done) {
  if (channel.channel == Channel::NONE) {
    Transport::receive_write_data(channel, in_message, std::move(message), length, std::move(done));
    return;
  }
  // MS-SMB2 3.3.5.13: over an RDMA channel the data is not in the message.
  auto buffers = buffers_for(channel.descriptors, length);
  if (!is_rdma_v1(channel.channel) || !in_message.empty() || !buffers ||
      length > max_read_write_size()) {
    done(NtStatus::INVALID_PARAMETER, {});
    return;
  }
  auto invalidate = invalidate_token(channel);
  if (length == 0) {
    done(NtStatus::SUCCESS, WriteData{{}, nullptr, invalidate});
    return;
  }
  // The client's data is RDMA-read into the slot, then copied once into the file; for a
  // pmem share that copy is the persisting store into the mapping (FileIo::write).
  // Reading straight into the mapping (push mode) needs the mapping registered with the
  // device by rdmaproxy, which is not done.
  with_slot([length, buffers = std::move(*buffers), invalidate, done](SlotPtr slot) {
    if (!slot) {
      done(NtStatus::CONNECTION_DISCONNECTED, {});
      return;
    }
    slot->ring->transfer(rc::RingOp::RDMA_READ, slot, length, buffers,
                         [slot, length, invalidate, done](NtStatus s) {
                           if (s != NtStatus::SUCCESS) {
                             done(s, {});
                             return;
                           }
                           done(NtStatus::SUCCESS,
                                WriteData{ByteSpan(slot->bytes.data(), length), slot, invalidate});
                         });
  });
}

void RdmaChannelTransport::prepare_read(
    const DataChannel& channel, std::uint32_t length,
    std::function<void(NtStatus, std::shared_ptr<ReadData>)> done) {
  if (channel.channel == Channel::NONE) {
    Transport::prepare_read(channel, length, std::move(done));
    return;
  }
  auto buffers = buffers_for(channel.descriptors, length);
  if (!is_rdma_v1(channel.channel) || !buffers || length > max_read_write_size()) {
    done(NtStatus::INVALID_PARAMETER, nullptr);
    return;
  }
  auto invalidate = invalidate_token(channel);
  if (length == 0) {
    done(NtStatus::SUCCESS,
         std::make_shared<RdmaReadData>(nullptr, 0, std::move(*buffers), invalidate));
    return;
  }
  with_slot([length, buffers = std::move(*buffers), invalidate, done](SlotPtr slot) {
    if (!slot) {
      done(NtStatus::CONNECTION_DISCONNECTED, nullptr);
      return;
    }
    done(NtStatus::SUCCESS,
         std::make_shared<RdmaReadData>(std::move(slot), length, buffers, invalidate));
  });
}

}  // namespace smb::server
