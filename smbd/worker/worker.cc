#include "smbd/worker/worker.hh"

#include "smbd/worker/status_report.hh"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "smbd/conf/log.hh"
#include "smbd/worker/blocking.hh"
#include "smbd/worker/break_delivery.hh"
#include "smbd/worker/change_notify.hh"
#include "smbd/worker/connection.hh"
#include "smbd/worker/oplocks.hh"
#include "smbd/worker/transport/rdma_transport.hh"
#include "smbd/worker/transport/tcp_transport.hh"

namespace smb::server {

Worker::Worker(std::shared_ptr<const ServerConfig> config, UniqueFd control,
               std::function<std::shared_ptr<const ServerConfig>()> reload)
    : config_(std::move(config)), reload_(std::move(reload)), control_(std::move(control)) {
  // Blocking file I/O runs on the pool: enough threads to keep a deep queue busy.
  ::setenv("UV_THREADPOOL_SIZE", "16", 0);
  // The mode of a new file or directory is what `create mask` / `directory mask` say,
  // as in Samba; an inherited umask (022 from a shell) would cut group write off.
  ::umask(0);
  uv_loop_init(&loop_);
  loop_.data = this;
  breaks_ = std::make_unique<BreakDelivery>(*this);
  if (config_->open_segment) client_.use_host_table(config_->open_segment, ::getpid());
  // Byte-range locks: the host's table, or (a worker run alone, in tests) one of its own.
  std::shared_ptr<hostwide::LockSegment> locks = config_->lock_segment;
  if (!locks) {
    std::string error;
    locks = hostwide::LockSegment::create(4096, 1024, error);
    if (!locks) log::error(nullptr, "worker: %s", error.c_str());
  }
  if (locks)
    client_.use_lock_table(std::move(locks), ::getpid(), [this](pid_t worker) {
      if (worker == ::getpid() || !ring(worker)) ring_self();
    });
  // An open that closes ends the requests waiting on it (async.hh).
  client_.on_open_closing = [this](const Open& open) {
    FileId id = open.id;
    end_waits(
        [id](const PendingKey& k) {
          return k.has_open && k.file_id.persistent == id.persistent &&
                 k.file_id.volatile_ == id.volatile_;
        },
        AsyncEnd::open_closed);
    if (notifier_) {
      notifier_->open_closed(id);
      // MS-FSA 2.1.5.4: closing an open with delete-on-close makes the file
      // delete-pending; a watcher of that directory is told (MS-FSA 2.1.5.10).
      if (open.is_directory && open.delete_on_close) notifier_->delete_pending(open.key);
    }
  };
  client_.on_durable_disconnected = [this](const Open& open) {
    schedule_durable_timeout();
    announce_durable(open);
  };
  client_.on_durable_connected = [this](const Open& open) { announce_durable(open); };
  client_.on_durable_gone = [this](std::uint64_t persistent_id) {
    ControlMessage gone;
    gone.type = ControlType::DURABLE_GONE;
    ByteWriter(gone.payload).u64(persistent_id);
    send_control(control_.get(), gone);
  };
  client_.on_session_removed = [this](std::uint64_t id) {
    ControlMessage gone;
    gone.type = ControlType::SESSION_GONE;
    ByteWriter(gone.payload).u64(id);
    send_control(control_.get(), gone);
  };
  // The object store reports oplock breaks here; every open it holds is one of ours.
  client_.oplocks().on_break([this](fsa::FileOpen& open, fsa::OplockType new_level) {
    return send_oplock_break(*this, static_cast<Open&>(open), new_level);
  });
}

Worker::~Worker() {
  breaks_->stop();
  connections_.clear();
  closing_.clear();
  notifier_.reset();
  uv_run(&loop_, UV_RUN_DEFAULT);
  uv_loop_close(&loop_);
  (void)credentials::become(credentials::process_identity());  // as in run()
}

int Worker::run() {
  start();
  uv_run(&loop_, UV_RUN_DEFAULT);
  // The loop thread keeps the last user it served (blocking.hh); the process ends as
  // itself, so that what runs at exit (LeakSanitizer's check, which must trace every
  // thread) has the process's rights.
  if (!credentials::become(credentials::process_identity()))
    log::error(nullptr, "worker: cannot act as the process identity at exit");
  return 0;
}

void Worker::start() {
  ::signal(SIGPIPE, SIG_IGN);
  // New files get exactly the modes smb.conf gives them (create mask and the like), as
  // in Samba, which clears its umask too.
  ::umask(0);
  // Requests run as their users (docs/security.md); in between, and before it waits for
  // events, the loop acts as the process.
  if (!credentials::become_verified(credentials::process_identity())) {
    log::error(nullptr, "worker: cannot act as the process identity");
    std::abort();  // nothing could be served as anyone known
  }
  if (!credentials::can_switch())
    log::info(nullptr, "worker: not started as root: every user's files are accessed as %s",
              credentials::process_identity()->describe().c_str());
  // libuv starts its pool threads on first use: start them now, as the process, rather
  // than as (and counted against the RLIMIT_NPROC of) whichever user asks first.
  run_blocking(&loop_, credentials::process_identity(), [] {}, [] {}, nullptr);
  uv_prepare_init(&loop_, &between_requests_);
  uv_prepare_start(&between_requests_, [](uv_prepare_t*) { serve_nobody(); });
  uv_unref(reinterpret_cast<uv_handle_t*>(&between_requests_));
  ::fcntl(control_.get(), F_SETFL, O_NONBLOCK);
  uv_poll_init(&loop_, &control_poll_, control_.get());
  control_poll_.data = this;
  uv_poll_start(&control_poll_, UV_READABLE, [](uv_poll_t* p, int, int) {
    Serving as_process(credentials::process_identity());
    static_cast<Worker*>(p->data)->on_control();
  });

  uv_signal_init(&loop_, &sigterm_);
  sigterm_.data = this;
  uv_signal_start(&sigterm_, [](uv_signal_t* s, int) { static_cast<Worker*>(s->data)->stop(); },
                  SIGTERM);
  uv_signal_init(&loop_, &sighup_);
  sighup_.data = this;
  uv_signal_start(
      &sighup_,
      [](uv_signal_t* s, int) {
        auto* self = static_cast<Worker*>(s->data);
        // The configuration and the smbpasswd file are read as the process.
        Serving as_process(credentials::process_identity());
        if (self->reload_) {
          if (auto fresh = self->reload_()) self->config_ = std::move(fresh);
        }
      },
      SIGHUP);

  // The kernel signals a lease break (another open of a file we hold an oplock on).
  uv_signal_init(&loop_, &sigio_);
  sigio_.data = this;
  uv_signal_start(
      &sigio_,
      [](uv_signal_t* s, int) { static_cast<Worker*>(s->data)->client().oplocks().lease_broken(); },
      SIGIO);

  if (config_->open_segment) {
    std::string error;
    doorbell_ = hostwide::Doorbell::bind(
        hostwide::doorbell_name(config_->open_segment->host_id(), ::getpid()), error);
    if (!doorbell_) {
      // Other workers could not wake us: waits on them would last until their timeouts.
      log::error(nullptr, "worker: %s", error.c_str());
    } else {
      uv_poll_init(&loop_, &doorbell_poll_, doorbell_->fd());
      doorbell_poll_.data = this;
      uv_poll_start(&doorbell_poll_, UV_READABLE, [](uv_poll_t* p, int, int) {
        auto* self = static_cast<Worker*>(p->data);
        self->doorbell_->drain();
        self->run_doorbell_listeners();
      });
      // Breaks other openers marked on our opens in the host table.
      on_doorbell([this] { deliver_breaks(*this); });
      // Waiting for rings keeps no loop alive by itself.
      uv_unref(reinterpret_cast<uv_handle_t*>(&doorbell_poll_));
    }
  }

  // Connections that closed are destroyed outside their own callbacks.
  uv_idle_init(&loop_, &reaper_);
  reaper_.data = this;
  uv_timer_init(&loop_, &durable_timer_);
  durable_timer_.data = this;

  // The master forks a worker with SIGHUP and SIGTERM blocked; one sent meanwhile is
  // delivered now, to the handlers above.
  sigset_t handled;
  sigemptyset(&handled);
  sigaddset(&handled, SIGHUP);
  sigaddset(&handled, SIGTERM);
  sigprocmask(SIG_UNBLOCK, &handled, nullptr);
}

void Worker::on_control() {
  for (;;) {
    UniqueFd fd;
    auto message = receive_control(control_.get(), fd);
    if (!message) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) return;
      // The master is gone: finish the clients we have, take no new ones.
      uv_poll_stop(&control_poll_);
      if (connections_.empty()) stop();
      return;
    }
    switch (message->type) {
      case ControlType::NEW_CONNECTION:
        log::debug(4, nullptr, "worker: adopting a connection%s",
                   fd ? (message->flags & kControlRdmaChannel ? " (RDMA channel)" : "")
                      : ": none attached");
        if (fd)
          adopt_connection(std::move(fd), std::move(message->payload),
                           (message->flags & kControlRdmaChannel) != 0);
        break;
      case ControlType::CLAIM_GRANTED:
      case ControlType::CLAIM_OWNED_ELSEWHERE: {
        bool granted = message->type == ControlType::CLAIM_GRANTED;
        if (granted) {
          owned_guid_ = message->guid;
          client_.set_client_guid(message->guid);
        }
        auto waiting = std::move(pending_claims_);
        pending_claims_.clear();
        for (auto& done : waiting) done(granted);
        break;
      }
      case ControlType::SESSION_FACTS: {
        if (message->payload.size() < 8) break;
        std::uint64_t id = load_le64(message->payload.data());
        auto waiting = pending_session_queries_.extract(id);
        if (waiting.empty()) break;
        auto facts = message->payload.size() > 8
                         ? decode_facts(ByteSpan(message->payload).subspan(8))
                         : std::nullopt;
        for (auto& done : waiting.mapped()) done(facts);
        break;
      }
      case ControlType::LOGON_FAILURES: {
        ByteReader r(message->payload);
        std::uint64_t token = r.u64();
        std::uint32_t failures = r.u32();
        if (!r.ok()) break;
        auto waiting = pending_logon_reports_.extract(token);
        if (!waiting.empty()) waiting.mapped()(failures);
        break;
      }
      case ControlType::STATUS_QUERY: {
        if (message->payload.size() != 8) break;
        ControlMessage report;
        report.type = ControlType::STATUS_REPORT;
        report.payload = message->payload;  // the token
        std::string lines = status_report(*this, kMaxControlMessage - 64);
        report.payload.insert(report.payload.end(), lines.begin(), lines.end());
        if (!send_control(control_.get(), report))
          log::warning(nullptr, "worker: cannot send a status report: %s", std::strerror(errno));
        break;
      }
      case ControlType::SESSION_REPLACE: {
        ByteReader r(message->payload);
        std::uint64_t token = r.u64();
        std::uint64_t id = r.u64();
        ByteSpan owner = r.bytes(r.remaining());
        if (!r.ok()) break;
        Session* old = client_.session(id);
        if (old != nullptr && old->state == Session::State::VALID && !old->anonymous &&
            !old->guest &&
            durable_owner_of(*old) ==
                std::string_view(reinterpret_cast<const char*>(owner.data()), owner.size())) {
          log::info(nullptr, "session of %s reconnected elsewhere: it ends here",
                    old->user.c_str());
          client_.disconnect_session(id);
        }
        ControlMessage done;
        done.type = ControlType::SESSION_REPLACED;
        done.count = message->count;
        ByteWriter(done.payload).u64(token);
        send_control(control_.get(), done);
        break;
      }
      case ControlType::SESSION_REPLACED: {
        if (message->payload.size() != 8) break;
        auto waiting = pending_replacements_.extract(load_le64(message->payload.data()));
        if (!waiting.empty()) waiting.mapped()();
        break;
      }
      case ControlType::DURABLE_FETCH:
        hand_over_durable(*message);
        break;
      case ControlType::DURABLE_RESULT: {
        std::uint64_t token = 0;
        NtStatus status = NtStatus::OBJECT_NAME_NOT_FOUND;
        auto open = std::make_unique<Open>();
        bool valid = decode_result(message->payload, token, status, *open);
        auto waiting = pending_fetches_.extract(token);
        if (waiting.empty()) break;
        // Its holder still has it connected: the client may be reconnecting before the
        // holder's worker has seen the old connection go. Asked again a few times.
        if (status == NtStatus::OBJECT_NAME_NOT_FOUND &&
            (message->flags & kControlDurableBusy) != 0) {
          auto retry = pending_retries_.extract(token);
          if (!retry.empty() && retry.mapped().attempts < kDurableFetchAttempts) {
            DurableFetch again = retry.mapped().fetch;
            unsigned attempts = retry.mapped().attempts + 1;
            auto done = std::move(waiting.mapped());
            after(kDurableFetchPause, [this, again, attempts, done = std::move(done)]() mutable {
              send_fetch(again, attempts, std::move(done));
            });
            break;
          }
        }
        pending_retries_.erase(token);
        if (!valid || (status == NtStatus::SUCCESS && !fd))
          status = NtStatus::OBJECT_NAME_NOT_FOUND;
        if (status != NtStatus::SUCCESS) open.reset();
        waiting.mapped()(status, std::move(open), std::move(fd));
        break;
      }
      case ControlType::SHUTDOWN:
        stop();
        return;
      case ControlType::RELEASE_DONE:
        releasing_ = false;
        owned_guid_.reset();
        // A connection passed to us before the release arrived ahead of this message.
        if (connections_.empty() && !client_.keeps_worker_alive()) stop();
        break;
      default:
        break;
    }
  }
}

void Worker::adopt_connection(UniqueFd socket, Bytes initial, bool rdma) {
  std::uint64_t id = next_connection_id_++;
  std::unique_ptr<Transport> transport;
  if (rdma) {
    // A channel socket from rdmaproxy: fresh (the proxy's HELLO is still to be read) or
    // passed on by another worker with the HELLO and NEGOTIATE it read.
    std::optional<ByteSpan> hello;
    Bytes negotiate;
    if (!initial.empty()) {
      ByteSpan hello_bytes, negotiate_bytes;
      if (!unpack_rdma_handoff(initial, hello_bytes, negotiate_bytes)) return;
      hello = hello_bytes;
      negotiate.assign(negotiate_bytes.begin(), negotiate_bytes.end());
    }
    transport = RdmaChannelTransport::adopt(&loop_, std::move(socket), id,
                                            config_->max_message_size(), hello);
    initial = std::move(negotiate);
  } else {
    transport = TcpTransport::adopt(&loop_, std::move(socket), config_->max_message_size());
  }
  if (!transport) return;
  adopt(id, std::move(transport), std::move(initial));
}

Connection* Worker::adopt(std::unique_ptr<Transport> transport, Bytes initial) {
  return adopt(next_connection_id_++, std::move(transport), std::move(initial));
}

Connection* Worker::adopt(std::uint64_t id, std::unique_ptr<Transport> transport, Bytes initial) {
  auto connection = std::make_unique<Connection>(*this, id, std::move(transport));
  Connection* raw = connection.get();
  connections_.emplace(id, std::move(connection));
  report_connection_count();
  raw->start(std::move(initial));
  return raw;
}

void Worker::claim_client(const ClientGuid& guid, std::function<void(bool)> done) {
  if (owned_guid_) {
    done(*owned_guid_ == guid);
    return;
  }
  ControlMessage claim;
  claim.type = ControlType::CLAIM_CLIENT;
  claim.guid = guid;
  if (!send_control(control_.get(), claim)) {
    // Without a master nobody else can own it.
    owned_guid_ = guid;
    done(true);
    return;
  }
  pending_claims_.push_back(std::move(done));
}

void Worker::hand_off(const ClientGuid& guid, UniqueFd socket, Bytes payload, bool rdma) {
  ControlMessage handoff;
  handoff.type = ControlType::HANDOFF;
  handoff.guid = guid;
  handoff.payload = std::move(payload);
  handoff.flags = rdma ? kControlRdmaChannel : 0;
  if (!send_control(control_.get(), handoff, socket.get()))
    log::error(nullptr, "worker: passing a connection to its client's worker failed: %s",
               std::strerror(errno));
  else
    log::debug(4, nullptr, "worker: connection passed on to its client's worker");
}

void Worker::announce_session(const Session& session) {
  ControlMessage announce;
  announce.type = ControlType::SESSION_ANNOUNCE;
  ByteWriter(announce.payload).u64(session.id);
  Bytes facts = encode_facts(facts_of(session));
  announce.payload.insert(announce.payload.end(), facts.begin(), facts.end());
  send_control(control_.get(), announce);
}

void Worker::query_session(std::uint64_t id,
                           std::function<void(std::optional<SessionFacts>)> done) {
  auto& waiting = pending_session_queries_[id];
  waiting.push_back(std::move(done));
  if (waiting.size() > 1) return;  // asked already
  ControlMessage query;
  query.type = ControlType::SESSION_QUERY;
  ByteWriter(query.payload).u64(id);
  if (!send_control(control_.get(), query)) {
    // Without a master no other worker can be asked.
    auto callbacks = std::move(waiting);
    pending_session_queries_.erase(id);
    for (auto& callback : callbacks) callback(std::nullopt);
  }
}

void Worker::report_failed_logon(const std::string& address, std::function<void(unsigned)> done) {
  std::uint64_t token = next_logon_report_++;
  ControlMessage report;
  report.type = ControlType::LOGON_FAILED;
  ByteWriter w(report.payload);
  w.u64(token);
  w.bytes(ByteSpan(reinterpret_cast<const std::uint8_t*>(address.data()),
                   std::min<std::size_t>(address.size(), 256)));
  if (!send_control(control_.get(), report)) {
    done(0);  // without a master, each connection is paced alone
    return;
  }
  pending_logon_reports_.emplace(token, std::move(done));
}

void Worker::after(std::chrono::milliseconds delay, std::function<void()> fn) {
  struct Timer {
    uv_timer_t handle{};
    std::function<void()> fn;
  };
  auto* timer = new Timer{{}, std::move(fn)};
  uv_timer_init(&loop_, &timer->handle);
  timer->handle.data = timer;
  uv_timer_start(
      &timer->handle,
      [](uv_timer_t* handle) {
        auto* t = static_cast<Timer*>(handle->data);
        auto due = std::move(t->fn);
        uv_close(reinterpret_cast<uv_handle_t*>(handle),
                 [](uv_handle_t* h) { delete static_cast<Timer*>(h->data); });
        due();
      },
      static_cast<std::uint64_t>(delay.count()), 0);
}

Connection* Worker::connection(std::uint64_t id) {
  auto it = connections_.find(id);
  return it == connections_.end() ? nullptr : it->second.get();
}

const Connection* Worker::connection(std::uint64_t id) const {
  auto it = connections_.find(id);
  return it == connections_.end() ? nullptr : it->second.get();
}

std::vector<std::uint64_t> Worker::connection_ids() const {
  std::vector<std::uint64_t> ids;
  for (const auto& [id, connection] : connections_) ids.push_back(id);
  return ids;
}

Connection* Worker::first_connection() {
  // Ids grow with each connection adopted; closed ones leave the map.
  return connections_.empty() ? nullptr : connections_.begin()->second.get();
}

void Worker::connection_closed(std::uint64_t id) {
  auto it = connections_.find(id);
  if (it == connections_.end()) return;
  // Its waiting requests stop waiting; their answers go nowhere.
  it->second->end_pending([](const PendingKey&) { return true; }, AsyncEnd::connection_lost);
  it = connections_.find(id);
  if (it == connections_.end()) return;
  closing_.push_back(std::move(it->second));
  connections_.erase(it);
  breaks_->channel_closed(id);
  client_.channel_closed(id);
  report_connection_count();
  uv_idle_start(&reaper_, [](uv_idle_t* idle) {
    auto* self = static_cast<Worker*>(idle->data);
    self->closing_.clear();
    uv_idle_stop(idle);
    self->exit_if_unused();
  });
}

void Worker::exit_if_unused() {
  if (connections_.empty() && !client_.keeps_worker_alive()) idle_exit();
}

void Worker::schedule_durable_timeout() {
  if (stopping_) return;
  auto next = client_.next_durable_deadline();
  if (!next) {
    uv_timer_stop(&durable_timer_);
    return;
  }
  auto wait =
      std::chrono::ceil<std::chrono::milliseconds>(*next - std::chrono::steady_clock::now());
  uv_timer_start(
      &durable_timer_, [](uv_timer_t* t) { static_cast<Worker*>(t->data)->on_durable_timeout(); },
      static_cast<std::uint64_t>(std::max<std::int64_t>(wait.count(), 0)), 0);
}

void Worker::on_durable_timeout() {
  // MS-SMB2 3.3.2.2 (durable open scavenger timer): the opens close as a CLOSE would;
  // their table entries and locks go and the waiters on them are rung.
  Serving as_process(credentials::process_identity());
  for (const FileId& id : client_.expired_durable_opens(std::chrono::steady_clock::now())) {
    log::debug(4, nullptr, "durable open timed out");
    client_.close_disconnected(id);
  }
  schedule_durable_timeout();
  exit_if_unused();
}

void Worker::replace_session(std::uint64_t previous, const std::string& owner,
                             std::function<void()> done) {
  std::uint64_t token = next_fetch_++;
  ControlMessage message;
  message.type = ControlType::SESSION_REPLACE;
  ByteWriter w(message.payload);
  w.u64(token);
  w.u64(previous);
  w.bytes(ByteSpan(reinterpret_cast<const std::uint8_t*>(owner.data()),
                   std::min<std::size_t>(owner.size(), 1024)));
  if (!send_control(control_.get(), message)) {
    done();
    return;
  }
  pending_replacements_.emplace(token, std::move(done));
}

void Worker::announce_durable(const Open& open) {
  ControlMessage kept;
  kept.type = ControlType::DURABLE_KEPT;
  ByteWriter w(kept.payload);
  w.u64(open.id.persistent);
  w.u8(open.disconnected() ? 1 : 0);
  send_control(control_.get(), kept);
}

void Worker::fetch_durable(const DurableFetch& ask,
                           std::function<void(NtStatus, std::unique_ptr<Open>, UniqueFd)> done) {
  send_fetch(ask, 1, std::move(done));
}

void Worker::send_fetch(const DurableFetch& ask, unsigned attempts,
                        std::function<void(NtStatus, std::unique_ptr<Open>, UniqueFd)> done) {
  DurableFetch fetch = ask;
  fetch.token = next_fetch_++;
  pending_retries_[fetch.token] = {ask, attempts};
  ControlMessage message;
  message.type = ControlType::DURABLE_FETCH;
  if (owned_guid_) message.guid = *owned_guid_;
  message.payload = encode(fetch);
  if (!send_control(control_.get(), message)) {
    pending_retries_.erase(fetch.token);
    done(NtStatus::OBJECT_NAME_NOT_FOUND, nullptr, UniqueFd());
    return;
  }
  pending_fetches_.emplace(fetch.token, std::move(done));
}

void Worker::hand_over_durable(const ControlMessage& message) {
  auto fetch = decode_fetch(message.payload);
  if (!fetch) return;
  const pid_t asker = static_cast<pid_t>(message.count);
  ControlMessage answer;
  answer.type = ControlType::DURABLE_RESULT;
  answer.count = message.count;
  FileId id;
  NtStatus status = NtStatus::OBJECT_NAME_NOT_FOUND;
  Open* open = nullptr;
  for (const auto& [volatile_id, candidate] : client_.opens())
    if (candidate->id.persistent == fetch->persistent_id) open = candidate.get();
  if (open != nullptr && client_.host_files() != nullptr && client_.locks() != nullptr && asker > 0)
    status = check_handover(*open, *fetch);
  // MS-SMB2 3.3.5.9.7: the open's table entry and locks become the asker's, then the
  // open leaves this worker without a close.
  if (status == NtStatus::SUCCESS &&
      !client_.host_files()->hand_over(*open, asker, fetch->table_token, message.guid))
    status = NtStatus::OBJECT_NAME_NOT_FOUND;
  if (status != NtStatus::SUCCESS) {
    answer.payload = encode_result(fetch->token, status, nullptr);
    send_control(control_.get(), answer);
    return;
  }
  client_.locks()->hand_over(lock_owner_of(*open), asker, fetch->volatile_id);
  id = open->id;
  answer.payload = encode_result(fetch->token, status, open);
  std::unique_ptr<Open> gone = client_.hand_over_open(id);
  if (!send_control(control_.get(), answer, gone && gone->fd ? gone->fd->get() : -1))
    log::error(nullptr, "worker: handing a durable open over failed: %s", std::strerror(errno));
  else
    log::debug(4, nullptr, "worker: durable open of '%s' handed to worker %d", gone->path.c_str(),
               static_cast<int>(asker));
  gone.reset();  // the descriptor closes here; the asker holds its copy
  schedule_durable_timeout();
  exit_if_unused();
}

void Worker::close_disconnected(const FileId& id) {
  if (!client_.close_disconnected(id)) return;
  schedule_durable_timeout();
  exit_if_unused();
}

void Worker::idle_exit() {
  // The master may be passing another connection of our client right now: ask it to stop
  // routing the client here, and exit only once it has answered.
  if (owned_guid_ && uv_is_active(reinterpret_cast<uv_handle_t*>(&control_poll_))) {
    if (releasing_) return;
    ControlMessage release;
    release.type = ControlType::RELEASE_CLIENT;
    release.guid = *owned_guid_;
    if (send_control(control_.get(), release)) {
      releasing_ = true;
      return;
    }
  }
  stop();
}

void Worker::run_doorbell_listeners() {
  Serving as_process(credentials::process_identity());
  // A listener may add or forget listeners: walk a copy of the ids.
  std::vector<std::uint64_t> ids;
  for (const auto& [id, listener] : doorbell_listeners_) ids.push_back(id);
  for (std::uint64_t id : ids) {
    auto it = doorbell_listeners_.find(id);
    if (it == doorbell_listeners_.end()) continue;
    auto listener = it->second;  // it may forget itself while it runs
    listener();
  }
}

void Worker::ring_self() {
  // Rings of this worker by itself (a lock it released) need no socket; several before
  // the loop turns are one.
  if (self_ring_pending_) return;
  self_ring_pending_ = true;
  after(std::chrono::milliseconds(0), [this]() {
    self_ring_pending_ = false;
    run_doorbell_listeners();
  });
}

void Worker::end_waits(const std::function<bool(const PendingKey&)>& which, AsyncEnd reason) {
  std::vector<std::uint64_t> ids;
  for (const auto& [id, connection] : connections_) ids.push_back(id);
  for (std::uint64_t id : ids)
    if (Connection* c = connection(id)) c->end_pending(which, reason);
}

ChangeNotifier& Worker::notifier() {
  if (!notifier_) notifier_ = std::make_unique<ChangeNotifier>(*this);
  return *notifier_;
}

std::uint64_t Worker::on_doorbell(std::function<void()> listener) {
  std::uint64_t id = next_doorbell_listener_++;
  doorbell_listeners_.emplace(id, std::move(listener));
  return id;
}

void Worker::forget_doorbell(std::uint64_t id) { doorbell_listeners_.erase(id); }

bool Worker::ring(pid_t worker) const {
  if (!config_->open_segment) return false;
  return hostwide::ring(hostwide::doorbell_name(config_->open_segment->host_id(), worker)) ==
         hostwide::Ring::RUNG;
}

void Worker::report_connection_count() {
  ControlMessage count;
  count.type = ControlType::CONNECTION_COUNT;
  count.count = static_cast<std::uint32_t>(connections_.size());
  send_control(control_.get(), count);
}

void Worker::stop() {
  if (stopping_) return;
  stopping_ = true;
  // shutdown() ends in connection_closed(), which erases from connections_: walk ids.
  std::vector<std::uint64_t> ids;
  for (const auto& [id, connection] : connections_) ids.push_back(id);
  for (std::uint64_t id : ids)
    if (Connection* c = connection(id)) c->shutdown();
  client_.close_all();
  // Closing every handle lets uv_run return once work in flight has finished.
  for (uv_handle_t* h :
       {reinterpret_cast<uv_handle_t*>(&control_poll_), reinterpret_cast<uv_handle_t*>(&sigterm_),
        reinterpret_cast<uv_handle_t*>(&sighup_), reinterpret_cast<uv_handle_t*>(&sigio_),
        reinterpret_cast<uv_handle_t*>(&reaper_), reinterpret_cast<uv_handle_t*>(&durable_timer_),
        reinterpret_cast<uv_handle_t*>(&between_requests_)}) {
    if (!uv_is_closing(h)) uv_close(h, nullptr);
  }
  if (doorbell_ && !uv_is_closing(reinterpret_cast<uv_handle_t*>(&doorbell_poll_)))
    uv_close(reinterpret_cast<uv_handle_t*>(&doorbell_poll_), nullptr);
  // Closing its last signal handle gives a signal its default action back, which for
  // SIGHUP and SIGTERM ends the process: a reload or a shutdown that reaches a worker
  // while it finishes must not turn its exit into a kill (the master would report it
  // killed by signal 1). Ignored from here to _exit.
  ::signal(SIGHUP, SIG_IGN);
  ::signal(SIGTERM, SIG_IGN);
}

}  // namespace smb::server
