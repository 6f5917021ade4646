#include "smbd/worker/break_delivery.hh"

#include <algorithm>

#include "smbd/conf/log.hh"
#include "smbd/worker/connection.hh"
#include "smbd/worker/uv.hh"
#include "smbd/worker/worker.hh"

namespace smb::server {

namespace {

// MS-SMB2 does not say how long to wait for the transport. The channel is looked at every
// retransmission timeout, bounded so that a peer on a slow path is not waited for long;
// kRetransmissions of them in a row without progress tell a peer that is gone from a slow
// one, as Samba's smbd tells them apart (it gives up after six RTOs whatever the
// progress; here the count starts again while the peer acknowledges more).
std::chrono::milliseconds look_interval(const Connection& c) {
  return std::clamp(c.retransmission_timeout(), std::chrono::milliseconds(200),
                    std::chrono::milliseconds(1000));
}

// The timer of one notification; it outlives the notification until libuv has closed it.
struct Timer {
  uv_timer_t handle{};
  BreakDelivery* owner = nullptr;
  std::uint64_t id = 0;
};

void close_timer(Timer* t) {
  t->owner = nullptr;
  uv_timer_stop(&t->handle);
  uv_close(reinterpret_cast<uv_handle_t*>(&t->handle),
           [](uv_handle_t* h) { delete static_cast<Timer*>(h->data); });
}

}  // namespace

struct BreakDelivery::Pending {
  Bytes message;
  std::uint64_t session_id = 0;
  Chooser next;
  std::function<void()> undeliverable;
  std::set<std::uint64_t> tried;
  std::uint64_t connection_id = 0;  // the channel it waits on; 0: none (moving on)
  std::uint64_t mark = 0;           // its end in that channel's outgoing stream
  std::uint64_t acknowledged = 0;   // how far the client had acknowledged at the last look
  unsigned silent = 0;              // looks in a row at which it had acknowledged nothing more
  Timer* timer = nullptr;
};

BreakDelivery::BreakDelivery(Worker& worker) : worker_(worker) {}

BreakDelivery::~BreakDelivery() { stop(); }

void BreakDelivery::stop() {
  for (auto& [id, p] : pending_)
    if (p->timer != nullptr) close_timer(p->timer);
  pending_.clear();
}

bool BreakDelivery::send(Bytes message, std::uint64_t session_id, Chooser next,
                         std::function<void()> undeliverable) {
  auto p = std::make_unique<Pending>();
  p->message = std::move(message);
  p->session_id = session_id;
  p->next = std::move(next);
  p->undeliverable = std::move(undeliverable);
  std::uint64_t id = next_id_++;
  pending_.emplace(id, std::move(p));
  return attempt(id);
}

bool BreakDelivery::attempt(std::uint64_t id) {
  auto it = pending_.find(id);
  if (it == pending_.end()) return false;
  Pending& p = *it->second;
  Connection* c = p.next(p.tried);
  if (c == nullptr) {
    auto undeliverable = std::move(p.undeliverable);
    finish(id);
    if (undeliverable) undeliverable();
    return false;
  }
  p.tried.insert(c->id());
  p.connection_id = c->id();
  c->send_notification(p.message, p.session_id);
  p.mark = c->sent_mark();
  p.acknowledged = c->acknowledged_mark();
  if (p.acknowledged >= p.mark) {
    finish(id);  // a transport that cannot tell (SMB Direct): taken as delivered
    return true;
  }
  p.silent = 0;
  arm(id, p, look_interval(*c));
  return true;
}

void BreakDelivery::arm(std::uint64_t id, Pending& p, std::chrono::milliseconds delay) {
  if (p.timer == nullptr) {
    p.timer = new Timer();
    uv_timer_init(worker_.loop(), &p.timer->handle);
    p.timer->handle.data = p.timer;
    p.timer->owner = this;
    p.timer->id = id;
  }
  uv_timer_start(
      &p.timer->handle,
      [](uv_timer_t* h) {
        auto* t = static_cast<Timer*>(h->data);
        if (t->owner != nullptr) t->owner->check(t->id);
      },
      static_cast<std::uint64_t>(delay.count()), 0);
}

void BreakDelivery::check(std::uint64_t id) {
  auto it = pending_.find(id);
  if (it == pending_.end()) return;
  Pending& p = *it->second;
  Connection* c = p.connection_id != 0 ? worker_.connection(p.connection_id) : nullptr;
  if (c == nullptr) {
    attempt(id);  // the channel went: the next one
    return;
  }
  std::uint64_t acknowledged = c->acknowledged_mark();
  if (acknowledged >= p.mark) {
    finish(id);  // the client's transport has it
    return;
  }
  if (acknowledged > p.acknowledged) {
    // Slow, not gone: the client acknowledged more since the last look.
    p.acknowledged = acknowledged;
    p.silent = 0;
  } else {
    ++p.silent;
  }
  if (p.silent < kRetransmissions) {
    arm(id, p, look_interval(*c));
    return;
  }
  p.connection_id = 0;
  log::notice(c->peer().c_str(),
              "a break notification was not acknowledged; sending it on another channel");
  c->drop("the client acknowledged nothing for several retransmission timeouts");
  attempt(id);
}

void BreakDelivery::channel_closed(std::uint64_t connection_id) {
  for (auto& [id, p] : pending_) {
    if (p->connection_id != connection_id) continue;
    p->connection_id = 0;
    arm(id, *p, std::chrono::milliseconds(0));
  }
}

void BreakDelivery::finish(std::uint64_t id) {
  auto it = pending_.find(id);
  if (it == pending_.end()) return;
  if (it->second->timer != nullptr) close_timer(it->second->timer);
  pending_.erase(it);
}

}  // namespace smb::server
