// smbstatus's questions to the master: a stream socket in the lock directory, root's
// alone. Each connection is one query; the master asks every worker for its report
// (control.hh: STATUS_QUERY) and answers with them all, or with what came within
// kStatusWait, so a worker that hangs or dies cannot hold the answer, and nothing here
// waits: the answer is written without blocking and cut where the socket is full.
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "smbd/base/bytes.hh"
#include "smbd/base/status_lines.hh"
#include "smbd/base/unix_socket.hh"
#include "smbd/conf/config.hh"
#include "smbd/conf/log.hh"
#include "smbd/master/master.hh"

namespace smb::server {

namespace {

constexpr auto kStatusWait = std::chrono::seconds(2);
constexpr std::size_t kMaxStatusQueries = 16;
constexpr int kStatusAnswerBuffer = 16 << 20;

}  // namespace

void Master::bind_status_socket() {
  const std::string& path = settings_.status_socket;
  if (path.empty()) return;
  // What clients are connected is for root only.
  status_listener_ = listen_on_private_socket(path, SOCK_STREAM, 16);
  if (!status_listener_)
    log::warning(nullptr, "master: no smbstatus: cannot listen on %s: %s", path.c_str(),
                 std::strerror(errno));
}

void Master::accept_status_queries() {
  for (;;) {
    UniqueFd client(::accept4(status_listener_.get(), nullptr, nullptr,
                              SOCK_CLOEXEC | SOCK_NONBLOCK));
    if (!client) return;
    if (status_queries_.size() >= kMaxStatusQueries) continue;  // closed: try again later
    StatusQuery query;
    query.client = std::move(client);
    query.token = next_status_token_++;
    query.deadline = std::chrono::steady_clock::now() + kStatusWait;
    ControlMessage ask;
    ask.type = ControlType::STATUS_QUERY;
    ask.payload.resize(8);
    store_le64(ask.payload.data(), query.token);
    for (const auto& [pid, worker] : workers_)
      if (send_control(worker.control.get(), ask)) query.waiting.insert(pid);
    query.asked = query.waiting.size();
    status_queries_.push_back(std::move(query));
  }
}

void Master::status_reported(pid_t pid, ByteSpan payload) {
  if (payload.size() < 8) return;
  std::uint64_t token = load_le64(payload.data());
  for (auto& query : status_queries_) {
    if (query.token != token || query.waiting.erase(pid) == 0) continue;
    query.reports.append(reinterpret_cast<const char*>(payload.data()) + 8, payload.size() - 8);
    return;
  }
}

void Master::worker_gone_from_status(pid_t pid) {
  for (auto& query : status_queries_) query.waiting.erase(pid);
}

int Master::status_poll_timeout_ms() const {
  if (status_queries_.empty()) return -1;
  auto now = std::chrono::steady_clock::now();
  auto first = std::min_element(status_queries_.begin(), status_queries_.end(),
                                [](const auto& a, const auto& b) { return a.deadline < b.deadline; });
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(first->deadline - now).count();
  return static_cast<int>(std::clamp<long long>(left + 1, 0, 2000));
}

void Master::answer_status_queries() {
  auto now = std::chrono::steady_clock::now();
  std::erase_if(status_queries_, [&](StatusQuery& query) {
    if (!query.waiting.empty() && now < query.deadline) return false;
    std::string answer;
    append_status_line(
        answer,
        {"server", std::to_string(::getpid()), conf::version(), std::to_string(query.asked),
         std::to_string(query.asked - query.waiting.size()),
         // The opens the host table holds (every worker's).
         std::to_string(settings_.open_segment ? settings_.open_segment->open_count() : 0)});
    answer += query.reports;
    // Written once, without waiting: a reader that is not reading gets what fits.
    int buffer = kStatusAnswerBuffer;
    ::setsockopt(query.client.get(), SOL_SOCKET, SO_SNDBUFFORCE, &buffer, sizeof buffer);
    std::size_t sent = 0;
    while (sent < answer.size()) {
      ssize_t n = ::send(query.client.get(), answer.data() + sent, answer.size() - sent,
                         MSG_DONTWAIT | MSG_NOSIGNAL);
      if (n <= 0) break;
      sent += static_cast<std::size_t>(n);
    }
    return true;
  });
}

}  // namespace smb::server
