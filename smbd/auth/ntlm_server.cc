#include "smbd/auth/ntlm_server.hh"

#include <algorithm>

#include "smbd/auth/nt_hash.hh"
#include "smbd/auth/ntlm_message.hh"

namespace smb::auth {

std::string_view auth_failure_name(AuthFailure f) {
  switch (f) {
    case AuthFailure::none:
      return "none";
    case AuthFailure::invalid_token:
      return "invalid_token";
    case AuthFailure::unsupported_mechanism:
      return "unsupported_mechanism";
    case AuthFailure::out_of_sequence:
      return "out_of_sequence";
    case AuthFailure::lm_or_ntlmv1_refused:
      return "lm_or_ntlmv1_refused";
    case AuthFailure::no_such_user:
      return "no_such_user";
    case AuthFailure::wrong_password:
      return "wrong_password";
    case AuthFailure::account_disabled:
      return "account_disabled";
    case AuthFailure::mic_mismatch:
      return "mic_mismatch";
    case AuthFailure::mech_list_mic_mismatch:
      return "mech_list_mic_mismatch";
    case AuthFailure::rejected_by_peer:
      return "rejected_by_peer";
  }
  return "unknown";
}

void split_user_name(std::string& user, std::string& domain) {
  if (auto slash = user.find('\\'); slash != std::string::npos) {
    domain = user.substr(0, slash);
    user.erase(0, slash + 1);
  } else if (auto at = user.rfind('@'); at != std::string::npos && at != 0) {
    domain = user.substr(at + 1);
    user.erase(at);
  }
}

NtlmServer::NtlmServer(ServerIdentity identity, UserLookup lookup, RandomSource random,
                       FiletimeClock clock)
    : identity_(std::move(identity)),
      lookup_(std::move(lookup)),
      random_(random ? std::move(random) : RandomSource(random_bytes)),
      clock_(clock ? std::move(clock) : FiletimeClock(filetime_now)) {}

bool NtlmServer::challenge(ByteSpan negotiate_message, Bytes& challenge_message) {
  NegotiateMessage neg;
  if (challenged_ || !decode_negotiate(negotiate_message, neg)) return false;
  const std::uint32_t requested = neg.negotiate_flags;

  // 3.2.5.1.1: answer with what both sides support; this acceptor always speaks NTLM with
  // target information and echoes the optional capabilities the client asked for.
  std::uint32_t flags =
      NegotiateFlag::NTLMSSP_NEGOTIATE_NTLM | NegotiateFlag::NTLMSSP_REQUEST_TARGET |
      NegotiateFlag::NTLMSSP_TARGET_TYPE_SERVER | NegotiateFlag::NTLMSSP_NEGOTIATE_TARGET_INFO;
  if (has_flag(requested, NegotiateFlag::NTLMSSP_NEGOTIATE_UNICODE)) {
    flags = flags | NegotiateFlag::NTLMSSP_NEGOTIATE_UNICODE;
  } else {
    flags = flags | NegotiateFlag::NTLM_NEGOTIATE_OEM;
  }
  for (NegotiateFlag echoed :
       {NegotiateFlag::NTLMSSP_NEGOTIATE_SIGN, NegotiateFlag::NTLMSSP_NEGOTIATE_SEAL,
        NegotiateFlag::NTLMSSP_NEGOTIATE_ALWAYS_SIGN,
        NegotiateFlag::NTLMSSP_NEGOTIATE_EXTENDED_SESSIONSECURITY,
        NegotiateFlag::NTLMSSP_NEGOTIATE_VERSION, NegotiateFlag::NTLMSSP_NEGOTIATE_128,
        NegotiateFlag::NTLMSSP_NEGOTIATE_56, NegotiateFlag::NTLMSSP_NEGOTIATE_KEY_EXCH}) {
    if (has_flag(requested, echoed)) flags = flags | echoed;
  }

  const bool unicode = has_flag(flags, NegotiateFlag::NTLMSSP_NEGOTIATE_UNICODE);
  auto name = [unicode](const std::string& s) {
    if (unicode) return utf16le(s);
    return Bytes(s.begin(), s.end());
  };

  ChallengeMessage chal;
  chal.negotiate_flags = flags;
  random_(chal.server_challenge);
  chal.target_name = name(identity_.netbios_name);
  // AV pairs are always UTF-16LE (2.2.2.1). The timestamp tells NTLMv2 clients to send a
  // MIC and no LMv2 response (3.1.5.1.2).
  chal.target_info.push_back({AvId::MsvAvNbDomainName, utf16le(identity_.netbios_domain)});
  chal.target_info.push_back({AvId::MsvAvNbComputerName, utf16le(identity_.netbios_name)});
  if (!identity_.dns_domain_name.empty()) {
    chal.target_info.push_back({AvId::MsvAvDnsDomainName, utf16le(identity_.dns_domain_name)});
  }
  if (!identity_.dns_computer_name.empty()) {
    chal.target_info.push_back({AvId::MsvAvDnsComputerName, utf16le(identity_.dns_computer_name)});
  }
  Bytes timestamp(8);
  store_le64(timestamp.data(), clock_());
  chal.target_info.push_back({AvId::MsvAvTimestamp, std::move(timestamp)});
  if (has_flag(flags, NegotiateFlag::NTLMSSP_NEGOTIATE_VERSION)) chal.version = NtlmVersion{};

  negotiate_message_.assign(negotiate_message.begin(), negotiate_message.end());
  challenge_message_ = encode_challenge(chal);
  challenge_message = challenge_message_;
  server_challenge_ = chal.server_challenge;
  challenge_flags_ = flags;
  challenged_ = true;
  return true;
}

NtlmAuthResult NtlmServer::authenticate(ByteSpan authenticate_message) {
  NtlmAuthResult result;
  if (!challenged_) {
    result.failure = AuthFailure::out_of_sequence;
    return result;
  }
  challenged_ = false;  // one AUTHENTICATE per challenge: no retries against the same nonce

  AuthenticateMessage auth;
  if (!decode_authenticate(authenticate_message, auth)) return result;
  const bool unicode = has_flag(auth.negotiate_flags, NegotiateFlag::NTLMSSP_NEGOTIATE_UNICODE);
  if (!ntlm_string_to_utf8(auth.user_name, unicode, result.user) ||
      !ntlm_string_to_utf8(auth.domain_name, unicode, result.domain) ||
      !ntlm_string_to_utf8(auth.workstation, unicode, result.workstation)) {
    return result;
  }
  // The flags in force are those both sides agreed to (3.2.5.1.2).
  const std::uint32_t flags = auth.negotiate_flags & challenge_flags_;
  result.negotiate_flags = flags;

  const auto& nt = auth.nt_challenge_response;
  const auto& lm = auth.lm_challenge_response;
  Digest16 session_base_key{};
  std::vector<AvPair> client_av_pairs;

  // 3.2.5.1.2: an empty user name with an empty NtChallengeResponse and an empty or Z(1)
  // LmChallengeResponse is anonymous; its session base key is all zeros.
  const bool anonymous =
      auth.user_name.empty() && nt.empty() && (lm.empty() || (lm.size() == 1 && lm[0] == 0));
  if (anonymous) {
    result.anonymous = true;
    result.user.clear();
    result.domain.clear();
  } else {
    // 2.2.2.6 / 3.3.1: a 24-byte NtChallengeResponse is NTLMv1 (or, with extended session
    // security, the NTLM2 session response); an absent one means LM only. Both refused.
    if (nt.size() <= 24) {
      result.failure = AuthFailure::lm_or_ntlmv1_refused;
      return result;
    }
    // NTProofStr (16) plus the fixed 28 bytes of NTLMv2_CLIENT_CHALLENGE (2.2.2.7).
    if (nt.size() < 16 + 28) return result;
    const ByteSpan nt_span(nt);
    const ByteSpan proof = nt_span.first(16);
    const ByteSpan temp = nt_span.subspan(16);
    NtlmV2ClientChallenge blob;
    if (!decode_ntlmv2_client_challenge(temp, blob)) return result;
    client_av_pairs = std::move(blob.av_pairs);

    std::string lookup_user = result.user;
    std::string lookup_domain = result.domain;
    split_user_name(lookup_user, lookup_domain);
    std::optional<UserRecord> record = lookup_(lookup_user, lookup_domain);
    if (!record) {
      result.failure = AuthFailure::no_such_user;
      return result;
    }

    // 3.3.2: ResponseKeyNT = NTOWFv2(password, User, UserDom) with UserDom as the client
    // sent it. Some clients key with the domain uppercased or empty; try those too.
    const Bytes user16 = ntlm_string_to_utf16le(auth.user_name, unicode);
    const Bytes domain16 = ntlm_string_to_utf16le(auth.domain_name, unicode);
    const Bytes domain_candidates[] = {domain16, uppercase_utf16le(domain16), Bytes{}};
    bool matched = false;
    for (const Bytes& domain : domain_candidates) {
      Digest16 key = ntowf_v2(record->nt_hash, user16, domain);
      Digest16 expected = ntlmv2_proof(key, server_challenge_, temp);
      if (equal_constant_time(expected, proof)) {
        session_base_key = ntlmv2_session_base_key(key, expected);
        matched = true;
        break;
      }
    }
    if (!matched) {
      result.failure = AuthFailure::wrong_password;
      return result;
    }
    if (record->disabled) {
      result.failure = AuthFailure::account_disabled;
      return result;
    }
    result.user = lookup_user;
    result.domain = lookup_domain;
  }

  // 3.4.5.1: with NTLMv2 the KeyExchangeKey is the SessionBaseKey. 3.2.5.1.2: with
  // KEY_EXCH the client chose the exported key and sent it RC4-encrypted under it.
  Digest16 exported = session_base_key;
  if (has_flag(flags, NegotiateFlag::NTLMSSP_NEGOTIATE_KEY_EXCH)) {
    if (auth.encrypted_random_session_key.size() != 16) {
      result.failure = AuthFailure::invalid_token;
      return result;
    }
    Bytes key = rc4(session_base_key, auth.encrypted_random_session_key);
    std::copy(key.begin(), key.end(), exported.begin());
  }

  // 3.2.5.1.2: when MsvAvFlags announces a MIC, it is
  // HMAC_MD5(ExportedSessionKey, NEGOTIATE || CHALLENGE || AUTHENTICATE with MIC zeroed).
  if (const AvPair* av_flags = find_av_pair(client_av_pairs, AvId::MsvAvFlags);
      av_flags != nullptr && av_flags->value.size() == 4 &&
      (load_le32(av_flags->value.data()) & kMsvAvFlagMicPresent) != 0) {
    if (!auth.mic) {
      result.failure = AuthFailure::mic_mismatch;
      return result;
    }
    Bytes zeroed(authenticate_message.begin(), authenticate_message.end());
    std::fill_n(zeroed.begin() + kAuthenticateMicOffset, 16, 0);
    Digest16 mic = hmac_md5(exported, {negotiate_message_, challenge_message_, zeroed});
    if (!equal_constant_time(mic, *auth.mic)) {
      result.failure = AuthFailure::mic_mismatch;
      return result;
    }
  }

  result.exported_session_key = exported;
  result.failure = AuthFailure::none;
  security_ = NtlmSessionSecurity::create(exported, flags, NtlmRole::server);
  return result;
}

}  // namespace smb::auth
