#include "smbd/worker/credits.hh"

#include <algorithm>

namespace smb::server {

bool credit_charge_covers(std::uint16_t dialect, std::uint16_t credit_charge,
                          std::uint64_t payload) {
  constexpr std::uint64_t kCreditSize = 65536;
  if (dialect == 0x0202) return payload <= kCreditSize;
  std::uint64_t needed = payload == 0 ? 1 : (payload - 1) / kCreditSize + 1;
  std::uint64_t charge = credit_charge == 0 ? 1 : credit_charge;
  return charge >= needed;
}

bool CreditWindow::consume(std::uint64_t message_id, std::uint16_t charge) {
  std::uint64_t count = charge == 0 ? 1 : charge;
  if (message_id < low_ || message_id >= next_ || count > next_ - message_id) return false;
  std::uint64_t first = message_id - low_;
  for (std::uint64_t i = 0; i < count; ++i)
    if (!available_[first + i]) return false;
  for (std::uint64_t i = 0; i < count; ++i) available_[first + i] = false;
  outstanding_ -= static_cast<std::uint32_t>(count);
  trim();
  return true;
}

std::uint16_t CreditWindow::grant(std::uint16_t requested) {
  std::uint32_t room = max_credits_ > outstanding_ ? max_credits_ - outstanding_ : 0;
  std::uint32_t want = std::max<std::uint32_t>(requested, outstanding_ == 0 ? 1 : 0);
  auto granted = static_cast<std::uint16_t>(std::min<std::uint32_t>(want, room));
  if (granted == 0 && outstanding_ == 0) granted = 1;  // never leave the client with none
  available_.insert(available_.end(), granted, true);
  next_ += granted;
  outstanding_ += granted;
  return granted;
}

void CreditWindow::trim() {
  while (!available_.empty() && !available_.front()) {
    available_.pop_front();
    ++low_;
  }
  // A client that never uses a low id must not make the window grow without bound:
  // ids far behind the newest are given up.
  std::size_t limit = static_cast<std::size_t>(max_credits_) * 4 + 64;
  while (available_.size() > limit) {
    if (available_.front()) --outstanding_;
    available_.pop_front();
    ++low_;
  }
}

}  // namespace smb::server
