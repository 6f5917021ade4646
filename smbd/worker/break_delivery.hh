// How a break notification reaches a client that may have several channels (MS-SMB2
// 3.3.4.6 oplock breaks, 3.3.4.7 lease breaks): on one channel at a time, the first one
// its chooser names. The notification counts as delivered once the client's transport
// has acknowledged every byte of the channel's outgoing stream up to it. While it is not,
// the channel is looked at again every few retransmission timeouts (the socket's RTO,
// kept within 200 ms and 1 s): as long as the client acknowledges more each time, the
// channel is only slow; when it acknowledged nothing in one such stretch, or the channel
// closed, the channel failed, and the notification goes out on the next channel its
// chooser names, each channel once; when none is left, the caller's `undeliverable`
// runs. A failed channel stays up (TCP itself decides when a peer is gone; a stalled
// client may come back) but counts as stalled, and choosers pass it over, until its
// client acknowledges more than it had then. A channel that is gone is skipped.
//
// Everything runs on the worker's loop (one timer per notification on its way); the
// notification holds ids, never pointers to sessions, opens or connections, which are
// looked up again each time. Nothing polls other workers.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <set>

#include "smbd/base/bytes.hh"

namespace smb::server {

class Connection;
class Worker;

class BreakDelivery {
 public:
  // The next channel to carry a notification, not one of `tried`; null when none is left
  // (or the notification has nothing to say any more: its open went).
  using Chooser = std::function<Connection*(const std::set<std::uint64_t>& tried)>;

  // The stretch a channel must show progress in: this many retransmission timeouts.
  static constexpr unsigned kRetransmissions = 6;

  explicit BreakDelivery(Worker& worker);
  ~BreakDelivery();
  BreakDelivery(const BreakDelivery&) = delete;
  BreakDelivery& operator=(const BreakDelivery&) = delete;

  // Sends `message` (encrypted where session `session_id` encrypts) on the channel `next`
  // names and sees it delivered as above. False, after running `undeliverable`, when
  // `next` names no channel at all.
  bool send(Bytes message, std::uint64_t session_id, Chooser next,
            std::function<void()> undeliverable);

  // The connection `connection_id` is gone: what waited on it moves on (on a later turn
  // of the loop: the caller is in the middle of taking the connection down).
  void channel_closed(std::uint64_t connection_id);

  // Notifications on their way.
  std::size_t pending() const { return pending_.size(); }

  // Forgets every notification on its way and closes their timers (the worker stops).
  void stop();

 private:
  struct Pending;
  // Sends `p` on the next channel its chooser names; false (and `p` gone, after its
  // `undeliverable` ran) when none is left.
  bool attempt(std::uint64_t id);
  void check(std::uint64_t id);
  void arm(std::uint64_t id, Pending& p, std::chrono::milliseconds delay);
  void finish(std::uint64_t id);

  Worker& worker_;
  std::map<std::uint64_t, std::unique_ptr<Pending>> pending_;  // by delivery id
  std::uint64_t next_id_ = 1;
};

}  // namespace smb::server
