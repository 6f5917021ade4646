// The peer of a connected socket as text, for logs: "1.2.3.4:445", "[::1]:445", "local".
#pragma once

#include <string>

namespace smb {

std::string socket_peer_address(int fd);

}  // namespace smb
