// Two SMB Direct engines (or an engine and a raw fabric peer) over the software fabric.
#pragma once

#include <doctest/doctest.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "rdmaproxy/fabric/soft_fabric.hh"
#include "rdmaproxy/smbdirect/connection.hh"
#include "rdmaproxy/smbdirect/poller.hh"

namespace smb::smbdirect::test {

using namespace std::chrono_literals;

struct Endpoint {
  std::unique_ptr<Connection> conn;
  std::vector<Bytes> messages;
  std::optional<DisconnectReason> reason;
  bool established = false;

  Callbacks callbacks() {
    return Callbacks{[this] { established = true; },
                     [this](ByteSpan m) { messages.emplace_back(m.begin(), m.end()); },
                     [this](DisconnectReason r) { reason = r; }};
  }
};

inline std::unique_ptr<fabric::QueuePair> accept_one(fabric::Listener& listener,
                                                     const fabric::QueuePairConfig& qc) {
  for (int i = 0; i < 2000; ++i) {
    if (auto qp = listener.accept(qc)) return qp;
    ::usleep(1000);
  }
  return nullptr;
}

// A connected client/server pair of engines driven by one Poller.
struct Pair {
  fabric::SoftFabric fabric;
  std::unique_ptr<fabric::Listener> listener;
  Endpoint client;
  Endpoint server;
  Poller poller;

  bool start(const Config& client_config, const Config& server_config) {
    std::string error;
    listener = fabric.listen("127.0.0.1", 0, error);
    REQUIRE_MESSAGE(listener, error);
    auto cqp =
        fabric.connect("127.0.0.1", listener->port(), queue_pair_config(client_config), error);
    REQUIRE_MESSAGE(cqp, error);
    auto sqp = accept_one(*listener, queue_pair_config(server_config));
    REQUIRE(sqp);
    server.conn =
        Connection::create(std::move(sqp), Role::server, server_config, server.callbacks(), error);
    REQUIRE_MESSAGE(server.conn, error);
    client.conn =
        Connection::create(std::move(cqp), Role::client, client_config, client.callbacks(), error);
    REQUIRE_MESSAGE(client.conn, error);
    poller.add(client.conn.get());
    poller.add(server.conn.get());
    return poller.run_until(
               [&] {
                 return (client.established && server.established) || client.reason ||
                        server.reason;
               },
               5s) &&
           client.established && server.established;
  }
  bool run_until(const std::function<bool()>& done, std::chrono::milliseconds t = 20s) {
    return poller.run_until(done, t);
  }
};

// A fabric queue pair used directly, to play a misbehaving or silent peer.
struct RawPeer {
  std::unique_ptr<fabric::QueuePair> qp;
  Bytes memory = Bytes(1 << 16);
  std::unique_ptr<fabric::MemoryRegion> region;
  std::vector<Bytes> received;
  bool established = false;
  bool disconnected = false;
  std::vector<fabric::Completion> completions;

  void setup() {
    std::string error;
    region = qp->register_memory(memory, fabric::Access::local, error);
    REQUIRE(region);
  }
  void post_recvs(int n) {
    for (int i = 0; i < n; ++i)
      REQUIRE(qp->post_recv(100 + i, {region.get(), std::size_t(i) * 4096, 4096}) ==
              fabric::Status::success);
  }
  void send(const Bytes& m) {
    std::memcpy(memory.data() + 60000, m.data(), m.size());
    REQUIRE(qp->post_send(1, {region.get(), 60000, m.size()}) == fabric::Status::success);
  }
  void poll() {
    fabric::Completion c[16];
    std::size_t n = qp->poll(c);
    for (std::size_t i = 0; i < n; ++i) {
      completions.push_back(c[i]);
      if (c[i].kind == fabric::CompletionKind::established) established = true;
      if (c[i].kind == fabric::CompletionKind::disconnected) disconnected = true;
      if (c[i].kind == fabric::CompletionKind::recv && c[i].status == fabric::Status::success) {
        std::size_t slot = c[i].wr_id - 100;
        received.emplace_back(memory.begin() + slot * 4096,
                              memory.begin() + slot * 4096 + c[i].byte_len);
      }
    }
  }
};

inline Bytes pattern(std::size_t n, std::uint32_t seed) {
  Bytes b(n);
  std::uint32_t x = seed * 2654435761u + 1;
  for (auto& v : b) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    v = static_cast<std::uint8_t>(x);
  }
  return b;
}

}  // namespace smb::smbdirect::test
