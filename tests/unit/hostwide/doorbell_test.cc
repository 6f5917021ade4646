// Doorbells: rung by name, drained by their worker, harmless to ring when nobody is there,
// and rung as well by a process acting as an ordinary user.
#include "smbd/hostwide/doorbell.hh"

#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

#include <doctest/doctest.h>

#include "smbd/hostwide/open_segment.hh"

using namespace smb::hostwide;

namespace {

// The host id of a new server's table, as a worker would learn it.
std::uint64_t fresh_host_id() {
  std::string error;
  auto segment = OpenSegment::create(16, error);
  REQUIRE_MESSAGE(segment, error);
  return segment->host_id();
}

std::string fresh_name(pid_t worker) { return doorbell_name(fresh_host_id(), worker); }

// Whether the bell has a ring pending, waiting for one up to ten seconds.
bool rung(const Doorbell& bell) {
  pollfd p{bell.fd(), POLLIN, 0};
  return ::poll(&p, 1, 10000) == 1 && (p.revents & POLLIN) != 0;
}

}  // namespace

TEST_CASE("a rung doorbell is readable until drained") {
  std::string error;
  std::string name = fresh_name(::getpid());
  auto bell = Doorbell::bind(name, error);
  REQUIRE_MESSAGE(bell, error);
  CHECK(bell->drain() == 0);
  CHECK(ring(name) == Ring::RUNG);
  CHECK(ring(name) == Ring::RUNG);
  REQUIRE(rung(*bell));
  CHECK(bell->drain() == 2);
  pollfd p{bell->fd(), POLLIN, 0};
  CHECK(::poll(&p, 1, 0) == 0);
  // A name is one worker's: a second bind of it fails.
  CHECK_FALSE(Doorbell::bind(name, error));
}

TEST_CASE("ringing a bell whose queue is full still says a ring is pending") {
  std::string error;
  std::string name = fresh_name(::getpid());
  auto bell = Doorbell::bind(name, error);
  REQUIRE_MESSAGE(bell, error);
  for (int i = 0; i < 1000; ++i) REQUIRE(ring(name) == Ring::RUNG);
  CHECK(bell->drain() > 0);
}

TEST_CASE("ringing a worker that has gone is not an error") {
  std::string error;
  std::string name = fresh_name(::getpid());
  CHECK(ring(name) == Ring::NOBODY);
  {
    auto bell = Doorbell::bind(name, error);
    REQUIRE_MESSAGE(bell, error);
  }
  CHECK(ring(name) == Ring::NOBODY);
  // A child that bound its bell and exited.
  std::uint64_t host = fresh_host_id();
  pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    std::string child_error;
    ::_exit(Doorbell::bind(doorbell_name(host, ::getpid()), child_error) ? 0 : 1);
  }
  int status = 0;
  REQUIRE(::waitpid(child, &status, 0) == child);
  REQUIRE(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
  CHECK(ring(doorbell_name(host, child)) == Ring::NOBODY);
}

TEST_CASE("a process acting as an ordinary user rings a bell bound as root") {
  if (::geteuid() != 0) {
    MESSAGE("not run: binding as root and ringing as another user needs root");
    return;
  }
  std::string error;
  std::string name = fresh_name(::getpid());
  auto bell = Doorbell::bind(name, error);
  REQUIRE_MESSAGE(bell, error);
  pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    if (::setresgid(65534, 65534, 65534) != 0 || ::setresuid(65534, 65534, 65534) != 0) ::_exit(2);
    ::_exit(ring(name) == Ring::RUNG ? 0 : 1);
  }
  int status = 0;
  REQUIRE(::waitpid(child, &status, 0) == child);
  REQUIRE(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
  REQUIRE(rung(*bell));
  CHECK(bell->drain() == 1);
}
