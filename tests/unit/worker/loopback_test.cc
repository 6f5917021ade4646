// The loopback transport and its error injector: on its own over a bare loop, and under
// a worker, where short reads, a reset in the middle of a message and failing sends must
// leave the worker serving its next connection.
#include <doctest/doctest.h>

#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include "gate_harness.hh"
#include "smbd/proto/echo.hh"

using namespace smb;
using namespace smb::server;
using namespace smb::server::test;

namespace {

// A bare loop for the transport on its own.
class Loop {
 public:
  Loop() { uv_loop_init(&loop_); }
  ~Loop() {
    uv_run(&loop_, UV_RUN_DEFAULT);  // lets closed handles go
    uv_loop_close(&loop_);
  }
  uv_loop_t* get() { return &loop_; }
  // Runs the loop until `done()`, for at most a few seconds.
  bool run_until(const std::function<bool()>& done) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (!done()) {
      if (std::chrono::steady_clock::now() > deadline) return false;
      uv_run(&loop_, UV_RUN_NOWAIT);
    }
    return true;
  }

 private:
  uv_loop_t loop_{};
};

struct Received {
  std::vector<Bytes> messages;
  std::string closed;  // the reason on_closed gave, once it did
};

Transport::Events record(Received& into) {
  Transport::Events events;
  events.on_message = [&into](Buffer m) { into.messages.emplace_back(m.begin(), m.end()); };
  events.on_closed = [&into](const char* reason) { into.closed = reason; };
  return events;
}

Bytes bytes(const std::string& text) { return Bytes(text.begin(), text.end()); }

Bytes echo_request(std::uint64_t message_id) {
  Header h;
  h.command = Command::ECHO;
  h.message_id = message_id;
  return encode_message(h, EchoRequest{});
}

}  // namespace

TEST_CASE("loopback: messages cross whole, however the bytes are cut into reads") {
  Loop loop;
  auto [transport, peer] = LoopbackTransport::create(loop.get(), 1000);
  Received got;
  peer.faults().read_chunk = 3;
  peer.send_message(bytes("first message"));
  peer.send_message(bytes("second"));
  // Nothing is read before start().
  uv_run(loop.get(), UV_RUN_NOWAIT);
  CHECK(peer.bytes_read_by_server() == 0);
  transport->start(record(got));
  REQUIRE(loop.run_until([&] { return got.messages.size() == 2; }));
  CHECK(got.messages[0] == bytes("first message"));
  CHECK(got.messages[1] == bytes("second"));
  CHECK(peer.bytes_read_by_server() == 4 + 13 + 4 + 6);

  // While paused nothing is read; resume() goes on where it stopped.
  transport->pause();
  peer.send_message(bytes("third"));
  for (int i = 0; i < 50; ++i) uv_run(loop.get(), UV_RUN_NOWAIT);
  CHECK(got.messages.size() == 2);
  transport->resume();
  REQUIRE(loop.run_until([&] { return got.messages.size() == 3; }));
  CHECK(got.closed.empty());
}

TEST_CASE("loopback: what the server sends reaches the peer framed, payload after head") {
  Loop loop;
  auto [transport, peer] = LoopbackTransport::create(loop.get(), 1000);
  Received got;
  transport->start(record(got));
  Frame frame;
  frame.head = bytes("head:");
  Bytes payload = bytes("payload");
  frame.payload = payload;
  transport->send(std::move(frame));
  CHECK(transport->pending_send_bytes() == 4 + 12);
  auto message = peer.receive_message();
  REQUIRE(message);
  CHECK(*message == bytes("head:payload"));
  CHECK_FALSE(peer.receive_message());
  CHECK(transport->pending_send_bytes() == 0);
}

TEST_CASE("loopback: the framing TcpTransport enforces") {
  Loop loop;
  SUBCASE("a first byte other than zero") {
    auto [transport, peer] = LoopbackTransport::create(loop.get(), 1000);
    Received got;
    transport->start(record(got));
    peer.write(Bytes{1, 0, 0, 4, 'a', 'b', 'c', 'd'});
    REQUIRE(loop.run_until([&] { return !got.closed.empty(); }));
    CHECK(got.closed == "bad Direct TCP framing");
    CHECK(peer.closed());
  }
  SUBCASE("a length of zero, or above the limit") {
    for (Bytes prefix : {Bytes{0, 0, 0, 0}, Bytes{0, 0, 0x03, 0xE9}}) {
      auto [transport, peer] = LoopbackTransport::create(loop.get(), 1000);
      Received got;
      transport->start(record(got));
      peer.write(prefix);
      REQUIRE(loop.run_until([&] { return !got.closed.empty(); }));
      CHECK(got.closed == "message length out of bounds");
      CHECK(got.messages.empty());
    }
  }
}

TEST_CASE("loopback: a reset in the middle of a message, a failing send, a close") {
  Loop loop;
  SUBCASE("reset after part of a message: it is never delivered") {
    auto [transport, peer] = LoopbackTransport::create(loop.get(), 1000);
    Received got;
    transport->start(record(got));
    peer.faults().reset_after = 4 + 10 + 4 + 3;  // the first message and 3 bytes of the next
    peer.send_message(bytes("0123456789"));
    peer.send_message(bytes("abcdefghij"));
    REQUIRE(loop.run_until([&] { return !got.closed.empty(); }));
    CHECK(got.closed == "connection reset by peer");
    REQUIRE(got.messages.size() == 1);
    CHECK(got.messages[0] == bytes("0123456789"));
    CHECK(peer.bytes_read_by_server() == 21);
    CHECK(peer.closed());
  }
  SUBCASE("a reset by the peer") {
    auto [transport, peer] = LoopbackTransport::create(loop.get(), 1000);
    Received got;
    transport->start(record(got));
    peer.reset();
    REQUIRE(loop.run_until([&] { return !got.closed.empty(); }));
    CHECK(got.closed == "connection reset by peer");
  }
  SUBCASE("sends fail once the budget is spent; the frame is lost") {
    auto [transport, peer] = LoopbackTransport::create(loop.get(), 1000);
    Received got;
    transport->start(record(got));
    peer.faults().sends_before_failure = 1;
    Frame first;
    first.head = bytes("kept");
    transport->send(std::move(first));
    Frame second;
    second.head = bytes("lost");
    transport->send(std::move(second));
    CHECK(got.closed.empty());  // reported from the loop, as a write completes
    REQUIRE(loop.run_until([&] { return !got.closed.empty(); }));
    CHECK(got.closed == "broken pipe");
    CHECK(peer.frames_sent_by_server() == 2);
    CHECK(peer.receive_message() == bytes("kept"));
    CHECK_FALSE(peer.receive_message());
  }
  SUBCASE("a close by the server: on_closed is not called, the peer sees it") {
    auto [transport, peer] = LoopbackTransport::create(loop.get(), 1000);
    Received got;
    transport->start(record(got));
    transport->close();
    CHECK(peer.closed());
    peer.send_message(bytes("after"));  // lost, as on a closed socket
    for (int i = 0; i < 10; ++i) uv_run(loop.get(), UV_RUN_NOWAIT);
    CHECK(got.closed.empty());
    CHECK(got.messages.empty());
  }
}

TEST_CASE("under a worker: one-byte reads serve a client as whole messages would") {
  TestServer server;
  TestClient client(server);
  client.peer().faults().read_chunk = 1;
  REQUIRE(client.negotiate(0x0210) == NtStatus::SUCCESS);
  Element echo;
  echo.command = Command::ECHO;
  echo.body = encode_body(EchoRequest{});
  CHECK(client.call(echo).status() == NtStatus::SUCCESS);
  // Two messages written at once are both served, in order.
  Bytes first = client.build(echo);
  Bytes second = client.build(echo);
  client.peer().send_message(first);
  client.peer().send_message(second);
  auto a = client.receive();
  auto b = client.receive();
  REQUIRE(a.size() == 1);
  REQUIRE(b.size() == 1);
  CHECK(a[0].header.message_id + 1 == b[0].header.message_id);
}

TEST_CASE("under a worker: a reset in the middle of a message ends only that connection") {
  TestServer server;
  TestClient victim(server);
  REQUIRE(victim.negotiate(0x0210) == NtStatus::SUCCESS);
  Bytes echo = echo_request(victim.next_message_id());
  victim.peer().faults().reset_after = 4 + 30;  // the prefix and part of the header
  victim.peer().send_message(echo);
  REQUIRE(server.run_until([&] { return victim.peer().closed(); }));
  CHECK_FALSE(victim.peer().receive_message());

  TestClient next(server);
  REQUIRE(next.negotiate(0x0210) == NtStatus::SUCCESS);
  CHECK(next.session_setup() != 0);
}

TEST_CASE("under a worker: a send that fails closes the connection, the worker goes on") {
  TestServer server;
  TestClient victim(server);
  REQUIRE(victim.negotiate(0x0210) == NtStatus::SUCCESS);
  victim.peer().faults().sends_before_failure = 0;
  Element echo;
  echo.command = Command::ECHO;
  echo.body = encode_body(EchoRequest{});
  CHECK(victim.exchange(victim.build(echo)).empty());
  CHECK(victim.peer().closed());

  TestClient next(server);
  REQUIRE(next.negotiate(0x0210) == NtStatus::SUCCESS);
  CHECK(next.call(echo).status() == NtStatus::SUCCESS);
}

TEST_CASE("under a worker: before a session a message may not exceed 64 KiB") {
  TestServer server;
  TestClient client(server);
  REQUIRE(client.negotiate(0x0210) == NtStatus::SUCCESS);
  // Only the prefix is sent: the length alone closes the connection.
  client.peer().write(Bytes{0, 0x01, 0x00, 0x01});
  REQUIRE(server.run_until([&] { return client.peer().closed(); }));
}
