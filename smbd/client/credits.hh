// Credit accounting and message-id allocation of an SMB2 client ([MS-SMB2] 3.2.4.1.5,
// 3.2.5.1.4; multi-credit requests 3.1.5.2). Pure bookkeeping, no I/O.
#pragma once

#include <cstdint>

namespace smb::client {

// What the client holds: `available` credits it may spend now, `in_flight` credits spent
// on requests whose final response has not arrived, and `pending_extra` credits asked for
// beyond the charge of those requests. Message ids are handed out in order, one per
// credit charged ([MS-SMB2] 3.2.4.1.5: a multi-credit request consumes CreditCharge ids).
class CreditWindow {
 public:
  // MS-SMB2 3.1.5.2: the charge of a request moving `send_bytes` and `recv_bytes` when
  // the connection supports multi-credit requests: 1 + (max(send, recv) - 1) / 65536.
  static std::uint16_t charge_for(std::uint64_t send_bytes, std::uint64_t recv_bytes);

  // `target`: how many credits the client tries to hold; `initial`: credits held before
  // the first response (1: the NEGOTIATE, [MS-SMB2] 3.2.4.2.2).
  explicit CreditWindow(std::uint32_t target = 512, std::uint32_t initial = 1)
      : target_(target), available_(initial) {}

  struct Spend {
    std::uint64_t message_id = 0;  // first id; the request uses [id, id + charge)
    std::uint16_t credit_request = 0;
    std::uint16_t extra = 0;  // credits asked beyond the charge
  };

  // A request of charge `charge` (0 is counted as 1, [MS-SMB2] 3.2.4.1.5) can go now.
  bool can_spend(std::uint16_t charge) const { return available_ >= effective(charge); }
  // Spends the credits; the caller checked can_spend().
  Spend spend(std::uint16_t charge);
  // A response granted `granted` credits. `final` is false for an interim (STATUS_PENDING)
  // response, whose grant counts but which leaves the request outstanding (3.2.5.1.4).
  void on_response(std::uint16_t granted, std::uint16_t charge, std::uint16_t extra, bool final);

  std::uint32_t available() const { return available_; }
  std::uint32_t in_flight() const { return in_flight_; }
  std::uint32_t target() const { return target_; }
  std::uint64_t next_message_id() const { return next_id_; }
  void set_target(std::uint32_t target) { target_ = target; }

 private:
  static std::uint32_t effective(std::uint16_t charge) { return charge == 0 ? 1u : charge; }

  std::uint32_t target_;
  std::uint32_t available_;
  std::uint32_t in_flight_ = 0;
  std::uint32_t pending_extra_ = 0;
  std::uint64_t next_id_ = 0;
};

}  // namespace smb::client
