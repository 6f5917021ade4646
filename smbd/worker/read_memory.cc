#include "smbd/worker/read_memory.hh"

#include <algorithm>
#include <utility>

#include "smbd/worker/connection.hh"
#include "smbd/worker/worker.hh"

namespace smb::server {

ReadMemory::ReadMemory(uv_loop_t* loop, std::uint64_t limit) : loop_(loop), limit_(limit) {}

ReadMemory::~ReadMemory() {
  if (drain_timer_ != nullptr)
    uv_close(reinterpret_cast<uv_handle_t*>(drain_timer_),
             [](uv_handle_t* h) { delete reinterpret_cast<uv_timer_t*>(h); });
  // READs still waiting go with their connection unanswered, as the connection's other
  // requests do.
}

bool ReadMemory::fits(std::uint64_t bytes) const {
  // One READ alone always fits (the limit is at least the largest READ; a smaller one
  // from a changed configuration must not stall the connection).
  return held_ == 0 || held_ + bytes <= limit_;
}

void ReadMemory::acquire(std::uint64_t bytes, std::shared_ptr<const void> owner,
                         std::uint64_t message_limit, Start start) {
  auto own = held_by_.find(owner.get());
  if (own != held_by_.end() && own->second + bytes > message_limit) {
    start(NtStatus::INSUFFICIENT_RESOURCES, nullptr);
    return;
  }
  if (waiting_.empty() && fits(bytes)) {
    start(NtStatus::SUCCESS, grant(bytes, std::move(owner)));
    return;
  }
  if (own != held_by_.end()) {
    start(NtStatus::INSUFFICIENT_RESOURCES, nullptr);
    return;
  }
  waiting_.push_back({bytes, std::move(owner), std::move(start)});
}

ReadMemory::Grant ReadMemory::grant(std::uint64_t bytes, std::shared_ptr<const void> owner) {
  held_ += bytes;
  held_by_[owner.get()] += bytes;
  peak_ = std::max(peak_, held_);
  std::weak_ptr<ReadMemory> self = weak_from_this();
  // The grant is an empty object whose deleter gives the bytes back, whenever and
  // wherever the last response holding it goes.
  return Grant(static_cast<const void*>(nullptr),
               [self, bytes, owner = std::move(owner)](const void*) {
                 if (auto memory = self.lock()) memory->release(bytes, owner.get());
               });
}

void ReadMemory::release(std::uint64_t bytes, const void* owner) {
  held_ -= std::min(held_, bytes);
  auto it = held_by_.find(owner);
  if (it != held_by_.end()) {
    it->second -= std::min(it->second, bytes);
    if (it->second == 0) held_by_.erase(it);
  }
  if (waiting_.empty() || !fits(waiting_.front().bytes)) return;
  // Grants go in destructors of responses, deep inside other work: the waiting READs
  // start from the loop instead.
  if (drain_timer_ == nullptr) {
    drain_timer_ = new uv_timer_t();
    uv_timer_init(loop_, drain_timer_);
    drain_timer_->data = this;
  }
  if (uv_is_active(reinterpret_cast<uv_handle_t*>(drain_timer_)) == 0)
    uv_timer_start(
        drain_timer_, [](uv_timer_t* t) { static_cast<ReadMemory*>(t->data)->drain(); }, 0, 0);
}

void ReadMemory::drain() {
  // Keeps this alive while the READs it starts run (one may end its connection).
  auto keep = shared_from_this();
  while (!waiting_.empty() && fits(waiting_.front().bytes)) {
    Waiter next = std::move(waiting_.front());
    waiting_.pop_front();
    next.start(NtStatus::SUCCESS, grant(next.bytes, std::move(next.owner)));
  }
}

}  // namespace smb::server

namespace smb::server {

ReadMemory& Connection::read_memory() {
  if (!read_memory_)
    read_memory_ =
        std::make_shared<ReadMemory>(worker_.loop(), worker_.config().conf.global.max_read_memory);
  return *read_memory_;
}

}  // namespace smb::server
