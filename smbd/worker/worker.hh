// A worker process: serves every channel of one client (ClientGUID) on one libuv loop.
#pragma once

#include "smbd/worker/uv.hh"

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "smbd/base/unique_fd.hh"
#include "smbd/hostwide/doorbell.hh"
#include "smbd/master/control.hh"
#include "smbd/worker/connection.hh"
#include "smbd/worker/durable.hh"
#include "smbd/worker/open_holds.hh"
#include "smbd/worker/server_state.hh"

namespace smb::server {

class BreakDelivery;
class ChangeNotifier;
class Connection;
class Transport;

class Worker {
 public:
  Worker(std::shared_ptr<const ServerConfig> config, UniqueFd control,
         std::function<std::shared_ptr<const ServerConfig>()> reload);
  ~Worker();
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  int run();
  // Sets up the loop's handles (control socket, signals, reaper); run() calls it and
  // then runs the loop. A test that drives the loop itself calls it instead of run().
  void start();
  // Serves a connection over `transport`; `initial` is a message already read from it.
  Connection* adopt(std::unique_ptr<Transport> transport, Bytes initial);

  uv_loop_t* loop() { return &loop_; }
  const ServerConfig& config() const { return *config_; }
  ClientState& client() { return client_; }
  const ClientState& client() const { return client_; }

  // Asks the master whether this worker may own `guid`; `done(true)` if so. A worker
  // owns at most one ClientGUID; asking for the one it owns answers at once.
  void claim_client(const ClientGuid& guid, std::function<void(bool granted)> done);
  // Passes a connection (its socket and the bytes already read: the NEGOTIATE, for an
  // RDMA channel packed with the proxy's HELLO) to the client's owner through the master.
  void hand_off(const ClientGuid& guid, UniqueFd socket, Bytes payload, bool rdma);

  // Tells the master about a valid session (and that it went), so that a binding
  // request for it in another worker is answered as Windows answers it.
  void announce_session(const Session& session);
  // Asks the master for the facts of a session another worker holds; `done` gets
  // nothing when no worker has it.
  void query_session(std::uint64_t id, std::function<void(std::optional<SessionFacts>)> done);
  // Counts a failed logon from `address` with the master, across workers; `done` gets
  // the address's recent failures (0 without a master).
  void report_failed_logon(const std::string& address, std::function<void(unsigned)> done);
  // Runs `fn` on the loop once `delay` has passed.
  void after(std::chrono::milliseconds delay, std::function<void()> fn);

  // Another worker rang this worker's doorbell (hostwide/doorbell.hh): something this
  // worker may wait for in the host-wide state has changed (an open or a lock gone, a
  // break to deliver). Each listener runs on the loop, as the process, after every ring;
  // it looks at the shared state again. The id forgets the listener again.
  std::uint64_t on_doorbell(std::function<void()> listener);
  void forget_doorbell(std::uint64_t id);
  // Rings the doorbell of worker `worker` of this server (false: no such worker now, or
  // no host-wide table). Never blocks.
  bool ring(pid_t worker) const;
  // Runs the doorbell listeners on the loop soon, as a ring from another worker would.
  void ring_self();

  // Requests in flight that a CLOSE of their open waits for (open_holds.hh).
  OpenHolds& open_holds() { return open_holds_; }

  // CHANGE_NOTIFY's watches and waiting requests (change_notify.hh), made on first use.
  ChangeNotifier& notifier();

  // Ends the waits of the pending requests `which` picks, on every connection (async.hh).
  void end_waits(const std::function<bool(const PendingKey&)>& which, AsyncEnd reason);

  Connection* connection(std::uint64_t id);
  const Connection* connection(std::uint64_t id) const;
  // The client's oldest connection still open; null when none is.
  Connection* first_connection();
  // The client's connections still open, oldest first.
  std::vector<std::uint64_t> connection_ids() const;
  // Break notifications on their way to the client (break_delivery.hh).
  BreakDelivery& breaks() { return *breaks_; }
  void connection_closed(std::uint64_t id);
  // Asks the worker holding a disconnected durable open for it (durable.hh); `done` gets
  // the answer's status and, on SUCCESS, the open's state (ids unset) and descriptor.
  void fetch_durable(const DurableFetch& ask,
                     std::function<void(NtStatus, std::unique_ptr<Open>, UniqueFd)> done);
  // MS-SMB2 3.3.5.5.3: ends session `previous` in whichever worker holds it when its
  // durable owner is `owner` (as the loss of its connection would); `done` runs once that
  // worker has done it, or at once when none holds it.
  void replace_session(std::uint64_t previous, const std::string& owner,
                       std::function<void()> done);
  // Closes a disconnected durable open whose client cannot be told of a break
  // (MS-SMB2 3.3.4.6, 3.3.4.7), and exits when nothing keeps the worker any more.
  void close_disconnected(const FileId& id);

 private:
  void on_control();
  void adopt_connection(UniqueFd socket, Bytes initial, bool rdma = false);
  Connection* adopt(std::uint64_t id, std::unique_ptr<Transport> transport, Bytes initial);
  void report_connection_count();
  void run_doorbell_listeners();
  void stop();
  void idle_exit();
  // Arms the timer of the disconnected durable opens for the first deadline.
  void schedule_durable_timeout();
  // Another worker asks for a disconnected durable open of ours (durable.hh).
  void hand_over_durable(const ControlMessage& message);
  // Tells the master this worker holds a durable open, connected or not.
  void announce_durable(const Open& open);
  void on_durable_timeout();
  void exit_if_unused();

  std::shared_ptr<const ServerConfig> config_;
  std::function<std::shared_ptr<const ServerConfig>()> reload_;
  uv_loop_t loop_{};
  UniqueFd control_;
  uv_poll_t control_poll_{};
  uv_signal_t sigterm_{}, sighup_{}, sigio_{};
  uv_idle_t reaper_{};
  uv_timer_t durable_timer_{};       // the first timeout of a disconnected durable open
  uv_prepare_t between_requests_{};  // back to the process identity before each wait
  std::optional<hostwide::Doorbell> doorbell_;
  uv_poll_t doorbell_poll_{};
  std::map<std::uint64_t, std::function<void()>> doorbell_listeners_;
  std::uint64_t next_doorbell_listener_ = 1;
  bool self_ring_pending_ = false;
  ClientState client_;
  OpenHolds open_holds_{
      [this](std::function<void()> fn) { after(std::chrono::milliseconds(0), std::move(fn)); }};
  std::unique_ptr<ChangeNotifier> notifier_;
  std::unique_ptr<BreakDelivery> breaks_;
  std::optional<ClientGuid> owned_guid_;
  std::vector<std::function<void(bool)>> pending_claims_;
  std::map<std::uint64_t, std::vector<std::function<void(std::optional<SessionFacts>)>>>
      pending_session_queries_;
  std::map<std::uint64_t, std::function<void(unsigned)>> pending_logon_reports_;  // by token
  std::map<std::uint64_t, std::function<void(NtStatus, std::unique_ptr<Open>, UniqueFd)>>
      pending_fetches_;  // by token
  std::uint64_t next_fetch_ = 1;
  std::map<std::uint64_t, std::function<void()>> pending_replacements_;  // by token
  struct FetchAttempt {
    DurableFetch fetch;
    unsigned attempts = 0;
  };
  std::map<std::uint64_t, FetchAttempt> pending_retries_;  // by token
  static constexpr unsigned kDurableFetchAttempts = 4;
  static constexpr std::chrono::milliseconds kDurableFetchPause{100};
  void send_fetch(const DurableFetch& ask, unsigned attempts,
                  std::function<void(NtStatus, std::unique_ptr<Open>, UniqueFd)> done);
  std::uint64_t next_logon_report_ = 1;
  std::map<std::uint64_t, std::unique_ptr<Connection>> connections_;
  std::vector<std::unique_ptr<Connection>> closing_;
  std::uint64_t next_connection_id_ = 1;
  bool stopping_ = false;
  bool releasing_ = false;  // asked the master to stop routing our client here
};

}  // namespace smb::server
