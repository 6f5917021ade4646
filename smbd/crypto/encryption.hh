// SMB 3.x encryption: the SMB2 TRANSFORM_HEADER ([MS-SMB2] 2.2.41) and authenticated
// encryption of whole SMB2 messages with AES-CCM or AES-GCM ([MS-SMB2] 3.1.4.3 sending,
// 3.3.5.2.1.1 / 3.2.5.1.1.1 receiving; [RFC4309], [RFC5084], NIST SP800-38C/38D).
//
// On the wire: TRANSFORM_HEADER (52 bytes) || ciphertext, where the ciphertext is the SMB2
// message encrypted with the session's key, the 16-byte tag goes into the header's
// Signature field, and the authenticated additional data are the 32 header bytes from
// Nonce to the end (ProtocolId and Signature excluded).
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>

#include "smbd/base/bytes.hh"
#include "smbd/base/ntstatus.hh"
#include "smbd/crypto/algorithms.hh"
#include "smbd/crypto/context_pool.hh"

namespace smb::crypto {

inline constexpr std::size_t kTransformHeaderSize = 52;
inline constexpr std::size_t kTransformAadOffset = 20;  // Nonce .. SessionId
inline constexpr std::size_t kTransformAadSize = 32;
inline constexpr std::uint32_t kTransformProtocolId = 0x424D53FD;  // 0xFD 'S' 'M' 'B'
inline constexpr std::uint16_t kTransformFlagEncrypted = 0x0001;

using TransformNonce = std::array<std::uint8_t, 16>;
using TransformHeaderBytes = std::span<std::uint8_t, kTransformHeaderSize>;

struct TransformHeader {
  std::array<std::uint8_t, 16> signature{};
  TransformNonce nonce{};  // 11 bytes used for CCM, 12 for GCM; all 16 are authenticated
  std::uint32_t original_message_size = 0;
  std::uint16_t flags = kTransformFlagEncrypted;  // Flags/EncryptionAlgorithm
  std::uint64_t session_id = 0;
};

// Reads the 52-byte header at the start of `message` (bounded; Reserved is ignored).
// INVALID_PARAMETER when the message is shorter or the ProtocolId is not 0xFD 'S' 'M' 'B'.
NtStatus decode(ByteSpan message, TransformHeader& out);
void encode(const TransformHeader& header, TransformHeaderBytes out);

// The SessionId of a transform message, to pick the decryption key before decrypting;
// nullopt when the message is too short for a transform header or is not one.
std::optional<std::uint64_t> transform_session_id(ByteSpan message);

// Encrypts messages under one key. Nonces are a random fixed field (3 bytes for CCM, 4
// for GCM) followed by a 64-bit counter that starts at a random value: one Encryptor never
// repeats a nonce, and several Encryptors holding the same session key (one per channel)
// draw from independent random starting points. Safe for concurrent use: the counter is
// taken atomically, so messages encrypted at once on several threads still get distinct
// nonces (MS-SMB2 3.1.4.3 asks only that a nonce is never reused under a key, not that
// nonces go out in order), and each thread works in its own OpenSSL context.
class Encryptor {
 public:
  // Throws std::invalid_argument when the key length does not fit the cipher.
  Encryptor(Cipher cipher, ByteSpan key);
  ~Encryptor();
  Encryptor(const Encryptor&) = delete;
  Encryptor& operator=(const Encryptor&) = delete;

  Cipher cipher() const { return cipher_; }

  // Returns TRANSFORM_HEADER || ciphertext of the message made of `plaintext_parts`.
  Bytes encrypt(std::uint64_t session_id, std::span<const ByteSpan> plaintext_parts);

  // Zero-copy form for large messages: every part is encrypted where it lies and the
  // transform header is written to `header`; the wire message is `header` followed by the
  // parts in order (one writev). GCM works part by part; CCM, which OpenSSL can only
  // process in one piece, gathers several parts through an internal buffer kept between
  // calls. Throws std::length_error above 2^31 - 1 bytes.
  void encrypt_in_place(std::uint64_t session_id, std::span<const MutableByteSpan> parts,
                        TransformHeaderBytes header);

  // As encrypt_in_place with a Nonce field chosen by the caller, who then guarantees it
  // is never used twice with this key (known-answer tests, externally managed nonces).
  void encrypt_in_place_with_nonce(const TransformNonce& nonce, std::uint64_t session_id,
                                   std::span<const MutableByteSpan> parts,
                                   TransformHeaderBytes header);

 private:
  struct Context;  // one thread's OpenSSL state under the key (encryption.cc)
  TransformNonce next_nonce();

  Cipher cipher_;
  Bytes key_;  // wiped when the encryptor goes
  detail::ContextPool<Context> contexts_;
  std::array<std::uint8_t, 4> fixed_{};
  std::uint64_t counter_first_ = 0;
  std::atomic<std::uint64_t> issued_{0};  // nonces handed out so far
};

// Decrypts transform messages under one key. Safe for concurrent use, as Encryptor.
class Decryptor {
 public:
  // Throws std::invalid_argument when the key length does not fit the cipher.
  Decryptor(Cipher cipher, ByteSpan key);
  ~Decryptor();
  Decryptor(const Decryptor&) = delete;
  Decryptor& operator=(const Decryptor&) = delete;

  Cipher cipher() const { return cipher_; }

  // `transform_message` is one whole transform message (header and ciphertext, nothing
  // after). On success `plaintext` holds the SMB2 message. INVALID_PARAMETER for a short
  // or malformed header, Flags other than Encrypted, or an OriginalMessageSize that is
  // below an SMB2 header or differs from the ciphertext length ([MS-SMB2] 3.3.5.2.1.1);
  // ACCESS_DENIED when authentication fails. On failure `plaintext` is empty.
  NtStatus decrypt(ByteSpan transform_message, Bytes& plaintext);

  // The same, decrypting over the ciphertext: on success `plaintext` views the message
  // inside `transform_message` (from offset 52). On failure the ciphertext area is wiped
  // if it may hold unauthenticated output, and `plaintext` is empty.
  NtStatus decrypt_in_place(MutableByteSpan transform_message, MutableByteSpan& plaintext);

 private:
  struct Context;
  NtStatus check_header(ByteSpan message, TransformHeader& header) const;
  bool open(ByteSpan message, const TransformHeader& header, std::uint8_t* out);

  Cipher cipher_;
  Bytes key_;
  detail::ContextPool<Context> contexts_;
};

}  // namespace smb::crypto
