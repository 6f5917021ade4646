#include "smbd/crypto/session_keys.hh"

#include <algorithm>
#include <cstddef>
#include <stdexcept>
#include <utility>

#include "smbd/crypto/kdf.hh"

namespace smb::crypto {

namespace {

constexpr std::size_t kSessionKeySize = 16;
constexpr std::size_t kPreauthHashSize = 64;

// MS-SMB2 passes every label and every 3.0 context to the KDF with its terminating NUL.
template <std::size_t N>
ByteSpan with_nul(const char (&text)[N]) {
  return ByteSpan(reinterpret_cast<const std::uint8_t*>(text), N);
}

bool is_2x(std::uint16_t d) { return d == kDialect202 || d == kDialect210; }
bool is_30x(std::uint16_t d) { return d == kDialect300 || d == kDialect302; }

// MS-SMB2 3.3.1.8 Session.SessionKey: the first 16 bytes of the GSS key, right-padded
// with zeros when the key is shorter.
Bytes first_16(ByteSpan gss_key) {
  Bytes key(kSessionKeySize, 0);
  std::copy_n(gss_key.begin(), std::min(gss_key.size(), kSessionKeySize), key.begin());
  return key;
}

void check_inputs(std::uint16_t dialect, ByteSpan gss_key, ByteSpan preauth_hash) {
  if (!is_2x(dialect) && !is_30x(dialect) && dialect != kDialect311) {
    throw std::invalid_argument("derive_session_keys: unknown dialect");
  }
  if (gss_key.empty()) throw std::invalid_argument("derive_session_keys: empty session key");
  if (dialect == kDialect311 && preauth_hash.size() != kPreauthHashSize) {
    throw std::invalid_argument("derive_session_keys: 3.1.1 needs the 64-byte preauth hash");
  }
}

Bytes signing_key_for(std::uint16_t dialect, const Bytes& session_key, ByteSpan preauth_hash) {
  // MS-SMB2 3.3.5.5.3: 2.x signs with Session.SessionKey directly.
  if (is_2x(dialect)) return session_key;
  if (is_30x(dialect)) {
    return smb3_kdf(session_key, with_nul("SMB2AESCMAC"), with_nul("SmbSign"), 16);
  }
  return smb3_kdf(session_key, with_nul("SMBSigningKey"), preauth_hash, 16);
}

}  // namespace

Bytes derive_signing_key(std::uint16_t dialect, ByteSpan gss_session_key, ByteSpan preauth_hash) {
  check_inputs(dialect, gss_session_key, preauth_hash);
  return signing_key_for(dialect, first_16(gss_session_key), preauth_hash);
}

SessionKeys derive_session_keys(std::uint16_t dialect, Role role, ByteSpan gss_session_key,
                                Cipher cipher, ByteSpan preauth_hash) {
  check_inputs(dialect, gss_session_key, preauth_hash);
  if (!is_known(cipher)) throw std::invalid_argument("derive_session_keys: unknown cipher");

  SessionKeys keys;
  keys.session_key = first_16(gss_session_key);
  keys.signing_key = signing_key_for(dialect, keys.session_key, preauth_hash);
  if (is_2x(dialect)) {
    keys.application_key = keys.session_key;
    return keys;
  }

  Bytes server_to_client;
  Bytes client_to_server;
  if (is_30x(dialect)) {
    // MS-SMB2 3.3.5.5.3 (3.0, 3.0.2): the cipher is always AES-128-CCM.
    server_to_client =
        smb3_kdf(keys.session_key, with_nul("SMB2AESCCM"), with_nul("ServerOut"), 16);
    client_to_server =
        smb3_kdf(keys.session_key, with_nul("SMB2AESCCM"), with_nul("ServerIn "), 16);
    keys.application_key = smb3_kdf(keys.session_key, with_nul("SMB2APP"), with_nul("SmbRpc"), 16);
  } else {
    // MS-SMB2 3.1.4.2 / 3.3.5.5.3 (3.1.1): the 256-bit ciphers derive from the full GSS key
    // with L = 256; everything else from Session.SessionKey with L = 128.
    const std::size_t size = cipher_key_size(cipher);
    const ByteSpan cipher_base = size == 32 ? gss_session_key : ByteSpan(keys.session_key);
    server_to_client = smb3_kdf(cipher_base, with_nul("SMBS2CCipherKey"), preauth_hash, size);
    client_to_server = smb3_kdf(cipher_base, with_nul("SMBC2SCipherKey"), preauth_hash, size);
    keys.application_key = smb3_kdf(keys.session_key, with_nul("SMBAppKey"), preauth_hash, 16);
  }
  if (role == Role::Server) {
    keys.encrypt_key = std::move(server_to_client);
    keys.decrypt_key = std::move(client_to_server);
  } else {
    keys.encrypt_key = std::move(client_to_server);
    keys.decrypt_key = std::move(server_to_client);
  }
  return keys;
}

}  // namespace smb::crypto
