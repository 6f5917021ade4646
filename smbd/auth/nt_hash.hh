// NT password hashes and the NTLMv2 response computation ([MS-NLMP] 3.3.1, 3.3.2).
#pragma once

#include <array>
#include <cstdint>
#include <string_view>

#include "smbd/auth/crypto_primitives.hh"
#include "smbd/base/bytes.hh"

namespace smb::auth {

// NTOWFv1: MD4 of the UTF-16LE password ([MS-NLMP] 3.3.1). This is the value an
// smbpasswd file stores.
std::array<std::uint8_t, 16> nt_hash(std::string_view password_utf8);

// Uppercases UTF-16LE text code unit by code unit (ASCII, Latin-1, Latin Extended-A,
// Greek and Cyrillic), which covers the Uppercase() of [MS-NLMP] 3.3.2 for user names.
Bytes uppercase_utf16le(ByteSpan utf16le);

// NTOWFv2 ([MS-NLMP] 3.3.2): HMAC_MD5(NT hash, UNICODE(Uppercase(User) || UserDom)), with
// user and domain given as UTF-16LE exactly as carried in the AUTHENTICATE_MESSAGE.
Digest16 ntowf_v2(const Digest16& nt_hash_value, ByteSpan user_utf16le, ByteSpan domain_utf16le);

// NTProofStr = HMAC_MD5(ResponseKeyNT, ServerChallenge || temp) ([MS-NLMP] 3.3.2), where
// `temp` is the NTLMv2_CLIENT_CHALLENGE (everything after the first 16 response bytes).
Digest16 ntlmv2_proof(const Digest16& response_key_nt, ByteSpan server_challenge, ByteSpan temp);

// SessionBaseKey = HMAC_MD5(ResponseKeyNT, NTProofStr) ([MS-NLMP] 3.3.2).
Digest16 ntlmv2_session_base_key(const Digest16& response_key_nt, const Digest16& nt_proof);

// LMv2 response: HMAC_MD5(ResponseKeyLM, ServerChallenge || ClientChallenge) ||
// ClientChallenge, 24 bytes ([MS-NLMP] 3.3.2).
Bytes lmv2_response(const Digest16& response_key_lm, ByteSpan server_challenge,
                    ByteSpan client_challenge);

// FILETIME now: 100 ns ticks since 1601-01-01 UTC ([MS-DTYP] 2.3.3).
std::uint64_t filetime_now();

}  // namespace smb::auth
