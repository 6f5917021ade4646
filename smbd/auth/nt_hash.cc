#include "smbd/auth/nt_hash.hh"

#include <algorithm>
#include <chrono>

namespace smb::auth {

std::array<std::uint8_t, 16> nt_hash(std::string_view password_utf8) {
  Bytes unicode = utf16le(password_utf8);
  return md4(unicode);
}

namespace {

std::uint16_t upcase_unit(std::uint16_t c) {
  if (c >= 'a' && c <= 'z') return static_cast<std::uint16_t>(c - 0x20);
  if (c < 0x80) return c;
  // Latin-1 Supplement: U+00E0..U+00FE except U+00F7 (division sign); U+00FF -> U+0178.
  if (c >= 0xE0 && c <= 0xFE && c != 0xF7) return static_cast<std::uint16_t>(c - 0x20);
  if (c == 0xFF) return 0x178;
  // Latin Extended-A pairs odd lowercase with the preceding even uppercase.
  if ((c >= 0x100 && c <= 0x137) || (c >= 0x14A && c <= 0x177)) {
    return (c & 1) ? static_cast<std::uint16_t>(c - 1) : c;
  }
  if ((c >= 0x139 && c <= 0x148) || (c >= 0x179 && c <= 0x17E)) {
    return (c & 1) ? c : static_cast<std::uint16_t>(c - 1);
  }
  // Greek small alpha..omega (without final sigma), Cyrillic small letters.
  if (c >= 0x3B1 && c <= 0x3C9 && c != 0x3C2) return static_cast<std::uint16_t>(c - 0x20);
  if (c >= 0x430 && c <= 0x44F) return static_cast<std::uint16_t>(c - 0x20);
  if (c >= 0x450 && c <= 0x45F) return static_cast<std::uint16_t>(c - 0x50);
  return c;
}

}  // namespace

Bytes uppercase_utf16le(ByteSpan utf16le) {
  Bytes out(utf16le.begin(), utf16le.end());
  for (std::size_t k = 0; k + 1 < out.size(); k += 2) {
    store_le16(&out[k], upcase_unit(load_le16(&out[k])));
  }
  return out;
}

Digest16 ntowf_v2(const Digest16& nt_hash_value, ByteSpan user_utf16le, ByteSpan domain_utf16le) {
  Bytes user_upper = uppercase_utf16le(user_utf16le);
  return hmac_md5(nt_hash_value, {user_upper, domain_utf16le});
}

Digest16 ntlmv2_proof(const Digest16& response_key_nt, ByteSpan server_challenge, ByteSpan temp) {
  return hmac_md5(response_key_nt, {server_challenge, temp});
}

Digest16 ntlmv2_session_base_key(const Digest16& response_key_nt, const Digest16& nt_proof) {
  return hmac_md5(response_key_nt, {nt_proof});
}

Bytes lmv2_response(const Digest16& response_key_lm, ByteSpan server_challenge,
                    ByteSpan client_challenge) {
  Digest16 mac = hmac_md5(response_key_lm, {server_challenge, client_challenge});
  // ChallengeFromClient is 8 bytes (2.2.2.4).
  std::array<std::uint8_t, 24> out{};
  std::copy(mac.begin(), mac.end(), out.begin());
  std::copy_n(client_challenge.begin(), std::min<std::size_t>(8, client_challenge.size()),
              out.begin() + 16);
  return Bytes(out.begin(), out.end());
}

std::uint64_t filetime_now() {
  using namespace std::chrono;
  // 11644473600 s separate 1601-01-01 from the Unix epoch.
  auto since_unix = duration_cast<nanoseconds>(system_clock::now().time_since_epoch()).count();
  return static_cast<std::uint64_t>(since_unix / 100) + 116444736000000000ull;
}

}  // namespace smb::auth
