// Single-producer single-consumer descriptor rings over a shared segment.
//
// Each side keeps its own position privately and only ever publishes it; the peer's
// position is read once into a local, checked against what is possible, and cached.
// A position that cannot happen (ahead of the other side by more than the capacity, or
// moving backwards) latches the ring as corrupt: every later call returns `corrupt`,
// and no entry outside the ring is ever touched. Calls are O(1): nothing here loops on
// peer-controlled values.
#pragma once

#include <atomic>
#include <cstdint>
#include <span>

#include "shmring/layout.hh"

namespace smb::shmring {

enum class RingStatus { ok, full, empty, corrupt };

namespace detail {

// The shared fields are plain integers in the mapping, accessed only through
// atomic_ref so each load and store is a single, untorn access.
static_assert(std::atomic_ref<std::uint64_t>::is_always_lock_free);
static_assert(std::atomic_ref<std::uint32_t>::is_always_lock_free);

class RingBase {
 protected:
  // `segment` must span at least layout.total_size bytes, aligned to 128 bytes.
  RingBase(std::span<std::uint8_t> segment, const Layout& layout, RingId ring);

  std::atomic_ref<std::uint64_t> head() const { return std::atomic_ref(control_->head); }
  std::atomic_ref<std::uint64_t> tail() const { return std::atomic_ref(control_->tail); }
  std::atomic_ref<std::uint32_t> producer_waiting() const {
    return std::atomic_ref(control_->producer_waiting);
  }
  std::atomic_ref<std::uint32_t> consumer_sleeping() const {
    return std::atomic_ref(control_->consumer_sleeping);
  }
  std::uint8_t* entry(std::uint64_t position) const {
    return entries_ + (position & mask_) * kDescriptorSize;
  }

  RingControl* control_;
  std::uint8_t* entries_;
  std::uint64_t capacity_;
  std::uint64_t mask_;
  bool corrupt_ = false;
};

}  // namespace detail

class RingProducer : detail::RingBase {
 public:
  RingProducer(std::span<std::uint8_t> segment, const Layout& layout, RingId ring)
      : RingBase(segment, layout, ring) {}

  // Copies `d` into the ring and publishes it: ok, full or corrupt.
  RingStatus try_push(const Descriptor& d);
  // After a push: true when the consumer announced it is going to sleep, so its
  // doorbell must be rung. Clears the announcement so a burst rings at most once.
  bool consumer_needs_wakeup();

  // Announces that this producer sleeps until space frees up; returns true (and
  // withdraws the announcement) when there is space already, so it must not sleep.
  bool prepare_wait_for_space();
  void cancel_wait_for_space();
  bool has_space();

  bool corrupt() const { return corrupt_; }
  std::uint64_t capacity() const { return capacity_; }
  // Entries published and not yet known to be consumed.
  std::uint64_t in_flight() const { return head_ - cached_tail_; }

 private:
  bool refresh_tail();

  std::uint64_t head_ = 0;
  std::uint64_t cached_tail_ = 0;
};

class RingConsumer : detail::RingBase {
 public:
  RingConsumer(std::span<std::uint8_t> segment, const Layout& layout, RingId ring)
      : RingBase(segment, layout, ring) {}

  // Copies the next entry into `out` and releases it: ok, empty or corrupt.
  RingStatus try_pop(Descriptor& out);
  // After a pop: true when the producer is waiting for space and must be woken.
  bool producer_needs_wakeup();

  // Announces that this consumer sleeps until entries arrive; returns true (and
  // withdraws the announcement) when entries are there already.
  bool prepare_sleep();
  void cancel_sleep();
  bool has_entries();

  bool corrupt() const { return corrupt_; }
  std::uint64_t capacity() const { return capacity_; }

 private:
  bool refresh_head();

  std::uint64_t tail_ = 0;
  std::uint64_t cached_head_ = 0;
};

}  // namespace smb::shmring
