#include "server/control.hh"

#include <sys/socket.h>

#include <cerrno>
#include <cstring>

namespace smb::server {

namespace {
constexpr std::size_t kFixedSize = 4 + 16 + 4 + 4 + 4;
}

bool send_control(int socket, const ControlMessage& message, int fd) {
  if (message.payload.size() > kMaxControlMessage - kFixedSize) {
    errno = EMSGSIZE;
    return false;
  }
  Bytes wire;
  ByteWriter w(wire);
  w.u32(static_cast<std::uint32_t>(message.type));
  w.bytes(message.guid);
  w.u32(message.count);
  w.u32(message.flags);
  w.u32(static_cast<std::uint32_t>(message.payload.size()));
  w.bytes(message.payload);

  iovec iov{wire.data(), wire.size()};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))];
  if (fd >= 0) {
    std::memset(control, 0, sizeof control);
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    cmsghdr* c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    std::memcpy(CMSG_DATA(c), &fd, sizeof(int));
  }
  for (;;) {
    ssize_t n = ::sendmsg(socket, &msg, MSG_NOSIGNAL);
    if (n == static_cast<ssize_t>(wire.size())) return true;
    if (n < 0 && errno == EINTR) continue;
    if (n >= 0) errno = EMSGSIZE;
    return false;
  }
}

std::optional<ControlMessage> receive_control(int socket, UniqueFd& fd) {
  Bytes wire(kMaxControlMessage);
  iovec iov{wire.data(), wire.size()};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * 4)];
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  ssize_t n;
  do {
    n = ::recvmsg(socket, &msg, MSG_CMSG_CLOEXEC);
  } while (n < 0 && errno == EINTR);
  if (n == 0) errno = EPIPE;  // the peer closed: not "try again"
  if (n <= 0) return std::nullopt;

  // Take every fd that arrived so none leaks, keep the first.
  fd.reset();
  for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
    std::size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    for (std::size_t i = 0; i < count; ++i) {
      int received;
      std::memcpy(&received, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
      if (!fd.valid()) {
        fd.reset(received);
      } else {
        ::close(received);
      }
    }
  }
  if ((msg.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) != 0) return std::nullopt;

  ByteReader r(ByteSpan(wire.data(), static_cast<std::size_t>(n)));
  ControlMessage m;
  m.type = static_cast<ControlType>(r.u32());
  r.copy(m.guid);
  m.count = r.u32();
  m.flags = r.u32();
  std::uint32_t length = r.u32();
  ByteSpan payload = r.bytes(length);
  if (!r.ok() || r.remaining() != 0) return std::nullopt;
  m.payload.assign(payload.begin(), payload.end());
  return m;
}

Bytes pack_rdma_handoff(ByteSpan hello, ByteSpan negotiate) {
  Bytes out;
  ByteWriter w(out);
  w.u32(static_cast<std::uint32_t>(hello.size()));
  w.bytes(hello);
  w.bytes(negotiate);
  return out;
}

bool unpack_rdma_handoff(ByteSpan payload, ByteSpan& hello, ByteSpan& negotiate) {
  ByteReader r(payload);
  std::uint32_t length = r.u32();
  hello = r.bytes(length);
  if (!r.ok()) return false;
  negotiate = payload.subspan(4 + length);
  return true;
}

}  // namespace smb::server
