#include "smbd/auth/ntlm_client.hh"

#include <algorithm>

#include "smbd/auth/nt_hash.hh"
#include "smbd/auth/ntlm_message.hh"

namespace smb::auth {

namespace {

// The capabilities this initiator asks for: NTLMv2 with extended session security,
// 128-bit keys and key exchange, signing (SPNEGO mechListMIC) and VERSION.
constexpr std::uint32_t kClientFlags =
    NegotiateFlag::NTLMSSP_NEGOTIATE_UNICODE | NegotiateFlag::NTLM_NEGOTIATE_OEM |
    NegotiateFlag::NTLMSSP_REQUEST_TARGET | NegotiateFlag::NTLMSSP_NEGOTIATE_SIGN |
    NegotiateFlag::NTLMSSP_NEGOTIATE_NTLM | NegotiateFlag::NTLMSSP_NEGOTIATE_ALWAYS_SIGN |
    NegotiateFlag::NTLMSSP_NEGOTIATE_EXTENDED_SESSIONSECURITY |
    NegotiateFlag::NTLMSSP_NEGOTIATE_TARGET_INFO | NegotiateFlag::NTLMSSP_NEGOTIATE_VERSION |
    NegotiateFlag::NTLMSSP_NEGOTIATE_128 | NegotiateFlag::NTLMSSP_NEGOTIATE_KEY_EXCH |
    NegotiateFlag::NTLMSSP_NEGOTIATE_56;

}  // namespace

NtlmClient::NtlmClient(ClientCredentials credentials, RandomSource random, FiletimeClock clock)
    : credentials_(std::move(credentials)),
      random_(random ? std::move(random) : RandomSource(random_bytes)),
      clock_(clock ? std::move(clock) : FiletimeClock(filetime_now)) {}

Bytes NtlmClient::negotiate() {
  NegotiateMessage neg;
  neg.negotiate_flags = kClientFlags;
  neg.version = NtlmVersion{};
  negotiate_message_ = encode_negotiate(neg);
  return negotiate_message_;
}

bool NtlmClient::authenticate(ByteSpan challenge_message, Bytes& authenticate_message) {
  ChallengeMessage chal;
  if (negotiate_message_.empty() || !decode_challenge(challenge_message, chal)) return false;
  // This client speaks Unicode only (3.1.5.1.2 lets the server pick; ours asked for it).
  if (!has_flag(chal.negotiate_flags, NegotiateFlag::NTLMSSP_NEGOTIATE_UNICODE)) return false;
  flags_ = (chal.negotiate_flags & kClientFlags) | NegotiateFlag::NTLMSSP_NEGOTIATE_VERSION;
  flags_ &= ~static_cast<std::uint32_t>(NegotiateFlag::NTLM_NEGOTIATE_OEM);

  AuthenticateMessage auth;
  auth.version = NtlmVersion{};
  auth.domain_name = utf16le(credentials_.domain);
  auth.user_name = utf16le(credentials_.user);
  auth.workstation = utf16le(credentials_.workstation);
  Digest16 session_base_key{};
  bool with_mic = false;

  if (credentials_.anonymous()) {
    // 3.3.2: anonymous sends no NT response and an LM response of Z(1).
    flags_ = flags_ | NegotiateFlag::NTLMSSP_ANONYMOUS;
    auth.lm_challenge_response = Bytes(1, 0);
  } else {
    const Digest16 hash =
        credentials_.nt_hash ? *credentials_.nt_hash : nt_hash(credentials_.password);
    const Digest16 key = ntowf_v2(hash, auth.user_name, auth.domain_name);

    // 3.1.5.1.2: the server's MsvAvTimestamp, when present, is echoed and then no LMv2
    // response is sent and a MIC is required.
    NtlmV2ClientChallenge blob;
    const AvPair* ts = find_av_pair(chal.target_info, AvId::MsvAvTimestamp);
    const bool server_timestamp = ts != nullptr && ts->value.size() == 8;
    blob.timestamp = server_timestamp ? load_le64(ts->value.data()) : clock_();
    random_(blob.challenge_from_client);
    for (const AvPair& p : chal.target_info) {
      if (p.id != AvId::MsvAvFlags) blob.av_pairs.push_back(p);
    }
    Bytes av_flags(4);
    store_le32(av_flags.data(), kMsvAvFlagMicPresent);
    blob.av_pairs.push_back({AvId::MsvAvFlags, std::move(av_flags)});
    with_mic = true;

    const Bytes temp = encode_ntlmv2_client_challenge(blob);
    const Digest16 proof = ntlmv2_proof(key, chal.server_challenge, temp);
    auth.nt_challenge_response.assign(proof.begin(), proof.end());
    auth.nt_challenge_response.insert(auth.nt_challenge_response.end(), temp.begin(), temp.end());
    auth.lm_challenge_response =
        server_timestamp ? Bytes(24, 0)
                         : lmv2_response(key, chal.server_challenge, blob.challenge_from_client);
    session_base_key = ntlmv2_session_base_key(key, proof);
  }

  // 3.1.5.1.2: with KEY_EXCH the client picks ExportedSessionKey at random and sends it
  // RC4-encrypted under the KeyExchangeKey (= SessionBaseKey for NTLMv2, 3.4.5.1).
  exported_session_key_ = session_base_key;
  if (has_flag(flags_, NegotiateFlag::NTLMSSP_NEGOTIATE_KEY_EXCH)) {
    random_(exported_session_key_);
    auth.encrypted_random_session_key = rc4(session_base_key, exported_session_key_);
  }
  auth.negotiate_flags = flags_;

  authenticate_message = encode_authenticate(auth, with_mic);
  if (with_mic) {
    // 3.1.5.1.2: MIC over all three messages with the MIC field zero.
    Digest16 mic = hmac_md5(exported_session_key_,
                            {negotiate_message_, challenge_message, authenticate_message});
    std::copy(mic.begin(), mic.end(), authenticate_message.begin() + kAuthenticateMicOffset);
  }
  security_ = NtlmSessionSecurity::create(exported_session_key_, flags_, NtlmRole::client);
  return true;
}

}  // namespace smb::auth
