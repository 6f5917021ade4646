// A channel carrying whole SMB2 messages. TCP, the RDMA channel socket from the proxy and
// the in-memory loopback of the tests sit behind this; the SMB layer cannot tell them apart.
//
// The transport also decides how the bytes of a READ or WRITE move ([MS-SMB2] 2.2.19,
// 2.2.21 Channel): inline, in the SMB2 messages themselves (every transport), or by RDMA
// between the client's registered memory and a buffer here (an SMB Direct channel). The
// READ and WRITE handlers ask for the data and hand it over through the calls below and
// follow the same rules whichever way it travels.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <optional>
#include <span>
#include <string>

#include "smbd/base/buffer.hh"
#include "smbd/base/buffer_descriptor.hh"
#include "smbd/base/bytes.hh"
#include "smbd/base/ntstatus.hh"
#include "smbd/base/unique_fd.hh"
#include "smbd/proto/read.hh"

namespace smb::server {

// One outgoing transport message: `head` (headers and bodies) followed by an optional
// `payload` (read data) sent from its own buffer, kept alive by `keep`.
struct Frame {
  Bytes head;
  ByteSpan payload;
  std::shared_ptr<const void> keep;
  // Send with remote invalidation of this token ([MS-SMBD] 3.1.4.1, asked for by
  // SMB2_CHANNEL_RDMA_V1_INVALIDATE); a transport without RDMA has nothing to invalidate.
  std::optional<std::uint32_t> invalidate_token;
  std::size_t size() const { return head.size() + payload.size(); }
};

// Where the bytes of one READ or WRITE travel: the request's Channel and, for
// SMB2_CHANNEL_RDMA_V1(_INVALIDATE), the client's buffers ([MS-SMBD] 2.2.3.1).
struct DataChannel {
  Channel channel = Channel::NONE;
  std::span<const BufferDescriptorV1> descriptors;
};

// A WRITE's bytes once they are here: a view of the request message or of a data slot,
// valid while `keep` lives.
struct WriteData {
  ByteSpan bytes;
  std::shared_ptr<const void> keep;
  // The token the response invalidates (RDMA_V1_INVALIDATE), if any.
  std::optional<std::uint32_t> invalidate_token;
};

// How a READ response describes data that reached the client (MS-SMB2 2.2.20).
struct ReadDelivery {
  std::uint32_t data_length = 0;     // DataLength: the bytes of `payload`, sent in the response
  std::uint32_t data_remaining = 0;  // DataRemaining: bytes written into the client's buffers
  ByteSpan payload;
  // `payload` lies in memory only this READ uses: its response may encrypt it in place.
  bool payload_private = false;
  std::optional<std::uint32_t> invalidate_token;
};

// The memory a READ is read into, and the way its bytes then reach the client. The
// response keeps the object alive while its payload is being sent.
class ReadData {
 public:
  virtual ~ReadData() = default;
  // Room for the bytes the READ asked for.
  virtual MutableByteSpan buffer() = 0;
  // Passes the first `count` bytes of buffer() to the client; `done` runs once on the
  // loop, possibly before deliver() returns.
  virtual void deliver(std::uint32_t count, std::function<void(NtStatus, ReadDelivery)> done) = 0;
};

// A channel given up so that another worker can adopt it: the socket and the bytes the
// adopting worker needs with it (the messages this one already read).
struct HandOff {
  UniqueFd socket;  // invalid when the channel cannot be passed
  Bytes payload;
  bool rdma = false;  // an rdmaproxy channel socket rather than a TCP connection
};

class Transport {
 public:
  struct Events {
    std::function<void(Buffer message)> on_message;
    std::function<void(const char* reason)> on_closed;
  };
  virtual ~Transport() = default;
  // Starts delivering messages; none is delivered before.
  virtual void start(Events events) = 0;
  virtual void send(Frame frame) = 0;
  // Closes the channel; on_closed is not called for a close asked for here.
  virtual void close() = 0;
  // Stops reading until resume(); used while a message is being processed.
  virtual void pause() = 0;
  virtual void resume() = 0;
  virtual const std::string& peer_address() const = 0;
  virtual std::size_t pending_send_bytes() const = 0;
  // The largest message accepted from now on (raised once the client has authenticated).
  // A channel whose far end already bounds message sizes (the proxy's channel socket,
  // bounded by MS-SMBD's max fragmented size) has nothing more to enforce.
  virtual void set_max_message(std::size_t bytes) { (void)bytes; }
  virtual bool is_rdma() const { return false; }

  // ---- what the peer has acknowledged of what was sent ([MS-SMB2] 3.3.4.6, 3.3.4.7: a
  // break that its channel does not deliver goes out again on another one).
  // The bytes given to send() so far: a position in the outgoing stream.
  virtual std::uint64_t bytes_queued() const { return 0; }
  // The bytes of the outgoing stream the peer has acknowledged receiving; a transport
  // that cannot tell counts everything queued as acknowledged.
  virtual std::uint64_t bytes_acknowledged() const { return bytes_queued(); }
  // The time after which an unacknowledged segment is sent again (TCP's RTO): the unit
  // a silent peer is measured in.
  virtual std::chrono::milliseconds retransmission_timeout() const {
    return std::chrono::milliseconds(200);
  }
  // Gives the channel up for its client's worker, with `negotiate`, the NEGOTIATE
  // request already read from it; the transport is closed afterwards.
  virtual HandOff hand_off(Bytes negotiate) = 0;

  // ---- limits of this channel (none of its own by default)
  // The most one READ or WRITE may move here.
  virtual std::size_t max_read_write_size() const {
    return std::numeric_limits<std::size_t>::max();
  }
  // The largest message the client takes.
  virtual std::size_t max_send_message() const { return std::numeric_limits<std::size_t>::max(); }

  // ---- the data of READ and WRITE. Callbacks run once, on the loop, possibly before the
  // call returns; they may outlive the transport (they then get CONNECTION_DISCONNECTED).

  // MS-SMB2 3.3.5.12, 3.3.5.13: whether `length` bytes can travel over `channel` on this
  // connection of `dialect` (INVALID_PARAMETER when not). Inline: every transport.
  virtual NtStatus check_channel(const DataChannel& channel, std::uint32_t length,
                                 std::uint16_t dialect) const;
  // WRITE: the `length` bytes the client sent, inline in `in_message` (the request's
  // Buffer, kept alive by `message`) or in the buffers `channel` names.
  virtual void receive_write_data(const DataChannel& channel, ByteSpan in_message,
                                  std::shared_ptr<const void> message, std::uint32_t length,
                                  std::function<void(NtStatus, WriteData)> done);
  // READ: memory for `length` bytes on their way to the client over `channel`.
  virtual void prepare_read(const DataChannel& channel, std::uint32_t length,
                            std::function<void(NtStatus, std::shared_ptr<ReadData>)> done);
};

}  // namespace smb::server
