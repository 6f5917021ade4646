// Key derivation for SMB 3.x ([MS-SMB2] 3.1.4.2): NIST SP800-108 KDF in counter mode
// with HMAC-SHA256 as the PRF and a 32-bit counter (r = 32).
#pragma once

#include <cstddef>

#include "smbd/base/bytes.hh"

namespace smb::crypto {

// SP800-108 5.1: K(i) = HMAC-SHA256(key, [i]_32 || fixed_input) for i = 1, 2, ...; the
// result is the first `out_bytes` bytes of K(1) || K(2) || ... The counter is big-endian
// and precedes the fixed input (the CAVP "BEFORE_FIXED, RLEN=32_BITS" layout).
Bytes kdf_counter_hmac_sha256(ByteSpan key, ByteSpan fixed_input, std::size_t out_bytes);

// The SMB 3.x form: fixed input = Label || 0x00 || Context || [L]_32 with L = 8 * out_bytes
// bits, big-endian. MS-SMB2 passes labels and 3.0 contexts with their terminating NUL
// ("SMB2AESCMAC\0"), so the caller includes it in `label` / `context`.
Bytes smb3_kdf(ByteSpan key, ByteSpan label, ByteSpan context, std::size_t out_bytes);

}  // namespace smb::crypto
