#include "shmring/channel.hh"

#include <fcntl.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <string>

#include "smbd/base/fd_passing.hh"

namespace smb::shmring {
namespace {

using Clock = std::chrono::steady_clock;

constexpr std::array<std::uint8_t, 8> kHelloMagic = {'S', 'H', 'M', 'R', 'I', 'N', 'G', 0};
constexpr std::size_t kHelloSize = kHelloMagic.size() + 4;
constexpr std::int64_t kMaxPollMs = 1 << 30;
constexpr std::int64_t kMaxWaitMs = std::int64_t{1} << 40;

[[noreturn]] void fail(const char* what, int err) {
  throw Error(Errc::system, std::string("shmring: ") + what + ": " + std::strerror(err));
}

UniqueFd make_eventfd() {
  UniqueFd fd(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!fd) fail("eventfd", errno);
  return fd;
}

// A doorbell from the peer must really be an eventfd: a pipe or socket in its place
// could block our writes or never signal. It is made non-blocking here because the
// flag lives in the shared open file description the peer chose.
void check_eventfd(const UniqueFd& fd) {
  std::array<char, 64> target{};
  const std::string link = "/proc/self/fd/" + std::to_string(fd.get());
  const ssize_t n = ::readlink(link.c_str(), target.data(), target.size() - 1);
  if (n < 0 ||
      std::string_view(target.data(), static_cast<std::size_t>(n)) != "anon_inode:[eventfd]")
    throw Error(Errc::bad_handshake, "shmring: doorbell fd is not an eventfd");
  const int flags = ::fcntl(fd.get(), F_GETFL);
  if (flags < 0 || ::fcntl(fd.get(), F_SETFL, flags | O_NONBLOCK) != 0)
    fail("making the doorbell non-blocking", errno);
}

RingId tx_ring(Role role) {
  return role == Role::creator ? RingId::creator_to_attacher : RingId::attacher_to_creator;
}
RingId rx_ring(Role role) {
  return role == Role::creator ? RingId::attacher_to_creator : RingId::creator_to_attacher;
}

bool wants(Interest interest, Interest bit) {
  return (static_cast<unsigned>(interest) & static_cast<unsigned>(bit)) != 0;
}

}  // namespace

Channel::Channel(Role role, Segment segment, UniqueFd socket, UniqueFd own_doorbell,
                 UniqueFd peer_doorbell)
    : role_(role),
      segment_(std::move(segment)),
      socket_(std::move(socket)),
      own_doorbell_(std::move(own_doorbell)),
      peer_doorbell_(std::move(peer_doorbell)),
      tx_(segment_.bytes(), segment_.layout(), tx_ring(role)),
      rx_(segment_.bytes(), segment_.layout(), rx_ring(role)) {}

Channel Channel::create(UniqueFd socket, const Geometry& geometry) {
  Segment segment = Segment::create(geometry);
  UniqueFd creator_bell = make_eventfd();
  UniqueFd attacher_bell = make_eventfd();

  std::array<std::uint8_t, kHelloSize> hello{};
  std::memcpy(hello.data(), kHelloMagic.data(), kHelloMagic.size());
  std::memcpy(hello.data() + kHelloMagic.size(), &kVersion, sizeof kVersion);
  const std::array<int, 3> fds = {segment.fd(), creator_bell.get(), attacher_bell.get()};
  if (int err = send_with_fds(socket.get(), hello, fds); err != 0)
    throw Error(Errc::system, std::string("shmring: sending the handshake: ") + std::strerror(err));
  return Channel(Role::creator, std::move(segment), std::move(socket), std::move(creator_bell),
                 std::move(attacher_bell));
}

Channel Channel::attach(UniqueFd socket, int timeout_ms) {
  std::array<std::uint8_t, kHelloSize + 1> hello{};
  Received r = receive_with_fds(socket.get(), hello, 3, timeout_ms);
  if (r.error != 0)
    throw Error(Errc::system, std::string("shmring: waiting for the handshake: ") + std::strerror(r.error));
  if (r.bytes == 0) throw Error(Errc::bad_handshake, "shmring: peer closed before handshake");
  std::uint32_t version = 0;
  std::memcpy(&version, hello.data() + kHelloMagic.size(), sizeof version);
  if (r.truncated || r.bytes != kHelloSize || r.fds.size() != 3 ||
      std::memcmp(hello.data(), kHelloMagic.data(), kHelloMagic.size()) != 0)
    throw Error(Errc::bad_handshake, "shmring: malformed handshake");
  if (version != kVersion) throw Error(Errc::bad_version, "shmring: unsupported version");
  check_eventfd(r.fds[1]);
  check_eventfd(r.fds[2]);
  Segment segment = Segment::attach(std::move(r.fds[0]));
  return Channel(Role::attacher, std::move(segment), std::move(socket), std::move(r.fds[2]),
                 std::move(r.fds[1]));
}

void Channel::ring_peer() {
  const std::uint64_t one = 1;
  // EAGAIN means the counter is saturated: the peer has a wake-up pending already.
  while (::write(peer_doorbell_.get(), &one, sizeof one) < 0 && errno == EINTR) {
  }
}

void Channel::clear_doorbell() {
  std::uint64_t count;
  while (::read(own_doorbell_.get(), &count, sizeof count) < 0 && errno == EINTR) {
  }
}

RingStatus Channel::send(const Descriptor& d) {
  const RingStatus s = tx_.try_push(d);
  if (s == RingStatus::ok && tx_.consumer_needs_wakeup()) ring_peer();
  return s;
}

RingStatus Channel::receive(Descriptor& out) {
  const RingStatus s = rx_.try_pop(out);
  if (s == RingStatus::ok && rx_.producer_needs_wakeup()) ring_peer();
  return s;
}

bool Channel::arm(Interest interest) {
  bool ready = false;
  if (wants(interest, Interest::receive)) ready |= rx_.prepare_sleep();
  if (wants(interest, Interest::send)) ready |= tx_.prepare_wait_for_space();
  if (ready) disarm(interest);
  return ready;
}

void Channel::disarm(Interest interest) {
  if (wants(interest, Interest::receive)) rx_.cancel_sleep();
  if (wants(interest, Interest::send)) tx_.cancel_wait_for_space();
}

bool Channel::socket_hung_up(short revents) {
  if ((revents & (POLLHUP | POLLRDHUP | POLLERR | POLLNVAL)) != 0) peer_gone_ = true;
  return peer_gone_;
}

WaitResult Channel::wait(Interest interest, std::chrono::milliseconds timeout) {
  // Bounded so the deadline arithmetic cannot overflow.
  const auto deadline = Clock::now() + std::min(timeout, std::chrono::milliseconds(kMaxWaitMs));
  for (;;) {
    const bool ready = arm(interest);
    if (corrupt()) return WaitResult::corrupt;
    if (ready) return WaitResult::ready;
    if (peer_gone_) {
      disarm(interest);
      return WaitResult::peer_gone;
    }
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    std::array<pollfd, 2> fds = {pollfd{own_doorbell_.get(), POLLIN, 0},
                                 pollfd{socket_.get(), POLLRDHUP, 0}};
    const int n = ::poll(fds.data(), fds.size(),
                         static_cast<int>(std::clamp<std::int64_t>(left.count(), 0, kMaxPollMs)));
    disarm(interest);
    if (n < 0) {
      if (errno == EINTR) continue;
      fail("poll", errno);
    }
    if ((fds[0].revents & POLLIN) != 0) clear_doorbell();
    // On hangup loop once more: entries posted before the peer died are still ready.
    if (socket_hung_up(fds[1].revents)) continue;
    if (n == 0) {
      if (arm(interest)) return WaitResult::ready;
      return corrupt() ? WaitResult::corrupt : WaitResult::timeout;
    }
  }
}

}  // namespace smb::shmring
