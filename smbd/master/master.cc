#include "smbd/master/master.hh"

#include "smbd/hostwide/doorbell.hh"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <thread>

#include "smbd/base/leak_check.hh"
#include "smbd/base/ntstatus.hh"
#include "smbd/base/socket_address.hh"
#include "smbd/base/unix_socket.hh"
#include "smbd/conf/log.hh"

namespace smb::server {

namespace {

UniqueFd listen_on(const ListenAddress& address, std::string& error) {
  sockaddr_storage ss{};
  socklen_t len = 0;
  int family;
  if (address.host.find(':') != std::string::npos) {
    auto* sin6 = reinterpret_cast<sockaddr_in6*>(&ss);
    sin6->sin6_family = AF_INET6;
    sin6->sin6_port = htons(address.port);
    if (::inet_pton(AF_INET6, address.host.c_str(), &sin6->sin6_addr) != 1) {
      error = "not an IPv6 address: " + address.host;
      return {};
    }
    len = sizeof *sin6;
    family = AF_INET6;
  } else {
    auto* sin = reinterpret_cast<sockaddr_in*>(&ss);
    sin->sin_family = AF_INET;
    sin->sin_port = htons(address.port);
    if (::inet_pton(AF_INET, address.host.c_str(), &sin->sin_addr) != 1) {
      error = "not an IPv4 address: " + address.host;
      return {};
    }
    len = sizeof *sin;
    family = AF_INET;
  }
  UniqueFd fd(::socket(family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!fd) {
    error = std::string("socket: ") + std::strerror(errno);
    return {};
  }
  int one = 1;
  ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (family == AF_INET6) ::setsockopt(fd.get(), IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
  std::string where = (family == AF_INET6 ? "[" + address.host + "]" : address.host) + ":" +
                      std::to_string(address.port);
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&ss), len) != 0) {
    error = "cannot listen on " + where + ": " + std::strerror(errno);
    return {};
  }
  if (::listen(fd.get(), 1024) != 0) {
    error = "cannot listen on " + where + ": " + std::strerror(errno);
    return {};
  }
  return fd;
}

}  // namespace

Master::Master(MasterSettings settings, WorkerMain worker_main, Reload reload)
    : settings_(std::move(settings)),
      worker_main_(std::move(worker_main)),
      reload_(std::move(reload)) {}

Master::~Master() = default;

bool Master::bind(std::string& error) {
  for (const auto& address : settings_.listen) {
    UniqueFd fd = listen_on(address, error);
    if (!fd) return false;
    listeners_.push_back(std::move(fd));
  }
  if (listeners_.empty()) {
    error = "no address to listen on";
    return false;
  }
  bind_rdma_proxy_socket();
  bind_status_socket();
  return true;
}

// rdmaproxy connects one SOCK_SEQPACKET channel socket per SMB Direct
// connection here; each is passed to a new worker like a TCP connection. Without the
// socket (e.g. no lock directory) smbd serves TCP only.
void Master::bind_rdma_proxy_socket() {
  const std::string& path = settings_.rdma_proxy_socket;
  if (path.empty()) return;
  rdma_listener_ = listen_on_private_socket(path, SOCK_SEQPACKET, 128);
  if (!rdma_listener_)
    log::warning(nullptr, "master: no SMB Direct: cannot listen on %s: %s", path.c_str(),
                 std::strerror(errno));
}

void Master::accept_rdma_channels() {
  for (int burst = 0; burst < 64; ++burst) {
    UniqueFd channel(::accept4(rdma_listener_.get(), nullptr, nullptr, SOCK_CLOEXEC));
    if (!channel) return;
    if (settings_.max_connections != 0 && live_connections() >= settings_.max_connections) {
      log::notice(nullptr, "refused an RDMA channel: max connections (%u) reached",
                  settings_.max_connections);
      continue;
    }
    spawn_worker(std::move(channel), {}, kControlRdmaChannel);
  }
}

std::vector<std::uint16_t> Master::bound_ports() const {
  std::vector<std::uint16_t> ports;
  for (const auto& fd : listeners_) {
    sockaddr_storage ss{};
    socklen_t len = sizeof ss;
    ::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&ss), &len);
    ports.push_back(ss.ss_family == AF_INET6
                        ? ntohs(reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port)
                        : ntohs(reinterpret_cast<sockaddr_in*>(&ss)->sin_port));
  }
  return ports;
}

std::uint32_t Master::count_failed_logon(const std::string& address) {
  auto now = std::chrono::steady_clock::now();
  auto found = failed_logons_.find(address);
  if (found == failed_logons_.end()) {
    if (failed_logons_.size() >= kMaxFailedLogonAddresses)
      std::erase_if(failed_logons_, [now](const auto& entry) {
        return now - entry.second.last > kFailedLogonMemory;
      });
    // Still full: a flood from many addresses; each connection is still paced alone.
    if (failed_logons_.size() >= kMaxFailedLogonAddresses) return 0;
    found = failed_logons_.emplace(address, FailedLogons{}).first;
  }
  FailedLogons& f = found->second;
  if (f.count != 0 && now - f.last > kFailedLogonMemory) f.count = 0;
  if (f.count < UINT32_MAX) ++f.count;
  f.last = now;
  return f.count;
}

unsigned Master::live_connections() const {
  unsigned total = 0;
  for (const auto& [pid, worker] : workers_) total += worker.connections;
  return total;
}

void Master::notify(std::string_view state) {
  std::string error;
  if (notifier_ && !notifier_->send(state, error))
    log::warning(nullptr, "master: %s", error.c_str());
}

int Master::run(const ServiceNotifier& notifier) {
  notifier_ = &notifier;
  sigset_t mask;
  sigemptyset(&mask);
  for (int s : {SIGCHLD, SIGHUP, SIGTERM, SIGINT}) sigaddset(&mask, s);
  sigprocmask(SIG_BLOCK, &mask, nullptr);
  signal_fd_.reset(::signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK));
  ::signal(SIGPIPE, SIG_IGN);
  // Only now: a SIGHUP sent by the manager once it hears this must find the signalfd.
  notify("READY=1\nMAINPID=" + std::to_string(::getpid()) + "\nSTATUS=serving on " +
         std::to_string(listeners_.size()) + " address(es)");

  while (!stopping_) {
    std::vector<pollfd> fds;
    fds.push_back({signal_fd_.get(), POLLIN, 0});
    for (const auto& l : listeners_) fds.push_back({l.get(), POLLIN, 0});
    fds.push_back({rdma_listener_.get(), POLLIN, 0});
    fds.push_back({status_listener_.get(), POLLIN, 0});
    std::vector<pid_t> order;
    for (const auto& [pid, worker] : workers_) {
      fds.push_back({worker.control.get(), POLLIN, 0});
      order.push_back(pid);
    }
    int n = ::poll(fds.data(), fds.size(), status_poll_timeout_ms());
    if (n < 0) {
      if (errno == EINTR) continue;
      log::error(nullptr, "master: poll: %s", std::strerror(errno));
      break;
    }
    if (fds[0].revents != 0) handle_signals();
    for (std::size_t i = 0; i < listeners_.size() && !stopping_; ++i)
      if (fds[1 + i].revents & POLLIN) accept_from(listeners_[i].get());
    if ((fds[1 + listeners_.size()].revents & POLLIN) && !stopping_) accept_rdma_channels();
    if ((fds[2 + listeners_.size()].revents & POLLIN) && !stopping_) accept_status_queries();
    for (std::size_t i = 0; i < order.size() && !stopping_; ++i)
      if (fds[3 + listeners_.size() + i].revents != 0) handle_control(order[i]);
    answer_status_queries();
  }
  shutdown_workers();
  return 0;
}

void Master::accept_from(int listen_fd) {
  for (int burst = 0; burst < 64; ++burst) {
    UniqueFd client(::accept4(listen_fd, nullptr, nullptr, SOCK_CLOEXEC));
    if (!client) {
      if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
        log::error(nullptr, "master: accept: %s", std::strerror(errno));
      return;
    }
    // A client that has already gone (reset, or closed without a byte) needs no worker:
    // after a burst of abandoned connections this drains the backlog without forking.
    char probe;
    ssize_t peeked = ::recv(client.get(), &probe, 1, MSG_PEEK | MSG_DONTWAIT);
    if (peeked == 0 || (peeked < 0 && errno != EAGAIN && errno != EWOULDBLOCK)) continue;
    std::string peer = socket_peer_address(client.get());
    if (settings_.max_connections != 0 && live_connections() >= settings_.max_connections) {
      log::notice(peer.c_str(), "refused: max connections (%u) reached", settings_.max_connections);
      continue;
    }
    log::info(peer.c_str(), "connection accepted");
    spawn_worker(std::move(client), {});
  }
}

void Master::spawn_worker(UniqueFd client, const Bytes& initial, std::uint32_t flags) {
  int pair[2];
  if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) != 0) {
    log::error(nullptr, "master: socketpair: %s", std::strerror(errno));
    return;
  }
  UniqueFd ours(pair[0]), theirs(pair[1]);
  pid_t pid = ::fork();
  if (pid < 0) {
    log::error(nullptr, "master: fork: %s", std::strerror(errno));
    return;
  }
  if (pid == 0) {
    // Child: drop everything of the master's, restore signals, become a worker.
    listeners_.clear();
    rdma_listener_.reset();
    signal_fd_.reset();
    workers_.clear();
    owners_.clear();
    ours.reset();
    client.reset();
    // SIGHUP and SIGTERM stay blocked until the worker has its handlers: one the master
    // passes on to a worker that was forked a moment ago must wait for them, not end the
    // worker by the default action.
    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGHUP);
    sigaddset(&mask, SIGTERM);
    sigprocmask(SIG_SETMASK, &mask, nullptr);
    for (int s : {SIGCHLD, SIGHUP, SIGTERM, SIGINT}) ::signal(s, SIG_DFL);
    int code = worker_main_(std::move(theirs));
    // The worker has ended: a SIGTERM or SIGHUP arriving now (the master shutting down)
    // must not turn its exit into a kill while the leak check runs.
    sigprocmask(SIG_BLOCK, &mask, nullptr);
    check_leaks_before_exit();
    ::_exit(code);
  }
  theirs.reset();
  ControlMessage hello;
  hello.type = ControlType::NEW_CONNECTION;
  hello.payload = initial;
  hello.flags = flags;
  if (!send_control(ours.get(), hello, client.get()))
    log::error(nullptr, "master: passing connection to worker %d: %s", static_cast<int>(pid),
               std::strerror(errno));
  ::fcntl(ours.get(), F_SETFL, O_NONBLOCK);
  Worker w;
  w.pid = pid;
  w.control = std::move(ours);
  workers_.emplace(pid, std::move(w));
}

void Master::handle_control(pid_t pid) {
  auto it = workers_.find(pid);
  if (it == workers_.end()) return;
  for (;;) {
    UniqueFd fd;
    auto message = receive_control(it->second.control.get(), fd);
    if (!message) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) return;
      // The worker closed its end; it is reaped on SIGCHLD. Stop polling it: poll()
      // skips a negative descriptor (one that is always readable would spin the loop).
      it->second.control.reset();
      it->second.connections = 0;
      return;
    }
    Worker& worker = it->second;
    switch (message->type) {
      case ControlType::CLAIM_CLIENT: {
        auto [owner, inserted] = owners_.try_emplace(message->guid, pid);
        ControlMessage reply;
        reply.guid = message->guid;
        reply.type = (inserted || owner->second == pid) ? ControlType::CLAIM_GRANTED
                                                        : ControlType::CLAIM_OWNED_ELSEWHERE;
        send_control(worker.control.get(), reply);
        break;
      }
      case ControlType::HANDOFF: {
        if (!fd) break;
        auto owner = owners_.find(message->guid);
        ControlMessage pass;
        pass.type = ControlType::NEW_CONNECTION;
        pass.guid = message->guid;
        pass.payload = std::move(message->payload);
        pass.flags = message->flags & kControlRdmaChannel;
        bool passed = false;
        if (owner != owners_.end() && owner->second != pid) {
          auto target = workers_.find(owner->second);
          if (target != workers_.end() &&
              send_control(target->second.control.get(), pass, fd.get())) {
            target->second.connections++;
            passed = true;
            log::debug(4, nullptr, "master: connection passed from worker %d to worker %d",
                       static_cast<int>(pid), static_cast<int>(owner->second));
          }
        }
        // The owner is gone: this connection starts a worker of its own.
        if (!passed) {
          if (owner != owners_.end()) owners_.erase(owner);
          spawn_worker(std::move(fd), pass.payload, pass.flags);
        }
        return;  // `it` may be invalid after spawn_worker
      }
      case ControlType::CONNECTION_COUNT:
        worker.connections = message->count;
        break;
      case ControlType::SESSION_ANNOUNCE:
      case ControlType::SESSION_GONE:
      case ControlType::SESSION_QUERY: {
        if (message->payload.size() < 8) break;
        std::uint64_t id = load_le64(message->payload.data());
        if (message->type == ControlType::SESSION_ANNOUNCE) {
          sessions_[id] = {pid, Bytes(message->payload.begin() + 8, message->payload.end())};
        } else if (message->type == ControlType::SESSION_GONE) {
          if (auto s = sessions_.find(id); s != sessions_.end() && s->second.owner == pid)
            sessions_.erase(s);
        } else {
          ControlMessage reply;
          reply.type = ControlType::SESSION_FACTS;
          reply.payload.assign(message->payload.begin(), message->payload.begin() + 8);
          if (auto s = sessions_.find(id); s != sessions_.end())
            reply.payload.insert(reply.payload.end(), s->second.facts.begin(),
                                 s->second.facts.end());
          send_control(worker.control.get(), reply);
        }
        break;
      }
      case ControlType::DURABLE_KEPT:
      case ControlType::DURABLE_GONE: {
        const bool kept = message->type == ControlType::DURABLE_KEPT;
        if (message->payload.size() != (kept ? 9u : 8u)) break;
        std::uint64_t id = load_le64(message->payload.data());
        if (kept)
          durable_holders_[id] = {pid, message->payload[8] != 0};
        else if (auto h = durable_holders_.find(id);
                 h != durable_holders_.end() && h->second.worker == pid)
          durable_holders_.erase(h);
        break;
      }
      case ControlType::DURABLE_FETCH: {
        // payload: token (8), persistent id (8), then what the holder checks.
        if (message->payload.size() < 16 || message->payload.size() > 4096) break;
        std::uint64_t id = load_le64(message->payload.data() + 8);
        auto holder = durable_holders_.find(id);
        const bool elsewhere = holder != durable_holders_.end() && holder->second.worker != pid;
        auto target = elsewhere && holder->second.disconnected
                          ? workers_.find(holder->second.worker)
                          : workers_.end();
        message->count = static_cast<std::uint32_t>(pid);
        if (target == workers_.end() || !send_control(target->second.control.get(), *message)) {
          ControlMessage reply;
          reply.type = ControlType::DURABLE_RESULT;
          if (elsewhere && !holder->second.disconnected) reply.flags = kControlDurableBusy;
          reply.payload.assign(message->payload.begin(), message->payload.begin() + 8);
          ByteWriter(reply.payload)
              .u32(static_cast<std::uint32_t>(NtStatus::OBJECT_NAME_NOT_FOUND));
          send_control(worker.control.get(), reply);
        }
        break;
      }
      case ControlType::SESSION_REPLACE: {
        if (message->payload.size() < 16 || message->payload.size() > 2048) break;
        std::uint64_t id = load_le64(message->payload.data() + 8);
        auto s = sessions_.find(id);
        auto target = s == sessions_.end() || s->second.owner == pid
                          ? workers_.end()
                          : workers_.find(s->second.owner);
        message->count = static_cast<std::uint32_t>(pid);
        if (target == workers_.end() || !send_control(target->second.control.get(), *message)) {
          ControlMessage reply;
          reply.type = ControlType::SESSION_REPLACED;
          reply.payload.assign(message->payload.begin(), message->payload.begin() + 8);
          send_control(worker.control.get(), reply);
        }
        break;
      }
      case ControlType::SESSION_REPLACED: {
        if (message->payload.size() != 8) break;
        auto target = workers_.find(static_cast<pid_t>(message->count));
        if (target != workers_.end()) send_control(target->second.control.get(), *message);
        break;
      }
      case ControlType::DURABLE_RESULT: {
        const pid_t asker = static_cast<pid_t>(message->count);
        auto target = workers_.find(asker);
        if (target != workers_.end() &&
            send_control(target->second.control.get(), *message, fd ? fd.get() : -1))
          break;
        // The asker has gone: what was handed to it goes as its other opens went.
        if (fd) {
          std::vector<pid_t> unused;
          if (settings_.lock_segment) settings_.lock_segment->remove_owner(asker, unused);
          if (settings_.open_segment) settings_.open_segment->remove_owner(asker);
        }
        break;
      }
      case ControlType::STATUS_REPORT:
        status_reported(pid, message->payload);
        break;
      case ControlType::LOGON_FAILED: {
        if (message->payload.size() < 8 || message->payload.size() > 8 + 256) break;
        ControlMessage reply;
        reply.type = ControlType::LOGON_FAILURES;
        reply.payload.assign(message->payload.begin(), message->payload.begin() + 8);
        ByteWriter(reply.payload)
            .u32(count_failed_logon(
                std::string(message->payload.begin() + 8, message->payload.end())));
        send_control(worker.control.get(), reply);
        break;
      }
      case ControlType::RELEASE_CLIENT: {
        std::erase_if(owners_, [pid](const auto& entry) { return entry.second == pid; });
        ControlMessage done;
        done.type = ControlType::RELEASE_DONE;
        send_control(worker.control.get(), done);
        break;
      }
      default:
        log::warning(nullptr, "master: unexpected control message %u from worker %d",
                     static_cast<unsigned>(message->type), static_cast<int>(pid));
        break;
    }
  }
}

void Master::handle_signals() {
  signalfd_siginfo info;
  while (::read(signal_fd_.get(), &info, sizeof info) == sizeof info) {
    switch (info.ssi_signo) {
      case SIGCHLD:
        reap();
        break;
      case SIGHUP:
        log::notice(nullptr, "master: SIGHUP, reloading configuration");
        if (reload_) {
          MasterSettings fresh = reload_();
          settings_.max_connections = fresh.max_connections;
        }
        for (const auto& [pid, worker] : workers_) ::kill(pid, SIGHUP);
        notify("STATUS=configuration reloaded");
        break;
      case SIGTERM:
      case SIGINT:
        log::notice(nullptr, "master: shutting down");
        if (!stopping_) notify("STOPPING=1");
        stopping_ = true;
        break;
      default:
        break;
    }
  }
}

void Master::reap() {
  for (;;) {
    int status = 0;
    pid_t pid = ::waitpid(-1, &status, WNOHANG);
    if (pid <= 0) return;
    if (WIFSIGNALED(status))
      log::warning(nullptr, "worker %d killed by signal %d", static_cast<int>(pid),
                   WTERMSIG(status));
    // What the worker sent before it exited is still queued on its control socket: a
    // connection it passed on must reach its new worker, not close with the socket.
    handle_control(pid);
    worker_gone_from_status(pid);
    workers_.erase(pid);
    std::erase_if(owners_, [pid](const auto& entry) { return entry.second == pid; });
    std::erase_if(sessions_, [pid](const auto& entry) { return entry.second.owner == pid; });
    std::erase_if(durable_holders_,
                  [pid](const auto& entry) { return entry.second.worker == pid; });
    // A worker that ended with opens (killed, or crashed) cannot take them out itself.
    // Its byte-range locks and waiting requests go too; the workers waiting on those files
    // are rung (below, with everyone, when opens went as well).
    std::vector<pid_t> lock_waiters;
    std::size_t locks_removed =
        settings_.lock_segment ? settings_.lock_segment->remove_owner(pid, lock_waiters) : 0;
    if (locks_removed != 0)
      log::notice(nullptr, "master: %zu byte-range lock(s) of worker %d removed", locks_removed,
                  static_cast<int>(pid));
    if (settings_.open_segment) {
      for (pid_t waiter : lock_waiters)
        if (waiter != pid)
          hostwide::ring(hostwide::doorbell_name(settings_.open_segment->host_id(), waiter));
      std::size_t removed = settings_.open_segment->remove_owner(pid);
      if (removed != 0) {
        log::notice(nullptr, "master: %zu open(s) of worker %d removed from the open file table",
                    removed, static_cast<int>(pid));
        // Whoever waited on what the dead worker held looks at the table again.
        for (const auto& [live, worker] : workers_)
          hostwide::ring(hostwide::doorbell_name(settings_.open_segment->host_id(), live));
      }
    }
  }
}

void Master::shutdown_workers() {
  listeners_.clear();
  if (status_listener_) {
    status_listener_.reset();
    ::unlink(settings_.status_socket.c_str());
  }
  if (rdma_listener_) {
    rdma_listener_.reset();
    ::unlink(settings_.rdma_proxy_socket.c_str());
  }
  for (const auto& [pid, worker] : workers_) ::kill(pid, SIGTERM);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (!workers_.empty() && std::chrono::steady_clock::now() < deadline) {
    reap();
    if (!workers_.empty()) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  for (const auto& [pid, worker] : workers_) ::kill(pid, SIGKILL);
  while (!workers_.empty()) {
    int status;
    pid_t pid = ::waitpid(-1, &status, 0);
    if (pid <= 0) break;
    workers_.erase(pid);
  }
}

}  // namespace smb::server
