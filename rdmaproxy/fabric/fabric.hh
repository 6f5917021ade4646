// The fabric interface the SMB Direct engine is written against ([MS-SMBD] 1.4: the
// protocol needs an RDMA transport with reliable, in-order sends and receives, RDMA
// Read/Write on registered memory and send-with-invalidate). Two implementations:
// VerbsFabric (rdma-core, RC queue pairs) and SoftFabric (local sockets, for hosts
// without RDMA hardware). Everything is non-blocking and driven from a poll loop: each
// listener and queue pair exposes one file descriptor that becomes readable when
// poll()/accept() has something to report.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "smbd/base/buffer_descriptor.hh"

namespace smb::fabric {

// Outcome of a posted work request, modelled on RC work completion statuses.
enum class Status : std::uint8_t {
  success,
  flushed,                 // the queue pair left the connected state first
  local_length_error,      // a send was larger than the posted receive buffer
  local_protection_error,  // a local buffer is not inside a valid registration
  remote_access_error,     // bad remote token, offset or length, or missing access
  remote_invalid_request,  // the peer rejected the request (e.g. its buffer too small)
  receiver_not_ready,      // a send arrived at a peer with no posted receive
  transport_error,         // the connection failed
  invalid_argument,        // rejected before posting
  not_connected,           // posted while not connected
};
std::string_view status_name(Status s);

// Access a registration grants to the peer.
enum class Access : std::uint8_t {
  local = 0,
  remote_read = 1,
  remote_write = 2,
  remote_read_write = 3
};

// A registered memory region. Destroying it deregisters it. The memory must outlive
// the registration and every work request that refers to it.
class MemoryRegion {
 public:
  virtual ~MemoryRegion() = default;
  MemoryRegion(const MemoryRegion&) = delete;
  MemoryRegion& operator=(const MemoryRegion&) = delete;

  std::span<std::uint8_t> span() const { return span_; }
  std::uint32_t local_key() const { return local_key_; }
  // The token a peer names this region by (an rkey on verbs); [MS-SMBD] 2.2.3.1 Token.
  std::uint32_t remote_token() const { return remote_token_; }
  // The offset a peer uses for the first byte ([MS-SMBD] 2.2.3.1 Offset).
  std::uint64_t remote_base() const { return remote_base_; }
  Access access() const { return access_; }
  // False once invalidated locally or by a peer's send-with-invalidate.
  virtual bool valid() const = 0;

 protected:
  MemoryRegion(std::span<std::uint8_t> span, Access access) : span_(span), access_(access) {}
  std::span<std::uint8_t> span_;
  Access access_;
  std::uint32_t local_key_ = 0;
  std::uint32_t remote_token_ = 0;
  std::uint64_t remote_base_ = 0;
};

// A range of a local registration.
struct LocalBuffer {
  const MemoryRegion* region = nullptr;
  std::size_t offset = 0;
  std::size_t length = 0;
};

enum class CompletionKind : std::uint8_t {
  send,
  recv,
  rdma_write,
  rdma_read,
  established,   // the connection is up: sends may be posted
  disconnected,  // the connection is gone; every posted request has been flushed
};

struct Completion {
  std::uint64_t wr_id = 0;
  CompletionKind kind = CompletionKind::send;
  Status status = Status::success;
  std::uint32_t byte_len = 0;                      // recv: bytes received
  std::optional<std::uint32_t> invalidated_token;  // recv: send-with-invalidate
};

struct QueuePairConfig {
  std::uint32_t max_send_wr = 512;    // outstanding sends, RDMA reads and writes
  std::uint32_t max_recv_wr = 512;    // outstanding receives
  std::uint8_t rdma_read_depth = 16;  // responder resources / initiator depth
};

// One reliable connection.
class QueuePair {
 public:
  virtual ~QueuePair() = default;
  QueuePair() = default;
  QueuePair(const QueuePair&) = delete;
  QueuePair& operator=(const QueuePair&) = delete;

  // Readable when poll() may return completions or progress the connection.
  virtual int fd() const = 0;
  // A queue pair from Listener::accept() is pending: post receives first, then accept().
  // Its `established` completion follows. No-op for an initiating queue pair.
  virtual Status accept() = 0;
  virtual bool connected() const = 0;

  // Registration on this connection's protection domain. Null with `error` set when the
  // connection cannot register yet (before `established`) or the device refuses.
  virtual std::unique_ptr<MemoryRegion> register_memory(std::span<std::uint8_t> memory,
                                                        Access access, std::string& error) = 0;
  // Makes `region`'s token unusable for the peer from now on.
  virtual Status invalidate(MemoryRegion& region) = 0;

  virtual Status post_recv(std::uint64_t wr_id, LocalBuffer buffer) = 0;
  virtual Status post_send(std::uint64_t wr_id, LocalBuffer buffer,
                           std::optional<std::uint32_t> invalidate_token = std::nullopt) = 0;
  // RDMA Write to / Read from a range of the peer's registration ([MS-SMBD] 2.2.3.1).
  virtual Status post_rdma_write(std::uint64_t wr_id, LocalBuffer source,
                                 BufferDescriptorV1 target) = 0;
  virtual Status post_rdma_read(std::uint64_t wr_id, LocalBuffer target,
                                BufferDescriptorV1 source) = 0;

  // Moves the connection forward and returns up to out.size() completions; never blocks.
  virtual std::size_t poll(std::span<Completion> out) = 0;
  // Orderly disconnect; a `disconnected` completion follows.
  virtual void disconnect() = 0;
};

class Listener {
 public:
  virtual ~Listener() = default;
  Listener() = default;
  Listener(const Listener&) = delete;
  Listener& operator=(const Listener&) = delete;
  virtual int fd() const = 0;
  virtual std::uint16_t port() const = 0;
  // A pending connection, or null when none is waiting.
  virtual std::unique_ptr<QueuePair> accept(const QueuePairConfig& config) = 0;
};

class Fabric {
 public:
  virtual ~Fabric() = default;
  // `port` 0 picks a free port (Listener::port()).
  virtual std::unique_ptr<Listener> listen(const std::string& address, std::uint16_t port,
                                           std::string& error) = 0;
  // Starts connecting; the queue pair reports `established` or `disconnected`.
  virtual std::unique_ptr<QueuePair> connect(const std::string& address, std::uint16_t port,
                                             const QueuePairConfig& config, std::string& error) = 0;
};

}  // namespace smb::fabric
