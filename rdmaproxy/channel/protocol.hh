// The protocol between rdmaproxy and a worker: the channel socket and the shmring ops.
//
// Channel socket: a SOCK_SEQPACKET unix socket, one per SMB Direct connection. The proxy
// connects it to the smbd master's `rdma proxy socket`; the master passes it to a worker
// like a TCP connection. Every packet starts with an 8-byte header (type, flags, value,
// little-endian) followed by its body:
//
//   HELLO      proxy → worker, first packet: version, limits negotiated with the client
//              and the client's address.
//   SMB2       both ways: a chunk of one whole SMB2 message (transport-level message of
//              [MS-SMBD] 3.1.4.1). flags MORE: more chunks of the same message follow.
//              flags INVALIDATE on the last chunk (proxy-bound): send the message with
//              send-with-invalidate of the token in `value` ([MS-SMB2] 3.3.5.12).
//   SHM_ATTACH worker → proxy, with one fd attached: a SOCK_SEQPACKET socket over which
//              the worker (shmring creator) hands over the data segment (Channel::create).
//
// Ring ops (shmring::Descriptor.op), worker → proxy, answered by one COMPLETE each:
//   RDMA_WRITE  write `length` bytes of the slot into the client's buffers (SMB2 READ)
//   RDMA_READ   read the client's buffers (exactly `length` bytes in total) into the slot
//               (SMB2 WRITE)
//   COMPLETE    proxy → worker: `request_id` echoed, `status` an NTSTATUS, `length` the
//               bytes transferred.
// The payload of a request is the client's SMB_DIRECT_BUFFER_DESCRIPTOR_V1 list
// (shmring::set_buffers). Both sides treat everything the other sends as untrusted.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>

#include "smbd/base/bytes.hh"
#include "shmring/layout.hh"

namespace smb::rdmachannel {

inline constexpr std::uint32_t kVersion = 1;
inline constexpr std::size_t kHeaderSize = 8;
// Largest SMB2 chunk in one packet; the default unix socket buffers hold several.
inline constexpr std::size_t kMaxChunk = 60 * 1024;
inline constexpr std::size_t kMaxPacket = kHeaderSize + kMaxChunk;
inline constexpr std::size_t kMaxPeerAddress = 256;

enum class PacketType : std::uint16_t { HELLO = 1, SMB2 = 2, SHM_ATTACH = 3 };
inline constexpr std::uint16_t kFlagMore = 0x0001;
inline constexpr std::uint16_t kFlagInvalidate = 0x0002;

struct PacketHeader {
  PacketType type = PacketType::SMB2;
  std::uint16_t flags = 0;
  std::uint32_t value = 0;
};

void encode_header(const PacketHeader& h, std::uint8_t out[kHeaderSize]);
// False when the packet is shorter than a header or of an unknown type.
bool decode_header(ByteSpan packet, PacketHeader& out);

struct Hello {
  std::uint32_t version = kVersion;
  // Largest SMB2 message the worker may send (the client's MaxFragmentedRecvSize).
  std::uint32_t max_send_message = 0;
  // Largest SMB2 message the proxy forwards from the client.
  std::uint32_t max_receive_message = 0;
  // [MS-SMBD] Connection.MaxReadWriteSize: the largest RDMA transfer of one request.
  std::uint32_t max_read_write_size = 0;
  std::string peer_address;
};
Bytes encode_hello(const Hello& h);
// Validates version, limits (nonzero, at most 16 MiB) and the address length.
bool decode_hello(ByteSpan packet, Hello& out);

enum class RingOp : std::uint16_t { RDMA_WRITE = 1, RDMA_READ = 2, COMPLETE = 3 };

// Reassembles SMB2 chunks into one message of at most `max_message` bytes.
class Reassembler {
 public:
  explicit Reassembler(std::size_t max_message) : max_(max_message) {}
  enum class Result { more, message, error };
  // Feeds one SMB2 packet's header and body. On `message`, take() returns it.
  Result feed(const PacketHeader& h, ByteSpan body);
  Bytes take() { return std::move(message_); }
  std::optional<std::uint32_t> invalidate_token() const { return invalidate_; }

 private:
  std::size_t max_;
  Bytes message_;
  std::optional<std::uint32_t> invalidate_;
  bool done_ = false;
};

// Checks a request descriptor from the worker against the proxy's view: a known op, the
// slot range in the segment (slot_bytes non-empty), 1..kMaxBuffers buffers each of
// nonzero length, buffer total >= length (RDMA_WRITE) or == length (RDMA_READ), and
// length at most `max_read_write_size`. Returns the buffers trimmed to `length`.
struct CheckedRequest {
  RingOp op = RingOp::RDMA_WRITE;
  shmring::BufferList buffers;
};
std::optional<CheckedRequest> check_request(const shmring::Descriptor& d,
                                            std::uint32_t max_read_write_size);

// Where clients reach SMB Direct. rdmaproxy writes the address it listens on into
// `<smbd socket>.address` and holds an exclusive flock on the file while it runs, so
// smbd can tell a live proxy from a file left behind by one that died, and report its
// interfaces RDMA_CAPABLE ([MS-SMB2] 2.2.32.5) only while RDMA is really served.
std::string address_file(const std::string& smbd_socket);
// Proxy side: the descriptor to keep open for the proxy's lifetime (-1 on error, errno
// set). The file is rewritten on each start.
int publish_listen_address(const std::string& smbd_socket, const std::string& address);
// smbd side: the address a running proxy listens on ("0.0.0.0" / "::" mean every
// address), or nothing when no proxy runs.
std::optional<std::string> running_proxy_address(const std::string& smbd_socket);

}  // namespace smb::rdmachannel
