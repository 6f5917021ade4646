// Full SESSION_SETUP exchanges between ClientAuthenticator and ServerAuthenticator,
// through SPNEGO and raw NTLMSSP, including refusals and tampering.
#include <doctest/doctest.h>

#include <algorithm>
#include <cctype>
#include <map>

#include "smbd/auth/authenticator.hh"
#include "smbd/auth/nt_hash.hh"
#include "smbd/auth/ntlm_message.hh"
#include "test_util.hh"

using namespace smb;
using namespace smb::auth;
using namespace smb::auth::test;

namespace {

const ServerIdentity kIdentity{"FILESRV", "WORKGROUP", "filesrv.example.com", "example.com"};

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// A user database keyed by lowercase name.
struct Users {
  std::map<std::string, UserRecord> records = {
      {"alice", {nt_hash("Secret1!"), false}},
      {"bob", {nt_hash("hunter2"), true}},
  };
  std::string last_user, last_domain;
  UserLookup lookup() {
    return [this](std::string_view user, std::string_view domain) -> std::optional<UserRecord> {
      last_user = user;
      last_domain = domain;
      auto it = records.find(lower(user));
      if (it == records.end()) return std::nullopt;
      return it->second;
    };
  }
};

ClientCredentials creds(std::string user, std::string password, std::string domain = "WORKGROUP") {
  ClientCredentials c;
  c.user = std::move(user);
  c.password = std::move(password);
  c.domain = std::move(domain);
  c.workstation = "CLIENT1";
  return c;
}

// Mutates the token the client sends in a given round before the server sees it.
using Tamper = std::function<void(int round, Bytes& token)>;

struct Outcome {
  AuthStep server;
  AuthStep client;
  int rounds = 0;
};

Outcome run(const ClientCredentials& c, Users& users,
            ClientAuthenticator::Framing framing = ClientAuthenticator::Framing::spnego,
            const Tamper& tamper = {}) {
  ServerAuthenticator server(kIdentity, users.lookup());
  ClientAuthenticator client(c, framing);
  Outcome out;
  Bytes hint = framing == ClientAuthenticator::Framing::spnego
                   ? ServerAuthenticator::negotiate_hint_token()
                   : Bytes{};
  out.client = client.step(hint);
  while (out.client.status == NtStatus::MORE_PROCESSING_REQUIRED && out.rounds < 5) {
    ++out.rounds;
    if (tamper) tamper(out.rounds, out.client.output_token);
    out.server = server.step(out.client.output_token);
    if (out.server.status != NtStatus::MORE_PROCESSING_REQUIRED &&
        out.server.status != NtStatus::SUCCESS) {
      break;
    }
    out.client = client.step(out.server.output_token);
  }
  return out;
}

}  // namespace

TEST_CASE("SPNEGO exchange succeeds and both sides agree on the session key") {
  Users users;
  Outcome o = run(creds("Alice", "Secret1!"), users);
  CHECK(o.rounds == 2);
  REQUIRE(o.server.status == NtStatus::SUCCESS);
  REQUIRE(o.client.status == NtStatus::SUCCESS);
  CHECK(o.server.failure == AuthFailure::none);
  CHECK(o.server.session_key.size() == 16);
  CHECK(o.server.session_key == o.client.session_key);
  CHECK(o.server.user == "Alice");
  CHECK(o.server.domain == "WORKGROUP");
  CHECK(o.server.workstation == "CLIENT1");
  CHECK_FALSE(o.server.anonymous);
  CHECK(users.last_user == "Alice");

  // The final server token carries accept-completed and a mechListMIC.
  NegTokenResp final_token;
  REQUIRE(decode_neg_token_resp(o.server.output_token, final_token));
  CHECK(final_token.neg_state == NegState::accept_completed);
  CHECK(final_token.mech_list_mic.has_value());
}

TEST_CASE("raw NTLMSSP exchange succeeds") {
  Users users;
  Outcome o = run(creds("alice", "Secret1!"), users, ClientAuthenticator::Framing::raw_ntlmssp);
  REQUIRE(o.server.status == NtStatus::SUCCESS);
  REQUIRE(o.client.status == NtStatus::SUCCESS);
  CHECK(o.server.output_token.empty());
  CHECK(o.server.session_key == o.client.session_key);
}

TEST_CASE("NT hash credentials and DOMAIN\\user names") {
  Users users;
  ClientCredentials c = creds("WORKGROUP\\alice", "", "");
  c.nt_hash = nt_hash("Secret1!");
  Outcome o = run(c, users);
  REQUIRE(o.server.status == NtStatus::SUCCESS);
  CHECK(o.server.user == "alice");
  CHECK(o.server.domain == "WORKGROUP");
  CHECK(users.last_domain == "WORKGROUP");
}

TEST_CASE("wrong password, unknown user and disabled account are told apart") {
  Users users;
  Outcome wrong = run(creds("alice", "wrong"), users);
  CHECK(wrong.server.status == NtStatus::LOGON_FAILURE);
  CHECK(wrong.server.failure == AuthFailure::wrong_password);
  CHECK(wrong.server.session_key.empty());

  Outcome unknown = run(creds("mallory", "whatever"), users);
  CHECK(unknown.server.status == NtStatus::LOGON_FAILURE);
  CHECK(unknown.server.failure == AuthFailure::no_such_user);
  NegTokenResp reject;
  REQUIRE(decode_neg_token_resp(unknown.server.output_token, reject));
  CHECK(reject.neg_state == NegState::reject);

  Outcome disabled = run(creds("bob", "hunter2"), users);
  CHECK(disabled.server.status == NtStatus::ACCOUNT_DISABLED);
  CHECK(disabled.server.failure == AuthFailure::account_disabled);
  // A disabled account with a wrong password is just a wrong password.
  CHECK(run(creds("bob", "nope"), users).server.failure == AuthFailure::wrong_password);
}

TEST_CASE("unknown user can be completed as guest by the caller") {
  Users users;
  ServerAuthenticator server(kIdentity, users.lookup());
  ClientAuthenticator client(creds("mallory", "x"));
  AuthStep c = client.step(ServerAuthenticator::negotiate_hint_token());
  AuthStep s = server.step(c.output_token);
  REQUIRE(s.status == NtStatus::MORE_PROCESSING_REQUIRED);
  c = client.step(s.output_token);
  s = server.step(c.output_token);
  REQUIRE(s.failure == AuthFailure::no_such_user);
  Bytes guest = server.guest_accept_token();
  NegTokenResp resp;
  REQUIRE(decode_neg_token_resp(guest, resp));
  CHECK(resp.neg_state == NegState::accept_completed);
  CHECK_FALSE(resp.mech_list_mic.has_value());
  // The client library accepts a completion without a mechListMIC.
  CHECK(client.step(guest).status == NtStatus::SUCCESS);
  // The exchange is over for the server.
  CHECK(server.step(c.output_token).failure == AuthFailure::out_of_sequence);
}

TEST_CASE("anonymous authentication") {
  Users users;
  for (auto framing :
       {ClientAuthenticator::Framing::spnego, ClientAuthenticator::Framing::raw_ntlmssp}) {
    Outcome o = run(ClientCredentials{}, users, framing);
    REQUIRE(o.server.status == NtStatus::SUCCESS);
    CHECK(o.server.anonymous);
    CHECK(o.server.user.empty());
    CHECK(o.client.status == NtStatus::SUCCESS);
    CHECK(o.client.anonymous);
    CHECK(o.server.session_key == o.client.session_key);
  }
}

namespace {

// Rewrites the AUTHENTICATE message inside the client's round-2 token.
Tamper on_authenticate(std::function<void(Bytes&)> edit) {
  return [edit](int round, Bytes& token) {
    if (round != 2) return;
    if (is_raw_ntlmssp(token)) {
      edit(token);
      return;
    }
    NegTokenResp resp;
    REQUIRE(decode_neg_token_resp(token, resp));
    edit(*resp.response_token);
    token = encode_neg_token_resp(resp);
  };
}

}  // namespace

TEST_CASE("NTLMv1 and LM responses are refused") {
  Users users;
  // Replace the NTLMv2 response by a 24-byte NTLMv1-shaped one.
  Outcome v1 = run(creds("alice", "Secret1!"), users, ClientAuthenticator::Framing::spnego,
                   on_authenticate([](Bytes& msg) {
                     AuthenticateMessage auth;
                     REQUIRE(decode_authenticate(msg, auth));
                     auth.nt_challenge_response.assign(24, 0x11);
                     auth.mic.reset();
                     msg = encode_authenticate(auth, true);
                   }));
  CHECK(v1.server.status == NtStatus::LOGON_FAILURE);
  CHECK(v1.server.failure == AuthFailure::lm_or_ntlmv1_refused);

  Outcome lm_only = run(creds("alice", "Secret1!"), users,
                        ClientAuthenticator::Framing::raw_ntlmssp, on_authenticate([](Bytes& msg) {
                          AuthenticateMessage auth;
                          REQUIRE(decode_authenticate(msg, auth));
                          auth.nt_challenge_response.clear();
                          auth.lm_challenge_response.assign(24, 0x22);
                          msg = encode_authenticate(auth, true);
                        }));
  CHECK(lm_only.server.failure == AuthFailure::lm_or_ntlmv1_refused);
}

TEST_CASE("a tampered MIC is refused") {
  Users users;
  for (auto framing :
       {ClientAuthenticator::Framing::spnego, ClientAuthenticator::Framing::raw_ntlmssp}) {
    Outcome o = run(creds("alice", "Secret1!"), users, framing,
                    on_authenticate([](Bytes& msg) { msg[kAuthenticateMicOffset + 3] ^= 0x40; }));
    CHECK(o.server.status == NtStatus::LOGON_FAILURE);
    CHECK(o.server.failure == AuthFailure::mic_mismatch);
  }
  // Changing a flag bit breaks the MIC too (the flags are not covered by NTProofStr).
  Outcome flags = run(creds("alice", "Secret1!"), users, ClientAuthenticator::Framing::spnego,
                      on_authenticate([](Bytes& msg) { msg[60] ^= 0x20; }));
  CHECK(flags.server.failure == AuthFailure::mic_mismatch);
}

TEST_CASE("a tampered or missing mechListMIC is refused") {
  Users users;
  Outcome bad = run(creds("alice", "Secret1!"), users, ClientAuthenticator::Framing::spnego,
                    [](int round, Bytes& token) {
                      if (round != 2) return;
                      NegTokenResp resp;
                      REQUIRE(decode_neg_token_resp(token, resp));
                      REQUIRE(resp.mech_list_mic.has_value());
                      (*resp.mech_list_mic)[6] ^= 1;
                      token = encode_neg_token_resp(resp);
                    });
  CHECK(bad.server.status == NtStatus::LOGON_FAILURE);
  CHECK(bad.server.failure == AuthFailure::mech_list_mic_mismatch);

  // The client refuses a server whose final mechListMIC does not verify.
  ServerAuthenticator server(kIdentity, users.lookup());
  ClientAuthenticator client(creds("alice", "Secret1!"));
  AuthStep c = client.step(ServerAuthenticator::negotiate_hint_token());
  AuthStep s = server.step(c.output_token);
  c = client.step(s.output_token);
  s = server.step(c.output_token);
  REQUIRE(s.status == NtStatus::SUCCESS);
  NegTokenResp final_token;
  REQUIRE(decode_neg_token_resp(s.output_token, final_token));
  (*final_token.mech_list_mic)[8] ^= 1;
  AuthStep done = client.step(encode_neg_token_resp(final_token));
  CHECK(done.status == NtStatus::LOGON_FAILURE);
  CHECK(done.failure == AuthFailure::mech_list_mic_mismatch);
}

TEST_CASE("NTLMSSP offered after another mechanism needs a mechListMIC") {
  Users users;
  const Bytes krb5_oid = hex("06092a864886f712010202");
  auto first_round = [&](ServerAuthenticator& server) {
    NegTokenInit init;
    init.mech_types = {krb5_oid, Bytes(kNtlmsspOid.begin(), kNtlmsspOid.end())};
    init.mech_token = hex("6e0100");  // an optimistic token for the other mechanism
    AuthStep s = server.step(encode_neg_token_init(init));
    REQUIRE(s.status == NtStatus::MORE_PROCESSING_REQUIRED);
    NegTokenResp resp;
    REQUIRE(decode_neg_token_resp(s.output_token, resp));
    CHECK(resp.neg_state == NegState::accept_incomplete);
    CHECK(resp.supported_mech == Bytes(kNtlmsspOid.begin(), kNtlmsspOid.end()));
    CHECK_FALSE(resp.response_token.has_value());
    return encode_mech_type_list(init.mech_types);
  };

  for (bool send_mic : {true, false}) {
    CAPTURE(send_mic);
    ServerAuthenticator server(kIdentity, users.lookup());
    Bytes mech_types = first_round(server);
    NtlmClient ntlm(creds("alice", "Secret1!"));
    NegTokenResp neg;
    neg.response_token = ntlm.negotiate();
    AuthStep s = server.step(encode_neg_token_resp(neg));
    REQUIRE(s.status == NtStatus::MORE_PROCESSING_REQUIRED);
    NegTokenResp chal;
    REQUIRE(decode_neg_token_resp(s.output_token, chal));
    Bytes auth;
    REQUIRE(ntlm.authenticate(*chal.response_token, auth));
    NegTokenResp out;
    out.response_token = auth;
    if (send_mic) {
      NtlmSignature mic = ntlm.session_security()->sign(mech_types);
      out.mech_list_mic.emplace(mic.begin(), mic.end());
    }
    s = server.step(encode_neg_token_resp(out));
    if (send_mic) {
      CHECK(s.status == NtStatus::SUCCESS);
      CHECK(Bytes(ntlm.exported_session_key().begin(), ntlm.exported_session_key().end()) ==
            s.session_key);
    } else {
      CHECK(s.failure == AuthFailure::mech_list_mic_mismatch);
    }
  }
}

TEST_CASE("tokens without NTLMSSP or out of sequence are refused") {
  Users users;
  ServerAuthenticator server(kIdentity, users.lookup());
  NegTokenInit init;
  init.mech_types = {hex("06092a864886f712010202")};
  AuthStep s = server.step(encode_neg_token_init(init));
  CHECK(s.status == NtStatus::NOT_SUPPORTED);
  CHECK(s.failure == AuthFailure::unsupported_mechanism);

  ServerAuthenticator fresh(kIdentity, users.lookup());
  CHECK(fresh.step(Bytes{}).status == NtStatus::INVALID_PARAMETER);
  // A NegTokenResp cannot start an exchange.
  ServerAuthenticator fresh2(kIdentity, users.lookup());
  NegTokenResp resp;
  resp.response_token = hex("00");
  CHECK(fresh2.step(encode_neg_token_resp(resp)).failure == AuthFailure::invalid_token);
}

TEST_CASE("every truncation of every client token is an error") {
  Users users;
  for (auto framing :
       {ClientAuthenticator::Framing::spnego, ClientAuthenticator::Framing::raw_ntlmssp}) {
    // Record the genuine client tokens of a successful exchange.
    std::vector<Bytes> tokens;
    Outcome o = run(creds("alice", "Secret1!"), users, framing,
                    [&](int, Bytes& token) { tokens.push_back(token); });
    REQUIRE(o.server.status == NtStatus::SUCCESS);
    REQUIRE(tokens.size() == 2);

    for (std::size_t round = 0; round < tokens.size(); ++round) {
      for (std::size_t n = 0; n < tokens[round].size(); ++n) {
        CAPTURE(round);
        CAPTURE(n);
        // Replay the first rounds with a fresh server, then send the truncated token.
        ServerAuthenticator server(kIdentity, users.lookup());
        ClientAuthenticator client(creds("alice", "Secret1!"), framing);
        AuthStep c = client.step(framing == ClientAuthenticator::Framing::spnego
                                     ? ServerAuthenticator::negotiate_hint_token()
                                     : Bytes{});
        for (std::size_t k = 0; k < round; ++k) {
          AuthStep s = server.step(c.output_token);
          REQUIRE(s.status == NtStatus::MORE_PROCESSING_REQUIRED);
          c = client.step(s.output_token);
        }
        AuthStep s = server.step(ByteSpan(c.output_token).first(n));
        CHECK(nt_error(s.status));
        CHECK(s.failure != AuthFailure::none);
      }
    }
  }
}
