#include "smbd/auth/authenticator.hh"

#include <algorithm>

#include "smbd/auth/ntlm_message.hh"

namespace smb::auth {

namespace {

Bytes ntlmssp_oid() { return Bytes(kNtlmsspOid.begin(), kNtlmsspOid.end()); }

bool is_ntlmssp(const Bytes& oid) {
  return std::equal(oid.begin(), oid.end(), kNtlmsspOid.begin(), kNtlmsspOid.end());
}

Bytes reject_token() {
  NegTokenResp resp;
  resp.neg_state = NegState::reject;
  return encode_neg_token_resp(resp);
}

NtStatus status_for(AuthFailure failure) {
  switch (failure) {
    case AuthFailure::invalid_token:
    case AuthFailure::out_of_sequence:
      return NtStatus::INVALID_PARAMETER;
    case AuthFailure::unsupported_mechanism:
      return NtStatus::NOT_SUPPORTED;
    case AuthFailure::account_disabled:
      return NtStatus::ACCOUNT_DISABLED;
    default:
      return NtStatus::LOGON_FAILURE;
  }
}

}  // namespace

ServerAuthenticator::ServerAuthenticator(const ServerIdentity& identity, UserLookup lookup,
                                         RandomSource random, FiletimeClock clock)
    : ntlm_(identity, std::move(lookup), std::move(random), std::move(clock)) {}

Bytes ServerAuthenticator::negotiate_hint_token(bool kerberos) {
  if (!kerberos) return encode_neg_token_init_hint();
  return encode_neg_token_init_hint({Bytes(std::begin(kMsKerberosOid), std::end(kMsKerberosOid)),
                                     Bytes(std::begin(kKerberosOid), std::end(kKerberosOid)),
                                     ntlmssp_oid()});
}

AuthStep ServerAuthenticator::handle_kerberos(ByteSpan token, bool first_reply) {
  KerberosResult accepted = accept_kerberos(*kerberos_, token);
  if (accepted.status != NtStatus::SUCCESS) {
    AuthStep step = fail(AuthFailure::wrong_password, accepted.status);
    step.failure_detail = std::move(accepted.failure);
    return step;
  }
  state_ = State::done;
  AuthStep step;
  step.status = NtStatus::SUCCESS;
  step.kerberos = true;
  step.user = std::move(accepted.user);
  step.domain = std::move(accepted.realm);
  step.session_key = std::move(accepted.session_key);
  step.lifetime_seconds = accepted.lifetime_seconds;
  NegTokenResp resp;
  resp.neg_state = NegState::accept_completed;
  if (first_reply) resp.supported_mech = kerberos_oid_;
  resp.response_token = std::move(accepted.output_token);  // the AP-REP: mutual authentication
  step.output_token = encode_neg_token_resp(resp);
  return step;
}

AuthStep ServerAuthenticator::fail(AuthFailure failure, NtStatus status) {
  AuthStep step;
  step.status = status;
  step.failure = failure;
  if (spnego_ && state_ != State::done) step.output_token = reject_token();
  state_ = State::done;
  return step;
}

AuthStep ServerAuthenticator::step(ByteSpan security_buffer) {
  switch (state_) {
    case State::initial: {
      if (is_raw_ntlmssp(security_buffer)) {
        spnego_ = false;
        return handle_negotiate(security_buffer, true);
      }
      NegTokenInit init;
      if (!decode_neg_token_init(security_buffer, init)) {
        return fail(AuthFailure::invalid_token, NtStatus::INVALID_PARAMETER);
      }
      mech_types_der_ = init.mech_types_der;
      // Kerberos when the client prefers it: its first mechanism, so that no mechListMIC
      // exchange is needed (RFC 4178 5).
      if (kerberos_ && !init.mech_types.empty() && is_kerberos_oid(init.mech_types.front())) {
        kerberos_oid_ = init.mech_types.front();
        if (init.mech_token) return handle_kerberos(*init.mech_token, true);
        NegTokenResp resp;
        resp.neg_state = NegState::accept_incomplete;
        resp.supported_mech = kerberos_oid_;
        state_ = State::awaiting_kerberos;
        AuthStep step;
        step.status = NtStatus::MORE_PROCESSING_REQUIRED;
        step.output_token = encode_neg_token_resp(resp);
        return step;
      }
      auto ntlm = std::find_if(init.mech_types.begin(), init.mech_types.end(), is_ntlmssp);
      if (ntlm == init.mech_types.end()) {
        return fail(AuthFailure::unsupported_mechanism, NtStatus::NOT_SUPPORTED);
      }
      // RFC 4178 5: when the selected mechanism is not the initiator's first choice the
      // optimistic token is for another mechanism, and the mechListMIC exchange becomes
      // mandatory to protect the negotiation.
      if (ntlm != init.mech_types.begin() || !init.mech_token) {
        mech_list_mic_required_ = ntlm != init.mech_types.begin();
        NegTokenResp resp;
        resp.neg_state = NegState::accept_incomplete;
        resp.supported_mech = ntlmssp_oid();
        state_ = State::awaiting_negotiate;
        AuthStep step;
        step.status = NtStatus::MORE_PROCESSING_REQUIRED;
        step.output_token = encode_neg_token_resp(resp);
        return step;
      }
      return handle_negotiate(*init.mech_token, true);
    }
    case State::awaiting_negotiate: {
      NegTokenResp resp;
      if (!decode_neg_token_resp(security_buffer, resp) || !resp.response_token) {
        return fail(AuthFailure::invalid_token, NtStatus::INVALID_PARAMETER);
      }
      if (resp.neg_state == NegState::reject) {
        return fail(AuthFailure::rejected_by_peer, NtStatus::LOGON_FAILURE);
      }
      return handle_negotiate(*resp.response_token, false);
    }
    case State::awaiting_authenticate: {
      if (!spnego_) {
        if (!is_raw_ntlmssp(security_buffer)) {
          return fail(AuthFailure::invalid_token, NtStatus::INVALID_PARAMETER);
        }
        return handle_authenticate(security_buffer, std::nullopt);
      }
      NegTokenResp resp;
      if (!decode_neg_token_resp(security_buffer, resp) || !resp.response_token) {
        return fail(AuthFailure::invalid_token, NtStatus::INVALID_PARAMETER);
      }
      if (resp.neg_state == NegState::reject) {
        return fail(AuthFailure::rejected_by_peer, NtStatus::LOGON_FAILURE);
      }
      return handle_authenticate(*resp.response_token, resp.mech_list_mic);
    }
    case State::awaiting_kerberos: {
      NegTokenResp resp;
      if (!decode_neg_token_resp(security_buffer, resp) || !resp.response_token) {
        return fail(AuthFailure::invalid_token, NtStatus::INVALID_PARAMETER);
      }
      if (resp.neg_state == NegState::reject) {
        return fail(AuthFailure::rejected_by_peer, NtStatus::LOGON_FAILURE);
      }
      return handle_kerberos(*resp.response_token, false);
    }
    case State::done:
      break;
  }
  AuthStep step;
  step.status = NtStatus::INVALID_PARAMETER;
  step.failure = AuthFailure::out_of_sequence;
  return step;
}

AuthStep ServerAuthenticator::handle_negotiate(ByteSpan ntlm_negotiate, bool first_reply) {
  Bytes challenge;
  if (!ntlm_.challenge(ntlm_negotiate, challenge)) {
    return fail(AuthFailure::invalid_token, NtStatus::INVALID_PARAMETER);
  }
  state_ = State::awaiting_authenticate;
  AuthStep step;
  step.status = NtStatus::MORE_PROCESSING_REQUIRED;
  if (!spnego_) {
    step.output_token = std::move(challenge);
    return step;
  }
  NegTokenResp resp;
  resp.neg_state = NegState::accept_incomplete;
  if (first_reply) resp.supported_mech = ntlmssp_oid();
  resp.response_token = std::move(challenge);
  step.output_token = encode_neg_token_resp(resp);
  return step;
}

AuthStep ServerAuthenticator::handle_authenticate(ByteSpan ntlm_authenticate,
                                                  const std::optional<Bytes>& mech_list_mic) {
  NtlmAuthResult result = ntlm_.authenticate(ntlm_authenticate);
  if (result.failure != AuthFailure::none) return fail(result.failure, status_for(result.failure));

  AuthStep step;
  step.status = NtStatus::SUCCESS;
  step.user = std::move(result.user);
  step.domain = std::move(result.domain);
  step.workstation = std::move(result.workstation);
  step.anonymous = result.anonymous;
  step.session_key.assign(result.exported_session_key.begin(), result.exported_session_key.end());

  if (spnego_) {
    NegTokenResp resp;
    resp.neg_state = NegState::accept_completed;
    // [MS-SPNG] 3.2.5.1 / RFC 4178 5: a mechListMIC from the client is verified with the
    // NTLM session security and answered with our own over the same MechTypeList. An
    // anonymous context has no key to protect it, so its MIC is neither checked nor sent.
    auto& security = ntlm_.session_security();
    if (!result.anonymous && (mech_list_mic || mech_list_mic_required_)) {
      if (!mech_list_mic || !security || !security->verify(mech_types_der_, *mech_list_mic)) {
        return fail(AuthFailure::mech_list_mic_mismatch, NtStatus::LOGON_FAILURE);
      }
      NtlmSignature mic = security->sign(mech_types_der_);
      resp.mech_list_mic.emplace(mic.begin(), mic.end());
    }
    step.output_token = encode_neg_token_resp(resp);
  }
  state_ = State::done;
  return step;
}

Bytes ServerAuthenticator::guest_accept_token() const {
  if (!spnego_) return {};
  NegTokenResp resp;
  resp.neg_state = NegState::accept_completed;
  return encode_neg_token_resp(resp);
}

ClientAuthenticator::ClientAuthenticator(ClientCredentials credentials, Framing framing,
                                         RandomSource random, FiletimeClock clock)
    : ntlm_(credentials, std::move(random), std::move(clock)),
      framing_(framing),
      user_(credentials.user),
      domain_(credentials.domain),
      workstation_(credentials.workstation),
      anonymous_(credentials.anonymous()) {}

AuthStep ClientAuthenticator::fail(AuthFailure failure, NtStatus status) {
  state_ = State::done;
  AuthStep step;
  step.status = status;
  step.failure = failure;
  return step;
}

AuthStep ClientAuthenticator::step(ByteSpan server_token) {
  AuthStep step;
  switch (state_) {
    case State::initial: {
      if (framing_ == Framing::spnego && !server_token.empty()) {
        // The NEGOTIATE hint must offer NTLMSSP ([MS-SPNG] 3.1.5.1).
        NegTokenInit hint;
        if (!decode_neg_token_init(server_token, hint)) {
          return fail(AuthFailure::invalid_token, NtStatus::INVALID_PARAMETER);
        }
        if (std::none_of(hint.mech_types.begin(), hint.mech_types.end(), is_ntlmssp)) {
          return fail(AuthFailure::unsupported_mechanism, NtStatus::NOT_SUPPORTED);
        }
      }
      Bytes negotiate = ntlm_.negotiate();
      step.status = NtStatus::MORE_PROCESSING_REQUIRED;
      if (framing_ == Framing::raw_ntlmssp) {
        step.output_token = std::move(negotiate);
      } else {
        NegTokenInit init;
        init.mech_types = {ntlmssp_oid()};
        init.mech_token = std::move(negotiate);
        mech_types_der_ = encode_mech_type_list(init.mech_types);
        step.output_token = encode_neg_token_init(init);
      }
      state_ = State::negotiate_sent;
      return step;
    }
    case State::negotiate_sent: {
      ByteSpan challenge = server_token;
      NegTokenResp resp;
      if (framing_ == Framing::spnego) {
        if (!decode_neg_token_resp(server_token, resp)) {
          return fail(AuthFailure::invalid_token, NtStatus::INVALID_PARAMETER);
        }
        if (resp.neg_state == NegState::reject) {
          return fail(AuthFailure::rejected_by_peer, NtStatus::LOGON_FAILURE);
        }
        if (resp.neg_state != NegState::accept_incomplete || !resp.response_token ||
            (resp.supported_mech && !is_ntlmssp(*resp.supported_mech))) {
          return fail(AuthFailure::invalid_token, NtStatus::INVALID_PARAMETER);
        }
        challenge = *resp.response_token;
      }
      Bytes authenticate;
      if (!ntlm_.authenticate(challenge, authenticate)) {
        return fail(AuthFailure::invalid_token, NtStatus::INVALID_PARAMETER);
      }
      step.status = NtStatus::MORE_PROCESSING_REQUIRED;
      if (framing_ == Framing::raw_ntlmssp) {
        step.output_token = std::move(authenticate);
      } else {
        NegTokenResp out;
        out.response_token = std::move(authenticate);
        // RFC 4178 5: protect the mechanism list with the newly established context.
        if (auto& security = ntlm_.session_security(); security && !anonymous_) {
          NtlmSignature mic = security->sign(mech_types_der_);
          out.mech_list_mic.emplace(mic.begin(), mic.end());
        }
        step.output_token = encode_neg_token_resp(out);
      }
      state_ = State::authenticate_sent;
      return step;
    }
    case State::authenticate_sent: {
      if (framing_ == Framing::spnego) {
        NegTokenResp resp;
        if (!decode_neg_token_resp(server_token, resp)) {
          return fail(AuthFailure::invalid_token, NtStatus::INVALID_PARAMETER);
        }
        if (resp.neg_state == NegState::reject) {
          return fail(AuthFailure::rejected_by_peer, NtStatus::LOGON_FAILURE);
        }
        if (resp.neg_state != NegState::accept_completed) {
          return fail(AuthFailure::invalid_token, NtStatus::INVALID_PARAMETER);
        }
        // NTLMSSP was our first and only mechanism, so the acceptor's MIC is optional
        // (RFC 4178 5); when sent it must verify.
        if (resp.mech_list_mic) {
          auto& security = ntlm_.session_security();
          if (!security || !security->verify(mech_types_der_, *resp.mech_list_mic)) {
            return fail(AuthFailure::mech_list_mic_mismatch, NtStatus::LOGON_FAILURE);
          }
        }
      } else if (!server_token.empty()) {
        return fail(AuthFailure::invalid_token, NtStatus::INVALID_PARAMETER);
      }
      const Digest16& key = ntlm_.exported_session_key();
      step.status = NtStatus::SUCCESS;
      step.session_key.assign(key.begin(), key.end());
      step.user = user_;
      step.domain = domain_;
      step.workstation = workstation_;
      step.anonymous = anonymous_;
      state_ = State::done;
      return step;
    }
    case State::done:
      break;
  }
  return fail(AuthFailure::out_of_sequence, NtStatus::INVALID_PARAMETER);
}

}  // namespace smb::auth
