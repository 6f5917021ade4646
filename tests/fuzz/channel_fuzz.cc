// Fuzz target: the proxy <-> worker channel protocol (rdmaproxy/channel/protocol.hh).
// Both processes decode what the other sends: packet headers, HELLO, the reassembly of
// SMB2 chunks, and the request descriptors the worker posts on the shared ring.
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "rdmaproxy/channel/protocol.hh"

using namespace smb;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  ByteSpan input(data, size);

  rdmachannel::PacketHeader header;
  if (rdmachannel::decode_header(input, header)) {
    rdmachannel::Hello hello;
    (void)rdmachannel::decode_hello(input, hello);
  }

  // A stream of packets, each prefixed by a 2-byte length, fed to the reassembler.
  rdmachannel::Reassembler reassembler(64 * 1024);
  std::size_t at = 0;
  while (at + 2 <= size) {
    std::size_t length = std::size_t{data[at]} | (std::size_t{data[at + 1]} << 8);
    at += 2;
    if (length > size - at) length = size - at;
    ByteSpan packet(data + at, length);
    at += length;
    rdmachannel::PacketHeader h;
    if (!rdmachannel::decode_header(packet, h)) continue;
    if (h.type != rdmachannel::PacketType::SMB2) continue;
    auto result = reassembler.feed(h, packet.subspan(rdmachannel::kHeaderSize));
    if (result == rdmachannel::Reassembler::Result::message) (void)reassembler.take();
    if (result == rdmachannel::Reassembler::Result::error) break;
  }

  // The first bytes as a ring descriptor written by a hostile peer.
  shmring::Descriptor d{};
  std::memcpy(&d, data, size < sizeof d ? size : sizeof d);
  (void)rdmachannel::check_request(d, 8u << 20);
  return 0;
}
