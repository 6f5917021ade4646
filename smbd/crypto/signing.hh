// SMB2 message signing ([MS-SMB2] 3.1.4.1 signing, 3.1.5.1 verification).
//
// HMAC-SHA256 (2.0.2, 2.1: key = Session.SessionKey, signature = first 16 bytes of the
// MAC), AES-128-CMAC (3.x, [RFC4493]) and AES-128-GMAC (3.1.1 with the signing
// capabilities context, [RFC4543]). The signature covers the whole message from the SMB2
// header on, with the 16-byte Signature field (header offset 48) taken as zero.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>

#include "smbd/base/bytes.hh"
#include "smbd/crypto/algorithms.hh"
#include "smbd/crypto/context_pool.hh"

namespace smb::crypto {

inline constexpr std::size_t kSignatureSize = 16;
inline constexpr std::size_t kSmb2HeaderSize = 64;
inline constexpr std::size_t kSignatureOffset = 48;  // [MS-SMB2] 2.2.1 Signature
inline constexpr std::uint32_t kSmb2FlagsServerToRedir = 0x00000001;
inline constexpr std::uint32_t kSmb2FlagsSigned = 0x00000008;

// The 12-byte AES-GMAC nonce of [MS-SMB2] 3.1.4.1: MessageId (8 bytes, little-endian),
// then a 32-bit little-endian word whose bit 0 is set for a message sent by the server and
// bit 1 for an SMB2 CANCEL request; the other 30 bits are zero. Taken from the header:
// bit 0 from SMB2_FLAGS_SERVER_TO_REDIR, bit 1 when Command is CANCEL (0x000C) and the
// message is a request. `header` must hold at least the 64-byte SMB2 header.
std::array<std::uint8_t, 12> gmac_nonce(ByteSpan header);

// One signing key with its OpenSSL state, set up once: signing or verifying a message
// reuses a prepared key schedule and allocates nothing. Safe for concurrent use: each
// thread signing at the same time works in its own OpenSSL context (context_pool.hh), so
// the loop and pool threads may sign and verify with one key at once.
class Signer {
 public:
  // AES_CMAC and AES_GMAC need a 16-byte key; HMAC_SHA256 any non-empty key.
  // Throws std::invalid_argument for a bad key or algorithm.
  Signer(SigningAlgorithm algorithm, ByteSpan key);
  ~Signer();
  Signer(const Signer&) = delete;
  Signer& operator=(const Signer&) = delete;

  SigningAlgorithm algorithm() const { return algorithm_; }

  // `parts` are the pieces of one SMB2 message in order: the first starts with the 64-byte
  // header (and usually holds the body); further parts (a data payload, compound padding)
  // follow. The Signature field is read as zero whatever it holds. Throws
  // std::invalid_argument if the first part is shorter than the header.
  void sign(std::span<const ByteSpan> parts, std::span<std::uint8_t, kSignatureSize> signature);

  // Recomputes the signature and compares it in constant time with the one in the header.
  // A first part shorter than a header is simply not valid.
  bool verify(std::span<const ByteSpan> parts);

  // Sets SMB2_FLAGS_SIGNED in the header and writes the signature into it.
  // Throws std::invalid_argument if `message` is shorter than the header.
  void sign_message(MutableByteSpan message);
  bool verify_message(ByteSpan message);

  // The bare MAC of `data` (no SMB2 header rules): HMAC-SHA256 truncated to 16 bytes,
  // AES-CMAC, or AES-GMAC with the given 12-byte nonce (ignored by the other two).
  void mac(std::span<const ByteSpan> data, std::span<const std::uint8_t, 12> gmac_nonce,
           std::span<std::uint8_t, kSignatureSize> out);

 private:
  struct Context;  // the OpenSSL state of one MAC computation (signing.cc)
  std::unique_ptr<Context> new_context() const;
  void compute(std::span<const ByteSpan> parts, std::span<std::uint8_t, kSignatureSize> out);

  SigningAlgorithm algorithm_;
  Bytes key_;  // wiped when the signer goes
  detail::ContextPool<Context> contexts_;
};

}  // namespace smb::crypto
