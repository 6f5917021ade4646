// The SMB 3.1.1 preauthentication integrity hash ([MS-SMB2] 3.3.5.4, 3.3.5.5, 3.2.5.2).
//
// H starts as 64 zero bytes and every NEGOTIATE and SESSION_SETUP message is folded in as
// H = SHA-512(H || message). The value is a plain array, so copying the connection's hash
// into a new session's (Session.PreauthIntegrityHashValue) is an ordinary copy.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

#include "smbd/base/bytes.hh"

namespace smb::crypto {

class PreauthHash {
 public:
  static constexpr std::size_t kSize = 64;  // SHA-512, HashAlgorithm 0x0001
  using Value = std::array<std::uint8_t, kSize>;

  PreauthHash() = default;
  explicit PreauthHash(const Value& value) : value_(value) {}

  // Folds in one whole SMB2 message (from the SMB2 header, without the transport framing).
  void update(ByteSpan message);
  // The same for a message held in pieces: H = SHA-512(H || part0 || part1 || ...).
  void update(std::span<const ByteSpan> message_parts);

  const Value& value() const { return value_; }
  ByteSpan bytes() const { return value_; }

  friend bool operator==(const PreauthHash&, const PreauthHash&) = default;

 private:
  Value value_{};
};

}  // namespace smb::crypto
