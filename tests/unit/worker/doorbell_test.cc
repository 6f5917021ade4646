// A worker with the host-wide table answers its doorbell: every listener runs on the loop
// after a ring, a forgotten one no longer does, and ringing a worker that is not there is
// not an error.
#include <doctest/doctest.h>

#include <unistd.h>

#include "gate_harness.hh"

using namespace smb;
using namespace smb::server;
using namespace smb::server::test;

TEST_CASE("a ring reaches every doorbell listener of the worker, on its loop") {
  ServerOptions options;
  options.host_table = true;
  TestServer server(options);
  int first = 0, second = 0;
  server.worker().on_doorbell([&] { ++first; });
  std::uint64_t id = server.worker().on_doorbell([&] { ++second; });

  REQUIRE(server.worker().ring(::getpid()));
  CHECK(server.run_until([&] { return first == 1 && second == 1; }));

  server.worker().forget_doorbell(id);
  REQUIRE(server.worker().ring(::getpid()));
  CHECK(server.run_until([&] { return first == 2; }));
  CHECK(second == 1);
}

TEST_CASE("ringing a worker that has no doorbell is refused quietly") {
  ServerOptions options;
  options.host_table = true;
  TestServer server(options);
  // A pid no worker of this server has: its own parent (the test runner) binds none.
  CHECK_FALSE(server.worker().ring(::getppid()));
}

TEST_CASE("without a host-wide table a worker has no doorbell to ring") {
  TestServer server;
  CHECK_FALSE(server.worker().ring(::getpid()));
}
