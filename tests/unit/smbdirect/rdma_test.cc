// RDMA Read/Write through the engine, send-with-invalidate, fabric RC semantics and
// abrupt loss of a peer process.
#include <openssl/sha.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>

#include "test_util.hh"

using namespace smb;
using namespace smb::smbdirect;
using namespace smb::smbdirect::test;

namespace {

std::array<std::uint8_t, 32> sha256(ByteSpan b) {
  std::array<std::uint8_t, 32> out{};
  SHA256(b.data(), b.size(), out.data());
  return out;
}

constexpr std::size_t k64MiB = std::size_t{64} << 20;

std::vector<BufferDescriptorV1> descriptors(const fabric::MemoryRegion& r, std::size_t parts) {
  std::vector<BufferDescriptorV1> out;
  std::size_t each = r.span().size() / parts;
  for (std::size_t i = 0; i < parts; ++i)
    out.push_back({r.remote_base() + i * each, r.remote_token(), static_cast<std::uint32_t>(each)});
  return out;
}

}  // namespace

TEST_CASE("RDMA write and read of 64 MiB, compared by SHA-256") {
  Config c;
  c.max_read_write_size = k64MiB;
  Pair p;
  REQUIRE(p.start(c, c));
  std::string error;
  Bytes client_mem(k64MiB, 0);
  auto client_mr =
      p.client.conn->register_memory(client_mem, fabric::Access::remote_read_write, error);
  REQUIRE(client_mr);
  Bytes server_mem = pattern(k64MiB, 42);
  auto server_mr = p.server.conn->register_memory(server_mem, fabric::Access::local, error);
  REQUIRE(server_mr);

  // Server writes its buffer into the client's (an SMB2 READ served over RDMA).
  std::optional<NtStatus> done;
  REQUIRE(p.server.conn->rdma_write(*server_mr, 0, descriptors(*client_mr, 4),
                                    [&](NtStatus s) { done = s; }) == NtStatus::SUCCESS);
  REQUIRE(p.run_until([&] { return done.has_value(); }, 60s));
  CHECK(*done == NtStatus::SUCCESS);
  CHECK(sha256(client_mem) == sha256(server_mem));

  // Server reads the client's buffer into its own (an SMB2 WRITE over RDMA).
  Bytes fresh = pattern(k64MiB, 7);
  std::memcpy(client_mem.data(), fresh.data(), fresh.size());
  done.reset();
  REQUIRE(p.server.conn->rdma_read(*server_mr, 0, descriptors(*client_mr, 1),
                                   [&](NtStatus s) { done = s; }) == NtStatus::SUCCESS);
  REQUIRE(p.run_until([&] { return done.has_value(); }, 60s));
  CHECK(*done == NtStatus::SUCCESS);
  CHECK(sha256(server_mem) == sha256(fresh));

  // Over MaxReadWriteSize and outside the local registration are refused locally.
  auto too_big = descriptors(*client_mr, 1);
  too_big.push_back(too_big[0]);
  CHECK(p.server.conn->rdma_read(*server_mr, 0, too_big, {}) == NtStatus::INVALID_PARAMETER);
  CHECK(p.server.conn->rdma_read(*server_mr, 1, descriptors(*client_mr, 1), {}) ==
        NtStatus::INVALID_PARAMETER);
  CHECK(p.server.conn->state() == State::established);
}

TEST_CASE("RDMA with a bad token, offset or length fails with a remote access error") {
  enum class Bad { token, offset, length, access };
  for (Bad bad : {Bad::token, Bad::offset, Bad::length, Bad::access}) {
    CAPTURE(static_cast<int>(bad));
    Pair p;
    REQUIRE(p.start(Config{}, Config{}));
    std::string error;
    Bytes client_mem(65536, 1);
    auto client_mr = p.client.conn->register_memory(
        client_mem,
        bad == Bad::access ? fabric::Access::remote_read : fabric::Access::remote_read_write,
        error);
    Bytes server_mem(65536 * 2, 2);
    auto server_mr = p.server.conn->register_memory(server_mem, fabric::Access::local, error);
    BufferDescriptorV1 d{client_mr->remote_base(), client_mr->remote_token(), 65536};
    if (bad == Bad::token) d.token ^= 0x5A5A;
    if (bad == Bad::offset) d.offset += 1;
    if (bad == Bad::length) d.length = 65537;
    std::optional<NtStatus> done;
    REQUIRE(p.server.conn->rdma_write(*server_mr, 0, {&d, 1}, [&](NtStatus s) { done = s; }) ==
            NtStatus::SUCCESS);
    REQUIRE(p.run_until([&] { return done && p.server.reason && p.client.reason; }, 5s));
    CHECK(*done == NtStatus::ACCESS_DENIED);
    CHECK(fabric::soft_stats(p.client.conn->queue_pair())->remote_access_errors == 1);
    // As on an RC queue pair, the access violation takes the connection down.
    CHECK(*p.server.reason == DisconnectReason::connection_lost);
    CHECK(std::all_of(client_mem.begin(), client_mem.end(), [](auto v) { return v == 1; }));
  }
}

TEST_CASE("send with invalidate revokes the peer's registration") {
  Pair p;
  REQUIRE(p.start(Config{}, Config{}));
  std::string error;
  Bytes client_mem(4096, 0);
  auto client_mr =
      p.client.conn->register_memory(client_mem, fabric::Access::remote_read_write, error);
  REQUIRE(client_mr->valid());
  Bytes reply = pattern(5000, 3);
  REQUIRE(p.server.conn->send(reply, client_mr->remote_token()) == NtStatus::SUCCESS);
  REQUIRE(p.run_until([&] { return p.client.messages.size() == 1; }));
  CHECK(p.client.messages[0] == reply);
  CHECK_FALSE(client_mr->valid());
  // The revoked token is now refused.
  Bytes server_mem(4096);
  auto server_mr = p.server.conn->register_memory(server_mem, fabric::Access::local, error);
  BufferDescriptorV1 d{client_mr->remote_base(), client_mr->remote_token(), 4096};
  std::optional<NtStatus> done;
  REQUIRE(p.server.conn->rdma_read(*server_mr, 0, {&d, 1}, [&](NtStatus s) { done = s; }) ==
          NtStatus::SUCCESS);
  REQUIRE(p.run_until([&] { return done.has_value(); }));
  CHECK(*done == NtStatus::ACCESS_DENIED);
}

TEST_CASE("soft fabric: a send without a posted receive breaks the connection (RNR)") {
  fabric::SoftFabric f;
  std::string error;
  auto listener = f.listen("unix:/tmp/smbdirect-test-rnr.sock", 0, error);
  REQUIRE_MESSAGE(listener, error);
  RawPeer a{f.connect("unix:/tmp/smbdirect-test-rnr.sock", 0, {}, error)};
  REQUIRE(a.qp);
  RawPeer b{accept_one(*listener, {})};
  a.setup();
  b.setup();
  REQUIRE(b.qp->accept() == fabric::Status::success);
  Poller poller;
  poller.add_fd(a.qp->fd(), [&] { a.poll(); });
  poller.add_fd(b.qp->fd(), [&] { b.poll(); });
  REQUIRE(poller.run_until([&] { return a.established; }, 3s));
  a.send(Bytes(10, 1));
  REQUIRE(poller.run_until([&] { return a.disconnected && b.disconnected; }, 3s));
  CHECK(a.completions.at(1).kind == fabric::CompletionKind::send);
  CHECK(a.completions.at(1).status == fabric::Status::receiver_not_ready);
  CHECK(fabric::soft_stats(*b.qp)->receiver_not_ready == 1);
  CHECK(a.qp->post_send(2, {a.region.get(), 0, 1}) == fabric::Status::not_connected);
}

TEST_CASE("soft fabric: a send larger than the posted receive fails both sides") {
  fabric::SoftFabric f;
  std::string error;
  auto listener = f.listen("127.0.0.1", 0, error);
  RawPeer a{f.connect("127.0.0.1", listener->port(), {}, error)};
  RawPeer b{accept_one(*listener, {})};
  a.setup();
  b.setup();
  REQUIRE(b.qp->post_recv(7, {b.region.get(), 0, 16}) == fabric::Status::success);
  REQUIRE(b.qp->accept() == fabric::Status::success);
  Poller poller;
  poller.add_fd(a.qp->fd(), [&] { a.poll(); });
  poller.add_fd(b.qp->fd(), [&] { b.poll(); });
  REQUIRE(poller.run_until([&] { return a.established; }, 3s));
  a.send(Bytes(17, 1));
  REQUIRE(poller.run_until([&] { return a.disconnected && b.disconnected; }, 3s));
  CHECK(a.completions.at(1).status == fabric::Status::remote_invalid_request);
  CHECK(b.completions.at(1).kind == fabric::CompletionKind::recv);
  CHECK(b.completions.at(1).status == fabric::Status::local_length_error);
  // Registrations check local bounds.
  CHECK(a.qp->post_recv(1, {a.region.get(), 65535, 2}) == fabric::Status::not_connected);
}

TEST_CASE("abrupt loss of the peer process mid-transfer: clean error on the survivor") {
  fabric::SoftFabric f;
  std::string error;
  auto listener = f.listen("127.0.0.1", 0, error);
  REQUIRE(listener);
  std::uint16_t port = listener->port();
  Config c;
  c.max_read_write_size = k64MiB;
  pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    // The client process: streams messages and serves RDMA on a 64 MiB buffer until killed.
    std::string e;
    auto qp = f.connect("127.0.0.1", port, queue_pair_config(c), e);
    Endpoint client;
    client.conn = Connection::create(std::move(qp), Role::client, c, client.callbacks(), e);
    if (!client.conn) ::_exit(1);
    Bytes mem(k64MiB, 0x33);
    std::unique_ptr<fabric::MemoryRegion> mr;
    Poller poller;
    poller.add(client.conn.get());
    poller.run_until([&] { return client.established; }, 5s);
    mr = client.conn->register_memory(mem, fabric::Access::remote_read_write, e);
    std::vector<BufferDescriptorV1> d = {
        {mr->remote_base(), mr->remote_token(), static_cast<std::uint32_t>(k64MiB)}};
    Bytes desc = encode_buffer_descriptors(d);
    client.conn->send(desc);
    for (std::uint32_t i = 0;; ++i) {
      client.conn->send(pattern(20000, i));
      poller.run_once(std::chrono::milliseconds(1));
      if (client.reason) ::_exit(2);
    }
  }
  auto sqp = accept_one(*listener, queue_pair_config(c));
  REQUIRE(sqp);
  Endpoint server;
  server.conn = Connection::create(std::move(sqp), Role::server, c, server.callbacks(), error);
  REQUIRE(server.conn);
  Poller poller;
  poller.add(server.conn.get());
  REQUIRE(poller.run_until([&] { return server.messages.size() >= 5; }, 10s));
  std::vector<BufferDescriptorV1> d;
  REQUIRE(decode_buffer_descriptors(server.messages[0], d) == NtStatus::SUCCESS);
  REQUIRE(d.size() == 1);
  Bytes mem(k64MiB);
  auto mr = server.conn->register_memory(mem, fabric::Access::local, error);
  std::optional<NtStatus> done;
  REQUIRE(server.conn->rdma_read(*mr, 0, d, [&](NtStatus s) { done = s; }) == NtStatus::SUCCESS);
  ::kill(child, SIGKILL);
  int status = 0;
  ::waitpid(child, &status, 0);
  CHECK(WIFSIGNALED(status));
  REQUIRE(poller.run_until([&] { return server.reason.has_value(); }, 10s));
  CHECK(*server.reason == DisconnectReason::connection_lost);
  REQUIRE(done.has_value());
  // Either the read raced ahead of the kill or it was flushed by the loss.
  CHECK((*done == NtStatus::SUCCESS || *done == NtStatus::CONNECTION_DISCONNECTED));
  CHECK(server.conn->state() == State::closed);
  CHECK(server.conn->send(Bytes(10, 1)) == NtStatus::CONNECTION_DISCONNECTED);
}
