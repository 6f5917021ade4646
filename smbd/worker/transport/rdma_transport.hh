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
#include "smbd/base/unique_fd.hh"
#include "smbd/worker/transport/transport.hh"

namespace smb::server {

class RdmaRing;
struct SlotLease;

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
  ~RdmaChannelTransport() override;

  void start(Events events) override;
  void send(Frame frame) override;
  void close() override;
  void pause() override;
  void resume() override;
  const std::string& peer_address() const override { return peer_; }
  std::size_t pending_send_bytes() const override { return pending_send_; }
  bool is_rdma() const override { return true; }
  // Gives the channel socket up with the HELLO read from it and `negotiate`; possible
  // only before the data segment is set up (before the first RDMA transfer, i.e. during
  // NEGOTIATE). An invalid socket when not possible.
  HandOff hand_off(Bytes negotiate) override;

  // [MS-SMBD] Connection.MaxReadWriteSize as the proxy negotiated it with the client: one
  // RDMA transfer moves no more ([MS-SMBD] 3.1.1.1), so neither does a READ or WRITE.
  std::size_t max_read_write_size() const override { return hello_.max_read_write_size; }
  // The largest message the client takes ([MS-SMBD] MaxFragmentedRecvSize).
  std::size_t max_send_message() const override { return hello_.max_send_message; }

  // READ and WRITE data over SMB2_CHANNEL_RDMA_V1(_INVALIDATE): through a data slot of
  // the shared segment, which rdmaproxy RDMA-reads into (WRITE) or RDMA-writes from
  // (READ). Channel NONE is served inline, as on any transport.
  NtStatus check_channel(const DataChannel& channel, std::uint32_t length,
                         std::uint16_t dialect) const override;
  void receive_write_data(const DataChannel& channel, ByteSpan in_message,
                          std::shared_ptr<const void> message, std::uint32_t length,
                          std::function<void(NtStatus, WriteData)> done) override;
  void prepare_read(const DataChannel& channel, std::uint32_t length,
                    std::function<void(NtStatus, std::shared_ptr<ReadData>)> done) override;

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
  // Stops reading while too much output waits for the proxy, as the TCP transport does.
  void update_backpressure();
  void fail(const char* reason);
  bool ensure_ring();
  // Calls `then` with a data slot of at least max_read_write_size() bytes, at once or
  // when one frees up; with null when the channel failed. Sets up the segment on first use.
  void with_slot(std::function<void(std::shared_ptr<SlotLease>)> then);
  void queue_message(ByteSpan head, ByteSpan payload, std::optional<std::uint32_t> invalidate);

  uv_loop_t* loop_ = nullptr;
  Handle* handle_ = nullptr;
  std::uint64_t connection_id_ = 0;
  Events events_;
  std::string peer_ = "smbdirect";
  rdmachannel::Hello hello_;
  std::size_t max_message_ = 0;
  std::optional<rdmachannel::Reassembler> reassembler_;
  std::unique_ptr<std::uint8_t[]> receive_buffer_;  // rdmachannel::kMaxPacket bytes
  std::deque<Packet> out_;
  std::size_t pending_send_ = 0;
  bool paused_ = true;
  bool send_backlogged_ = false;
  std::shared_ptr<RdmaRing> ring_;
};

}  // namespace smb::server
