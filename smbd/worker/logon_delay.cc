#include "smbd/worker/logon_delay.hh"

#include <algorithm>

namespace smb::server {

std::chrono::milliseconds failed_logon_delay(unsigned failures) {
  if (failures <= kFreeFailedLogons) return std::chrono::milliseconds(0);
  // Bounded before multiplying: a count in the billions must not overflow.
  unsigned steps = std::min(failures - kFreeFailedLogons,
                            static_cast<unsigned>(kMaxFailedLogonDelay / kFailedLogonStep));
  return std::min(kFailedLogonStep * steps, kMaxFailedLogonDelay);
}

std::string_view peer_host(std::string_view peer) {
  std::size_t colon = peer.rfind(':');
  if (colon == std::string_view::npos) return peer;
  // An IPv6 address without brackets has colons of its own and no port.
  if (peer.front() != '[' && peer.find(':') != colon) return peer;
  return peer.substr(0, colon);
}

}  // namespace smb::server
