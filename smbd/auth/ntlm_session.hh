// NTLMSSP session security with extended session security ([MS-NLMP] 3.4): signing and
// sealing keys (3.4.5.2, 3.4.5.3), MAC (3.4.4.2), SEAL (3.4.3). SPNEGO uses the MAC for
// mechListMIC ([MS-SPNG] 3.2.5.1); SMB itself signs with the exported session key instead.
#pragma once

#include <array>
#include <cstdint>
#include <optional>

#include "smbd/auth/crypto_primitives.hh"
#include "smbd/base/bytes.hh"

namespace smb::auth {

enum class NtlmRole { client, server };

// NTLMSSP_MESSAGE_SIGNATURE for extended session security ([MS-NLMP] 2.2.2.9.2).
using NtlmSignature = std::array<std::uint8_t, 16>;

class NtlmSessionSecurity {
 public:
  // Only extended session security is supported (NTLMv2 always negotiates it); returns
  // nothing when `negotiate_flags` lacks NTLMSSP_NEGOTIATE_EXTENDED_SESSIONSECURITY.
  static std::optional<NtlmSessionSecurity> create(const Digest16& exported_session_key,
                                                   std::uint32_t negotiate_flags, NtlmRole role);

  // MAC of an outgoing message with the next outgoing sequence number.
  NtlmSignature sign(ByteSpan message);
  // Checks the MAC of an incoming message against the next incoming sequence number.
  // The sequence number advances whether or not the check succeeds.
  bool verify(ByteSpan message, ByteSpan signature);
  // SEAL: encrypts `message` in place and returns its signature (3.4.3).
  NtlmSignature seal(MutableByteSpan message);
  // UNSEAL: decrypts `message` in place and checks its signature.
  bool unseal(MutableByteSpan message, ByteSpan signature);

  const Digest16& client_signing_key() const { return client_signing_key_; }
  const Digest16& server_signing_key() const { return server_signing_key_; }
  const Digest16& client_sealing_key() const { return client_sealing_key_; }
  const Digest16& server_sealing_key() const { return server_sealing_key_; }

 private:
  NtlmSessionSecurity(const Digest16& key, std::uint32_t flags, NtlmRole role);
  static NtlmSignature mac(Rc4& handle, const Digest16& signing_key, std::uint32_t seq,
                           ByteSpan message, bool key_exch);

  Digest16 client_signing_key_{};
  Digest16 server_signing_key_{};
  Digest16 client_sealing_key_{};
  Digest16 server_sealing_key_{};
  Rc4 client_handle_;
  Rc4 server_handle_;
  std::uint32_t client_seq_ = 0;
  std::uint32_t server_seq_ = 0;
  bool key_exch_ = false;
  NtlmRole role_;
};

}  // namespace smb::auth
