// VerbsFabric: the fabric on rdma-core (librdmacm for connection management, libibverbs
// for RC queue pairs). Every queue pair has its own rdma_cm event channel, protection
// domain, completion channel and completion queue; fd() is an epoll descriptor over the
// event channel and the completion channel. Receiver-not-ready retries are 0: the SMB
// Direct credits guarantee posted receives, as [MS-SMBD] 3.1.1.1 assumes.
#pragma once

#include "rdmaproxy/fabric/fabric.hh"

namespace smb::fabric {

class VerbsFabric final : public Fabric {
 public:
  std::unique_ptr<Listener> listen(const std::string& address, std::uint16_t port,
                                   std::string& error) override;
  std::unique_ptr<QueuePair> connect(const std::string& address, std::uint16_t port,
                                     const QueuePairConfig& config, std::string& error) override;
};

}  // namespace smb::fabric
