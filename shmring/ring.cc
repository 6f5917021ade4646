#include "shmring/ring.hh"

#include <cstring>

namespace smb::shmring {
namespace detail {

RingBase::RingBase(std::span<std::uint8_t> segment, const Layout& layout, RingId ring) {
  if (segment.size() < layout.total_size ||
      reinterpret_cast<std::uintptr_t>(segment.data()) % alignof(RingControl) != 0)
    throw std::invalid_argument("shmring: segment smaller or less aligned than its layout");
  control_ = reinterpret_cast<RingControl*>(segment.data() + layout.control(ring));
  entries_ = segment.data() + layout.descriptors(ring);
  capacity_ = layout.geometry.ring_capacity;
  mask_ = capacity_ - 1;
}

}  // namespace detail

// The wake-up protocol is Dekker-style: the sleeper stores its flag, then (seq_cst
// fence) re-reads the position; the waker stores the position, then (seq_cst fence)
// reads the flag. At least one of them sees the other's store, so a wake-up is never
// lost, and the waker pays for an eventfd write only when the flag is set.

bool RingProducer::refresh_tail() {
  const std::uint64_t t = tail().load(std::memory_order_acquire);
  // The consumer can only have moved forward from what we saw, and never past head_.
  if (t - cached_tail_ > head_ - cached_tail_) {
    corrupt_ = true;
    return false;
  }
  cached_tail_ = t;
  return true;
}

RingStatus RingProducer::try_push(const Descriptor& d) {
  if (corrupt_) return RingStatus::corrupt;
  if (head_ - cached_tail_ >= capacity_) {
    if (!refresh_tail()) return RingStatus::corrupt;
    if (head_ - cached_tail_ >= capacity_) return RingStatus::full;
  }
  std::memcpy(entry(head_), &d, sizeof d);
  ++head_;
  head().store(head_, std::memory_order_release);
  return RingStatus::ok;
}

bool RingProducer::consumer_needs_wakeup() {
  std::atomic_thread_fence(std::memory_order_seq_cst);
  auto flag = consumer_sleeping();
  return flag.load(std::memory_order_relaxed) != 0 &&
         flag.exchange(0, std::memory_order_relaxed) != 0;
}

bool RingProducer::has_space() {
  if (corrupt_) return false;
  if (head_ - cached_tail_ < capacity_) return true;
  return refresh_tail() && head_ - cached_tail_ < capacity_;
}

bool RingProducer::prepare_wait_for_space() {
  producer_waiting().store(1, std::memory_order_relaxed);
  std::atomic_thread_fence(std::memory_order_seq_cst);
  if (has_space() || corrupt_) {
    cancel_wait_for_space();
    return true;
  }
  return false;
}

void RingProducer::cancel_wait_for_space() {
  producer_waiting().store(0, std::memory_order_relaxed);
}

bool RingConsumer::refresh_head() {
  const std::uint64_t h = head().load(std::memory_order_acquire);
  // At most `capacity` entries can be outstanding, and head never moves backwards
  // (a backwards move shows up as a huge unsigned distance).
  if (h - tail_ > capacity_ || h - tail_ < cached_head_ - tail_) {
    corrupt_ = true;
    return false;
  }
  cached_head_ = h;
  return true;
}

RingStatus RingConsumer::try_pop(Descriptor& out) {
  if (corrupt_) return RingStatus::corrupt;
  if (cached_head_ == tail_) {
    if (!refresh_head()) return RingStatus::corrupt;
    if (cached_head_ == tail_) return RingStatus::empty;
  }
  // A private copy: the producer may rewrite the entry at any time, so every field is
  // validated on the copy, never on the shared bytes.
  std::memcpy(&out, entry(tail_), sizeof out);
  ++tail_;
  tail().store(tail_, std::memory_order_release);
  return RingStatus::ok;
}

bool RingConsumer::producer_needs_wakeup() {
  std::atomic_thread_fence(std::memory_order_seq_cst);
  auto flag = producer_waiting();
  return flag.load(std::memory_order_relaxed) != 0 &&
         flag.exchange(0, std::memory_order_relaxed) != 0;
}

bool RingConsumer::has_entries() {
  if (corrupt_) return false;
  if (cached_head_ != tail_) return true;
  return refresh_head() && cached_head_ != tail_;
}

bool RingConsumer::prepare_sleep() {
  consumer_sleeping().store(1, std::memory_order_relaxed);
  std::atomic_thread_fence(std::memory_order_seq_cst);
  if (has_entries() || corrupt_) {
    cancel_sleep();
    return true;
  }
  return false;
}

void RingConsumer::cancel_sleep() { consumer_sleeping().store(0, std::memory_order_relaxed); }

}  // namespace smb::shmring
