// Passing file descriptors over a unix socket (SCM_RIGHTS), used by both sides of the
// handshake. Every received descriptor is owned by a UniqueFd the moment it arrives,
// so descriptors a peer sends in excess or alongside a bad message are closed, not
// leaked.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "shmring/unique_fd.hh"

namespace smb::shmring {

// Sends `data` (non-empty) with `fds` attached in one message. Throws Error(system).
void send_with_fds(int socket, std::span<const std::uint8_t> data, std::span<const int> fds);

struct Received {
  std::size_t bytes = 0;  // 0 means the peer closed the socket
  std::vector<UniqueFd> fds;
  bool truncated = false;  // data or descriptors did not fit (the excess fds are closed)
};

// Receives one message of up to `buffer.size()` bytes and up to `max_fds` descriptors
// (received close-on-exec). Waits at most `timeout_ms` (-1: no limit); throws
// Error(system) on failure or timeout.
Received receive_with_fds(int socket, std::span<std::uint8_t> buffer, std::size_t max_fds,
                          int timeout_ms);

}  // namespace smb::shmring
