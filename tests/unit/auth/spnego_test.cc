// DER reader limits and SPNEGO token codec (RFC 4178, [MS-SPNG], RFC 2743 3.1).
#include <doctest/doctest.h>

#include "smbd/auth/authenticator.hh"
#include "smbd/auth/der.hh"
#include "smbd/auth/spnego.hh"
#include "test_util.hh"

using namespace smb;
using namespace smb::auth;
using namespace smb::auth::test;

TEST_CASE("der reader enforces definite minimal lengths and bounds") {
  der::Tlv t;
  {
    const Bytes data = hex("0403aabbcc");
    der::Reader r(data);
    REQUIRE(r.next(t));
    CHECK(t.tag == 0x04);
    CHECK(to_hex(t.content) == "aabbcc");
    CHECK(r.at_end());
  }
  CHECK_FALSE(der::Reader(hex("0404aabbcc")).next(t));      // runs past the end
  CHECK_FALSE(der::Reader(hex("0480aabb0000")).next(t));    // indefinite length
  CHECK_FALSE(der::Reader(hex("048103aabbcc")).next(t));    // non-minimal long form
  CHECK_FALSE(der::Reader(hex("04820003aabbcc")).next(t));  // leading zero length octet
  CHECK_FALSE(der::Reader(hex("0485ffffffffff")).next(t));  // too many length octets
  CHECK_FALSE(der::Reader(hex("0484ffffffff00")).next(t));  // 4 GiB claimed
  CHECK_FALSE(der::Reader(hex("1f0100")).next(t));          // high tag number form
  CHECK_FALSE(der::Reader(hex("04")).next(t));
  CHECK_FALSE(der::Reader(Bytes{}).next(t));

  Bytes big(200, 0x11);
  Bytes encoded = der::tlv(0x04, big);
  CHECK(to_hex(ByteSpan(encoded).first(3)) == "0481c8");
  der::Reader r(encoded);
  REQUIRE(r.next(t));
  CHECK(t.content.size() == 200);

  // Primitive elements cannot be entered.
  const Bytes primitive = hex("0400");
  der::Reader p(primitive);
  REQUIRE(p.next(t));
  CHECK_FALSE(p.enter(t).ok());
}

TEST_CASE("der reader limits nesting depth") {
  Bytes nested = hex("0400");
  for (int k = 0; k < 20; ++k) nested = der::tlv(der::kTagSequence, nested);
  der::Reader r(nested);
  int depth = 0;
  der::Tlv t;
  while (r.next(t) && t.tag == der::kTagSequence) {
    r = r.enter(t);
    ++depth;
  }
  CHECK(depth == der::kMaxDepth + 1);  // the reader past the limit is failed
  CHECK_FALSE(r.ok());
}

TEST_CASE("oid text form") {
  CHECK(der::oid_to_string(ByteSpan(kSpnegoOid).subspan(2)) == "1.3.6.1.5.5.2");
  CHECK(der::oid_to_string(ByteSpan(kNtlmsspOid).subspan(2)) == "1.3.6.1.4.1.311.2.2.10");
  CHECK(der::oid_to_string(hex("2a864886f712010202")) == "1.2.840.113554.1.2.2");
  CHECK(der::oid_to_string(hex("2a86")).empty());    // unterminated subidentifier
  CHECK(der::oid_to_string(hex("2a8001")).empty());  // non-minimal subidentifier
}

TEST_CASE("server hint token is a framed NegTokenInit2 offering NTLMSSP") {
  Bytes hint = encode_neg_token_init_hint();
  CHECK(hint[0] == 0x60);
  CHECK(to_hex(ByteSpan(hint).subspan(2, 8)) == to_hex(kSpnegoOid));
  NegTokenInit init;
  REQUIRE(decode_neg_token_init(hint, init));
  REQUIRE(init.mech_types.size() == 1);
  CHECK(init.mech_types[0] == Bytes(kNtlmsspOid.begin(), kNtlmsspOid.end()));
  CHECK_FALSE(init.mech_token.has_value());
  CHECK_FALSE(init.mech_list_mic.has_value());
  for (std::size_t n = 0; n < hint.size(); ++n) {
    CAPTURE(n);
    CHECK_FALSE(decode_neg_token_init(ByteSpan(hint).first(n), init));
  }
}

TEST_CASE("NegTokenInit round trip, framed and bare") {
  NegTokenInit init;
  init.mech_types = {hex("06092a864882f712010202"), Bytes(kNtlmsspOid.begin(), kNtlmsspOid.end())};
  init.mech_token = hex("4e544c4d53535000010000");
  init.mech_list_mic = hex("0102");
  Bytes token = encode_neg_token_init(init);
  NegTokenInit decoded;
  REQUIRE(decode_neg_token_init(token, decoded));
  CHECK(decoded.mech_types == init.mech_types);
  CHECK(decoded.mech_types_der == encode_mech_type_list(init.mech_types));
  CHECK(decoded.mech_token == init.mech_token);
  CHECK(decoded.mech_list_mic == init.mech_list_mic);

  // The same NegotiationToken without the GSS-API framing ([0] NegTokenInit).
  der::Reader r(token);
  der::Tlv framed, oid, choice;
  REQUIRE(r.next(framed));
  der::Reader inner = r.enter(framed);
  REQUIRE(inner.next(oid));
  REQUIRE(inner.next(choice));
  REQUIRE(decode_neg_token_init(choice.whole, decoded));
  CHECK(decoded.mech_token == init.mech_token);

  // Trailing garbage, a wrong framing OID and a NegTokenResp are refused.
  Bytes trailing = token;
  trailing.push_back(0);
  CHECK_FALSE(decode_neg_token_init(trailing, decoded));
  Bytes wrong_oid = token;
  wrong_oid[9] ^= 1;
  CHECK_FALSE(decode_neg_token_init(wrong_oid, decoded));
  CHECK_FALSE(decode_neg_token_init(encode_neg_token_resp(NegTokenResp{}), decoded));
}

TEST_CASE("NegTokenResp round trip and strictness") {
  NegTokenResp resp;
  resp.neg_state = NegState::accept_incomplete;
  resp.supported_mech = Bytes(kNtlmsspOid.begin(), kNtlmsspOid.end());
  resp.response_token = Bytes(300, 0x42);  // long-form lengths
  resp.mech_list_mic = hex("01000000aabbccddeeff001100000000");
  Bytes token = encode_neg_token_resp(resp);
  NegTokenResp decoded;
  REQUIRE(decode_neg_token_resp(token, decoded));
  CHECK(decoded.neg_state == NegState::accept_incomplete);
  CHECK(decoded.supported_mech == resp.supported_mech);
  CHECK(decoded.response_token == resp.response_token);
  CHECK(decoded.mech_list_mic == resp.mech_list_mic);
  for (std::size_t n = 0; n < token.size(); ++n) {
    CAPTURE(n);
    CHECK_FALSE(decode_neg_token_resp(ByteSpan(token).first(n), decoded));
  }

  // reject, as a server sends it ([MS-SPNG] 3.2.5.2): a1 07 30 05 a0 03 0a 01 02.
  NegTokenResp reject;
  reject.neg_state = NegState::reject;
  CHECK(to_hex(encode_neg_token_resp(reject)) == "a1073005a0030a0102");
  // accept-completed with nothing else.
  NegTokenResp done;
  done.neg_state = NegState::accept_completed;
  CHECK(to_hex(encode_neg_token_resp(done)) == "a1073005a0030a0100");

  // Out-of-order fields, an out-of-range negState, and a primitive field are refused.
  CHECK_FALSE(decode_neg_token_resp(hex("a10c300aa2030401aaa0030a0101"), decoded));
  CHECK_FALSE(decode_neg_token_resp(hex("a1073005a0030a0109"), decoded));
  CHECK_FALSE(decode_neg_token_resp(hex("a105300380010a"), decoded));
  // Unknown later fields are skipped (the "..." extension marker).
  CHECK(decode_neg_token_resp(hex("a10c300aa0030a0100a5030401aa"), decoded));
}

TEST_CASE("with Kerberos the NEGOTIATE hint offers Microsoft's and the standard krb5 OIDs first") {
  using namespace smb::auth;
  NegTokenInit init;
  REQUIRE(decode_neg_token_init(ServerAuthenticator::negotiate_hint_token(true), init));
  REQUIRE(init.mech_types.size() == 3);
  CHECK(init.mech_types[0] == Bytes(std::begin(kMsKerberosOid), std::end(kMsKerberosOid)));
  CHECK(init.mech_types[1] == Bytes(std::begin(kKerberosOid), std::end(kKerberosOid)));
  CHECK(init.mech_types[2] == Bytes(kNtlmsspOid.begin(), kNtlmsspOid.end()));
  REQUIRE(decode_neg_token_init(ServerAuthenticator::negotiate_hint_token(false), init));
  CHECK(init.mech_types.size() == 1);
}

TEST_CASE(
    "a Kerberos token for a server without a keytab falls back to what the client also offers") {
  using namespace smb::auth;
  // Kerberos first, NTLMSSP second, no keytab: the server selects NTLMSSP (not first, so
  // the mechListMIC becomes mandatory) and asks for its token.
  NegTokenInit init;
  init.mech_types = {Bytes(std::begin(kMsKerberosOid), std::end(kMsKerberosOid)),
                     Bytes(kNtlmsspOid.begin(), kNtlmsspOid.end())};
  init.mech_token = Bytes{0x60, 0x00};
  ServerAuthenticator server(ServerIdentity{}, [](std::string_view, std::string_view) {
    return std::optional<UserRecord>();
  });
  AuthStep step = server.step(encode_neg_token_init(init));
  REQUIRE(step.status == NtStatus::MORE_PROCESSING_REQUIRED);
  NegTokenResp resp;
  REQUIRE(decode_neg_token_resp(step.output_token, resp));
  CHECK(resp.supported_mech == Bytes(kNtlmsspOid.begin(), kNtlmsspOid.end()));
}

TEST_CASE("a Kerberos token the keytab cannot accept is a LOGON_FAILURE with a reason") {
  using namespace smb::auth;
  NegTokenInit init;
  init.mech_types = {Bytes(std::begin(kKerberosOid), std::end(kKerberosOid))};
  init.mech_token = Bytes{0x60, 0x03, 0x06, 0x01, 0x00};  // not an AP-REQ
  ServerAuthenticator server(ServerIdentity{}, [](std::string_view, std::string_view) {
    return std::optional<UserRecord>();
  });
  server.offer_kerberos({"/nonexistent/keytab", "EXAMPLE.COM"});
  AuthStep step = server.step(encode_neg_token_init(init));
  CHECK(step.status == NtStatus::LOGON_FAILURE);
  CHECK_FALSE(step.failure_detail.empty());
  NegTokenResp resp;
  REQUIRE(decode_neg_token_resp(step.output_token, resp));
  CHECK(resp.neg_state == NegState::reject);
}
