// Helpers for the codec tests: round trips through whole messages, and the standard
// malformed-input checks every decoder is put through.
#pragma once

#include <doctest/doctest.h>

#include <cstdint>
#include <random>
#include <string_view>

#include "smbd/proto/header.hh"

namespace smb::test {

inline Bytes hex(std::string_view text) {
  Bytes out;
  int high = -1;
  for (char c : text) {
    int v;
    if (c >= '0' && c <= '9')
      v = c - '0';
    else if (c >= 'a' && c <= 'f')
      v = c - 'a' + 10;
    else if (c >= 'A' && c <= 'F')
      v = c - 'A' + 10;
    else
      continue;
    if (high < 0) {
      high = v;
    } else {
      out.push_back(static_cast<std::uint8_t>(high << 4 | v));
      high = -1;
    }
  }
  return out;
}

inline Header request_header(Command command) {
  Header h;
  h.command = command;
  h.message_id = 7;
  h.session_id = 0x1122334455667788ull;
  h.tree_id = 5;
  return h;
}

template <typename T>
Bytes message(const T& body, Command command = Command::NEGOTIATE) {
  return encode_message(request_header(command), body);
}

template <typename T>
T round_trip(const T& in) {
  Bytes m = message(in);
  T out;
  REQUIRE(decode(ByteSpan(m), out) == NtStatus::SUCCESS);
  return out;
}

// Decodes every prefix of `m` from an exact-size heap copy (so that a read past the end
// is seen by AddressSanitizer). Prefixes that do not hold the fixed part must fail; a
// longer prefix that still decodes must only have lost trailing padding, so it decodes
// to `expected`.
template <typename T>
void check_truncations(const Bytes& m, const T& expected, std::size_t fixed_end) {
  for (std::size_t n = 0; n < m.size(); ++n) {
    Bytes prefix(m.begin(), m.begin() + static_cast<std::ptrdiff_t>(n));
    T out;
    NtStatus s = decode(ByteSpan(prefix), out);
    if (n < fixed_end) {
      CHECK_MESSAGE(s != NtStatus::SUCCESS, "prefix of ", n, " bytes decoded");
    } else if (s == NtStatus::SUCCESS) {
      CHECK_MESSAGE(out == expected, "prefix of ", n, " bytes decoded differently");
    }
  }
}

// MS-SMB2 3.3.5.2.6: any other StructureSize is STATUS_INVALID_PARAMETER.
template <typename T>
void check_structure_size(Bytes m) {
  REQUIRE(m.size() >= kSmb2HeaderSize + 2);
  for (int delta : {1, -1, 0x100}) {
    Bytes copy = m;
    store_le16(&copy[kSmb2HeaderSize],
               static_cast<std::uint16_t>(load_le16(&m[kSmb2HeaderSize]) + delta));
    T out;
    CHECK(decode(ByteSpan(copy), out) == NtStatus::INVALID_PARAMETER);
  }
}

// Random byte changes in the body: the decoder may accept or refuse, never crash or read
// outside (checked under AddressSanitizer).
template <typename T>
void mutate(const Bytes& m, unsigned seed, int rounds = 400) {
  std::mt19937 rng(seed);
  if (m.size() <= kSmb2HeaderSize) return;
  for (int i = 0; i < rounds; ++i) {
    Bytes copy = m;
    int edits = 1 + static_cast<int>(rng() % 4);
    for (int e = 0; e < edits; ++e) {
      std::size_t at = kSmb2HeaderSize + 2 + rng() % (copy.size() - kSmb2HeaderSize - 2 + 1);
      if (at >= copy.size()) continue;
      switch (rng() % 3) {
        case 0:
          copy[at] = static_cast<std::uint8_t>(rng());
          break;
        case 1:
          copy[at] = 0xFF;
          break;
        default:
          copy[at] ^= static_cast<std::uint8_t>(1u << (rng() % 8));
          break;
      }
    }
    if (rng() % 4 == 0) copy.resize(copy.size() - rng() % (copy.size() - kSmb2HeaderSize));
    T out;
    (void)decode(ByteSpan(copy), out);
  }
}

// All three checks on the message of `body`.
template <typename T>
void check_malformed(const T& body, std::size_t fixed_size) {
  Bytes m = message(body);
  check_truncations(m, body, kSmb2HeaderSize + fixed_size);
  check_structure_size<T>(m);
  mutate<T>(m, static_cast<unsigned>(m.size()));
}

}  // namespace smb::test
