// One side of a shmring connection: the segment, its two rings, both doorbells and the
// unix socket the segment arrived on (kept open: its hangup is how peer death shows).
//
// Handshake: the creator sends one message "SHMRING" + version with three fds attached:
// the sealed memfd, the creator's doorbell eventfd and the attacher's doorbell eventfd.
// The attacher validates all three and maps the segment. Use a SOCK_SEQPACKET socket
// dedicated to this segment.
//
// Doorbells: each side sleeps on its own eventfd, for entries on its receive ring or for
// space on its send ring. The peer writes the eventfd only when the sleeping side has
// announced it in the ring control block, so a busy pipeline makes no system calls.
//
// A Channel is used by one thread at a time.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <span>

#include "shmring/layout.hh"
#include "shmring/ring.hh"
#include "shmring/segment.hh"
#include "smbd/base/unique_fd.hh"

namespace smb::shmring {

enum class Role { creator, attacher };

enum class Interest : unsigned { receive = 1, send = 2, either = 3 };

enum class WaitResult {
  ready,      // the interest is satisfied (entries to receive and/or space to send)
  timeout,    // nothing happened within the timeout
  peer_gone,  // the peer closed the socket or died; nothing more will arrive
  corrupt,    // the peer wrote impossible ring positions; the channel is unusable
};

class Channel {
 public:
  // Creates a segment with `geometry` and hands it to the peer over `socket`.
  static Channel create(UniqueFd socket, const Geometry& geometry);
  // Waits up to `timeout_ms` for the creator's handshake on `socket` and attaches.
  static Channel attach(UniqueFd socket, int timeout_ms);

  Channel(Channel&&) noexcept = default;
  Channel& operator=(Channel&&) noexcept = default;

  // Posts `d` and rings the peer if it sleeps: ok, full or corrupt.
  RingStatus send(const Descriptor& d);
  // Takes the next descriptor and wakes the peer if it waits for space: ok, empty or
  // corrupt. A received descriptor is a private copy whose fields are all unchecked;
  // use slot_bytes() and get_buffers() to reach the data they point at.
  RingStatus receive(Descriptor& out);

  // Sleeps until `interest` is satisfied, the peer goes away or `timeout` passes.
  // Descriptors the peer posted before dying are still reported `ready`, so a caller
  // that loops on receive() drains them before it sees peer_gone.
  WaitResult wait(Interest interest, std::chrono::milliseconds timeout);

  // For event loops (libuv): poll doorbell_fd() for POLLIN and socket_fd() for
  // POLLRDHUP. Call arm() before sleeping; if it returns true, don't sleep. After a
  // wake-up, call disarm() and clear_doorbell(), then receive()/send() again.
  bool arm(Interest interest);
  void disarm(Interest interest);
  void clear_doorbell();
  int doorbell_fd() const { return own_doorbell_.get(); }
  int socket_fd() const { return socket_.get(); }

  // The data a descriptor points at, if its slot, offset and length are all in range.
  std::optional<std::span<std::uint8_t>> slot_bytes(const Descriptor& d) const {
    return segment_.slot_bytes(d.slot, d.slot_offset, d.length);
  }

  Role role() const { return role_; }
  const Segment& segment() const { return segment_; }
  const Geometry& geometry() const { return segment_.geometry(); }
  bool corrupt() const { return tx_.corrupt() || rx_.corrupt(); }
  bool peer_gone() const { return peer_gone_; }

 private:
  Channel(Role role, Segment segment, UniqueFd socket, UniqueFd own_doorbell,
          UniqueFd peer_doorbell);
  void ring_peer();
  bool socket_hung_up(short revents);

  Role role_;
  Segment segment_;
  UniqueFd socket_;
  UniqueFd own_doorbell_;
  UniqueFd peer_doorbell_;
  RingProducer tx_;
  RingConsumer rx_;
  bool peer_gone_ = false;
};

}  // namespace smb::shmring
