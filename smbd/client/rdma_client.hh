// The SMB Direct client: SMB2/3 over [MS-SMBD] on either fabric, with READ and WRITE
// through RDMA channels (SMB2_CHANNEL_RDMA_V1 / _V1_INVALIDATE, [MS-SMB2] 3.2.4.6-7).
//
// The MS-SMBD engine (rdmaproxy/smbdirect, client role) runs on a bridge thread that
// moves whole SMB2 messages between the engine and a local socketpair; the SMB2 side is
// an ordinary client::Connection on the other end of the pair, so every SMB2 feature of
// the library (signing, encryption, credits, async calls) works unchanged. Memory the
// server may RDMA to or from is registered through this object (the engine is guarded
// by a mutex shared with the bridge thread).
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <set>
#include <span>
#include <string>
#include <thread>

#include "rdmaproxy/fabric/fabric.hh"
#include "rdmaproxy/smbdirect/connection.hh"
#include "smbd/base/buffer_descriptor.hh"
#include "smbd/client/connection.hh"
#include "smbd/proto/read.hh"

namespace smb::client {

enum class FabricKind { soft, verbs };

struct RdmaOptions {
  FabricKind fabric = FabricKind::soft;
  smbdirect::Config engine;
};

class RdmaClient;

// Memory registered for the server's RDMA Read/Write (remote read and write access).
class RdmaBuffer {
 public:
  ~RdmaBuffer();
  RdmaBuffer(const RdmaBuffer&) = delete;
  RdmaBuffer& operator=(const RdmaBuffer&) = delete;
  std::span<std::uint8_t> span() const { return memory_; }
  // False once the server invalidated it (send-with-invalidate), or its RdmaClient is gone.
  bool valid() const;
  // [MS-SMBD] 2.2.3.1 descriptor of [offset, offset + length) of this buffer.
  BufferDescriptorV1 descriptor(std::size_t offset, std::uint32_t length) const;

 private:
  friend class RdmaClient;
  RdmaBuffer() = default;
  RdmaClient* owner_ = nullptr;  // null once the client is gone (it deregistered us)
  std::span<std::uint8_t> memory_;
  std::unique_ptr<fabric::MemoryRegion> region_;
  BufferDescriptorV1 base_{};
};

class RdmaClient {
 public:
  // Connects over the fabric, negotiates SMB Direct, then SMB2 NEGOTIATE. Throws Error.
  static std::unique_ptr<RdmaClient> connect(const std::string& host, std::uint16_t port,
                                             const Options& options = {},
                                             const RdmaOptions& rdma = {});
  ~RdmaClient();
  RdmaClient(const RdmaClient&) = delete;
  RdmaClient& operator=(const RdmaClient&) = delete;

  // The SMB2 connection: session setup, tree connect, create, ... as over TCP.
  Connection& smb() { return *smb_; }
  // What SMB Direct negotiation settled on (MaxReadWriteSize bounds one RDMA transfer).
  smbdirect::Negotiated negotiated() const;
  bool connected() const;

  // A client that stops taking messages, for hostile tests: while held, the engine's
  // completions are left unprocessed, so no receive is reposted and no credit is granted
  // to the server; messages are still sent with the credits already held. Released, the
  // connection carries on.
  void hold_receives(bool hold);

  std::unique_ptr<RdmaBuffer> register_buffer(std::span<std::uint8_t> memory, std::string& error);

  // READ with an RDMA channel: the server writes up to `length` bytes into `buffer` at
  // `buffer_offset`; `done` gets the status and the byte count (DataRemaining).
  void read_async(const Tree& tree, const FileId& file_id, std::uint64_t offset,
                  std::uint32_t length, const RdmaBuffer& buffer, std::size_t buffer_offset,
                  bool invalidate, std::function<void(NtStatus, std::uint32_t)> done);
  // WRITE with an RDMA channel: the server reads `length` bytes from `buffer`.
  void write_async(const Tree& tree, const FileId& file_id, std::uint64_t offset,
                   std::uint32_t length, const RdmaBuffer& buffer, std::size_t buffer_offset,
                   bool invalidate, std::function<void(NtStatus, std::uint32_t)> done);
  NtStatus read(const Tree& tree, const FileId& file_id, std::uint64_t offset, std::uint32_t length,
                const RdmaBuffer& buffer, std::size_t buffer_offset, bool invalidate,
                std::uint32_t& count);
  NtStatus write(const Tree& tree, const FileId& file_id, std::uint64_t offset,
                 std::uint32_t length, const RdmaBuffer& buffer, std::size_t buffer_offset,
                 bool invalidate, std::uint32_t& count);

 private:
  friend class RdmaBuffer;
  RdmaClient() = default;
  void bridge();

  std::unique_ptr<fabric::Fabric> fabric_;
  mutable std::mutex mutex_;  // guards engine_ between the bridge and the caller
  std::unique_ptr<smbdirect::Connection> engine_;
  bool engine_down_ = false;
  bool established_ = false;
  std::atomic<bool> holding_{false};
  Bytes to_smb_;  // framed messages for the SMB2 side, not yet written
  std::size_t to_smb_sent_ = 0;
  int bridge_fd_ = -1;  // the engine's end of the socketpair
  int stop_fd_ = -1;    // eventfd: stop the bridge
  std::thread thread_;
  std::unique_ptr<Connection> smb_;
  std::set<RdmaBuffer*> buffers_;  // live registrations, released before the engine
};

}  // namespace smb::client
