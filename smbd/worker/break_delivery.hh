// How a break notification reaches a client that may have several channels (MS-SMB2
// 3.3.4.6 oplock breaks, 3.3.4.7 lease breaks): on one channel at a time, the first one
// its chooser names. The notification counts as delivered once the client's transport
// has acknowledged every byte of the channel's outgoing stream up to it. Until then the
// channel is looked at every retransmission timeout (the socket's RTO, kept within 200 ms
// and 1 s): while the client acknowledges more, the channel is only slow; when it has
// acknowledged nothing more for kRetransmissions looks in a row, or the channel closed,
// the channel failed. A failed channel is disconnected, as Samba's smbd does it: its
// peer is out of reach, and a client that came back on it would not know which breaks
// it missed. The notification then goes out on the next channel its chooser names, each
// channel once; when none is left, the caller's `undeliverable` runs. A channel that is
// already gone is skipped. On a transport that cannot tell what its peer acknowledged
// (an SMB Direct channel: the proxy's RDMA connection does) a notification counts as
// delivered once sent.
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

  // Looks in a row without progress after which a channel failed.
  static constexpr unsigned kRetransmissions = 4;

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
