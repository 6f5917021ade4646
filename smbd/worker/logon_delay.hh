// Pacing of failed logons (docs/security.md): a client guessing passwords is slowed down,
// one connection at a time and across connections from one source address; a client
// that logs on is never delayed. The worker waits on a timer, never in a sleep.
#pragma once

#include <chrono>
#include <string_view>

namespace smb::server {

// The failures of a connection or a source address answered at once; each later one
// waits kFailedLogonStep longer than the one before, up to kMaxFailedLogonDelay (the
// 2 seconds Windows' SMB authentication rate limiter waits by default).
inline constexpr unsigned kFreeFailedLogons = 3;
inline constexpr std::chrono::milliseconds kFailedLogonStep{500};
inline constexpr std::chrono::milliseconds kMaxFailedLogonDelay{2000};

// How long the answer to the `failures`-th failed logon (counting from 1) waits.
std::chrono::milliseconds failed_logon_delay(unsigned failures);

// The source address of a peer: "192.0.2.1:50000" -> "192.0.2.1", "[::1]:50000" ->
// "[::1]"; anything without a port as it is.
std::string_view peer_host(std::string_view peer);

}  // namespace smb::server
