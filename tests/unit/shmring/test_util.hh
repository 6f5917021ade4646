// Helpers shared by the shmring tests.
#pragma once

#include <dirent.h>
#include <sys/socket.h>

#include <cstdint>
#include <fstream>
#include <stdexcept>
#include <string>
#include <utility>

#include "shmring/channel.hh"
#include "smbd/base/unique_fd.hh"

namespace smb::shmring::test {

inline std::pair<UniqueFd, UniqueFd> socket_pair() {
  int sv[2];
  if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0)
    throw std::runtime_error("socketpair failed");
  return {UniqueFd(sv[0]), UniqueFd(sv[1])};
}

// Both ends of a channel in this process: the handshake message waits in the socket
// buffer until attach() reads it.
struct ChannelPair {
  Channel creator;
  Channel attacher;
};
inline ChannelPair channel_pair(const Geometry& g) {
  auto [a, b] = socket_pair();
  Channel creator = Channel::create(std::move(a), g);
  Channel attacher = Channel::attach(std::move(b), 1000);
  return {std::move(creator), std::move(attacher)};
}

// Open descriptors of this process (the directory stream's own fd excluded).
inline int count_open_fds() {
  DIR* dir = ::opendir("/proc/self/fd");
  if (dir == nullptr) throw std::runtime_error("opendir /proc/self/fd failed");
  int count = 0;
  while (dirent* e = ::readdir(dir))
    if (e->d_name[0] != '.') ++count;
  ::closedir(dir);
  return count - 1;
}

// Mappings of shmring segments in this process.
inline int count_segment_mappings() {
  std::ifstream maps("/proc/self/maps");
  int count = 0;
  for (std::string line; std::getline(maps, line);)
    if (line.find("memfd:smb-shmring") != std::string::npos) ++count;
  return count;
}

// Raw access to the shared control block, as a misbehaving peer would write it.
inline RingControl& control(const Channel& c, RingId r) {
  return *reinterpret_cast<RingControl*>(c.segment().bytes().data() +
                                         c.segment().layout().control(r));
}

}  // namespace smb::shmring::test
