// SoftFabric: the fabric over a local stream socket (TCP or "unix:/path"), for hosts
// without RDMA hardware. Each queue pair's socket carries, in order, sends and the
// RDMA Read/Write requests of both directions; the peer's fabric object plays the role
// of its NIC and serves RDMA requests against its own registrations, checking token,
// offset, length and access as a NIC does. RC semantics are kept where the engine
// relies on them: a send that finds no posted receive fails with receiver_not_ready and
// breaks the connection, a send larger than the posted buffer fails, a remote access
// violation fails the request and breaks the connection, and breaking flushes every
// outstanding request.
#pragma once

#include "rdmaproxy/fabric/fabric.hh"

namespace smb::fabric {

class SoftFabric final : public Fabric {
 public:
  std::unique_ptr<Listener> listen(const std::string& address, std::uint16_t port,
                                   std::string& error) override;
  std::unique_ptr<QueuePair> connect(const std::string& address, std::uint16_t port,
                                     const QueuePairConfig& config, std::string& error) override;
};

// Counters of one soft queue pair, for tests and diagnostics.
struct SoftQueuePairStats {
  std::uint64_t sends_received = 0;
  std::uint64_t receiver_not_ready = 0;
  std::uint64_t remote_access_errors = 0;
};
// Null for a queue pair that is not a SoftFabric one.
const SoftQueuePairStats* soft_stats(const QueuePair& qp);

}  // namespace smb::fabric
