#include "smbd/client/credits.hh"

#include <algorithm>

namespace smb::client {

std::uint16_t CreditWindow::charge_for(std::uint64_t send_bytes, std::uint64_t recv_bytes) {
  std::uint64_t payload = std::max(send_bytes, recv_bytes);
  if (payload == 0) return 1;
  std::uint64_t charge = 1 + (payload - 1) / 65536;
  return static_cast<std::uint16_t>(std::min<std::uint64_t>(charge, 0xFFFF));
}

CreditWindow::Spend CreditWindow::spend(std::uint16_t charge) {
  std::uint32_t n = effective(charge);
  Spend s;
  s.message_id = next_id_;
  next_id_ += n;
  available_ -= std::min(available_, n);
  in_flight_ += n;
  // Ask for the charge back plus enough to approach the target, counting what earlier
  // requests have asked for already so that a deep queue does not overshoot.
  std::uint32_t held = available_ + in_flight_ + pending_extra_;
  std::uint32_t want = held < target_ ? target_ - held : 0;
  std::uint32_t request = std::min<std::uint32_t>(n + want, 0xFFFF);
  s.extra = static_cast<std::uint16_t>(request - n);
  s.credit_request = static_cast<std::uint16_t>(request);
  pending_extra_ += s.extra;
  return s;
}

void CreditWindow::on_response(std::uint16_t granted, std::uint16_t charge, std::uint16_t extra,
                               bool final) {
  available_ += granted;
  if (!final) return;
  std::uint32_t n = effective(charge);
  in_flight_ -= std::min(in_flight_, n);
  pending_extra_ -= std::min<std::uint32_t>(pending_extra_, extra);
}

}  // namespace smb::client
