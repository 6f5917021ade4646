// The SMB Direct ([MS-SMBD]) engine: one connection in the client (initiator) or server
// (listener) role on any fabric::QueuePair. It negotiates (3.1.5.2-3.1.5.7), carries
// whole upper-layer (SMB2) messages with fragmentation and reassembly (3.1.4.1,
// 3.1.5.8), keeps send and receive credits (3.1.5.1, 3.1.5.9), runs the keep-alive and
// idle timers (3.1.6) and performs RDMA Read/Write against buffer descriptors (2.2.3.1).
//
// Single-threaded and non-blocking: poll fd() for readability, call process() when it
// is readable or next_deadline() has passed. Callbacks run inside process(), send() and
// close(); they may call send(), rdma_*() and close(), but must not destroy the object.
#pragma once

#include <chrono>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "rdmaproxy/fabric/fabric.hh"
#include "rdmaproxy/smbdirect/messages.hh"
#include "smbd/base/buffer_descriptor.hh"
#include "smbd/base/bytes.hh"
#include "smbd/base/ntstatus.hh"

namespace smb::smbdirect {

using Clock = std::chrono::steady_clock;

// [MS-SMBD] 3.1.1.1 parameters; the defaults are Windows' ([MS-SMBD] Appendix B <1>, <2>).
struct Config {
  std::uint16_t receive_credit_max = 255;                // Connection.ReceiveCreditMax
  std::uint16_t send_credit_target = 255;                // Connection.SendCreditTarget
  std::uint32_t max_send_size = 1364;                    // Connection.MaxSendSize
  std::uint32_t max_receive_size = 8192;                 // Connection.MaxReceiveSize
  std::uint32_t max_fragmented_size = 1048576;           // Connection.MaxFragmentedRecvSize
  std::uint32_t max_read_write_size = 1048576;           // Connection.MaxReadWriteSize
  std::chrono::milliseconds keepalive_interval{120000};  // 3.1.6.2 Keep-alive timer
  std::chrono::milliseconds keepalive_timeout{5000};     // 3.1.6.3 Idle Connection timer
  std::chrono::milliseconds negotiate_timeout{5000};     // 3.1.6.1 negotiation timers
  std::uint32_t max_rdma_descriptors = 64;               // per rdma_read()/rdma_write()
};

// The queue pair limits the engine needs for `c`; pass it to Listener::accept() or
// Fabric::connect().
fabric::QueuePairConfig queue_pair_config(const Config& c);

// Empty when usable. Besides the protocol minimums, a message of MaxFragmentedRecvSize
// must fit in the receive buffers the credits stand for: MaxFragmentedSize <=
// ReceiveCreditMax x (MaxReceiveSize - 24), so that reassembly never waits on credits
// the peer cannot get.
std::string validate(const Config& c);

enum class Role { client, server };
enum class State { connecting, negotiating, established, closing, closed };
enum class DisconnectReason {
  local_close,        // close() finished
  peer_close,         // the peer disconnected in order
  connection_lost,    // the fabric connection failed
  protocol_error,     // the peer broke [MS-SMBD] rules; the connection was terminated
  negotiate_failed,   // negotiation was refused or invalid (3.1.5.6, 3.1.5.7)
  negotiate_timeout,  // no negotiate message in time
  keepalive_timeout,  // no answer to a keep-alive
};
std::string_view reason_name(DisconnectReason r);

// The values negotiation settled on.
struct Negotiated {
  std::uint32_t max_send_size = 0;
  std::uint32_t max_receive_size = 0;
  std::uint32_t max_fragmented_send_size = 0;
  std::uint32_t max_fragmented_recv_size = 0;
  std::uint32_t max_read_write_size = 0;
  std::uint16_t receive_credit_target = 0;
};

struct Counters {
  std::uint64_t messages_sent = 0;
  std::uint64_t messages_received = 0;
  std::uint64_t fragments_sent = 0;
  std::uint64_t fragments_received = 0;
  std::uint64_t credit_only_sent = 0;
  std::uint64_t keepalives_sent = 0;
  std::uint32_t send_credits = 0;     // Connection.SendCredits
  std::uint32_t receive_credits = 0;  // Connection.ReceiveCredits (held by the peer)
  std::uint32_t receives_posted = 0;
};

struct Callbacks {
  std::function<void()> on_established;
  std::function<void(ByteSpan message)> on_message;  // one whole reassembled message
  std::function<void(DisconnectReason)> on_disconnect;
};

using RdmaDone = std::function<void(NtStatus)>;

class Connection {
 public:
  // A server role takes a pending queue pair from Listener::accept() and accepts it once
  // its receives are posted; a client role takes one from Fabric::connect(). Null with
  // `error` set on a bad Config or when buffers cannot be registered.
  static std::unique_ptr<Connection> create(std::unique_ptr<fabric::QueuePair> qp, Role role,
                                            const Config& config, Callbacks callbacks,
                                            std::string& error);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  int fd() const { return qp_->fd(); }
  std::optional<Clock::time_point> next_deadline() const;
  void process(Clock::time_point now = Clock::now());

  // 3.1.4.1 Send: queues one upper-layer message, fragmented to MaxSendSize.
  // INVALID_PARAMETER when empty or larger than MaxFragmentedSendSize,
  // CONNECTION_DISCONNECTED unless established. `invalidate_token` is sent with the last
  // fragment as a send-with-invalidate of the peer's registration.
  NtStatus send(ByteSpan message, std::optional<std::uint32_t> invalidate_token = std::nullopt);

  // 3.1.4.4 / 3.1.4.5: RDMA Write of `region` bytes from `offset` into the peer's
  // buffers, or RDMA Read of the peer's buffers into `region` at `offset`, in descriptor
  // order. `done` runs once with SUCCESS or the first failure.
  NtStatus rdma_write(const fabric::MemoryRegion& region, std::size_t offset,
                      std::span<const BufferDescriptorV1> descriptors, RdmaDone done);
  NtStatus rdma_read(const fabric::MemoryRegion& region, std::size_t offset,
                     std::span<const BufferDescriptorV1> descriptors, RdmaDone done);
  std::unique_ptr<fabric::MemoryRegion> register_memory(std::span<std::uint8_t> memory,
                                                        fabric::Access access, std::string& error);

  // Orderly close: queued messages are sent first, then the connection is disconnected.
  void close();

  // Bytes of messages queued by send() and not yet sent: what waits for the peer's
  // credits.
  std::size_t queued_bytes() const { return queued_bytes_; }

  State state() const { return state_; }
  Role role() const { return role_; }
  const Negotiated& negotiated() const { return negotiated_; }
  const Counters& counters() const { return counters_; }
  fabric::QueuePair& queue_pair() { return *qp_; }

 private:
  Connection(std::unique_ptr<fabric::QueuePair> qp, Role role, const Config& config,
             Callbacks callbacks);
  struct Outgoing {
    Bytes data;
    std::size_t sent = 0;
    std::optional<std::uint32_t> invalidate_token;
  };
  struct RdmaOp {
    std::size_t outstanding = 0;
    NtStatus status = NtStatus::SUCCESS;
    RdmaDone done;
  };
  enum class Keepalive { none, pending, sent };

  bool setup_buffers(std::string& error);
  bool post_receive(std::size_t slot);
  void on_completion(const fabric::Completion& c);
  void on_receive(std::size_t slot, std::uint32_t length);
  void on_negotiate_request(ByteSpan message);
  void on_negotiate_response(ByteSpan message);
  void on_data_transfer(const DataTransfer& dt);
  void on_established_now();
  bool post_raw(const Bytes& message);
  std::uint16_t credits_to_grant();
  void pump_sends();
  void maybe_finish_close();
  void terminate(DisconnectReason reason);
  void finish(DisconnectReason fallback);
  NtStatus start_rdma(bool write, const fabric::MemoryRegion& region, std::size_t offset,
                      std::span<const BufferDescriptorV1> descriptors, RdmaDone done);
  void check_timers(Clock::time_point now);

  std::unique_ptr<fabric::QueuePair> qp_;
  Role role_;
  Config config_;
  Callbacks callbacks_;
  State state_ = State::connecting;
  std::optional<DisconnectReason> reason_;
  Negotiated negotiated_;
  Counters counters_;

  Bytes recv_memory_;
  std::unique_ptr<fabric::MemoryRegion> recv_region_;
  std::size_t recv_slots_ = 0;
  Bytes send_memory_;
  std::unique_ptr<fabric::MemoryRegion> send_region_;
  std::vector<std::size_t> free_send_slots_;
  std::size_t sends_outstanding_ = 0;

  std::uint32_t send_credits_ = 0;
  std::uint32_t recv_posted_ = 0;
  std::uint32_t recv_granted_ = 0;
  std::uint16_t recv_credit_target_ = 1;
  bool send_immediate_ = false;
  bool close_requested_ = false;
  bool close_after_send_ = false;

  std::deque<Outgoing> queue_;
  std::size_t queued_bytes_ = 0;
  Bytes reassembly_;
  std::uint32_t reassembly_remaining_ = 0;
  bool reassembling_ = false;

  std::map<std::uint64_t, RdmaOp> rdma_ops_;
  std::uint64_t next_rdma_op_ = 1;
  std::size_t rdma_outstanding_ = 0;

  Clock::time_point negotiate_deadline_{};
  Clock::time_point idle_deadline_{};
  Clock::time_point keepalive_deadline_{};
  Keepalive keepalive_ = Keepalive::none;
};

}  // namespace smb::smbdirect
