// The command sequence window of a connection (MS-SMB2 3.3.1.1, 3.3.5.2.3): which
// MessageIds the client may use, and how many credits to grant.
#pragma once

#include <cstdint>
#include <deque>

namespace smb::server {

// MS-SMB2 3.1.5.2, 3.3.5.2.5: whether `credit_charge` pays for a request that moves
// `payload` bytes (the larger of what it sends and the most it can get back): one credit
// per 64 KiB, a charge of 0 counting as 1. Without multi-credit support (dialect 2.0.2)
// the charge is not looked at and a request moves at most 64 KiB.
bool credit_charge_covers(std::uint16_t dialect, std::uint16_t credit_charge,
                          std::uint64_t payload);

class CreditWindow {
 public:
  explicit CreditWindow(std::uint32_t max_credits) : max_credits_(max_credits) {}

  // Consumes [message_id, message_id + charge); false if any id is not available.
  bool consume(std::uint64_t message_id, std::uint16_t charge);
  // Grants up to `requested` new credits (at least one while none is left) and returns
  // how many were granted.
  std::uint16_t grant(std::uint16_t requested);
  std::uint32_t outstanding() const { return outstanding_; }

 private:
  void trim();
  std::uint32_t max_credits_;
  std::uint64_t low_ = 0;    // the lowest id the window still tracks
  std::uint64_t next_ = 1;   // one past the highest id granted; id 0 is the first credit
  std::deque<bool> available_{true};  // available_[i] tells about id low_ + i
  std::uint32_t outstanding_ = 1;     // granted and not yet used
};

}  // namespace smb::server
