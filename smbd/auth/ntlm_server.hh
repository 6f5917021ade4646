// The NTLM acceptor ([MS-NLMP] 3.2.5): answers a NEGOTIATE_MESSAGE with a
// CHALLENGE_MESSAGE and verifies the AUTHENTICATE_MESSAGE. Only NTLMv2 responses are
// accepted (3.3.2); LM, NTLMv1 and NTLM2 session responses are refused.
#pragma once

#include <optional>
#include <string>

#include "smbd/auth/auth_types.hh"
#include "smbd/auth/crypto_primitives.hh"
#include "smbd/auth/ntlm_session.hh"
#include "smbd/base/bytes.hh"

namespace smb::auth {

struct NtlmAuthResult {
  AuthFailure failure = AuthFailure::invalid_token;
  std::string user;         // UTF-8, the account part of the user name
  std::string domain;       // UTF-8, the domain the client named
  std::string workstation;  // UTF-8
  bool anonymous = false;
  Digest16 exported_session_key{};
  std::uint32_t negotiate_flags = 0;  // as agreed for the session
};

class NtlmServer {
 public:
  NtlmServer(ServerIdentity identity, UserLookup lookup, RandomSource random = {},
             FiletimeClock clock = {});

  // Consumes a NEGOTIATE_MESSAGE and produces the CHALLENGE_MESSAGE; false when malformed.
  bool challenge(ByteSpan negotiate_message, Bytes& challenge_message);
  // Verifies an AUTHENTICATE_MESSAGE against the challenge sent.
  NtlmAuthResult authenticate(ByteSpan authenticate_message);

  // Session security for SPNEGO's mechListMIC after a successful authenticate().
  std::optional<NtlmSessionSecurity>& session_security() { return security_; }

 private:
  ServerIdentity identity_;
  UserLookup lookup_;
  RandomSource random_;
  FiletimeClock clock_;
  Bytes negotiate_message_;
  Bytes challenge_message_;
  std::array<std::uint8_t, 8> server_challenge_{};
  std::uint32_t challenge_flags_ = 0;
  bool challenged_ = false;
  std::optional<NtlmSessionSecurity> security_;
};

// Splits "DOMAIN\user" and "user@domain" user fields; `domain` is replaced only when the
// user field names one.
void split_user_name(std::string& user, std::string& domain);

}  // namespace smb::auth
