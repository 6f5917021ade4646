// The worker's side of an RDMA channel: the SOCK_SEQPACKET channel socket from rdmaproxy
// (whole SMB2 messages in chunks, rdmaproxy/channel/protocol.hh) and, set up on the first
// RDMA transfer, a shmring segment whose slots the proxy RDMA-reads into and RDMA-writes
// from. To the SMB layer it is one more Transport.
#pragma once

#include "smbd/worker/uv.hh"

#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>

#include "rdmaproxy/channel/protocol.hh"
#include "smbd/base/ntstatus.hh"
#include "smbd/worker/transport/transport.hh"
#include "smbd/base/unique_fd.hh"

namespace smb::server {

class RdmaRing;

// A data slot held for one request; the slot returns to the pool when the last copy of
// the shared_ptr goes. The bytes stay mapped while any lease exists.
struct SlotLease {
  std::shared_ptr<RdmaRing> ring;
  std::uint32_t index = 0;
  std::span<std::uint8_t> bytes;
  ~SlotLease();
};
using SlotPtr = std::shared_ptr<SlotLease>;

class RdmaChannelTransport final : public Transport {
 public:
  // Takes a channel socket passed by the master; waits (at most a few seconds) for the
  // proxy's HELLO. Null when the socket does not speak the protocol.
  // `hello`, when given, is the HELLO another worker already read from this socket (a
  // channel passed on to its client's worker).
  static std::unique_ptr<RdmaChannelTransport> adopt(uv_loop_t* loop, UniqueFd socket,
                                                     std::uint64_t connection_id,
                                                     std::size_t max_message,
                                                     std::optional<ByteSpan> hello = {});
  // Gives the channel socket up, with the HELLO read from it, so that another worker
  // can adopt it; possible only before the data segment is set up (before the first
  // RDMA transfer, i.e. during NEGOTIATE). Invalid fd when not possible.
  UniqueFd detach(Bytes& hello);
  ~RdmaChannelTransport() override;

  void start(Events events) override;
  void send(Frame frame) override;
  void close() override;
  void pause() override;
  void resume() override;
  const std::string& peer_address() const override { return peer_; }
  std::size_t pending_send_bytes() const override { return pending_send_; }
  bool is_rdma() const override { return true; }

  // [MS-SMBD] Connection.MaxReadWriteSize as the proxy negotiated it with the client.
  std::uint32_t max_read_write_size() const { return hello_.max_read_write_size; }
  // The largest message the client takes ([MS-SMBD] MaxFragmentedRecvSize).
  std::uint32_t max_send_message() const { return hello_.max_send_message; }
  // The next frame passed to send() goes out with send-with-invalidate of `token`.
  void invalidate_on_next_send(std::uint32_t token) { invalidate_next_ = token; }
  void clear_invalidate() { invalidate_next_.reset(); }

  // Calls `then` with a data slot of at least max_read_write_size() bytes, at once or
  // when one frees up; with null when the channel failed. Sets up the segment on first use.
  void with_slot(std::function<void(SlotPtr)> then);
  // Asks the proxy to move `length` bytes between `slot` and the client's buffers.
  // `done` runs once on the loop with the proxy's status (or CONNECTION_DISCONNECTED).
  void transfer(rdmachannel::RingOp op, const SlotPtr& slot, std::uint32_t length,
                std::span<const BufferDescriptorV1> buffers,
                std::function<void(NtStatus)> done);

  std::uint64_t connection_id() const { return connection_id_; }

 private:
  struct Handle;
  struct Packet {
    Bytes data;
    UniqueFd fd;
  };
  RdmaChannelTransport() = default;
  void on_readable();
  void flush();
  void update_poll();
  void fail(const char* reason);
  bool ensure_ring();
  void queue_message(ByteSpan head, ByteSpan payload, std::optional<std::uint32_t> invalidate);

  uv_loop_t* loop_ = nullptr;
  Handle* handle_ = nullptr;
  std::uint64_t connection_id_ = 0;
  Events events_;
  std::string peer_ = "smbdirect";
  rdmachannel::Hello hello_;
  std::size_t max_message_ = 0;
  std::optional<rdmachannel::Reassembler> reassembler_;
  std::deque<Packet> out_;
  std::size_t pending_send_ = 0;
  bool paused_ = true;
  std::optional<std::uint32_t> invalidate_next_;
  std::shared_ptr<RdmaRing> ring_;
};

// The RDMA channel transport of connection `connection_id` in this worker, or null.
RdmaChannelTransport* find_rdma_channel(std::uint64_t connection_id);

}  // namespace smb::server
