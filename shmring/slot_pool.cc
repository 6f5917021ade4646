#include "shmring/slot_pool.hh"

namespace smb::shmring {

SlotPool::SlotPool(std::uint32_t slot_count) : in_use_(slot_count, false) {
  free_.reserve(slot_count);
  // Reversed so that acquire() hands out slot 0 first.
  for (std::uint32_t i = slot_count; i > 0; --i) free_.push_back(i - 1);
}

std::optional<std::uint32_t> SlotPool::acquire() {
  if (free_.empty()) return std::nullopt;
  const std::uint32_t slot = free_.back();
  free_.pop_back();
  in_use_[slot] = true;
  return slot;
}

bool SlotPool::release(std::uint32_t slot) {
  if (!in_use(slot)) return false;
  in_use_[slot] = false;
  free_.push_back(slot);
  return true;
}

}  // namespace smb::shmring
