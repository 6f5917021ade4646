// Passing file descriptors over a unix socket (SCM_RIGHTS): the one implementation used by
// the master, the workers, rdmaproxy and shmring. Every received descriptor is owned by a
// UniqueFd the moment it arrives, so descriptors a peer sends in excess or alongside a bad
// message are closed, not leaked. No exceptions: failures are errno values.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "smbd/base/unique_fd.hh"

namespace smb {

// The most descriptors one message carries.
inline constexpr std::size_t kMaxPassedFds = 16;

// Sends `data` (non-empty) with `fds` (at most kMaxPassedFds) attached, as one message.
// Returns 0, or the errno of the failure (EMSGSIZE for a short send, EINVAL for bad
// arguments, EAGAIN when `nonblocking` and the socket is full).
int send_with_fds(int socket, std::span<const std::uint8_t> data, std::span<const int> fds,
                  bool nonblocking = false);

struct Received {
  int error = 0;           // errno of a failure (ETIMEDOUT after `timeout_ms`), or 0
  std::size_t bytes = 0;   // 0 with no error: the peer closed the socket
  std::vector<UniqueFd> fds;
  bool truncated = false;  // data or descriptors did not fit (the excess fds are closed)
};

// Receives one message of up to `buffer.size()` bytes and up to `max_fds` descriptors
// (received close-on-exec). Waits at most `timeout_ms` (-1: no limit; 0: only what is
// there, EAGAIN when nothing is).
Received receive_with_fds(int socket, std::span<std::uint8_t> buffer, std::size_t max_fds,
                          int timeout_ms);

}  // namespace smb
