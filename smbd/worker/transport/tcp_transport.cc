#include "smbd/worker/transport/tcp_transport.hh"

#include "smbd/base/socket_address.hh"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstring>
#include <memory>

namespace smb::server {

namespace {
// Small messages are read many at once into a staging buffer of this size; a body at
// least kDirectBody long that starts a read is read straight into its own buffer.
constexpr std::size_t kStagingSize = 64 * 1024;
constexpr std::size_t kDirectBody = 16 * 1024;
}  // namespace

// The socket and the idle handle that delivers staged messages after a pause; deleted
// once both are closed (the transport may be gone by then: owner is null).
struct TcpTransport::Handle {
  uv_tcp_t tcp{};
  uv_idle_t drain{};
  int open_handles = 0;
  TcpTransport* owner = nullptr;

  static void closed(uv_handle_t* hh) {
    auto* h = static_cast<Handle*>(hh->data);
    if (--h->open_handles == 0) delete h;
  }
  void close_all() {
    uv_close(reinterpret_cast<uv_handle_t*>(&tcp), closed);
    uv_close(reinterpret_cast<uv_handle_t*>(&drain), closed);
  }
};

struct TcpTransport::WriteRequest {
  uv_write_t req{};
  std::uint8_t prefix[4]{};
  std::size_t rest = 0;  // bytes left for uv_write after uv_try_write
  Frame frame;
  Handle* handle = nullptr;
};

std::unique_ptr<TcpTransport> TcpTransport::adopt(uv_loop_t* loop, UniqueFd socket,
                                                  std::size_t max_message) {
  std::unique_ptr<TcpTransport> t(new TcpTransport());
  t->peer_ = socket_peer_address(socket.get());
  t->max_message_ = max_message;
  int one = 1;
  ::setsockopt(socket.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  ::setsockopt(socket.get(), SOL_SOCKET, SO_KEEPALIVE, &one, sizeof one);
  auto* h = new Handle();
  h->owner = t.get();
  uv_tcp_init(loop, &h->tcp);
  h->tcp.data = h;
  uv_idle_init(loop, &h->drain);
  h->drain.data = h;
  h->open_handles = 2;
  if (uv_tcp_open(&h->tcp, socket.get()) != 0) {
    h->close_all();
    return nullptr;
  }
  (void)socket.release();  // owned by the uv handle now
  t->handle_ = h;
  return t;
}

TcpTransport::~TcpTransport() { close(); }

void TcpTransport::start(Events events) {
  events_ = std::move(events);
  resume();
}

namespace {
// A client that does not take its responses stops being read from once this much output
// is queued, and is read again when half of it has drained.
constexpr std::size_t kSendBacklogLimit = 32u << 20;
}  // namespace

void TcpTransport::pause() {
  paused_ = true;
  stop_reading();
}

void TcpTransport::resume() {
  paused_ = false;
  // Messages read before the pause are delivered from the loop, not from inside the
  // caller (which may be in the middle of answering another request).
  if (handle_ != nullptr && staging_begin_ < staging_end_)
    uv_idle_start(&handle_->drain, [](uv_idle_t* idle) {
      uv_idle_stop(idle);
      auto* self = static_cast<Handle*>(idle->data)->owner;
      if (self != nullptr) self->deliver_staged();
    });
  start_reading();
}

void TcpTransport::stop_reading() {
  if (handle_ != nullptr && reading_) {
    uv_read_stop(reinterpret_cast<uv_stream_t*>(&handle_->tcp));
    reading_ = false;
  }
}

void TcpTransport::update_backpressure() {
  if (!send_backlogged_ && pending_send_ > kSendBacklogLimit) {
    send_backlogged_ = true;
    stop_reading();
  } else if (send_backlogged_ && pending_send_ < kSendBacklogLimit / 2) {
    send_backlogged_ = false;
    start_reading();
  }
}

void TcpTransport::start_reading() {
  if (handle_ == nullptr || reading_ || paused_ || send_backlogged_) return;
  reading_ = true;
  uv_read_start(
      reinterpret_cast<uv_stream_t*>(&handle_->tcp),
      [](uv_handle_t* hh, std::size_t, uv_buf_t* buf) {
        auto* self = static_cast<Handle*>(hh->data)->owner;
        if (self == nullptr) {
          *buf = uv_buf_init(nullptr, 0);
          return;
        }
        self->next_read_buffer(*buf);
      },
      [](uv_stream_t* s, ssize_t nread, const uv_buf_t*) {
        auto* self = static_cast<Handle*>(s->data)->owner;
        if (self != nullptr) self->on_read(nread);
      });
}

void TcpTransport::next_read_buffer(uv_buf_t& buf) {
  // A large body with nothing staged ahead of it: straight into its own buffer.
  reading_direct_ = in_body_ && staging_begin_ == staging_end_ &&
                    message_.size() - message_have_ >= kDirectBody;
  if (reading_direct_) {
    buf = uv_buf_init(reinterpret_cast<char*>(message_.data() + message_have_),
                      static_cast<unsigned>(message_.size() - message_have_));
    return;
  }
  // Otherwise as much as fits behind what is staged (at most one partial message,
  // unless paused: then reading is stopped).
  if (!staging_) staging_ = std::make_unique<std::uint8_t[]>(kStagingSize);
  if (staging_begin_ == staging_end_) {
    staging_begin_ = staging_end_ = 0;
  } else if (staging_begin_ > 0) {
    std::memmove(staging_.get(), staging_.get() + staging_begin_, staging_end_ - staging_begin_);
    staging_end_ -= staging_begin_;
    staging_begin_ = 0;
  }
  buf = uv_buf_init(reinterpret_cast<char*>(staging_.get() + staging_end_),
                    static_cast<unsigned>(kStagingSize - staging_end_));
}

void TcpTransport::on_read(ssize_t nread) {
  if (nread == 0 || nread == UV_ENOBUFS) return;
  if (nread < 0) {
    fail(nread == UV_EOF ? "connection closed by peer" : uv_strerror(static_cast<int>(nread)));
    return;
  }
  auto n = static_cast<std::size_t>(nread);
  if (reading_direct_) {
    message_have_ += n;
    if (message_have_ == message_.size()) deliver_message();
    return;
  }
  staging_end_ += n;
  deliver_staged();
}

void TcpTransport::deliver_staged() {
  while (staging_begin_ < staging_end_ && !paused_) {
    std::size_t available = staging_end_ - staging_begin_;
    const std::uint8_t* at = staging_.get() + staging_begin_;
    if (!in_body_) {
      std::size_t take = std::min(available, 4 - prefix_have_);
      std::memcpy(prefix_ + prefix_have_, at, take);
      prefix_have_ += take;
      staging_begin_ += take;
      if (prefix_have_ < 4) return;
      // MS-SMB2 2.1: the first byte is zero, then a 24-bit length.
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
      // Unauthenticated clients are held to a small max_message_, so a length prefix
      // alone cannot make the server set much memory aside. Not zero-filled: the message
      // is delivered only once every byte has been received into it.
      message_ = Buffer::uninitialized(length);
      message_have_ = 0;
      prefix_have_ = 0;
      in_body_ = true;
      continue;
    }
    std::size_t take = std::min(available, message_.size() - message_have_);
    std::memcpy(message_.data() + message_have_, at, take);
    message_have_ += take;
    staging_begin_ += take;
    if (message_have_ < message_.size()) return;
    // The message may close, pause or hand the connection off, and the transport may be
    // destroyed meanwhile: its handle, deleted only by a later close callback, tells.
    Handle* handle = handle_;
    deliver_message();
    if (handle == nullptr || handle->owner != this) return;
  }
}

void TcpTransport::deliver_message() {
  in_body_ = false;
  Buffer message = std::move(message_);
  message_have_ = 0;
  if (events_.on_message) events_.on_message(std::move(message));
}

void TcpTransport::send(Frame frame) {
  if (handle_ == nullptr) return;
  std::size_t length = frame.size();
  auto* w = new WriteRequest();
  w->prefix[0] = 0;
  w->prefix[1] = static_cast<std::uint8_t>(length >> 16);
  w->prefix[2] = static_cast<std::uint8_t>(length >> 8);
  w->prefix[3] = static_cast<std::uint8_t>(length);
  w->frame = std::move(frame);
  w->handle = handle_;
  w->req.data = w;
  uv_buf_t bufs[3];
  unsigned count = 0;
  bufs[count++] = uv_buf_init(reinterpret_cast<char*>(w->prefix), 4);
  if (!w->frame.head.empty())
    bufs[count++] = uv_buf_init(reinterpret_cast<char*>(w->frame.head.data()),
                                static_cast<unsigned>(w->frame.head.size()));
  if (!w->frame.payload.empty())
    bufs[count++] = uv_buf_init(
        const_cast<char*>(reinterpret_cast<const char*>(w->frame.payload.data())),
        static_cast<unsigned>(w->frame.payload.size()));
  // With nothing queued before it, the frame is written now: most go out whole and need
  // no write request (whose completion makes libuv register the socket's events with
  // the kernel again, one epoll_ctl per frame). uv_try_write refuses (UV_EAGAIN) while
  // earlier frames wait, so the order stays; what it could not write is queued below.
  const int written = uv_try_write(reinterpret_cast<uv_stream_t*>(&handle_->tcp), bufs, count);
  if (written < 0 && written != UV_EAGAIN) {
    delete w;
    fail(uv_strerror(written));
    return;
  }
  bytes_queued_ += length + 4;
  std::size_t skip = written > 0 ? static_cast<std::size_t>(written) : 0;
  bytes_written_ += skip;
  if (skip == length + 4) {
    delete w;
    return;
  }
  unsigned first = 0;
  while (skip >= bufs[first].len) skip -= bufs[first++].len;
  bufs[first].base += skip;
  bufs[first].len -= static_cast<unsigned>(skip);
  pending_send_ += length + 4;
  w->rest = length + 4 - skip;
  update_backpressure();
  int rc = uv_write(&w->req, reinterpret_cast<uv_stream_t*>(&handle_->tcp), bufs + first,
                    count - first, [](uv_write_t* req, int status) {
                      auto* wr = static_cast<WriteRequest*>(req->data);
                      TcpTransport* self = wr->handle->owner;
                      if (self != nullptr) {
                        self->pending_send_ -= wr->frame.size() + 4;
                        if (status == 0) self->bytes_written_ += wr->rest;
                        self->update_backpressure();
                        if (status < 0 && status != UV_ECANCELED) self->fail(uv_strerror(status));
                      }
                      delete wr;
                    });
  if (rc != 0) {
    pending_send_ -= length + 4;
    delete w;
    fail(uv_strerror(rc));
  }
}

std::uint64_t TcpTransport::bytes_acknowledged() const {
  if (handle_ == nullptr) return bytes_queued_;
  uv_os_fd_t fd = -1;
  int unacknowledged = 0;
  // SIOCOUTQ (TIOCOUTQ) on a TCP socket: the bytes written to it that the peer has not
  // acknowledged yet, sent or not.
  if (uv_fileno(reinterpret_cast<const uv_handle_t*>(&handle_->tcp), &fd) != 0 ||
      ::ioctl(fd, TIOCOUTQ, &unacknowledged) != 0 || unacknowledged < 0)
    return bytes_queued_;
  auto held = static_cast<std::uint64_t>(unacknowledged);
  return held >= bytes_written_ ? 0 : bytes_written_ - held;
}

std::chrono::milliseconds TcpTransport::retransmission_timeout() const {
  uv_os_fd_t fd = -1;
  tcp_info info{};
  socklen_t length = sizeof info;
  if (handle_ == nullptr ||
      uv_fileno(reinterpret_cast<const uv_handle_t*>(&handle_->tcp), &fd) != 0 ||
      ::getsockopt(fd, IPPROTO_TCP, TCP_INFO, &info, &length) != 0 || info.tcpi_rto == 0)
    return std::chrono::milliseconds(200);
  return std::chrono::milliseconds(info.tcpi_rto / 1000);
}

void TcpTransport::fail(const char* reason) {
  if (handle_ == nullptr) return;
  auto on_closed = std::move(events_.on_closed);
  close();
  if (on_closed) on_closed(reason);
}

void TcpTransport::close() {
  if (handle_ == nullptr) return;
  handle_->owner = nullptr;
  handle_->close_all();
  handle_ = nullptr;
}

HandOff TcpTransport::hand_off(Bytes negotiate) {
  if (handle_ == nullptr) return {};
  // Bytes read past the NEGOTIATE would not reach the other worker: a client sends
  // nothing more before it has the answer, so one that did loses its connection.
  if (staging_begin_ < staging_end_) return {};
  uv_os_fd_t fd = -1;
  uv_fileno(reinterpret_cast<uv_handle_t*>(&handle_->tcp), &fd);
  HandOff out;
  out.socket = UniqueFd(fd >= 0 ? ::fcntl(fd, F_DUPFD_CLOEXEC, 0) : -1);
  out.payload = std::move(negotiate);
  close();
  return out;
}

}  // namespace smb::server
