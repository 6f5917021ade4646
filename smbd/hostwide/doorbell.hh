// Doorbells: how a worker will tell another that something it may wait for has changed
// (an open gone, a break to send). Each worker has one datagram socket, named from the
// host's table (OpenSegment::host_id) and the worker's pid, so any worker can ring any
// other knowing only the pid recorded with an open. A ring carries no data: the rung
// worker looks at the shared state again.
//
// The name is in the abstract namespace: ringing needs no file-system permission, so a
// thread acting as an ordinary user rings as well as root. Ringing a worker that has gone
// is not an error.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>

#include "smbd/base/unique_fd.hh"

namespace smb::hostwide {

// The doorbell name of worker `worker` of the host `host_id`.
std::string doorbell_name(std::uint64_t host_id, pid_t worker);

class Doorbell {
 public:
  // Binds the doorbell `name` (non-blocking, close-on-exec); nothing and a message when
  // the name is taken or the socket cannot be made.
  static std::optional<Doorbell> bind(const std::string& name, std::string& error);

  // Readable while a ring is pending: poll it from the worker's loop.
  int fd() const { return fd_.get(); }
  // Takes every pending ring; how many there were.
  std::size_t drain();

 private:
  explicit Doorbell(UniqueFd fd) : fd_(std::move(fd)) {}
  UniqueFd fd_;
};

enum class Ring {
  RUNG,    // delivered, or the bell's queue was full: a ring is pending either way
  NOBODY,  // no doorbell of that name: the worker has gone
  FAILED,  // the ring could not be sent (no socket)
};

// Rings the doorbell `name` without blocking.
Ring ring(const std::string& name);

}  // namespace smb::hostwide
