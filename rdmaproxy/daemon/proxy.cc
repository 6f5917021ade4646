#include "rdmaproxy/daemon/proxy.hh"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <deque>
#include <optional>
#include <vector>

#include "rdmaproxy/channel/protocol.hh"
#include "shmring/channel.hh"
#include "smbd/base/fd_passing.hh"
#include "smbd/conf/log.hh"

namespace smb::rdmaproxy {

namespace rc = rdmachannel;

namespace {
// A client that withholds its SMB Direct credits cannot be sent its responses; they wait
// in its engine. Once this much waits, the proxy stops reading the worker's channel
// socket (the worker then stops reading requests, docs/smbdirect.md) and reads again
// when half of it has gone: the limits of smbd's TCP transport.
constexpr std::size_t kSendBacklogLimit = 32u << 20;
}  // namespace

struct Proxy::Session {
  Proxy* proxy = nullptr;
  std::string peer;
  // Destruction order matters: the ring registration goes before the ring, and both
  // only after the engine reported `disconnected` (nothing of ours is posted then).
  std::unique_ptr<smbdirect::Connection> conn;
  smb::UniqueFd channel;
  std::deque<Bytes> to_smbd;
  rc::Reassembler reassembler{16u << 20};
  std::optional<shmring::Channel> ring;
  std::unique_ptr<fabric::MemoryRegion> ring_region;
  std::deque<shmring::Descriptor> completions;  // waiting for ring space
  std::size_t in_flight = 0;
  bool backlogged = false;  // too many responses wait for the client: smbd is not read
  bool disconnected = false;
  bool closing = false;

  void fail(const char* why) {
    if (!closing) log::notice(peer.c_str(), "rdmaproxy: closing: %s", why);
    closing = true;
    channel.reset();
    if (conn && conn->state() != smbdirect::State::closed) conn->close();
  }

  void on_established() {
    const auto& n = conn->negotiated();
    channel.reset(::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    sockaddr_un sa{};
    sa.sun_family = AF_UNIX;
    const std::string& path = proxy->settings_.smbd_socket;
    if (!channel || path.size() >= sizeof sa.sun_path) {
      fail("cannot create the channel socket");
      return;
    }
    std::memcpy(sa.sun_path, path.c_str(), path.size() + 1);
    if (::connect(channel.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) {
      log::error(peer.c_str(), "rdmaproxy: connecting to smbd at %s: %s", path.c_str(),
                 std::strerror(errno));
      fail("smbd is not reachable");
      return;
    }
    rc::Hello hello;
    hello.max_send_message = n.max_fragmented_send_size;
    hello.max_receive_message = n.max_fragmented_recv_size;
    hello.max_read_write_size = n.max_read_write_size;
    hello.peer_address = peer;
    to_smbd.push_back(rc::encode_hello(hello));
    proxy->stats_.bridged++;
    log::info(peer.c_str(), "rdmaproxy: SMB Direct connection established, passed to smbd");
    flush();
  }

  // A whole SMB2 message from the client: chunks to the worker.
  void on_message(ByteSpan message) {
    if (closing) return;
    std::size_t at = 0;
    do {
      std::size_t n = std::min(rc::kMaxChunk, message.size() - at);
      Bytes packet(rc::kHeaderSize);
      bool more = at + n < message.size();
      rc::encode_header({rc::PacketType::SMB2, more ? rc::kFlagMore : std::uint16_t{0}, 0},
                        packet.data());
      packet.insert(packet.end(), message.begin() + static_cast<std::ptrdiff_t>(at),
                    message.begin() + static_cast<std::ptrdiff_t>(at + n));
      to_smbd.push_back(std::move(packet));
      at += n;
    } while (at < message.size());
    flush();
  }

  void flush() {
    while (channel && !to_smbd.empty()) {
      ssize_t n = ::send(channel.get(), to_smbd.front().data(), to_smbd.front().size(),
                         MSG_NOSIGNAL | MSG_DONTWAIT);
      if (n < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return;
        fail("the channel socket to smbd failed");
        return;
      }
      to_smbd.pop_front();
    }
  }

  // Whether responses from smbd may be read: not while too many wait for the client.
  bool update_backlog() {
    std::size_t queued = conn->queued_bytes();
    if (!backlogged && queued > kSendBacklogLimit) {
      backlogged = true;
      log::info(peer.c_str(), "rdmaproxy: %zu bytes wait for the client's credits: smbd not read",
                queued);
    } else if (backlogged && queued < kSendBacklogLimit / 2) {
      backlogged = false;
      log::info(peer.c_str(), "rdmaproxy: %zu bytes wait for the client: smbd read again", queued);
    }
    return !backlogged;
  }

  void on_channel_readable() {
    std::vector<std::uint8_t> buffer(rc::kMaxPacket);
    for (int burst = 0; burst < 256 && channel && !closing && update_backlog(); ++burst) {
      smb::Received received = smb::receive_with_fds(channel.get(), buffer, 4, 0);
      if (received.error != 0) {
        if (received.error == EAGAIN || received.error == EWOULDBLOCK || received.error == EINTR)
          return;
        fail("reading the channel socket failed");
        return;
      }
      std::vector<smb::UniqueFd>& fds = received.fds;
      if (received.bytes == 0) {
        fail("smbd closed the channel");
        return;
      }
      if (received.truncated) {
        fail("oversized packet from smbd");
        return;
      }
      ByteSpan packet(buffer.data(), received.bytes);
      rc::PacketHeader h;
      if (!rc::decode_header(packet, h)) {
        fail("malformed packet from smbd");
        return;
      }
      if (h.type == rc::PacketType::SMB2) {
        if (!fds.empty()) {
          fail("unexpected descriptor from smbd");
          return;
        }
        auto r = reassembler.feed(h, packet.subspan(rc::kHeaderSize));
        if (r == rc::Reassembler::Result::error) {
          fail("bad SMB2 chunk from smbd");
          return;
        }
        if (r == rc::Reassembler::Result::message) {
          Bytes m = reassembler.take();
          NtStatus s = conn->send(m, reassembler.invalidate_token());
          if (s != NtStatus::SUCCESS) {
            fail("a message from smbd cannot be sent to the client");
            return;
          }
        }
      } else if (h.type == rc::PacketType::SHM_ATTACH) {
        if (ring || fds.size() != 1 || packet.size() != rc::kHeaderSize) {
          fail("bad SHM_ATTACH from smbd");
          return;
        }
        attach(std::move(fds.front()));
      } else {
        fail("unexpected packet from smbd");
        return;
      }
    }
  }

  void attach(smb::UniqueFd socket) {
    try {
      ring.emplace(shmring::Channel::attach(std::move(socket), 2000));
    } catch (const shmring::Error& e) {
      log::error(peer.c_str(), "rdmaproxy: shmring attach failed: %s", e.what());
      fail("shmring attach failed");
      return;
    }
    std::string error;
    // Registered once for the life of the channel ([MS-SMBD] needs only local access:
    // the proxy posts the RDMA operations itself).
    ring_region = conn->register_memory(ring->segment().bytes(), fabric::Access::local, error);
    if (!ring_region) {
      log::error(peer.c_str(), "rdmaproxy: registering the data segment: %s", error.c_str());
      fail("cannot register the data segment");
      return;
    }
    process_ring();
  }

  void complete(std::uint64_t request_id, NtStatus status, std::uint32_t length) {
    shmring::Descriptor c;
    c.op = static_cast<std::uint16_t>(rc::RingOp::COMPLETE);
    c.request_id = request_id;
    c.status = static_cast<std::uint32_t>(status);
    c.length = status == NtStatus::SUCCESS ? length : 0;
    completions.push_back(c);
  }

  void post_completions() {
    while (ring && !completions.empty()) {
      auto s = ring->send(completions.front());
      if (s == shmring::RingStatus::full) return;
      if (s != shmring::RingStatus::ok) {
        fail("the worker corrupted the ring");
        return;
      }
      completions.pop_front();
    }
  }

  void handle(const shmring::Descriptor& d) {
    auto checked = rc::check_request(d, conn->negotiated().max_read_write_size);
    auto bytes = ring->slot_bytes(d);
    if (!checked || !bytes) {
      proxy->stats_.rejected_requests++;
      complete(d.request_id, NtStatus::INVALID_PARAMETER, 0);
      return;
    }
    auto list = checked->buffers.view();
    std::size_t offset = static_cast<std::size_t>(bytes->data() - ring->segment().bytes().data());
    std::uint64_t id = d.request_id;
    std::uint32_t length = d.length;
    bool write = checked->op == rc::RingOp::RDMA_WRITE;
    ++in_flight;
    auto done = [this, id, length](NtStatus s) {
      --in_flight;
      if (s == NtStatus::SUCCESS) proxy->stats_.rdma_bytes += length;
      complete(id, s, length);
      post_completions();
    };
    NtStatus s = write ? conn->rdma_write(*ring_region, offset, list, done)
                       : conn->rdma_read(*ring_region, offset, list, done);
    if (write)
      proxy->stats_.rdma_writes++;
    else
      proxy->stats_.rdma_reads++;
    if (s != NtStatus::SUCCESS) {
      --in_flight;
      complete(id, s, 0);
    }
  }

  void process_ring() {
    if (!ring || !ring_region || closing) return;
    for (;;) {
      ring->disarm(shmring::Interest::either);
      ring->clear_doorbell();
      post_completions();
      if (closing) return;
      // Take no more work than the completion ring can answer.
      std::uint64_t capacity = ring->geometry().ring_capacity;
      while (in_flight + completions.size() < capacity) {
        shmring::Descriptor d;
        auto s = ring->receive(d);
        if (s == shmring::RingStatus::empty) break;
        if (s != shmring::RingStatus::ok) {
          fail("the worker corrupted the ring");
          return;
        }
        handle(d);
      }
      post_completions();
      if (closing) return;
      auto interest = completions.empty() ? shmring::Interest::receive : shmring::Interest::either;
      if (!ring->arm(interest)) return;
    }
  }
};

Proxy::Proxy(Settings settings, std::unique_ptr<fabric::Fabric> fabric)
    : settings_(std::move(settings)), fabric_(std::move(fabric)) {}

Proxy::~Proxy() = default;

bool Proxy::listen(std::string& error) {
  error = smbdirect::validate(settings_.engine);
  if (!error.empty()) return false;
  listener_ = fabric_->listen(settings_.address, settings_.port, error);
  return listener_ != nullptr;
}

std::uint16_t Proxy::port() const { return listener_ ? listener_->port() : 0; }

void Proxy::accept_new() {
  for (int burst = 0; burst < 16; ++burst) {
    auto qp = listener_->accept(smbdirect::queue_pair_config(settings_.engine));
    if (!qp) return;
    auto session = std::make_unique<Session>();
    Session* s = session.get();
    s->proxy = this;
    s->peer = "smbdirect#" + std::to_string(++stats_.accepted);
    smbdirect::Callbacks callbacks{
        [s] { s->on_established(); }, [s](ByteSpan m) { s->on_message(m); },
        [s](smbdirect::DisconnectReason r) {
          log::info(s->peer.c_str(), "rdmaproxy: SMB Direct connection ended: %s",
                    std::string(smbdirect::reason_name(r)).c_str());
          s->disconnected = true;
          s->closing = true;
          s->channel.reset();
        }};
    std::string error;
    s->conn = smbdirect::Connection::create(std::move(qp), smbdirect::Role::server,
                                            settings_.engine, std::move(callbacks), error);
    if (!s->conn) {
      log::error(nullptr, "rdmaproxy: cannot start a connection: %s", error.c_str());
      continue;
    }
    sessions_.push_back(std::move(session));
  }
}

void Proxy::run_once(std::chrono::milliseconds max_wait) {
  enum Kind { kListener, kEngine, kChannel, kDoorbell, kRingSocket };
  struct Entry {
    Kind kind;
    Session* session;
  };
  std::vector<pollfd> fds;
  std::vector<Entry> entries;
  auto now = smbdirect::Clock::now();
  auto wake = now + max_wait;
  if (listener_) {
    fds.push_back({listener_->fd(), POLLIN, 0});
    entries.push_back({kListener, nullptr});
  }
  for (auto& s : sessions_) {
    fds.push_back({s->conn->fd(), POLLIN, 0});
    entries.push_back({kEngine, s.get()});
    if (auto d = s->conn->next_deadline()) wake = std::min(wake, *d);
    if (s->channel) {
      short events = s->update_backlog() ? POLLIN : 0;
      if (!s->to_smbd.empty()) events |= POLLOUT;
      fds.push_back({s->channel.get(), events, 0});
      entries.push_back({kChannel, s.get()});
    }
    if (s->ring && !s->closing) {
      fds.push_back({s->ring->doorbell_fd(), POLLIN, 0});
      entries.push_back({kDoorbell, s.get()});
      fds.push_back({s->ring->socket_fd(), POLLRDHUP, 0});
      entries.push_back({kRingSocket, s.get()});
    }
  }
  auto wait = std::chrono::ceil<std::chrono::milliseconds>(wake - now);
  int timeout = static_cast<int>(std::max<std::int64_t>(0, wait.count()));
  int n = ::poll(fds.data(), fds.size(), timeout);
  if (n < 0 && errno != EINTR) log::error(nullptr, "rdmaproxy: poll: %s", std::strerror(errno));
  now = smbdirect::Clock::now();
  for (std::size_t i = 0; i < fds.size(); ++i) {
    Session* s = entries[i].session;
    short r = n > 0 ? fds[i].revents : 0;
    switch (entries[i].kind) {
      case kListener:
        if (r & POLLIN) accept_new();
        break;
      case kEngine: {
        auto d = s->conn->next_deadline();
        if ((r & (POLLIN | POLLERR | POLLHUP)) || (d && *d <= now)) s->conn->process(now);
        break;
      }
      case kChannel:
        if (!s->channel) break;
        if (r & POLLOUT) s->flush();
        if (r & (POLLIN | POLLERR | POLLHUP)) s->on_channel_readable();
        // Not reading while backlogged, a hang-up would be reported at every round.
        if (s->channel && s->backlogged && (r & (POLLERR | POLLHUP)))
          s->fail("the channel socket to smbd closed");
        break;
      case kDoorbell:
        if (r & POLLIN) s->process_ring();
        break;
      case kRingSocket:
        if ((r & (POLLRDHUP | POLLHUP | POLLERR)) && s->ring && !s->closing) {
          // Drain what the worker posted before it went, then close.
          s->process_ring();
          s->fail("the worker's data segment went away");
        }
        break;
    }
  }
  // Requests that arrived while completions were blocked, and new engine progress.
  for (auto& s : sessions_) {
    if (s->ring && !s->closing && !s->completions.empty()) s->process_ring();
  }
  std::erase_if(sessions_, [](const std::unique_ptr<Session>& s) { return s->disconnected; });
}

}  // namespace smb::rdmaproxy
