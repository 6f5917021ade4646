// Algorithm identifiers shared by signing, encryption and key derivation, with the wire
// values of the SMB 3.1.1 negotiate contexts.
#pragma once

#include <cstddef>
#include <cstdint>

namespace smb::crypto {

// Dialect revisions as they appear on the wire ([MS-SMB2] 2.2.3).
inline constexpr std::uint16_t kDialect202 = 0x0202;
inline constexpr std::uint16_t kDialect210 = 0x0210;
inline constexpr std::uint16_t kDialect300 = 0x0300;
inline constexpr std::uint16_t kDialect302 = 0x0302;
inline constexpr std::uint16_t kDialect311 = 0x0311;

// The side of the connection this process plays; it decides which derived cipher key
// encrypts and which decrypts, and the direction bit of the AES-GMAC nonce.
enum class Role { Server, Client };

// SigningAlgorithms of SMB2_SIGNING_CAPABILITIES ([MS-SMB2] 2.2.3.1.7).
enum class SigningAlgorithm : std::uint16_t {
  HMAC_SHA256 = 0x0000,
  AES_CMAC = 0x0001,
  AES_GMAC = 0x0002,
};

// Ciphers of SMB2_ENCRYPTION_CAPABILITIES ([MS-SMB2] 2.2.3.1.2).
enum class Cipher : std::uint16_t {
  AES_128_CCM = 0x0001,
  AES_128_GCM = 0x0002,
  AES_256_CCM = 0x0003,
  AES_256_GCM = 0x0004,
};

constexpr bool is_known(Cipher c) {
  return c == Cipher::AES_128_CCM || c == Cipher::AES_128_GCM || c == Cipher::AES_256_CCM ||
         c == Cipher::AES_256_GCM;
}
constexpr bool is_gcm(Cipher c) { return c == Cipher::AES_128_GCM || c == Cipher::AES_256_GCM; }
constexpr std::size_t cipher_key_size(Cipher c) {
  return (c == Cipher::AES_256_CCM || c == Cipher::AES_256_GCM) ? 32 : 16;
}
// [MS-SMB2] 2.2.41: AES_CCM_Nonce is 11 bytes, AES_GCM_Nonce 12; the rest of the 16-byte
// Nonce field is reserved.
constexpr std::size_t cipher_nonce_size(Cipher c) { return is_gcm(c) ? 12 : 11; }

}  // namespace smb::crypto
