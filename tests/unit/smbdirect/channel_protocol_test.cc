// The rdmaproxy <-> worker protocol (rdmaproxy/channel/protocol.hh): both sides treat the
// other as untrusted, so every malformed packet and ring request must be refused.
#include <doctest/doctest.h>

#include "rdmaproxy/channel/protocol.hh"

using namespace smb;
using namespace smb::rdmachannel;

namespace {

Bytes packet(PacketType type, std::uint16_t flags, std::uint32_t value, std::size_t body) {
  Bytes p(kHeaderSize + body, 0x41);
  encode_header({type, flags, value}, p.data());
  return p;
}

shmring::Descriptor request(RingOp op, std::uint32_t length,
                            std::vector<BufferDescriptorV1> buffers) {
  shmring::Descriptor d;
  d.op = static_cast<std::uint16_t>(op);
  d.slot = 0;
  d.length = length;
  REQUIRE(shmring::set_buffers(d, buffers));
  return d;
}

}  // namespace

TEST_CASE("channel protocol: HELLO round trip and refusals") {
  Hello h;
  h.max_send_message = 1u << 20;
  h.max_receive_message = 1u << 20;
  h.max_read_write_size = 1u << 20;
  h.peer_address = "smbdirect#1";
  Hello back;
  REQUIRE(decode_hello(encode_hello(h), back));
  CHECK(back.peer_address == h.peer_address);
  CHECK(back.max_read_write_size == h.max_read_write_size);

  Bytes bad = encode_hello(h);
  bad[4] = 9;  // version
  CHECK_FALSE(decode_hello(bad, back));
  h.max_read_write_size = 0;
  CHECK_FALSE(decode_hello(encode_hello(h), back));
  h.max_read_write_size = 64u << 20;
  CHECK_FALSE(decode_hello(encode_hello(h), back));
  h.max_read_write_size = 1u << 20;
  Bytes trailing = encode_hello(h);
  trailing.push_back(0);
  CHECK_FALSE(decode_hello(trailing, back));
  Bytes short_one = encode_hello(h);
  short_one.resize(short_one.size() - 3);
  CHECK_FALSE(decode_hello(short_one, back));
  PacketHeader ph;
  CHECK_FALSE(decode_header(Bytes{1, 0, 0}, ph));
  CHECK_FALSE(decode_header(packet(static_cast<PacketType>(7), 0, 0, 0), ph));
}

TEST_CASE("channel protocol: SMB2 reassembly is bounded and strict") {
  Reassembler r(100'000);
  PacketHeader h;
  Bytes p1 = packet(PacketType::SMB2, kFlagMore, 0, kMaxChunk);
  REQUIRE(decode_header(p1, h));
  CHECK(r.feed(h, ByteSpan(p1).subspan(kHeaderSize)) == Reassembler::Result::more);
  Bytes p2 = packet(PacketType::SMB2, kFlagInvalidate, 0x1234, 10);
  REQUIRE(decode_header(p2, h));
  CHECK(r.feed(h, ByteSpan(p2).subspan(kHeaderSize)) == Reassembler::Result::message);
  CHECK(r.invalidate_token() == 0x1234u);
  CHECK(r.take().size() == kMaxChunk + 10);

  // Over the limit.
  Reassembler small(1000);
  Bytes big = packet(PacketType::SMB2, 0, 0, 1001);
  REQUIRE(decode_header(big, h));
  CHECK(small.feed(h, ByteSpan(big).subspan(kHeaderSize)) == Reassembler::Result::error);
  // Invalidate on a middle chunk, an empty message, an oversized chunk.
  Reassembler r2(1u << 20);
  Bytes mid = packet(PacketType::SMB2, kFlagMore | kFlagInvalidate, 1, 10);
  REQUIRE(decode_header(mid, h));
  CHECK(r2.feed(h, ByteSpan(mid).subspan(kHeaderSize)) == Reassembler::Result::error);
  Reassembler r3(1u << 20);
  Bytes empty = packet(PacketType::SMB2, 0, 0, 0);
  REQUIRE(decode_header(empty, h));
  CHECK(r3.feed(h, ByteSpan(empty).subspan(kHeaderSize)) == Reassembler::Result::error);
  Reassembler r4(1u << 20);
  Bytes huge = packet(PacketType::SMB2, 0, 0, kMaxChunk + 1);
  REQUIRE(decode_header(huge, h));
  CHECK(r4.feed(h, ByteSpan(huge).subspan(kHeaderSize)) == Reassembler::Result::error);
}

TEST_CASE("channel protocol: ring requests are checked before any RDMA") {
  constexpr std::uint32_t kMax = 1u << 20;
  // RDMA_WRITE: buffers at least `length`; trimmed to it.
  auto ok = check_request(request(RingOp::RDMA_WRITE, 6000, {{0, 7, 4096}, {8192, 7, 4096}}), kMax);
  REQUIRE(ok);
  REQUIRE(ok->buffers.count == 2);
  CHECK(ok->buffers.items[1].length == 6000 - 4096);
  auto one = check_request(request(RingOp::RDMA_WRITE, 100, {{0, 7, 4096}, {8192, 7, 4096}}), kMax);
  REQUIRE(one);
  CHECK(one->buffers.count == 1);
  CHECK(one->buffers.items[0].length == 100);
  CHECK_FALSE(check_request(request(RingOp::RDMA_WRITE, 9000, {{0, 7, 4096}, {0, 7, 4096}}), kMax));
  // RDMA_READ: buffers exactly `length`.
  CHECK(check_request(request(RingOp::RDMA_READ, 8192, {{0, 7, 4096}, {0, 7, 4096}}), kMax));
  CHECK_FALSE(check_request(request(RingOp::RDMA_READ, 8000, {{0, 7, 4096}, {0, 7, 4096}}), kMax));
  // Zero lengths, too large, no buffers, unknown op, bad payload length.
  CHECK_FALSE(check_request(request(RingOp::RDMA_READ, 0, {{0, 7, 4096}}), kMax));
  CHECK_FALSE(check_request(request(RingOp::RDMA_READ, 4096, {{0, 7, 0}, {0, 7, 4096}}), kMax));
  CHECK_FALSE(check_request(request(RingOp::RDMA_WRITE, kMax + 1, {{0, 7, 0xFFFFFFFF}}), kMax));
  CHECK_FALSE(check_request(request(RingOp::RDMA_WRITE, 10, {}), kMax));
  auto d = request(RingOp::COMPLETE, 10, {{0, 7, 4096}});
  CHECK_FALSE(check_request(d, kMax));
  d = request(RingOp::RDMA_WRITE, 10, {{0, 7, 4096}});
  d.payload_length = 17;
  CHECK_FALSE(check_request(d, kMax));
  d.payload_length = 4096;
  CHECK_FALSE(check_request(d, kMax));
  // Lengths whose 32-bit sum wraps are not accepted as covering the request.
  CHECK_FALSE(
      check_request(request(RingOp::RDMA_READ, 4096, {{0, 7, 0xFFFFF000}, {0, 7, 0x2000}}), kMax));
}
