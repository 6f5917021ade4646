#include "smbd/base/service_notify.hh"

#include <sys/socket.h>
#include <sys/un.h>

#include <cerrno>
#include <cstddef>
#include <cstdlib>
#include <cstring>

#include "smbd/base/unique_fd.hh"

namespace smb {

ServiceNotifier ServiceNotifier::from_environment() {
  ServiceNotifier notifier;
  if (const char* value = std::getenv("NOTIFY_SOCKET")) notifier.address_ = value;
  ::unsetenv("NOTIFY_SOCKET");
  return notifier;
}

bool ServiceNotifier::send(std::string_view state, std::string& error) const {
  if (address_.empty()) return true;
  sockaddr_un sa{};
  sa.sun_family = AF_UNIX;
  // An abstract address may not use the whole of sun_path here: it is sent with its length.
  if ((address_[0] != '/' && address_[0] != '@') || address_.size() >= sizeof sa.sun_path) {
    error = "NOTIFY_SOCKET is not a socket path or an abstract address: " + address_;
    return false;
  }
  std::memcpy(sa.sun_path, address_.data(), address_.size());
  if (address_[0] == '@') sa.sun_path[0] = '\0';
  socklen_t length = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + address_.size() +
                                            (address_[0] == '/' ? 1 : 0));
  UniqueFd fd(::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (!fd) {
    error = std::string("cannot make a socket for NOTIFY_SOCKET: ") + std::strerror(errno);
    return false;
  }
  ssize_t sent = ::sendto(fd.get(), state.data(), state.size(), MSG_NOSIGNAL,
                          reinterpret_cast<const sockaddr*>(&sa), length);
  if (sent != static_cast<ssize_t>(state.size())) {
    error = "cannot notify the service manager at " + address_ + ": " +
            (sent < 0 ? std::strerror(errno) : "short send");
    return false;
  }
  return true;
}

}  // namespace smb
