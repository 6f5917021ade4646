// libFuzzer target for smb_auth: the DER/SPNEGO decoders, the NTLMSSP decoders and the
// server authenticator in every state. The first input byte selects the target.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "smbd/auth/authenticator.hh"
#include "smbd/auth/der.hh"
#include "smbd/auth/nt_hash.hh"
#include "smbd/auth/ntlm_message.hh"
#include "smbd/auth/spnego.hh"

using namespace smb;
using namespace smb::auth;

namespace {

const ServerIdentity kIdentity{"FUZZSRV", "WORKGROUP", "fuzzsrv.example.com", "example.com"};

ServerAuthenticator make_server() {
  UserLookup lookup = [](std::string_view user, std::string_view) -> std::optional<UserRecord> {
    if (user.empty() || user[0] != 'a') return std::nullopt;
    return UserRecord{nt_hash("password"), user.size() > 8};
  };
  // Deterministic challenge and clock so a crashing input reproduces.
  return ServerAuthenticator(
      kIdentity, lookup, [](MutableByteSpan out) { std::fill(out.begin(), out.end(), 0x5A); },
      [] { return std::uint64_t{0x01D0000000000000}; });
}

// Splits `input` into tokens, each prefixed by a 16-bit little-endian length.
std::vector<ByteSpan> split_tokens(ByteSpan input) {
  std::vector<ByteSpan> tokens;
  ByteReader r(input);
  while (r.remaining() >= 2 && tokens.size() < 4) {
    std::uint16_t len = r.u16();
    std::size_t take = std::min<std::size_t>(len, r.remaining());
    tokens.push_back(r.bytes(take));
  }
  return tokens;
}

void walk_der(der::Reader r) {
  der::Tlv t;
  while (r.ok() && !r.at_end() && r.next(t)) {
    if (t.tag & 0x20) walk_der(r.enter(t));
    if (t.tag == der::kTagOid) (void)der::oid_to_string(t.content);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const ByteSpan input(data + 1, size - 1);
  switch (data[0] % 5) {
    case 0: {
      NegTokenInit init;
      if (decode_neg_token_init(input, init)) (void)encode_neg_token_init(init);
      NegTokenResp resp;
      if (decode_neg_token_resp(input, resp)) (void)encode_neg_token_resp(resp);
      walk_der(der::Reader(input));
      break;
    }
    case 1: {
      NegotiateMessage neg;
      if (decode_negotiate(input, neg)) (void)encode_negotiate(neg);
      ChallengeMessage chal;
      if (decode_challenge(input, chal)) (void)encode_challenge(chal);
      AuthenticateMessage auth;
      if (decode_authenticate(input, auth)) (void)encode_authenticate(auth, auth.mic.has_value());
      NtlmV2ClientChallenge blob;
      (void)decode_ntlmv2_client_challenge(input, blob);
      break;
    }
    case 2: {
      // Arbitrary token sequences from the initial state.
      ServerAuthenticator server = make_server();
      for (ByteSpan token : split_tokens(input)) (void)server.step(token);
      break;
    }
    case 3:
    case 4: {
      // A genuine first round (SPNEGO or raw), then the fuzzed AUTHENTICATE round.
      const bool spnego = data[0] % 5 == 3;
      ServerAuthenticator server = make_server();
      ClientAuthenticator client(
          ClientCredentials{"alice", "WORKGROUP", "password", std::nullopt, "WS"},
          spnego ? ClientAuthenticator::Framing::spnego : ClientAuthenticator::Framing::raw_ntlmssp,
          [](MutableByteSpan out) { std::fill(out.begin(), out.end(), 0x33); },
          [] { return std::uint64_t{0}; });
      AuthStep c = client.step({});
      AuthStep s = server.step(c.output_token);
      if (s.status != NtStatus::MORE_PROCESSING_REQUIRED) __builtin_trap();
      (void)server.step(input);
      break;
    }
  }
  return 0;
}
