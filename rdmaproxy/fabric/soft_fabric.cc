#include "rdmaproxy/fabric/soft_fabric.hh"

#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <cerrno>
#include <cstring>
#include <deque>
#include <map>
#include <random>
#include <unordered_map>

#include "smbd/base/unique_fd.hh"
#include "smbd/base/bytes.hh"

namespace smb::fabric {
namespace {

// Wire of the soft fabric: a 32-byte header, then `length` payload bytes for frames
// that carry data (send, write request, read response).
enum class FrameType : std::uint8_t {
  accept = 1,
  send = 2,
  send_ack = 3,
  write_request = 4,
  write_response = 5,
  read_request = 6,
  read_response = 7,
  disconnect = 8,
};
constexpr std::size_t kHeaderSize = 32;
constexpr std::uint64_t kMaxPayload = std::uint64_t{1} << 30;  // largest single transfer
constexpr std::uint8_t kFlagInvalidate = 0x01;
constexpr std::size_t kReadChunk = 256 * 1024;
constexpr int kReadsPerPoll = 64;

struct Frame {
  FrameType type{};
  std::uint8_t flags = 0;
  Status status = Status::success;
  std::uint64_t id = 0;
  std::uint64_t offset = 0;
  std::uint32_t token = 0;
  std::uint32_t length = 0;
};

bool remote_allowed(Access granted, Access wanted) {
  return (static_cast<unsigned>(granted) & static_cast<unsigned>(wanted)) ==
         static_cast<unsigned>(wanted);
}

// A queue pair's protection domain: token -> registration.
struct Registry {
  struct Entry {
    std::span<std::uint8_t> span;
    Access access;
  };
  std::unordered_map<std::uint32_t, Entry> entries;
  std::uint32_t next_token;
  Registry() {
    std::random_device rd;
    next_token = rd() | 1u;
  }
};

class SoftMemoryRegion final : public MemoryRegion {
 public:
  SoftMemoryRegion(std::shared_ptr<Registry> registry, std::span<std::uint8_t> span, Access access)
      : MemoryRegion(span, access), registry_(std::move(registry)) {
    do {
      remote_token_ = registry_->next_token++;
    } while (remote_token_ == 0 || registry_->entries.contains(remote_token_));
    local_key_ = remote_token_;
    registry_->entries.emplace(remote_token_, Registry::Entry{span, access});
  }
  ~SoftMemoryRegion() override { registry_->entries.erase(remote_token_); }
  bool valid() const override { return registry_->entries.contains(remote_token_); }
  const Registry* registry() const { return registry_.get(); }

 private:
  std::shared_ptr<Registry> registry_;
};

void set_nonblocking(int fd) { ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK); }

class SoftQueuePair final : public QueuePair {
 public:
  enum class State { connecting, pending, connected, broken };

  SoftQueuePair(UniqueFd sock, State state, const QueuePairConfig& config)
      : sock_(std::move(sock)),
        epoll_(::epoll_create1(EPOLL_CLOEXEC)),
        notify_(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)),
        config_(config),
        state_(state),
        registry_(std::make_shared<Registry>()) {
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.fd = sock_.get();
    ::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, sock_.get(), &ev);
    ev.data.fd = notify_.get();
    ::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, notify_.get(), &ev);
  }

  int fd() const override { return epoll_.get(); }
  bool connected() const override { return state_ == State::connected; }
  const SoftQueuePairStats& stats() const { return stats_; }

  Status accept() override {
    if (state_ != State::pending)
      return state_ == State::connected ? Status::success : Status::not_connected;
    append(Frame{FrameType::accept}, {});
    state_ = State::connected;
    push(Completion{0, CompletionKind::established});
    flush();
    return Status::success;
  }

  std::unique_ptr<MemoryRegion> register_memory(std::span<std::uint8_t> memory, Access access,
                                                std::string& error) override {
    if (memory.empty() || memory.size() > kMaxPayload * 64) {
      error = "invalid registration length";
      return nullptr;
    }
    return std::make_unique<SoftMemoryRegion>(registry_, memory, access);
  }

  Status invalidate(MemoryRegion& region) override {
    auto* soft = dynamic_cast<SoftMemoryRegion*>(&region);
    if (soft == nullptr || soft->registry() != registry_.get()) return Status::invalid_argument;
    registry_->entries.erase(region.remote_token());
    return Status::success;
  }

  Status post_recv(std::uint64_t wr_id, LocalBuffer buffer) override {
    if (state_ == State::broken) return Status::not_connected;
    std::span<std::uint8_t> target;
    if (Status s = local_span(buffer, target); s != Status::success) return s;
    if (recvs_.size() >= config_.max_recv_wr) return Status::invalid_argument;
    recvs_.push_back(PostedRecv{wr_id, target});
    return Status::success;
  }

  Status post_send(std::uint64_t wr_id, LocalBuffer buffer,
                   std::optional<std::uint32_t> invalidate_token) override {
    if (state_ != State::connected) return Status::not_connected;
    std::span<std::uint8_t> source;
    if (Status s = local_span(buffer, source); s != Status::success) return s;
    if (source.size() > kMaxPayload || send_queue_full()) return Status::invalid_argument;
    Frame f{FrameType::send};
    if (invalidate_token) {
      f.flags = kFlagInvalidate;
      f.token = *invalidate_token;
    }
    f.length = static_cast<std::uint32_t>(source.size());
    sends_.push_back(wr_id);
    append(f, source);
    flush();
    return Status::success;
  }

  Status post_rdma_write(std::uint64_t wr_id, LocalBuffer source,
                         BufferDescriptorV1 target) override {
    if (state_ != State::connected) return Status::not_connected;
    std::span<std::uint8_t> local;
    if (Status s = local_span(source, local); s != Status::success) return s;
    if (local.size() != target.length || send_queue_full()) return Status::invalid_argument;
    std::uint64_t id = next_rdma_id_++;
    rdma_.emplace(id, RdmaOp{wr_id, CompletionKind::rdma_write, {}});
    append(Frame{FrameType::write_request, 0, Status::success, id, target.offset, target.token,
                 target.length},
           local);
    flush();
    return Status::success;
  }

  Status post_rdma_read(std::uint64_t wr_id, LocalBuffer target,
                        BufferDescriptorV1 source) override {
    if (state_ != State::connected) return Status::not_connected;
    std::span<std::uint8_t> local;
    if (Status s = local_span(target, local); s != Status::success) return s;
    if (local.size() != source.length || send_queue_full()) return Status::invalid_argument;
    std::uint64_t id = next_rdma_id_++;
    rdma_.emplace(id, RdmaOp{wr_id, CompletionKind::rdma_read, local});
    append(Frame{FrameType::read_request, 0, Status::success, id, source.offset, source.token,
                 source.length},
           {});
    flush();
    return Status::success;
  }

  std::size_t poll(std::span<Completion> out) override {
    if (!out_.empty() || draining_) flush();
    if (state_ != State::broken) receive();
    std::size_t n = 0;
    while (n < out.size() && !ready_.empty()) {
      out[n++] = ready_.front();
      ready_.pop_front();
    }
    if (ready_.empty()) {
      std::uint64_t v;
      [[maybe_unused]] auto r = ::read(notify_.get(), &v, sizeof v);
    }
    return n;
  }

  void disconnect() override {
    if (state_ == State::broken) return;
    if (state_ == State::connected) append(Frame{FrameType::disconnect}, {});
    fail(Status::success, std::nullopt);
  }

 private:
  struct PostedRecv {
    std::uint64_t wr_id;
    std::span<std::uint8_t> target;
  };
  struct RdmaOp {
    std::uint64_t wr_id;
    CompletionKind kind;
    std::span<std::uint8_t> target;  // reads: where the data lands
  };

  bool send_queue_full() const { return sends_.size() + rdma_.size() >= config_.max_send_wr; }

  Status local_span(const LocalBuffer& b, std::span<std::uint8_t>& out) const {
    auto* soft = dynamic_cast<const SoftMemoryRegion*>(b.region);
    if (soft == nullptr || soft->registry() != registry_.get() || !soft->valid() ||
        !in_bounds(b.offset, b.length, soft->span().size()))
      return Status::local_protection_error;
    out = soft->span().subspan(b.offset, b.length);
    return Status::success;
  }

  void push(const Completion& c) {
    if (ready_.empty()) {
      std::uint64_t one = 1;
      [[maybe_unused]] auto r = ::write(notify_.get(), &one, sizeof one);
    }
    ready_.push_back(c);
  }

  void append(const Frame& f, std::span<const std::uint8_t> payload) {
    std::size_t at = out_.size();
    out_.resize(at + kHeaderSize);
    std::uint8_t* p = &out_[at];
    p[0] = static_cast<std::uint8_t>(f.type);
    p[1] = f.flags;
    store_le16(p + 2, 0);
    store_le32(p + 4, static_cast<std::uint32_t>(f.status));
    store_le64(p + 8, f.id);
    store_le64(p + 16, f.offset);
    store_le32(p + 24, f.token);
    store_le32(p + 28, f.length);
    out_.insert(out_.end(), payload.begin(), payload.end());
  }

  void set_interest(bool want_in, bool want_out) {
    std::uint32_t events = (want_in ? EPOLLIN : 0u) | (want_out ? EPOLLOUT : 0u);
    if (events == interest_) return;
    epoll_event ev{};
    ev.events = events;
    ev.data.fd = sock_.get();
    ::epoll_ctl(epoll_.get(), EPOLL_CTL_MOD, sock_.get(), &ev);
    interest_ = events;
  }

  // Writes what the socket takes now. After a break only the queued tail is written,
  // then the write side is shut down.
  void flush() {
    while (out_head_ < out_.size()) {
      ssize_t n = ::send(sock_.get(), out_.data() + out_head_, out_.size() - out_head_,
                         MSG_NOSIGNAL | MSG_DONTWAIT);
      if (n > 0) {
        out_head_ += static_cast<std::size_t>(n);
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
      out_.clear();
      out_head_ = 0;
      if (state_ != State::broken) fail(Status::transport_error, std::nullopt);
      break;
    }
    if (out_head_ == out_.size()) {
      out_.clear();
      out_head_ = 0;
    } else if (out_head_ > (1u << 20) && out_head_ * 2 > out_.size()) {
      out_.erase(out_.begin(), out_.begin() + static_cast<std::ptrdiff_t>(out_head_));
      out_head_ = 0;
    }
    bool pending = out_head_ < out_.size();
    if (state_ == State::broken) {
      if (!pending && draining_) {
        draining_ = false;
        ::shutdown(sock_.get(), SHUT_WR);
        ::epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, sock_.get(), nullptr);
        interest_ = 0;
      } else if (pending) {
        set_interest(false, true);
      }
      return;
    }
    set_interest(true, pending);
  }

  void receive() {
    for (int i = 0; i < kReadsPerPoll && state_ != State::broken; ++i) {
      std::size_t at = in_.size();
      in_.resize(at + kReadChunk);
      ssize_t n = ::recv(sock_.get(), in_.data() + at, kReadChunk, MSG_DONTWAIT);
      in_.resize(at + (n > 0 ? static_cast<std::size_t>(n) : 0));
      if (n > 0) {
        parse();
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
      fail(Status::transport_error, std::nullopt);  // EOF or reset: abrupt loss
    }
    if (!out_.empty()) flush();
  }

  void parse() {
    while (state_ != State::broken) {
      std::size_t avail = in_.size() - in_head_;
      if (avail < kHeaderSize) break;
      const std::uint8_t* p = &in_[in_head_];
      Frame f;
      f.type = static_cast<FrameType>(p[0]);
      f.flags = p[1];
      f.status = static_cast<Status>(load_le32(p + 4));
      f.id = load_le64(p + 8);
      f.offset = load_le64(p + 16);
      f.token = load_le32(p + 24);
      f.length = load_le32(p + 28);
      bool carries = f.type == FrameType::send || f.type == FrameType::write_request ||
                     f.type == FrameType::read_response;
      std::uint64_t payload_len = carries ? f.length : 0;
      if (payload_len > kMaxPayload) {
        fail(Status::transport_error, std::nullopt);
        break;
      }
      if (avail - kHeaderSize < payload_len) break;
      std::span<const std::uint8_t> payload(p + kHeaderSize, payload_len);
      handle(f, payload);
      in_head_ += kHeaderSize + payload_len;
    }
    if (in_head_ == in_.size()) {
      in_.clear();
      in_head_ = 0;
    } else if (in_head_ > 0) {
      in_.erase(in_.begin(), in_.begin() + static_cast<std::ptrdiff_t>(in_head_));
      in_head_ = 0;
    }
  }

  // The NIC side of the peer's RDMA request: token, access, offset and length checked.
  bool remote_target(const Frame& f, Access wanted, std::span<std::uint8_t>& out) {
    auto it = registry_->entries.find(f.token);
    if (it == registry_->entries.end() || !remote_allowed(it->second.access, wanted) ||
        !in_bounds(f.offset, f.length, it->second.span.size())) {
      ++stats_.remote_access_errors;
      return false;
    }
    out = it->second.span.subspan(f.offset, f.length);
    return true;
  }

  void handle(const Frame& f, std::span<const std::uint8_t> payload) {
    switch (f.type) {
      case FrameType::accept:
        if (state_ != State::connecting) return fail(Status::transport_error, std::nullopt);
        state_ = State::connected;
        push(Completion{0, CompletionKind::established});
        return;
      case FrameType::send:
        return handle_send(f, payload);
      case FrameType::send_ack: {
        if (sends_.empty()) return fail(Status::transport_error, std::nullopt);
        Completion c{sends_.front(), CompletionKind::send, f.status};
        sends_.pop_front();
        if (f.status == Status::success) return push(c);
        return fail(f.status, c);
      }
      case FrameType::write_request: {
        std::span<std::uint8_t> target;
        Frame r{FrameType::write_response, 0, Status::remote_access_error, f.id};
        if (remote_target(f, Access::remote_write, target)) {
          std::memcpy(target.data(), payload.data(), payload.size());
          r.status = Status::success;
        }
        return append(r, {});
      }
      case FrameType::read_request: {
        std::span<std::uint8_t> source;
        Frame r{FrameType::read_response, 0, Status::remote_access_error, f.id};
        if (remote_target(f, Access::remote_read, source)) {
          r.status = Status::success;
          r.length = f.length;
        }
        return append(r, r.status == Status::success ? source : std::span<std::uint8_t>{});
      }
      case FrameType::write_response:
      case FrameType::read_response: {
        auto it = rdma_.find(f.id);
        if (it == rdma_.end()) return fail(Status::transport_error, std::nullopt);
        RdmaOp op = it->second;
        rdma_.erase(it);
        Completion c{op.wr_id, op.kind, f.status};
        if (f.status != Status::success) return fail(f.status, c);
        if (op.kind == CompletionKind::rdma_read) {
          if (payload.size() != op.target.size())
            return fail(Status::transport_error, std::nullopt);
          std::memcpy(op.target.data(), payload.data(), payload.size());
        }
        c.byte_len = static_cast<std::uint32_t>(payload.size());
        return push(c);
      }
      case FrameType::disconnect:
        return fail(Status::success, std::nullopt);
    }
    fail(Status::transport_error, std::nullopt);
  }

  void handle_send(const Frame& f, std::span<const std::uint8_t> payload) {
    ++stats_.sends_received;
    Frame ack{FrameType::send_ack, 0, Status::success};
    if (recvs_.empty()) {
      // RC: no receive posted. The sender's request fails and the connection breaks.
      ++stats_.receiver_not_ready;
      ack.status = Status::receiver_not_ready;
      append(ack, {});
      return fail(Status::transport_error, std::nullopt);
    }
    PostedRecv r = recvs_.front();
    recvs_.pop_front();
    Completion c{r.wr_id, CompletionKind::recv};
    if (payload.size() > r.target.size()) {
      ack.status = Status::remote_invalid_request;
      append(ack, {});
      c.status = Status::local_length_error;
      return fail(Status::transport_error, c);
    }
    if (f.flags & kFlagInvalidate) {
      if (registry_->entries.erase(f.token) == 0) {
        ack.status = Status::remote_invalid_request;
        append(ack, {});
        c.status = Status::remote_invalid_request;
        return fail(Status::transport_error, c);
      }
      c.invalidated_token = f.token;
    }
    std::memcpy(r.target.data(), payload.data(), payload.size());
    c.byte_len = static_cast<std::uint32_t>(payload.size());
    append(ack, {});
    push(c);
  }

  // Leaves the connected state: `first` (the failing request) then every outstanding
  // request flushed, then `disconnected` with `reason` (success for an orderly close).
  void fail(Status reason, std::optional<Completion> first) {
    if (state_ == State::broken) return;
    state_ = State::broken;
    if (first) push(*first);
    for (const auto& r : recvs_) push(Completion{r.wr_id, CompletionKind::recv, Status::flushed});
    recvs_.clear();
    for (auto id : sends_) push(Completion{id, CompletionKind::send, Status::flushed});
    sends_.clear();
    for (const auto& [id, op] : rdma_) push(Completion{op.wr_id, op.kind, Status::flushed});
    rdma_.clear();
    push(Completion{0, CompletionKind::disconnected, reason});
    draining_ = true;
    flush();
  }

  UniqueFd sock_;
  UniqueFd epoll_;
  UniqueFd notify_;
  QueuePairConfig config_;
  State state_;
  std::shared_ptr<Registry> registry_;
  Bytes out_;
  std::size_t out_head_ = 0;
  Bytes in_;
  std::size_t in_head_ = 0;
  std::uint32_t interest_ = EPOLLIN;
  bool draining_ = false;
  std::deque<PostedRecv> recvs_;
  std::deque<std::uint64_t> sends_;
  std::map<std::uint64_t, RdmaOp> rdma_;
  std::uint64_t next_rdma_id_ = 1;
  std::deque<Completion> ready_;
  SoftQueuePairStats stats_;
};

bool make_unix_address(const std::string& path, sockaddr_un& sun, std::string& error) {
  sun = {};
  sun.sun_family = AF_UNIX;
  if (path.empty() || path.size() >= sizeof sun.sun_path) {
    error = "unix socket path too long";
    return false;
  }
  std::memcpy(sun.sun_path, path.data(), path.size());
  return true;
}

struct AddrInfoDeleter {
  void operator()(addrinfo* ai) const { ::freeaddrinfo(ai); }
};

std::unique_ptr<addrinfo, AddrInfoDeleter> resolve(const std::string& address, std::uint16_t port,
                                                   bool passive, std::string& error) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV | (passive ? AI_PASSIVE : 0);
  addrinfo* res = nullptr;
  std::string service = std::to_string(port);
  if (int rc =
          ::getaddrinfo(address.empty() ? nullptr : address.c_str(), service.c_str(), &hints, &res);
      rc != 0) {
    error = std::string("getaddrinfo: ") + ::gai_strerror(rc);
    return nullptr;
  }
  return std::unique_ptr<addrinfo, AddrInfoDeleter>(res);
}

constexpr std::string_view kUnixPrefix = "unix:";

class SoftListener final : public Listener {
 public:
  SoftListener(UniqueFd sock, std::uint16_t port, bool tcp)
      : sock_(std::move(sock)), port_(port), tcp_(tcp) {}
  int fd() const override { return sock_.get(); }
  std::uint16_t port() const override { return port_; }
  std::unique_ptr<QueuePair> accept(const QueuePairConfig& config) override {
    int fd = ::accept4(sock_.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) return nullptr;
    if (tcp_) {
      int one = 1;
      ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    }
    return std::make_unique<SoftQueuePair>(UniqueFd(fd), SoftQueuePair::State::pending, config);
  }

 private:
  UniqueFd sock_;
  std::uint16_t port_;
  bool tcp_;
};

}  // namespace

std::unique_ptr<Listener> SoftFabric::listen(const std::string& address, std::uint16_t port,
                                             std::string& error) {
  if (address.starts_with(kUnixPrefix)) {
    sockaddr_un sun;
    std::string path = address.substr(kUnixPrefix.size());
    if (!make_unix_address(path, sun, error)) return nullptr;
    UniqueFd sock(::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    ::unlink(path.c_str());
    if (!sock || ::bind(sock.get(), reinterpret_cast<sockaddr*>(&sun), sizeof sun) != 0 ||
        ::listen(sock.get(), 64) != 0) {
      error = std::string("unix listen: ") + std::strerror(errno);
      return nullptr;
    }
    return std::make_unique<SoftListener>(std::move(sock), 0, false);
  }
  auto ai = resolve(address, port, true, error);
  if (!ai) return nullptr;
  UniqueFd sock(::socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  int one = 1;
  if (sock) ::setsockopt(sock.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (!sock || ::bind(sock.get(), ai->ai_addr, ai->ai_addrlen) != 0 ||
      ::listen(sock.get(), 64) != 0) {
    error = std::string("listen: ") + std::strerror(errno);
    return nullptr;
  }
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  ::getsockname(sock.get(), reinterpret_cast<sockaddr*>(&ss), &len);
  std::uint16_t bound = ss.ss_family == AF_INET6
                            ? ntohs(reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port)
                            : ntohs(reinterpret_cast<sockaddr_in*>(&ss)->sin_port);
  return std::make_unique<SoftListener>(std::move(sock), bound, true);
}

std::unique_ptr<QueuePair> SoftFabric::connect(const std::string& address, std::uint16_t port,
                                               const QueuePairConfig& config, std::string& error) {
  UniqueFd sock;
  if (address.starts_with(kUnixPrefix)) {
    sockaddr_un sun;
    if (!make_unix_address(address.substr(kUnixPrefix.size()), sun, error)) return nullptr;
    sock.reset(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!sock || ::connect(sock.get(), reinterpret_cast<sockaddr*>(&sun), sizeof sun) != 0) {
      error = std::string("unix connect: ") + std::strerror(errno);
      return nullptr;
    }
  } else {
    auto ai = resolve(address, port, false, error);
    if (!ai) return nullptr;
    sock.reset(::socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!sock || ::connect(sock.get(), ai->ai_addr, ai->ai_addrlen) != 0) {
      error = std::string("connect: ") + std::strerror(errno);
      return nullptr;
    }
    int one = 1;
    ::setsockopt(sock.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  }
  set_nonblocking(sock.get());
  return std::make_unique<SoftQueuePair>(std::move(sock), SoftQueuePair::State::connecting, config);
}

const SoftQueuePairStats* soft_stats(const QueuePair& qp) {
  auto* soft = dynamic_cast<const SoftQueuePair*>(&qp);
  return soft ? &soft->stats() : nullptr;
}

}  // namespace smb::fabric
