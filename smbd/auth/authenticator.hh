// SESSION_SETUP authentication ([MS-SMB2] 3.3.5.5, 3.2.5.3): one step() per
// SESSION_SETUP round trip. Tokens are SPNEGO ([MS-SPNG]) carrying NTLMSSP, or raw
// NTLMSSP messages, which some clients send without the SPNEGO wrapper.
#pragma once

#include <optional>
#include <string>

#include "smbd/auth/auth_types.hh"
#include "smbd/auth/kerberos.hh"
#include "smbd/auth/ntlm_client.hh"
#include "smbd/auth/ntlm_server.hh"
#include "smbd/auth/spnego.hh"
#include "smbd/base/bytes.hh"
#include "smbd/base/ntstatus.hh"

namespace smb::auth {

struct AuthStep {
  // MORE_PROCESSING_REQUIRED: send output_token and wait for the next token.
  // SUCCESS: authenticated; the fields below are set.
  // LOGON_FAILURE / ACCOUNT_DISABLED / INVALID_PARAMETER / NOT_SUPPORTED: failed, see
  // `failure`. output_token then holds an SPNEGO reject when SPNEGO was in use; an SMB2
  // error response carries no security buffer ([MS-SMB2] 2.2.2), so the SMB layer may drop it.
  NtStatus status = NtStatus::INVALID_PARAMETER;
  Bytes output_token;
  AuthFailure failure = AuthFailure::none;

  // NTLMSSP: the 16-byte ExportedSessionKey ([MS-NLMP] 3.1.5.1.2); Kerberos: the GSS key,
  // which may be longer (FullSessionKey, [MS-SMB2] 3.3.5.5.3).
  Bytes session_key;
  std::string user;
  std::string domain;
  std::string workstation;
  bool anonymous = false;
  // Kerberos: `user` is the principal's name, `domain` its realm; the ticket ends after
  // lifetime_seconds (-1: never).
  bool kerberos = false;
  std::int64_t lifetime_seconds = -1;
  std::string failure_detail;  // why Kerberos refused, for the log
};

// The acceptor. One instance per SESSION_SETUP exchange (per session being set up).
class ServerAuthenticator {
 public:
  ServerAuthenticator(const ServerIdentity& identity, UserLookup lookup, RandomSource random = {},
                      FiletimeClock clock = {});

  // The SecurityBuffer of the SMB2 NEGOTIATE response ([MS-SMB2] 3.3.5.4): a SPNEGO
  // NegTokenInit2 advertising NTLMSSP, after the Kerberos mechanisms when `kerberos`.
  static Bytes negotiate_hint_token(bool kerberos = false);

  // Accepts Kerberos (SPNEGO's krb5 mechanisms) besides NTLMSSP, with these keys.
  void offer_kerberos(KerberosSettings settings) { kerberos_ = std::move(settings); }

  // Processes the SecurityBuffer of one SESSION_SETUP request.
  AuthStep step(ByteSpan security_buffer);

  // After a step that failed with AuthFailure::no_such_user, the security buffer that
  // completes the exchange when the caller maps the client to the guest account
  // (`map to guest = bad user`): SPNEGO accept-completed without mechListMIC, or nothing
  // for raw NTLMSSP. Guest sessions have no session key.
  Bytes guest_accept_token() const;

 private:
  enum class State { initial, awaiting_negotiate, awaiting_authenticate, awaiting_kerberos, done };
  AuthStep handle_kerberos(ByteSpan token, bool first_reply);
  AuthStep fail(AuthFailure failure, NtStatus status);
  AuthStep handle_negotiate(ByteSpan ntlm_negotiate, bool first_reply);
  AuthStep handle_authenticate(ByteSpan ntlm_authenticate,
                               const std::optional<Bytes>& mech_list_mic);

  NtlmServer ntlm_;
  State state_ = State::initial;
  bool spnego_ = true;
  bool mech_list_mic_required_ = false;
  Bytes mech_types_der_;
  std::optional<KerberosSettings> kerberos_;
  Bytes kerberos_oid_;  // the Kerberos OID the client chose (Microsoft's or the standard)
};

// The initiator, same shape: call step() first with the server's NEGOTIATE hint (or an
// empty span), then with each SESSION_SETUP response's security buffer, including the
// final one that arrives with STATUS_SUCCESS.
class ClientAuthenticator {
 public:
  enum class Framing { spnego, raw_ntlmssp };

  explicit ClientAuthenticator(ClientCredentials credentials, Framing framing = Framing::spnego,
                               RandomSource random = {}, FiletimeClock clock = {});

  AuthStep step(ByteSpan server_token);

 private:
  enum class State { initial, negotiate_sent, authenticate_sent, done };
  AuthStep fail(AuthFailure failure, NtStatus status);

  NtlmClient ntlm_;
  Framing framing_;
  State state_ = State::initial;
  Bytes mech_types_der_;
  std::string user_;
  std::string domain_;
  std::string workstation_;
  bool anonymous_ = false;
};

}  // namespace smb::auth
