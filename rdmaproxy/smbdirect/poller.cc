#include "rdmaproxy/smbdirect/poller.hh"

#include <poll.h>

#include <algorithm>

namespace smb::smbdirect {

void Poller::add(Connection* connection) { connections_.push_back(connection); }

void Poller::remove(Connection* connection) { std::erase(connections_, connection); }

void Poller::add_fd(int fd, std::function<void()> on_readable) {
  fds_.push_back(Watch{fd, std::move(on_readable)});
}

void Poller::remove_fd(int fd) {
  std::erase_if(fds_, [fd](const Watch& w) { return w.fd == fd; });
}

void Poller::run_once(std::chrono::milliseconds max_wait) {
  auto now = Clock::now();
  auto wake = now + max_wait;
  std::vector<pollfd> pfds;
  for (Connection* c : connections_) {
    pfds.push_back(pollfd{c->fd(), POLLIN, 0});
    if (auto d = c->next_deadline()) wake = std::min(wake, *d);
  }
  for (const auto& w : fds_) pfds.push_back(pollfd{w.fd, POLLIN, 0});
  auto wait = std::chrono::ceil<std::chrono::milliseconds>(wake - now);
  int timeout = static_cast<int>(std::max<std::int64_t>(0, wait.count()));
  ::poll(pfds.data(), pfds.size(), timeout);
  // Copies: handlers may add or remove entries.
  auto connections = connections_;
  auto fds = fds_;
  now = Clock::now();
  for (std::size_t i = 0; i < connections.size(); ++i) {
    if (std::find(connections_.begin(), connections_.end(), connections[i]) == connections_.end())
      continue;
    auto d = connections[i]->next_deadline();
    if ((pfds[i].revents & (POLLIN | POLLERR | POLLHUP)) || (d && *d <= now))
      connections[i]->process(now);
  }
  for (std::size_t i = 0; i < fds.size(); ++i) {
    if (pfds[connections.size() + i].revents & (POLLIN | POLLERR | POLLHUP)) fds[i].on_readable();
  }
}

bool Poller::run_until(const std::function<bool()>& done, std::chrono::milliseconds timeout) {
  auto end = Clock::now() + timeout;
  while (!done()) {
    auto now = Clock::now();
    if (now >= end) return false;
    run_once(std::min(std::chrono::ceil<std::chrono::milliseconds>(end - now),
                      std::chrono::milliseconds(100)));
  }
  return true;
}

}  // namespace smb::smbdirect
