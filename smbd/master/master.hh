// The master process: listens, forks a worker per new connection, keeps the
// ClientGUID → worker table and passes connections of a known client to its worker.
//
// It runs a plain poll() loop with a signalfd and no threads, so fork() is safe and the
// worker starts its own libuv loop in a clean child.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "smbd/base/service_notify.hh"
#include "smbd/base/unique_fd.hh"
#include "smbd/hostwide/lock_segment.hh"
#include "smbd/hostwide/open_segment.hh"
#include "smbd/master/control.hh"

namespace smb::server {

struct ListenAddress {
  std::string host;  // numeric IPv4 or IPv6 address
  std::uint16_t port = 0;
};

struct MasterSettings {
  std::vector<ListenAddress> listen;
  unsigned max_connections = 0;  // 0: unlimited
  // unix socket where rdmaproxy connects its channel sockets (empty: none).
  std::string rdma_proxy_socket;
  std::string status_socket;  // where smbstatus asks (status.cc); empty: nowhere
  // The host's table of open files: the opens of a worker that has gone are taken out.
  std::shared_ptr<hostwide::OpenSegment> open_segment;
  // The host's byte-range locks: the master takes a dead worker's out.
  std::shared_ptr<hostwide::LockSegment> lock_segment;
};

class Master {
 public:
  // Runs in the child after fork(): serve the connections that arrive on `control`
  // (NEW_CONNECTION messages, the first right after the fork). Returns the exit code.
  using WorkerMain = std::function<int(UniqueFd control)>;
  // Called on SIGHUP; returns the new settings (listeners are not re-bound).
  using Reload = std::function<MasterSettings()>;

  Master(MasterSettings settings, WorkerMain worker_main, Reload reload);
  ~Master();

  // Binds every listen address; false with a message naming the address on failure.
  bool bind(std::string& error);
  // The ports actually bound (for port 0 requests), in listen order.
  std::vector<std::uint16_t> bound_ports() const;
  // Serves until SIGTERM or SIGINT; returns the exit code. A service manager that asked
  // (`notifier`) hears READY=1 once, when signals are handled and the listeners open,
  // and STOPPING=1 when the server begins to stop.
  int run(const ServiceNotifier& notifier = ServiceNotifier{});

 private:
  struct Worker {
    pid_t pid = 0;
    UniqueFd control;
    unsigned connections = 1;
  };
  void accept_from(int listen_fd);
  void notify(std::string_view state);
  void spawn_worker(UniqueFd client, const Bytes& initial, std::uint32_t flags = 0);
  void bind_rdma_proxy_socket();
  void accept_rdma_channels();
  void handle_control(pid_t pid);
  void handle_signals();
  void reap();
  void shutdown_workers();
  unsigned live_connections() const;

  MasterSettings settings_;
  WorkerMain worker_main_;
  Reload reload_;
  std::vector<UniqueFd> listeners_;
  const ServiceNotifier* notifier_ = nullptr;
  UniqueFd rdma_listener_;
  UniqueFd signal_fd_;
  std::map<pid_t, Worker> workers_;
  std::map<ClientGuid, pid_t> owners_;
  struct AnnouncedSession {
    pid_t owner = 0;
    Bytes facts;
  };
  std::map<std::uint64_t, AnnouncedSession> sessions_;  // by session id
  struct DurableHolder {
    pid_t worker = 0;
    bool disconnected = false;
  };
  std::map<std::uint64_t, DurableHolder> durable_holders_;  // durable opens, by persistent id
  // Recent failed logons by source address (control.hh: LOGON_FAILED).
  struct FailedLogons {
    std::uint32_t count = 0;
    std::chrono::steady_clock::time_point last;
  };
  std::map<std::string, FailedLogons> failed_logons_;
  std::uint32_t count_failed_logon(const std::string& address);
  bool stopping_ = false;

  // smbstatus (status.cc): a query asks every worker for its report and is answered
  // when all have reported, or after kStatusWait with what came.
  struct StatusQuery {
    UniqueFd client;
    std::uint64_t token = 0;
    std::set<pid_t> waiting;
    std::size_t asked = 0;
    std::string reports;
    std::chrono::steady_clock::time_point deadline;
  };
  void bind_status_socket();
  void accept_status_queries();
  void status_reported(pid_t pid, ByteSpan payload);
  void worker_gone_from_status(pid_t pid);
  void answer_status_queries();
  int status_poll_timeout_ms() const;
  UniqueFd status_listener_;
  std::vector<StatusQuery> status_queries_;
  std::uint64_t next_status_token_ = 1;
};

}  // namespace smb::server
