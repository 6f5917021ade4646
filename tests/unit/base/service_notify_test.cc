#include "smbd/base/service_notify.hh"

#include <doctest/doctest.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <string>

#include "smbd/base/unique_fd.hh"

namespace {

// A datagram socket bound to `name` (a path, or "@name" for the abstract namespace).
smb::UniqueFd bound_socket(const std::string& name) {
  smb::UniqueFd fd(::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  REQUIRE(fd);
  sockaddr_un sa{};
  sa.sun_family = AF_UNIX;
  std::memcpy(sa.sun_path, name.data(), name.size());
  if (name[0] == '@') sa.sun_path[0] = '\0';
  socklen_t length = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + name.size() +
                                            (name[0] == '@' ? 0 : 1));
  REQUIRE(::bind(fd.get(), reinterpret_cast<sockaddr*>(&sa), length) == 0);
  return fd;
}

std::string receive(int fd) {
  char buffer[512];
  ssize_t n = ::recv(fd, buffer, sizeof buffer, MSG_DONTWAIT);
  return n < 0 ? std::string("<nothing>") : std::string(buffer, static_cast<std::size_t>(n));
}

}  // namespace

TEST_CASE("no NOTIFY_SOCKET: nothing is wanted and sending succeeds") {
  ::unsetenv("NOTIFY_SOCKET");
  auto notifier = smb::ServiceNotifier::from_environment();
  CHECK_FALSE(notifier.wanted());
  std::string error;
  CHECK(notifier.send("READY=1", error));
}

TEST_CASE("a path socket gets the state, and the variable is gone for children") {
  std::string path = "/tmp/notify-test-" + std::to_string(::getpid()) + ".sock";
  ::unlink(path.c_str());
  auto manager = bound_socket(path);
  ::setenv("NOTIFY_SOCKET", path.c_str(), 1);
  auto notifier = smb::ServiceNotifier::from_environment();
  CHECK(std::getenv("NOTIFY_SOCKET") == nullptr);
  CHECK(notifier.wanted());
  std::string error;
  REQUIRE(notifier.send("READY=1\nSTATUS=serving", error));
  CHECK(receive(manager.get()) == "READY=1\nSTATUS=serving");
  ::unlink(path.c_str());
}

TEST_CASE("an abstract socket gets the state") {
  std::string name = "@notify-test-" + std::to_string(::getpid());
  auto manager = bound_socket(name);
  ::setenv("NOTIFY_SOCKET", name.c_str(), 1);
  auto notifier = smb::ServiceNotifier::from_environment();
  std::string error;
  REQUIRE(notifier.send("STOPPING=1", error));
  CHECK(receive(manager.get()) == "STOPPING=1");
}

TEST_CASE("a bad or absent address is an error that names it") {
  std::string error;
  ::setenv("NOTIFY_SOCKET", "relative/path", 1);
  CHECK_FALSE(smb::ServiceNotifier::from_environment().send("READY=1", error));
  CHECK(error.find("relative/path") != std::string::npos);
  ::setenv("NOTIFY_SOCKET", std::string(200, '/').c_str(), 1);
  CHECK_FALSE(smb::ServiceNotifier::from_environment().send("READY=1", error));
  ::setenv("NOTIFY_SOCKET", "/nonexistent/dir/notify.sock", 1);
  CHECK_FALSE(smb::ServiceNotifier::from_environment().send("READY=1", error));
  CHECK(error.find("/nonexistent/dir/notify.sock") != std::string::npos);
}
