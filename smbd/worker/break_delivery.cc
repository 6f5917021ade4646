#include "smbd/worker/break_delivery.hh"

#include <algorithm>

#include "smbd/conf/log.hh"
#include "smbd/worker/connection.hh"
#include "smbd/worker/uv.hh"
#include "smbd/worker/worker.hh"

namespace smb::server {

namespace {

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
  // MS-SMB2 does not say how long to wait for the transport; a stretch of a few
  // retransmission timeouts tells a slow peer from one that is gone, as Samba's smbd
  // tells them apart (it waits six; here the stretch repeats while the peer makes
  // progress). The RTO is bounded so that a peer on a slow path is not waited for long.
  auto rto = std::clamp(c->retransmission_timeout(), std::chrono::milliseconds(200),
                        std::chrono::milliseconds(1000));
  arm(id, p, rto * kRetransmissions);
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
    auto rto = std::clamp(c->retransmission_timeout(), std::chrono::milliseconds(200),
                          std::chrono::milliseconds(1000));
    arm(id, p, rto * kRetransmissions);
    return;
  }
  p.connection_id = 0;
  c->mark_stalled();
  log::notice(c->peer().c_str(),
              "a break notification was not acknowledged; sending it on another channel");
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
