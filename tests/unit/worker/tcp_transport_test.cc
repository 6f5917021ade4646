// The Direct TCP transport over a real socket pair: messages sent back to back in one
// write, split across writes at every position, larger than the staging buffer, and
// read while the SMB layer pauses and resumes, all arrive whole and in order; a bad
// frame closes the connection.
#include <doctest/doctest.h>

#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include "smbd/base/unique_fd.hh"
#include "smbd/worker/transport/tcp_transport.hh"

using namespace smb;
using namespace smb::server;

namespace {

Bytes frame(const Bytes& message) {
  Bytes out{0, static_cast<std::uint8_t>(message.size() >> 16),
            static_cast<std::uint8_t>(message.size() >> 8), static_cast<std::uint8_t>(message.size())};
  out.insert(out.end(), message.begin(), message.end());
  return out;
}

Bytes message_of(std::size_t size, std::uint8_t seed) {
  Bytes m(size);
  for (std::size_t i = 0; i < size; ++i) m[i] = static_cast<std::uint8_t>(seed * 31 + i * 7);
  return m;
}

struct Pair {
  uv_loop_t loop{};
  UniqueFd peer;
  std::unique_ptr<TcpTransport> transport;
  std::vector<Bytes> received;
  std::string closed;

  Pair() {
    uv_loop_init(&loop);
    int fds[2];
    REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) == 0);
    peer = UniqueFd(fds[1]);
    transport = TcpTransport::adopt(&loop, UniqueFd(fds[0]), 1 << 20);
    REQUIRE(transport);
  }
  ~Pair() {
    transport.reset();
    uv_run(&loop, UV_RUN_DEFAULT);
    uv_loop_close(&loop);
  }
  void start(std::function<void(Pair&)> after_each = nullptr) {
    transport->start({[this, after_each](Buffer m) {
                        received.emplace_back(m.begin(), m.end());
                        if (after_each) after_each(*this);
                      },
                      [this](const char* reason) { closed = reason; }});
  }
  void send(const Bytes& bytes) {
    // The peer does not block: what the socket cannot take yet waits for the reader.
    std::size_t done = 0;
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (done < bytes.size() && std::chrono::steady_clock::now() < deadline) {
      ssize_t n = ::send(peer.get(), bytes.data() + done, bytes.size() - done, MSG_DONTWAIT);
      if (n > 0) done += static_cast<std::size_t>(n);
      uv_run(&loop, UV_RUN_NOWAIT);  // let the reader take some
    }
    REQUIRE(done == bytes.size());
  }
  bool run_until(const std::function<bool()>& done) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    do {
      uv_run(&loop, UV_RUN_NOWAIT);
      if (done()) return true;
    } while (std::chrono::steady_clock::now() < deadline);
    return false;
  }
};

}  // namespace

TEST_CASE("many small messages in one write arrive whole and in order") {
  Pair p;
  p.start();
  Bytes all;
  std::vector<Bytes> sent;
  for (std::uint8_t i = 0; i < 200; ++i) {
    sent.push_back(message_of(64 + i, i));
    Bytes f = frame(sent.back());
    all.insert(all.end(), f.begin(), f.end());
  }
  p.send(all);
  REQUIRE(p.run_until([&] { return p.received.size() == sent.size(); }));
  CHECK(p.received == sent);
  CHECK(p.closed.empty());
}

TEST_CASE("a message split at every position is put together again") {
  Bytes message = message_of(300, 7);
  Bytes f = frame(message);
  for (std::size_t split = 1; split < f.size(); split += 13) {
    Pair p;
    p.start();
    p.send(Bytes(f.begin(), f.begin() + static_cast<std::ptrdiff_t>(split)));
    p.send(Bytes(f.begin() + static_cast<std::ptrdiff_t>(split), f.end()));
    REQUIRE(p.run_until([&] { return p.received.size() == 1; }));
    CHECK(p.received[0] == message);
  }
}

TEST_CASE("large bodies, behind small messages and alone, arrive whole") {
  Pair p;
  p.start();
  std::vector<Bytes> sent{message_of(100, 1), message_of(200 * 1024, 2), message_of(50, 3),
                          message_of(70 * 1024, 4), message_of(17 * 1024, 5)};
  Bytes all;
  for (const Bytes& m : sent) {
    Bytes f = frame(m);
    all.insert(all.end(), f.begin(), f.end());
  }
  p.send(all);
  REQUIRE(p.run_until([&] { return p.received.size() == sent.size(); }));
  CHECK(p.received == sent);
}

TEST_CASE("messages read before a pause are delivered after the resume, not before") {
  Pair p;
  // The SMB layer pauses after every message, as while it answers one.
  p.start([](Pair& self) { self.transport->pause(); });
  std::vector<Bytes> sent;
  Bytes all;
  for (std::uint8_t i = 0; i < 5; ++i) {
    sent.push_back(message_of(40, i));
    Bytes f = frame(sent.back());
    all.insert(all.end(), f.begin(), f.end());
  }
  p.send(all);
  REQUIRE(p.run_until([&] { return p.received.size() == 1; }));
  for (std::size_t n = 1; n < sent.size(); ++n) {
    // Paused: nothing more arrives however long the loop runs.
    for (int i = 0; i < 20; ++i) uv_run(&p.loop, UV_RUN_NOWAIT);
    CHECK(p.received.size() == n);
    p.transport->resume();
    REQUIRE(p.run_until([&] { return p.received.size() == n + 1; }));
  }
  CHECK(p.received == sent);
}

TEST_CASE("a frame that does not start with a zero byte closes the connection") {
  Pair p;
  p.start();
  Bytes body = message_of(10, 1);
  Bytes stream = frame(body);
  // A second frame whose first byte is not zero.
  for (std::uint8_t b : {std::uint8_t{1}, std::uint8_t{0}, std::uint8_t{0}, std::uint8_t{10}})
    stream.push_back(b);
  stream.insert(stream.end(), body.begin(), body.end());
  p.send(stream);
  REQUIRE(p.run_until([&] { return !p.closed.empty(); }));
  CHECK(p.received.size() == 1);
  CHECK(p.closed == "bad Direct TCP framing");
}

TEST_CASE("frames sent while the socket is full go out after what was sent first") {
  // Small frames go out at once; a body larger than the socket takes is written in part
  // and its rest queued; the frames sent behind it wait for it. The peer reads them all,
  // whole and in order.
  Pair p;
  p.start();
  int small = 4096;
  REQUIRE(::setsockopt(p.peer.get(), SOL_SOCKET, SO_RCVBUF, &small, sizeof small) == 0);
  auto keep = std::make_shared<std::vector<Bytes>>();
  std::vector<Bytes> sent;
  for (std::uint8_t i = 0; i < 12; ++i) {
    const std::size_t body = (i % 3 == 1) ? 600 * 1024 : 40 + i;
    Bytes head = message_of(64, i);
    keep->push_back(message_of(body, static_cast<std::uint8_t>(i + 100)));
    Bytes whole = head;
    whole.insert(whole.end(), keep->back().begin(), keep->back().end());
    sent.push_back(whole);
    Frame f;
    f.head = std::move(head);
    f.payload = ByteSpan(keep->back().data(), keep->back().size());
    f.keep = keep;
    p.transport->send(std::move(f));
  }
  Bytes expected;
  for (const Bytes& m : sent) {
    Bytes f = frame(m);
    expected.insert(expected.end(), f.begin(), f.end());
  }
  Bytes got;
  std::uint8_t buf[65536];
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (got.size() < expected.size() && std::chrono::steady_clock::now() < deadline) {
    uv_run(&p.loop, UV_RUN_NOWAIT);
    const ssize_t n = ::recv(p.peer.get(), buf, sizeof buf, MSG_DONTWAIT);
    if (n > 0) got.insert(got.end(), buf, buf + n);
  }
  CHECK(got.size() == expected.size());
  CHECK(got == expected);
  CHECK(p.closed.empty());
}
