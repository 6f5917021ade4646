#include "smbd/base/fd_passing.hh"

#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace smb {

int send_with_fds(int socket, std::span<const std::uint8_t> data, std::span<const int> fds,
                  bool nonblocking) {
  if (data.empty() || fds.size() > kMaxPassedFds) return EINVAL;
  iovec iov{const_cast<std::uint8_t*>(data.data()), data.size()};
  alignas(cmsghdr) std::uint8_t control[CMSG_SPACE(sizeof(int) * kMaxPassedFds)] = {};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  if (!fds.empty()) {
    msg.msg_control = control;
    msg.msg_controllen = CMSG_SPACE(sizeof(int) * fds.size());
    cmsghdr* c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int) * fds.size());
    std::memcpy(CMSG_DATA(c), fds.data(), sizeof(int) * fds.size());
  }
  for (;;) {
    const ssize_t n = ::sendmsg(socket, &msg, MSG_NOSIGNAL | (nonblocking ? MSG_DONTWAIT : 0));
    if (n >= 0) return static_cast<std::size_t>(n) == data.size() ? 0 : EMSGSIZE;
    if (errno != EINTR) return errno;
  }
}

Received receive_with_fds(int socket, std::span<std::uint8_t> buffer, std::size_t max_fds,
                          int timeout_ms) {
  Received r;
  if (max_fds > kMaxPassedFds) {
    r.error = EINVAL;
    return r;
  }
  if (timeout_ms != 0) {
    pollfd p{socket, POLLIN, 0};
    for (;;) {
      const int n = ::poll(&p, 1, timeout_ms);
      if (n > 0) break;
      if (n == 0) {
        r.error = ETIMEDOUT;
        return r;
      }
      if (errno != EINTR) {
        r.error = errno;
        return r;
      }
    }
  }

  iovec iov{buffer.data(), buffer.size()};
  alignas(cmsghdr) std::uint8_t control[CMSG_SPACE(sizeof(int) * kMaxPassedFds)] = {};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = CMSG_SPACE(sizeof(int) * std::max<std::size_t>(max_fds, 1));
  ssize_t n;
  do {
    n = ::recvmsg(socket, &msg, MSG_CMSG_CLOEXEC | (timeout_ms == 0 ? MSG_DONTWAIT : 0));
  } while (n < 0 && errno == EINTR);
  if (n < 0) {
    r.error = errno;
    return r;
  }

  r.bytes = static_cast<std::size_t>(n);
  r.truncated = (msg.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) != 0;
  // Take ownership of everything the kernel installed before looking at anything else.
  for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
    const std::size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    for (std::size_t i = 0; i < count; ++i) {
      int fd;
      std::memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof fd);
      r.fds.emplace_back(fd);
    }
  }
  if (r.fds.size() > max_fds) {
    r.truncated = true;
    r.fds.resize(max_fds);  // the excess are closed here
  }
  return r;
}

}  // namespace smb
