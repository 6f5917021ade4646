// The MS-SMBD engine over the software fabric: negotiation, fragmentation and
// reassembly, credits, keep-alive and disconnects.
#include <cstring>

#include "test_util.hh"

using namespace smb;
using namespace smb::smbdirect;
using namespace smb::smbdirect::test;

TEST_CASE("config validation") {
  Config c;
  CHECK(validate(c).empty());
  c.max_receive_size = 127;
  CHECK_FALSE(validate(c).empty());
  c = Config{};
  c.max_fragmented_size = 131071;
  CHECK_FALSE(validate(c).empty());
  c = Config{};
  c.receive_credit_max = 2;  // 2 x (8192 - 24) < 1 MiB: reassembly could starve
  CHECK_FALSE(validate(c).empty());
  c.max_fragmented_size = 131072;
  c.max_receive_size = 65560;
  CHECK(validate(c).empty());
  c.send_credit_target = 0;
  CHECK_FALSE(validate(c).empty());
}

TEST_CASE("negotiation settles on the smaller sizes, defaults as Windows") {
  Config client;
  Config server;
  server.max_send_size = 4096;
  // 255 x (8192 - 24) receive bytes hold a 1 MiB message (validate()).
  server.max_receive_size = 8192;
  server.receive_credit_max = 255;
  client.max_receive_size = 2048;
  client.max_send_size = 1364;
  client.receive_credit_max = 200;
  client.max_fragmented_size = 400000;  // within 200 x (2048 - 24)
  server.max_read_write_size = 8 << 20;
  Pair p;
  REQUIRE(p.start(client, server));
  const auto& cn = p.client.conn->negotiated();
  const auto& sn = p.server.conn->negotiated();
  CHECK(sn.max_send_size == 2048);     // min(4096, client's MaxReceiveSize)
  CHECK(sn.max_receive_size == 1364);  // min(8192, client's PreferredSendSize)
  CHECK(cn.max_send_size == 1364);
  CHECK(cn.max_receive_size == 2048);
  CHECK(cn.max_read_write_size == 1048576);  // min(own 1 MiB, server's 8 MiB)
  CHECK(cn.max_fragmented_send_size == 1048576);
  CHECK(p.server.conn->counters().receives_posted == 256);
}

TEST_CASE("messages larger than max_send_size are fragmented and reassembled both ways") {
  Pair p;
  REQUIRE(p.start(Config{}, Config{}));
  Bytes big = pattern(300000, 1);
  Bytes big2 = pattern(1048576, 2);
  Bytes small = pattern(100, 3);
  REQUIRE(p.client.conn->send(big) == NtStatus::SUCCESS);
  REQUIRE(p.client.conn->send(small) == NtStatus::SUCCESS);
  REQUIRE(p.server.conn->send(big2) == NtStatus::SUCCESS);
  REQUIRE(
      p.run_until([&] { return p.server.messages.size() == 2 && p.client.messages.size() == 1; }));
  CHECK(p.server.messages[0] == big);
  CHECK(p.server.messages[1] == small);
  CHECK(p.client.messages[0] == big2);
  // 1364 - 24 payload bytes per fragment.
  CHECK(p.client.conn->counters().fragments_sent == (300000 + 1339) / 1340 + 1);
  CHECK(p.server.conn->counters().fragments_sent >= 1048576 / 1340);
}

TEST_CASE("a message of exactly max_fragmented_size passes, one byte more is refused") {
  Config server;
  server.max_fragmented_size = 131072;
  Pair p;
  REQUIRE(p.start(Config{}, server));
  CHECK(p.client.conn->negotiated().max_fragmented_send_size == 131072);
  Bytes exact = pattern(131072, 4);
  CHECK(p.client.conn->send(pattern(131073, 5)) == NtStatus::INVALID_PARAMETER);
  CHECK(p.client.conn->send({}) == NtStatus::INVALID_PARAMETER);
  REQUIRE(p.client.conn->send(exact) == NtStatus::SUCCESS);
  REQUIRE(p.run_until([&] { return p.server.messages.size() == 1; }));
  CHECK(p.server.messages[0] == exact);
  CHECK(p.client.conn->state() == State::established);
}

TEST_CASE("many outstanding sends with small credit limits: no deadlock, no RNR") {
  for (std::uint16_t credits : {1, 2, 3, 8}) {
    CAPTURE(credits);
    Config c;
    c.receive_credit_max = credits;
    c.send_credit_target = credits;
    c.max_receive_size = 131072 + 24;
    c.max_send_size = 512;
    c.max_fragmented_size = 131072;
    Pair p;
    REQUIRE(p.start(c, c));
    std::vector<Bytes> to_server, to_client;
    for (std::uint32_t i = 0; i < 300; ++i) {
      to_server.push_back(pattern(1 + (i * 7919) % 5000, i));
      to_client.push_back(pattern(1 + (i * 104729) % 3000, i + 1000));
      REQUIRE(p.client.conn->send(to_server.back()) == NtStatus::SUCCESS);
      REQUIRE(p.server.conn->send(to_client.back()) == NtStatus::SUCCESS);
    }
    REQUIRE(p.run_until(
        [&] { return p.server.messages.size() == 300 && p.client.messages.size() == 300; }));
    CHECK(p.server.messages == to_server);
    CHECK(p.client.messages == to_client);
    CHECK(fabric::soft_stats(p.client.conn->queue_pair())->receiver_not_ready == 0);
    CHECK(fabric::soft_stats(p.server.conn->queue_pair())->receiver_not_ready == 0);
    CHECK(p.client.conn->state() == State::established);
    CHECK(p.server.conn->state() == State::established);
    // Nobody ever holds more credits than the peer has receives posted.
    CHECK(p.client.conn->counters().send_credits <= std::uint32_t{credits} + 1);
  }
}

TEST_CASE("orderly close delivers queued messages first") {
  Pair p;
  REQUIRE(p.start(Config{}, Config{}));
  for (int i = 0; i < 20; ++i) REQUIRE(p.client.conn->send(pattern(5000, i)) == NtStatus::SUCCESS);
  p.client.conn->close();
  CHECK(p.client.conn->send(pattern(10, 1)) == NtStatus::CONNECTION_DISCONNECTED);
  REQUIRE(p.run_until([&] { return p.client.reason && p.server.reason; }));
  CHECK(p.server.messages.size() == 20);
  CHECK(*p.client.reason == DisconnectReason::local_close);
  CHECK(*p.server.reason == DisconnectReason::peer_close);
  CHECK(p.server.conn->state() == State::closed);
}

TEST_CASE("keep-alive: idle peers exchange RESPONSE_REQUESTED and stay up") {
  // The server's interval is well above the client's: whichever timer the scheduler runs
  // first, the client's keep-alive arrives long before the server would need one (equal
  // intervals made the outcome depend on which of two 50 ms timers fired first).
  Config client;
  client.keepalive_interval = 50ms;
  client.keepalive_timeout = 2000ms;
  Config server = client;
  server.keepalive_interval = 400ms;
  Pair p;
  REQUIRE(p.start(client, server));
  p.run_until([] { return false; }, 1200ms);
  CHECK(p.client.conn->state() == State::established);
  CHECK(p.server.conn->state() == State::established);
  CHECK(p.client.conn->counters().keepalives_sent >= 3);
  // The client's keep-alives restart the server's idle timer, so it never needs one.
  CHECK(p.server.conn->counters().keepalives_sent == 0);
  Bytes m = pattern(3000, 9);
  REQUIRE(p.client.conn->send(m) == NtStatus::SUCCESS);
  REQUIRE(p.run_until([&] { return p.server.messages.size() == 1; }));
}

TEST_CASE("keep-alive: a silent peer is disconnected") {
  Config c;
  c.keepalive_interval = 50ms;
  c.keepalive_timeout = 200ms;
  Pair p;
  REQUIRE(p.start(c, Config{}));
  p.poller.remove(p.server.conn.get());  // the server stops running
  REQUIRE(p.run_until([&] { return p.client.reason.has_value(); }, 3s));
  CHECK(*p.client.reason == DisconnectReason::keepalive_timeout);
}

TEST_CASE("client negotiate times out when the server never answers") {
  fabric::SoftFabric f;
  std::string error;
  auto listener = f.listen("127.0.0.1", 0, error);
  REQUIRE(listener);
  Config c;
  c.negotiate_timeout = 200ms;
  auto cqp = f.connect("127.0.0.1", listener->port(), queue_pair_config(c), error);
  RawPeer server{accept_one(*listener, {})};
  REQUIRE(server.qp);
  server.setup();
  server.post_recvs(4);
  REQUIRE(server.qp->accept() == fabric::Status::success);
  Endpoint client;
  client.conn = Connection::create(std::move(cqp), Role::client, c, client.callbacks(), error);
  Poller poller;
  poller.add(client.conn.get());
  poller.add_fd(server.qp->fd(), [&] { server.poll(); });
  REQUIRE(poller.run_until([&] { return client.reason.has_value(); }, 3s));
  CHECK(*client.reason == DisconnectReason::negotiate_timeout);
  REQUIRE(server.received.size() == 1);  // the Negotiate Request
  CHECK(server.received[0].size() == kNegotiateRequestSize);
}

namespace {

// A server engine against a raw client that sends `request` as its first message.
struct RawClientCase {
  fabric::SoftFabric f;
  std::unique_ptr<fabric::Listener> listener;
  RawPeer client;
  Endpoint server;
  Poller poller;

  void run(const Bytes& request, const Config& server_config = Config{}) {
    std::string error;
    listener = f.listen("127.0.0.1", 0, error);
    REQUIRE(listener);
    client.qp = f.connect("127.0.0.1", listener->port(), {}, error);
    REQUIRE(client.qp);
    auto sqp = accept_one(*listener, queue_pair_config(server_config));
    REQUIRE(sqp);
    server.conn =
        Connection::create(std::move(sqp), Role::server, server_config, server.callbacks(), error);
    REQUIRE(server.conn);
    client.setup();
    client.post_recvs(8);
    poller.add(server.conn.get());
    poller.add_fd(client.qp->fd(), [&] { client.poll(); });
    REQUIRE(poller.run_until([&] { return client.established; }, 3s));
    client.send(request);
    poller.run_until([&] { return server.reason.has_value() || server.established; }, 3s);
  }
};

Bytes request_bytes(std::uint16_t min_v, std::uint16_t max_v, std::uint16_t credits,
                    std::uint32_t pref, std::uint32_t max_recv, std::uint32_t max_frag) {
  Bytes out;
  encode(NegotiateRequest{min_v, max_v, credits, pref, max_recv, max_frag}, out);
  return out;
}

}  // namespace

TEST_CASE("server: unsupported version gets STATUS_NOT_SUPPORTED, then disconnect") {
  RawClientCase t;
  t.run(request_bytes(0x0200, 0x0300, 10, 1364, 8192, 1048576));
  REQUIRE(t.poller.run_until([&] { return t.server.reason && t.client.disconnected; }, 3s));
  CHECK(*t.server.reason == DisconnectReason::negotiate_failed);
  REQUIRE(t.client.received.size() == 1);
  NegotiateResponse resp;
  REQUIRE(decode(t.client.received[0], resp) == NtStatus::SUCCESS);
  CHECK(resp.status == static_cast<std::uint32_t>(NtStatus::NOT_SUPPORTED));
  CHECK(resp.min_version == kVersion1);
  CHECK(resp.credits_granted == 0);
  CHECK(resp.max_receive_size == 0);
}

TEST_CASE("server: invalid negotiate requests end the connection without an answer") {
  struct Bad {
    const char* what;
    Bytes bytes;
  };
  std::vector<Bad> cases = {
      {"zero credits", request_bytes(0x0100, 0x0100, 0, 1364, 8192, 1048576)},
      {"tiny receive size", request_bytes(0x0100, 0x0100, 10, 1364, 127, 1048576)},
      {"tiny fragmented size", request_bytes(0x0100, 0x0100, 10, 1364, 8192, 131071)},
      {"short message", Bytes(19, 0x01)},
  };
  for (const auto& c : cases) {
    CAPTURE(c.what);
    RawClientCase t;
    t.run(c.bytes);
    REQUIRE(t.poller.run_until([&] { return t.server.reason && t.client.disconnected; }, 3s));
    CHECK(*t.server.reason == DisconnectReason::negotiate_failed);
    CHECK(t.client.received.empty());
  }
}

TEST_CASE("server: oversize request values are clamped to the server's own") {
  RawClientCase t;
  t.run(request_bytes(0x0001, 0xFFFF, 0xFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF));
  REQUIRE(t.poller.run_until([&] { return t.client.received.size() == 1; }, 3s));
  NegotiateResponse resp;
  REQUIRE(decode(t.client.received[0], resp) == NtStatus::SUCCESS);
  CHECK(resp.status == 0);
  CHECK(resp.negotiated_version == kVersion1);
  CHECK(resp.preferred_send_size == 1364);
  CHECK(resp.max_receive_size == 8192);
  CHECK(resp.max_fragmented_size == 1048576);
  CHECK(resp.credits_granted == 255);  // min(CreditsRequested, ReceiveCreditMax)
  CHECK(t.server.established);
}

TEST_CASE("server: a fragment beyond max_fragmented_size is a protocol error") {
  RawClientCase t;
  t.run(request_bytes(0x0100, 0x0100, 10, 1364, 8192, 1048576));
  REQUIRE(t.server.established);
  Bytes m(24 + 100, 0);
  encode_data_transfer_header(10, 8, 0, 1048576 - 99, 100, MutableByteSpan(m).first(24));
  t.client.send(m);
  REQUIRE(t.poller.run_until([&] { return t.server.reason.has_value(); }, 3s));
  CHECK(*t.server.reason == DisconnectReason::protocol_error);
}

TEST_CASE("server: a send without a granted credit is a protocol error") {
  Config s;
  s.receive_credit_max = 1;
  s.max_receive_size = 131072 + 24;
  s.max_fragmented_size = 131072;
  RawClientCase t;
  t.run(request_bytes(0x0100, 0x0100, 1, 1364, 8192, 1048576), s);
  REQUIRE(t.server.established);
  Bytes m(24 + 10, 0);
  encode_data_transfer_header(1, 0, 0, 0, 10, MutableByteSpan(m).first(24));
  t.client.send(m);  // uses the one granted credit
  t.client.send(m);  // the reserve receive is there, but no credit was granted for it
  REQUIRE(t.poller.run_until([&] { return t.server.reason.has_value(); }, 3s));
  CHECK(*t.server.reason == DisconnectReason::protocol_error);
  CHECK(t.server.messages.size() == 1);
}

TEST_CASE("client: invalid negotiate responses fail the connection") {
  auto ok = [] {
    NegotiateResponse r;
    r.credits_requested = 255;
    r.credits_granted = 255;
    r.max_read_write_size = 1048576;
    r.preferred_send_size = 1364;
    r.max_receive_size = 8192;
    r.max_fragmented_size = 1048576;
    return r;
  };
  std::vector<NegotiateResponse> bad(6, ok());
  bad[0].negotiated_version = 0x0200;
  bad[1].credits_granted = 0;
  bad[2].credits_requested = 0;
  bad[3].preferred_send_size = 8193;  // above the client's MaxReceiveSize
  bad[4].max_fragmented_size = 1000;
  bad[5].status = static_cast<std::uint32_t>(NtStatus::NOT_SUPPORTED);
  for (std::size_t i = 0; i < bad.size() + 1; ++i) {
    CAPTURE(i);
    fabric::SoftFabric f;
    std::string error;
    auto listener = f.listen("127.0.0.1", 0, error);
    Config c;
    auto cqp = f.connect("127.0.0.1", listener->port(), queue_pair_config(c), error);
    RawPeer server{accept_one(*listener, {})};
    server.setup();
    server.post_recvs(4);
    REQUIRE(server.qp->accept() == fabric::Status::success);
    Endpoint client;
    client.conn = Connection::create(std::move(cqp), Role::client, c, client.callbacks(), error);
    Poller poller;
    poller.add(client.conn.get());
    poller.add_fd(server.qp->fd(), [&] { server.poll(); });
    REQUIRE(poller.run_until([&] { return server.received.size() == 1; }, 3s));
    Bytes resp;
    if (i < bad.size())
      encode(bad[i], resp);
    else
      resp.assign(31, 0);  // short
    server.send(resp);
    REQUIRE(poller.run_until([&] { return client.reason.has_value(); }, 3s));
    CHECK(*client.reason == DisconnectReason::negotiate_failed);
    CHECK_FALSE(client.established);
  }
}
