#include "smbd/hostwide/doorbell.hh"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdio>
#include <cstring>

namespace smb::hostwide {

namespace {

// An abstract address: a leading NUL, then the name, not NUL-terminated.
bool abstract_address(const std::string& name, sockaddr_un& address, socklen_t& length) {
  address = sockaddr_un{};
  address.sun_family = AF_UNIX;
  if (name.empty() || name.size() + 1 > sizeof address.sun_path) return false;
  std::memcpy(address.sun_path + 1, name.data(), name.size());
  length = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + 1 + name.size());
  return true;
}

}  // namespace

std::string doorbell_name(std::uint64_t host_id, pid_t worker) {
  char name[64];
  std::snprintf(name, sizeof name, "smbd-%016llx-%d", static_cast<unsigned long long>(host_id),
                static_cast<int>(worker));
  return name;
}

std::optional<Doorbell> Doorbell::bind(const std::string& name, std::string& error) {
  sockaddr_un address;
  socklen_t length;
  if (!abstract_address(name, address, length)) {
    error = "doorbell name too long";
    return std::nullopt;
  }
  UniqueFd fd(::socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd) {
    error = std::string("doorbell socket: ") + std::strerror(errno);
    return std::nullopt;
  }
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&address), length) != 0) {
    error = "doorbell " + name + ": " + std::strerror(errno);
    return std::nullopt;
  }
  return Doorbell(std::move(fd));
}

std::size_t Doorbell::drain() {
  std::size_t rings = 0;
  char byte;
  while (::recv(fd_.get(), &byte, 1, MSG_DONTWAIT) >= 0) ++rings;
  return rings;
}

Ring ring(const std::string& name) {
  sockaddr_un address;
  socklen_t length;
  if (!abstract_address(name, address, length)) return Ring::FAILED;
  UniqueFd fd(::socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd) return Ring::FAILED;
  const char byte = 1;
  if (::sendto(fd.get(), &byte, 1, MSG_DONTWAIT | MSG_NOSIGNAL,
               reinterpret_cast<sockaddr*>(&address), length) == 1)
    return Ring::RUNG;
  switch (errno) {
    case EAGAIN:  // the queue is full: rings are pending already
      return Ring::RUNG;
    case ECONNREFUSED:
    case ENOENT:
      return Ring::NOBODY;
    default:
      return Ring::FAILED;
  }
}

}  // namespace smb::hostwide
