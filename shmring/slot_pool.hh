// Allocator for the segment's data slots, used by exactly one side. Its free list lives
// in that process's private memory, so the peer can neither corrupt it nor see it; the
// peer only ever sees slot indices, and an index handed back by the peer is accepted
// only if it is in range and currently allocated.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

namespace smb::shmring {

class SlotPool {
 public:
  explicit SlotPool(std::uint32_t slot_count);

  // A free slot, or nullopt when all are in use.
  std::optional<std::uint32_t> acquire();
  // Returns `slot` to the pool; false (and no change) when it is out of range or free.
  bool release(std::uint32_t slot);

  bool in_use(std::uint32_t slot) const { return slot < in_use_.size() && in_use_[slot]; }
  std::uint32_t available() const { return static_cast<std::uint32_t>(free_.size()); }
  std::uint32_t size() const { return static_cast<std::uint32_t>(in_use_.size()); }

 private:
  std::vector<std::uint32_t> free_;  // LIFO: the most recently used slot is cache-warm
  std::vector<bool> in_use_;
};

}  // namespace smb::shmring
