// The hash and cipher primitives NTLM is built on ([MS-NLMP] 6, "Cryptographic
// operations reference"). MD4 (RFC 1320) and RC4 are implemented here because OpenSSL 3
// keeps them only in its legacy provider; MD5 and HMAC-MD5 come from OpenSSL EVP.
#pragma once

#include <array>
#include <cstdint>
#include <initializer_list>

#include "smbd/base/bytes.hh"

namespace smb::auth {

using Digest16 = std::array<std::uint8_t, 16>;

// MD4 message digest (RFC 1320).
Digest16 md4(ByteSpan data);

// MD5 (RFC 1321) over the concatenation of `parts`.
Digest16 md5(std::initializer_list<ByteSpan> parts);

// HMAC-MD5 (RFC 2104) keyed with `key` over the concatenation of `parts`.
Digest16 hmac_md5(ByteSpan key, std::initializer_list<ByteSpan> parts);

// RC4 keystream state ([MS-NLMP] 6: RC4Init / RC4). The state carries over between
// calls to apply(), as the NTLM sealing handle does ([MS-NLMP] 3.4.3).
class Rc4 {
 public:
  explicit Rc4(ByteSpan key);
  // XORs `data` in place with the next data.size() keystream bytes.
  void apply(MutableByteSpan data);

 private:
  std::array<std::uint8_t, 256> s_{};
  std::uint8_t i_ = 0;
  std::uint8_t j_ = 0;
};

// One-shot RC4 of `data` under `key` (RC4K in [MS-NLMP] 6).
Bytes rc4(ByteSpan key, ByteSpan data);

// Constant-time equality of two equally long byte strings (false when sizes differ).
bool equal_constant_time(ByteSpan a, ByteSpan b);

// Fills `out` from the OpenSSL CSPRNG; aborts the process if the generator fails, as no
// authentication may proceed with a predictable challenge or session key.
void random_bytes(MutableByteSpan out);

}  // namespace smb::auth
