#include "smbd/master/control.hh"

#include "smbd/base/fd_passing.hh"

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

  int err = send_with_fds(socket, wire, fd >= 0 ? std::span<const int>(&fd, 1)
                                                : std::span<const int>());
  if (err != 0) errno = err;
  return err == 0;
}

std::optional<ControlMessage> receive_control(int socket, UniqueFd& fd) {
  Bytes wire(kMaxControlMessage);
  // Reads what is there (the socket is non-blocking: EAGAIN when nothing is); every fd
  // that arrived is owned by `received`, and the first is kept.
  Received received = receive_with_fds(socket, wire, 4, 0);
  fd.reset();
  if (received.error != 0) {
    errno = received.error;
    return std::nullopt;
  }
  if (received.bytes == 0) {
    errno = EPIPE;  // the peer closed: not "try again"
    return std::nullopt;
  }
  if (!received.fds.empty()) fd = std::move(received.fds.front());
  if (received.truncated) return std::nullopt;

  ByteReader r(ByteSpan(wire.data(), received.bytes));
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
