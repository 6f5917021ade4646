// [MS-NLMP] 4.2.1 common values and 4.2.4 NTLMv2 test vectors, the message codec, and
// the NTLM acceptor against the published AUTHENTICATE_MESSAGE.
#include <doctest/doctest.h>

#include <algorithm>

#include "smbd/auth/nt_hash.hh"
#include "smbd/auth/ntlm_message.hh"
#include "smbd/auth/ntlm_server.hh"
#include "smbd/auth/ntlm_session.hh"
#include "test_util.hh"

using namespace smb;
using namespace smb::auth;
using namespace smb::auth::test;

namespace {

// 4.2.1 common values.
const Bytes kServerChallenge = hex("0123456789abcdef");
const Bytes kClientChallenge = hex("aaaaaaaaaaaaaaaa");
const Digest16 kRandomSessionKey = [] {
  Digest16 k;
  k.fill(0x55);
  return k;
}();

// 4.2.4.1.3: temp, with the AV pairs MsvAvNbDomainName "Domain", MsvAvNbComputerName
// "Server", MsvAvEOL, then Z(4).
const Bytes kTemp =
    hex("0101000000000000 0000000000000000 aaaaaaaaaaaaaaaa 00000000"
        "02000c0044006f006d00610069006e00 01000c00530065007200760065007200"
        "0000000000000000");

// 4.2.4.3 CHALLENGE_MESSAGE and AUTHENTICATE_MESSAGE.
const Bytes kChallengeMessage =
    hex("4e544c4d53535000020000000c000c003800000033828ae20123456789abcdef"
        "00000000000000002400240044000000060070170000000f5300650072007600"
        "6500720002000c0044006f006d00610069006e0001000c005300650072007600"
        "6500720000000000");
const Bytes kAuthenticateMessage =
    hex("4e544c4d5353500003000000180018006c00000054005400840000000c000c00"
        "480000000800080054000000100010005c00000010001000d8000000358288e2"
        "0501280a0000000f44006f006d00610069006e00550073006500720043004f00"
        "4d005000550054004500520086c35097ac9cec102554764a57cccc19aaaaaaaa"
        "aaaaaaaa68cd0ab851e51c96aabc927bebef6a1c010100000000000000000000"
        "00000000aaaaaaaaaaaaaaaa0000000002000c0044006f006d00610069006e00"
        "01000c005300650072007600650072000000000000000000c5dad2544fc97990"
        "94ce1ce90bc9d03e");
// A NEGOTIATE_MESSAGE with the 4.2.4 flags and a VERSION.
const Bytes kNegotiateMessage =
    hex("4e544c4d535350000100000033828ae2000000000000000000000000000000000601b01d0000000f");

Digest16 response_key() {
  return ntowf_v2(nt_hash("Password"), utf16le("User"), utf16le("Domain"));
}

}  // namespace

TEST_CASE("MS-NLMP 4.2.4.1.1 NTOWFv2") {
  CHECK(to_hex(response_key()) == "0c868a403bfd7a93a3001ef22ef02e3f");
}

TEST_CASE("MS-NLMP 4.2.4.2 LMv2 response, NTProofStr, session base key, encrypted key") {
  const Digest16 key = response_key();
  CHECK(to_hex(lmv2_response(key, kServerChallenge, kClientChallenge)) ==
        "86c35097ac9cec102554764a57cccc19aaaaaaaaaaaaaaaa");
  const Digest16 proof = ntlmv2_proof(key, kServerChallenge, kTemp);
  CHECK(to_hex(proof) == "68cd0ab851e51c96aabc927bebef6a1c");
  const Digest16 base = ntlmv2_session_base_key(key, proof);
  CHECK(to_hex(base) == "8de40ccadbc14a82f15cb0ad0de95ca3");
  CHECK(to_hex(rc4(base, kRandomSessionKey)) == "c5dad2544fc9799094ce1ce90bc9d03e");
}

TEST_CASE("NTLMv2 client challenge blob encodes as the 4.2.4.1.3 temp") {
  NtlmV2ClientChallenge blob;
  blob.timestamp = 0;
  std::copy(kClientChallenge.begin(), kClientChallenge.end(), blob.challenge_from_client.begin());
  blob.av_pairs = {{AvId::MsvAvNbDomainName, utf16le("Domain")},
                   {AvId::MsvAvNbComputerName, utf16le("Server")}};
  CHECK(encode_ntlmv2_client_challenge(blob) == kTemp);

  NtlmV2ClientChallenge decoded;
  REQUIRE(decode_ntlmv2_client_challenge(kTemp, decoded));
  CHECK(decoded.timestamp == 0);
  CHECK(decoded.av_pairs.size() == 2);
  CHECK(decoded.av_pairs[1].value == utf16le("Server"));
  Bytes bad = kTemp;
  bad[0] = 2;  // RespType must be 1
  CHECK_FALSE(decode_ntlmv2_client_challenge(bad, decoded));
}

TEST_CASE("MS-NLMP 4.2.4.3 CHALLENGE_MESSAGE decodes and re-encodes identically") {
  ChallengeMessage chal;
  REQUIRE(decode_challenge(kChallengeMessage, chal));
  CHECK(chal.negotiate_flags == 0xe28a8233);
  CHECK(Bytes(chal.server_challenge.begin(), chal.server_challenge.end()) == kServerChallenge);
  CHECK(chal.target_name == utf16le("Server"));
  REQUIRE(chal.target_info.size() == 2);
  CHECK(chal.target_info[0].id == AvId::MsvAvNbDomainName);
  CHECK(chal.target_info[0].value == utf16le("Domain"));
  CHECK(chal.target_info[1].id == AvId::MsvAvNbComputerName);
  REQUIRE(chal.version.has_value());
  CHECK(chal.version->product_major_version == 6);
  CHECK(chal.version->product_build == 6000);
  CHECK(encode_challenge(chal) == kChallengeMessage);
}

TEST_CASE("MS-NLMP 4.2.4.3 AUTHENTICATE_MESSAGE decodes and re-encodes identically") {
  AuthenticateMessage auth;
  REQUIRE(decode_authenticate(kAuthenticateMessage, auth));
  CHECK(auth.negotiate_flags == 0xe2888235);
  CHECK(auth.user_name == utf16le("User"));
  CHECK(auth.domain_name == utf16le("Domain"));
  CHECK(auth.workstation == utf16le("COMPUTER"));
  CHECK(to_hex(auth.lm_challenge_response) == "86c35097ac9cec102554764a57cccc19aaaaaaaaaaaaaaaa");
  CHECK(auth.nt_challenge_response.size() == 0x54);
  CHECK(to_hex(auth.encrypted_random_session_key) == "c5dad2544fc9799094ce1ce90bc9d03e");
  CHECK_FALSE(auth.mic.has_value());  // the payload starts at 72: no room for a MIC
  REQUIRE(auth.version.has_value());
  CHECK(auth.version->product_build == 2600);
  CHECK(encode_authenticate(auth, false) == kAuthenticateMessage);
}

TEST_CASE("NEGOTIATE_MESSAGE codec") {
  NegotiateMessage neg;
  REQUIRE(decode_negotiate(kNegotiateMessage, neg));
  CHECK(neg.negotiate_flags == 0xe28a8233);
  REQUIRE(neg.version.has_value());
  CHECK(neg.version->product_build == 7600);
  CHECK(encode_negotiate(neg) == kNegotiateMessage);
  CHECK(is_raw_ntlmssp(kNegotiateMessage));
  CHECK(is_raw_ntlmssp(hex("4e544c4d53535000")));
  CHECK_FALSE(is_raw_ntlmssp(hex("4e544c4d535350")));
}

TEST_CASE("NTLM decoders reject every truncation and bad offsets") {
  NegotiateMessage neg;
  ChallengeMessage chal;
  AuthenticateMessage auth;
  for (std::size_t n = 0; n < kNegotiateMessage.size(); ++n) {
    CAPTURE(n);
    CHECK_FALSE(decode_negotiate(ByteSpan(kNegotiateMessage).first(n), neg));
  }
  for (std::size_t n = 0; n < kChallengeMessage.size(); ++n) {
    CAPTURE(n);
    CHECK_FALSE(decode_challenge(ByteSpan(kChallengeMessage).first(n), chal));
  }
  for (std::size_t n = 0; n < kAuthenticateMessage.size(); ++n) {
    CAPTURE(n);
    CHECK_FALSE(decode_authenticate(ByteSpan(kAuthenticateMessage).first(n), auth));
  }
  // An offset near 2^32 must not wrap around.
  Bytes wrapped = kAuthenticateMessage;
  store_le32(&wrapped[20 + 4], 0xFFFFFFF0u);
  CHECK_FALSE(decode_authenticate(wrapped, auth));
  // Wrong message type and signature.
  CHECK_FALSE(decode_challenge(kAuthenticateMessage, chal));
  Bytes bad_sig = kNegotiateMessage;
  bad_sig[0] = 'X';
  CHECK_FALSE(decode_negotiate(bad_sig, neg));
  // An AV pair running past its buffer.
  std::vector<AvPair> pairs;
  CHECK_FALSE(decode_av_pairs(hex("01000c0053006500"), pairs));
  CHECK(decode_av_pairs(hex("0100020053000000 0000"), pairs));
}

TEST_CASE("MS-NLMP 4.2.4.4 signing and sealing keys, GSS_WrapEx") {
  const std::uint32_t flags = 0xe2888235;
  auto client = NtlmSessionSecurity::create(kRandomSessionKey, flags, NtlmRole::client);
  REQUIRE(client.has_value());
  CHECK(to_hex(client->client_signing_key()) == "4788dc861b4782f35d43fd98fe1a2d39");
  CHECK(to_hex(client->client_sealing_key()) == "59f600973cc4960a25480a7c196e4c58");
  CHECK(to_hex(client->server_signing_key()) == "d04d6f10741041d1d246d64188d7a8ad");
  CHECK(to_hex(client->server_sealing_key()) == "9355f3a957c1583d25c4c2f11e40390e");

  Bytes message = utf16le("Plaintext");
  NtlmSignature sig = client->seal(message);
  CHECK(to_hex(message) == "54e50165bf1936dc996020c1811b0f06fb5f");
  CHECK(to_hex(sig) == "010000007fb38ec5c55d497600000000");

  auto server = NtlmSessionSecurity::create(kRandomSessionKey, flags, NtlmRole::server);
  REQUIRE(server.has_value());
  CHECK(server->unseal(message, sig));
  CHECK(message == utf16le("Plaintext"));

  // Signatures in both directions, with sequence numbers advancing independently.
  for (int k = 0; k < 3; ++k) {
    NtlmSignature c = client->sign(text_bytes("from client"));
    CHECK(load_le32(c.data() + 12) == static_cast<std::uint32_t>(k + 1));
    CHECK(server->verify(text_bytes("from client"), c));
    NtlmSignature s = server->sign(text_bytes("from server"));
    CHECK(client->verify(text_bytes("from server"), s));
  }
  NtlmSignature forged = client->sign(text_bytes("x"));
  forged[5] ^= 1;
  CHECK_FALSE(server->verify(text_bytes("x"), forged));
  CHECK_FALSE(NtlmSessionSecurity::create(kRandomSessionKey, 0x00000201, NtlmRole::client));
}

TEST_CASE("NTLM acceptor verifies the MS-NLMP 4.2.4.3 AUTHENTICATE_MESSAGE") {
  ServerIdentity id{"Server", "Domain", "", ""};
  std::string looked_up_user, looked_up_domain;
  auto lookup = [&](std::string_view user, std::string_view domain) -> std::optional<UserRecord> {
    looked_up_user = user;
    looked_up_domain = domain;
    if (user != "User") return std::nullopt;
    return UserRecord{nt_hash("Password"), false};
  };
  auto fixed_challenge = [](MutableByteSpan out) {
    std::copy_n(kServerChallenge.begin(), out.size(), out.begin());
  };
  NtlmServer server(id, lookup, fixed_challenge, [] { return std::uint64_t{0}; });
  Bytes challenge;
  REQUIRE(server.challenge(kNegotiateMessage, challenge));
  ChallengeMessage chal;
  REQUIRE(decode_challenge(challenge, chal));
  CHECK(Bytes(chal.server_challenge.begin(), chal.server_challenge.end()) == kServerChallenge);
  CHECK(find_av_pair(chal.target_info, AvId::MsvAvTimestamp) != nullptr);
  CHECK(has_flag(chal.negotiate_flags, NegotiateFlag::NTLMSSP_NEGOTIATE_KEY_EXCH));

  NtlmAuthResult result = server.authenticate(kAuthenticateMessage);
  CHECK(result.failure == AuthFailure::none);
  CHECK(result.user == "User");
  CHECK(result.domain == "Domain");
  CHECK(result.workstation == "COMPUTER");
  CHECK_FALSE(result.anonymous);
  CHECK(result.exported_session_key == kRandomSessionKey);
  CHECK(looked_up_user == "User");
  CHECK(looked_up_domain == "Domain");

  // A second AUTHENTICATE against the same challenge is refused.
  CHECK(server.authenticate(kAuthenticateMessage).failure == AuthFailure::out_of_sequence);

  // The same message against another challenge fails as a wrong password.
  NtlmServer other(id, lookup);
  REQUIRE(other.challenge(kNegotiateMessage, challenge));
  CHECK(other.authenticate(kAuthenticateMessage).failure == AuthFailure::wrong_password);
}

TEST_CASE("user names carrying a domain are split for the lookup") {
  std::string user = "WORKGROUP\\alice", domain = "X";
  split_user_name(user, domain);
  CHECK(user == "alice");
  CHECK(domain == "WORKGROUP");
  user = "bob@example.com";
  domain = "";
  split_user_name(user, domain);
  CHECK(user == "bob");
  CHECK(domain == "example.com");
  user = "carol";
  domain = "D";
  split_user_name(user, domain);
  CHECK(user == "carol");
  CHECK(domain == "D");
}
