// A poll(2) driver for SMB Direct connections and listeners: waits on their fds and
// deadlines and calls process(). The daemon can drive the same fds and deadlines from
// a libuv loop instead (uv_poll_t on fd(), uv_timer_t on next_deadline()).
#pragma once

#include <chrono>
#include <functional>
#include <vector>

#include "rdmaproxy/smbdirect/connection.hh"

namespace smb::smbdirect {

class Poller {
 public:
  void add(Connection* connection);
  void remove(Connection* connection);
  // Any other fd: `on_readable` runs when poll(2) reports it readable.
  void add_fd(int fd, std::function<void()> on_readable);
  void remove_fd(int fd);

  // One round: waits until an fd is readable, a deadline passes or `max_wait` elapses.
  void run_once(std::chrono::milliseconds max_wait);
  // Rounds until `done()` is true (returns true) or `timeout` passes (returns false).
  bool run_until(const std::function<bool()>& done, std::chrono::milliseconds timeout);

 private:
  struct Watch {
    int fd;
    std::function<void()> on_readable;
  };
  std::vector<Connection*> connections_;
  std::vector<Watch> fds_;
};

}  // namespace smb::smbdirect
