#include "smbd/worker/transport/loopback.hh"

#include <algorithm>
#include <cstring>

namespace smb::server {

// What the two ends share. The peer's bytes wait in `inbound` until the server reads
// them; the server's frames wait in `outbound` until the peer reads them.
struct LoopbackLink {
  Bytes inbound;
  std::size_t inbound_read = 0;
  Bytes outbound;
  LoopbackFaults faults;
  std::size_t bytes_read = 0;
  std::size_t frames_sent = 0;
  bool reset = false;                  // the peer reset the connection
  const char* send_failure = nullptr;  // a failed send not yet reported to the server
  bool closed = false;
  LoopbackTransport* server = nullptr;  // the server's end while it is open
};

namespace {

constexpr std::size_t kPrefixSize = 4;

// MS-SMB2 2.1: a zero byte and a 24-bit big-endian length.
void put_prefix(Bytes& out, std::size_t length) {
  out.push_back(0);
  out.push_back(static_cast<std::uint8_t>(length >> 16));
  out.push_back(static_cast<std::uint8_t>(length >> 8));
  out.push_back(static_cast<std::uint8_t>(length));
}

}  // namespace

struct LoopbackTransport::Handle {
  uv_idle_t idle{};
  LoopbackTransport* owner = nullptr;
};

// ------------------------------------------------------------------ the test's end

void LoopbackPeer::write(ByteSpan bytes) {
  // Bytes written after the server's end has closed are lost, as on a closed socket.
  if (link_->closed) return;
  link_->inbound.insert(link_->inbound.end(), bytes.begin(), bytes.end());
  if (link_->server != nullptr) link_->server->schedule();
}

void LoopbackPeer::send_message(ByteSpan message) {
  Bytes framed;
  framed.reserve(kPrefixSize + message.size());
  put_prefix(framed, message.size());
  framed.insert(framed.end(), message.begin(), message.end());
  write(framed);
}

void LoopbackPeer::reset() {
  link_->reset = true;
  if (link_->server != nullptr) link_->server->schedule();
}

std::optional<Bytes> LoopbackPeer::receive_message() {
  Bytes& out = link_->outbound;
  if (out.size() < kPrefixSize) return std::nullopt;
  std::size_t length = (std::size_t{out[1]} << 16) | (std::size_t{out[2]} << 8) | out[3];
  if (out.size() < kPrefixSize + length) return std::nullopt;
  Bytes message(out.begin() + kPrefixSize,
                out.begin() + static_cast<std::ptrdiff_t>(kPrefixSize + length));
  out.erase(out.begin(), out.begin() + static_cast<std::ptrdiff_t>(kPrefixSize + length));
  return message;
}

Bytes LoopbackPeer::take_output() { return std::exchange(link_->outbound, Bytes()); }

LoopbackFaults& LoopbackPeer::faults() { return link_->faults; }

bool LoopbackPeer::closed() const { return link_->closed; }

std::size_t LoopbackPeer::bytes_read_by_server() const { return link_->bytes_read; }

std::size_t LoopbackPeer::frames_sent_by_server() const { return link_->frames_sent; }

// ------------------------------------------------------------------ the server's end

std::pair<std::unique_ptr<LoopbackTransport>, LoopbackPeer> LoopbackTransport::create(
    uv_loop_t* loop, std::size_t max_message, std::string peer_address) {
  std::unique_ptr<LoopbackTransport> t(new LoopbackTransport());
  t->link_ = std::make_shared<LoopbackLink>();
  t->link_->server = t.get();
  t->peer_ = std::move(peer_address);
  t->max_message_ = max_message;
  t->handle_ = new Handle();
  t->handle_->owner = t.get();
  uv_idle_init(loop, &t->handle_->idle);
  t->handle_->idle.data = t->handle_;
  LoopbackPeer peer(t->link_);
  return {std::move(t), std::move(peer)};
}

LoopbackTransport::~LoopbackTransport() { close(); }

void LoopbackTransport::start(Events events) {
  events_ = std::move(events);
  started_ = true;
  schedule();
}

void LoopbackTransport::pause() { paused_ = true; }

void LoopbackTransport::resume() {
  paused_ = false;
  schedule();
}

void LoopbackTransport::schedule() {
  if (handle_ == nullptr || !started_) return;
  uv_idle_start(&handle_->idle, [](uv_idle_t* idle) {
    auto* self = static_cast<Handle*>(idle->data)->owner;
    if (self != nullptr) self->on_readable();
  });
}

std::size_t LoopbackTransport::wanted() const {
  return in_body_ ? message_.size() - message_have_ : kPrefixSize - prefix_have_;
}

void LoopbackTransport::on_readable() {
  LoopbackLink& link = *link_;
  if (link.reset) {
    fail("connection reset by peer");
    return;
  }
  if (link.send_failure != nullptr) {
    fail(link.send_failure);
    return;
  }
  std::size_t waiting = link.inbound.size() - link.inbound_read;
  if (paused_ || waiting == 0) {
    uv_idle_stop(&handle_->idle);
    return;
  }
  std::size_t n = std::min(waiting, wanted());
  if (link.faults.read_chunk != 0) n = std::min(n, link.faults.read_chunk);
  bool reset_now = false;
  if (link.faults.reset_after) {
    n = std::min(n, *link.faults.reset_after);
    *link.faults.reset_after -= n;
    reset_now = *link.faults.reset_after == 0;
  }
  // The read copies out of the link before the server sees it, as a socket read does.
  Bytes chunk(link.inbound.begin() + static_cast<std::ptrdiff_t>(link.inbound_read),
              link.inbound.begin() + static_cast<std::ptrdiff_t>(link.inbound_read + n));
  link.inbound_read += n;
  link.bytes_read += n;
  if (link.inbound_read == link.inbound.size()) {
    link.inbound.clear();
    link.inbound_read = 0;
  }
  if (reset_now) {
    link.faults.reset_after.reset();
    link.reset = true;
  }
  consume(chunk);
}

void LoopbackTransport::consume(ByteSpan bytes) {
  if (bytes.empty()) return;
  if (!in_body_) {
    std::memcpy(prefix_ + prefix_have_, bytes.data(), bytes.size());
    prefix_have_ += bytes.size();
    if (prefix_have_ < kPrefixSize) return;
    // MS-SMB2 2.1: the first byte is zero, then a 24-bit length; TcpTransport's limits.
    if (prefix_[0] != 0) {
      fail("bad Direct TCP framing");
      return;
    }
    std::size_t length =
        (std::size_t{prefix_[1]} << 16) | (std::size_t{prefix_[2]} << 8) | prefix_[3];
    if (length == 0 || length > max_message_) {
      fail("message length out of bounds");
      return;
    }
    message_.assign(length, 0);
    message_have_ = 0;
    prefix_have_ = 0;
    in_body_ = true;
    return;
  }
  std::memcpy(message_.data() + message_have_, bytes.data(), bytes.size());
  message_have_ += bytes.size();
  if (message_have_ < message_.size()) return;
  in_body_ = false;
  Bytes message = std::exchange(message_, Bytes());
  if (events_.on_message) events_.on_message(Buffer(std::move(message)));
}

void LoopbackTransport::send(Frame frame) {
  if (handle_ == nullptr) return;
  LoopbackLink& link = *link_;
  ++link.frames_sent;
  auto& budget = link.faults.sends_before_failure;
  if (budget && *budget == 0) {
    // Reported on the loop, as a failed write completes.
    link.send_failure = "broken pipe";
    schedule();
    return;
  }
  if (budget) --*budget;
  put_prefix(link.outbound, frame.size());
  link.outbound.insert(link.outbound.end(), frame.head.begin(), frame.head.end());
  link.outbound.insert(link.outbound.end(), frame.payload.begin(), frame.payload.end());
}

std::size_t LoopbackTransport::pending_send_bytes() const { return link_->outbound.size(); }

HandOff LoopbackTransport::hand_off(Bytes negotiate) {
  (void)negotiate;
  return {};
}

void LoopbackTransport::fail(const char* reason) {
  if (handle_ == nullptr) return;
  auto on_closed = std::move(events_.on_closed);
  close();
  if (on_closed) on_closed(reason);
}

void LoopbackTransport::close() {
  if (handle_ == nullptr) return;
  link_->closed = true;
  link_->server = nullptr;
  handle_->owner = nullptr;
  uv_close(reinterpret_cast<uv_handle_t*>(&handle_->idle),
           [](uv_handle_t* h) { delete static_cast<Handle*>(h->data); });
  handle_ = nullptr;
}

}  // namespace smb::server
