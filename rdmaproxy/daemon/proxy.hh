// rdmaproxy's core: accepts SMB Direct connections on a fabric, runs the MS-SMBD engine
// (server role) for each, and bridges every established one to the smbd master over a
// SOCK_SEQPACKET channel socket (channel/protocol.hh). RDMA Read/Write requests arrive
// from the worker on a shmring segment, which is registered with the connection once,
// when the worker hands it over.
//
// Single-threaded: run_once() polls the listener, every engine, channel socket and
// doorbell; nothing blocks except that poll.
#pragma once

#include <chrono>
#include <list>
#include <memory>
#include <string>

#include "rdmaproxy/fabric/fabric.hh"
#include "rdmaproxy/smbdirect/connection.hh"

namespace smb::rdmaproxy {

struct Settings {
  std::string address = "127.0.0.1";
  std::uint16_t port = 5445;  // 0: any free port
  std::string smbd_socket;    // the master's `rdma proxy socket`
  smbdirect::Config engine;
};

struct Stats {
  std::uint64_t accepted = 0;
  std::uint64_t bridged = 0;
  std::uint64_t rdma_writes = 0;
  std::uint64_t rdma_reads = 0;
  std::uint64_t rdma_bytes = 0;
  std::uint64_t rejected_requests = 0;
};

class Proxy {
 public:
  Proxy(Settings settings, std::unique_ptr<fabric::Fabric> fabric);
  ~Proxy();
  Proxy(const Proxy&) = delete;
  Proxy& operator=(const Proxy&) = delete;

  bool listen(std::string& error);
  std::uint16_t port() const;
  // One round of polling, waiting at most `max_wait`.
  void run_once(std::chrono::milliseconds max_wait);
  std::size_t sessions() const { return sessions_.size(); }
  const Stats& stats() const { return stats_; }

 private:
  struct Session;
  void accept_new();

  Settings settings_;
  std::unique_ptr<fabric::Fabric> fabric_;
  std::unique_ptr<fabric::Listener> listener_;
  std::list<std::unique_ptr<Session>> sessions_;
  Stats stats_;
};

}  // namespace smb::rdmaproxy
