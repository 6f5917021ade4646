// The NTLM initiator ([MS-NLMP] 3.1.5): NEGOTIATE_MESSAGE, then from the server's
// CHALLENGE_MESSAGE an NTLMv2 AUTHENTICATE_MESSAGE with key exchange and a MIC.
#pragma once

#include <optional>
#include <string>

#include "smbd/auth/auth_types.hh"
#include "smbd/auth/crypto_primitives.hh"
#include "smbd/auth/ntlm_session.hh"
#include "smbd/base/bytes.hh"

namespace smb::auth {

// Who the client authenticates as. When nt_hash is set it is used instead of password.
// An empty user with no password and no hash authenticates anonymously.
struct ClientCredentials {
  std::string user;
  std::string domain;
  std::string password;
  std::optional<std::array<std::uint8_t, 16>> nt_hash;
  std::string workstation;

  bool anonymous() const { return user.empty() && password.empty() && !nt_hash; }
};

class NtlmClient {
 public:
  explicit NtlmClient(ClientCredentials credentials, RandomSource random = {},
                      FiletimeClock clock = {});

  // The NEGOTIATE_MESSAGE ([MS-NLMP] 2.2.1.1).
  Bytes negotiate();
  // Builds the AUTHENTICATE_MESSAGE answering `challenge_message`; false when the
  // challenge is malformed or negotiate() was not called first.
  bool authenticate(ByteSpan challenge_message, Bytes& authenticate_message);

  const Digest16& exported_session_key() const { return exported_session_key_; }
  std::uint32_t negotiate_flags() const { return flags_; }
  std::optional<NtlmSessionSecurity>& session_security() { return security_; }

 private:
  ClientCredentials credentials_;
  RandomSource random_;
  FiletimeClock clock_;
  Bytes negotiate_message_;
  std::uint32_t flags_ = 0;
  Digest16 exported_session_key_{};
  std::optional<NtlmSessionSecurity> security_;
};

}  // namespace smb::auth
