// Per-session keys ([MS-SMB2] 3.2.5.3.1 client, 3.3.5.5.3 server; derivation 3.1.4.2).
#pragma once

#include <cstdint>
#include <span>

#include "smbd/crypto/algorithms.hh"
#include "smbd/base/bytes.hh"

namespace smb::crypto {

// The keys one side of a session uses, named from that side: `encrypt_key` protects what
// this side sends, `decrypt_key` opens what it receives. A server's encrypt_key is the
// client's decrypt_key and vice versa.
struct SessionKeys {
  Bytes session_key;      // Session.SessionKey: first 16 bytes of the GSS key, zero-padded
  Bytes signing_key;      // Session.SigningKey (16 bytes); 2.x: the session key itself
  Bytes encrypt_key;      // 16 or 32 bytes; empty for 2.x
  Bytes decrypt_key;      // 16 or 32 bytes; empty for 2.x
  Bytes application_key;  // Session.ApplicationKey; 2.x: the session key (3.3.4.5)
};

// Derives the keys of a session from the key the authentication exchange produced.
// `dialect` is the wire revision (kDialect202 ... kDialect311). `cipher` matters only for
// 3.1.1 (3.0 and 3.0.2 always use AES-128-CCM keys); `preauth_hash` is the 64-byte
// Session.PreauthIntegrityHashValue and is used only for 3.1.1.
// Throws std::invalid_argument for an unknown dialect or cipher, an empty GSS key, or a
// 3.1.1 preauth hash that is not 64 bytes.
SessionKeys derive_session_keys(std::uint16_t dialect, Role role, ByteSpan gss_session_key,
                                Cipher cipher = Cipher::AES_128_CCM, ByteSpan preauth_hash = {});

// Only the signing key: a channel bound to an existing session ([MS-SMB2] 3.3.5.5.3,
// Channel.SigningKey) derives it from the binding's own GSS key and preauth hash.
Bytes derive_signing_key(std::uint16_t dialect, ByteSpan gss_session_key,
                         ByteSpan preauth_hash = {});

}  // namespace smb::crypto
