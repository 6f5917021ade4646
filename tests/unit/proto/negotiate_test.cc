#include <doctest/doctest.h>

#include "smbd/proto/negotiate.hh"
#include "test_util.hh"

namespace smb {
namespace {

using test::hex;

const char* kHeader =
    "fe534d42 4000 0000 00000000 0000 0000 00000000 00000000 0000000000000000"
    "feff0000 00000000 0000000000000000 00000000000000000000000000000000";

// A 3.1.1 NEGOTIATE request laid out as MS-SMB2 2.2.3 / 2.2.3.1 describe it, in the
// shape a Samba client sends: five dialects, preauth integrity, encryption, Samba's
// POSIX extensions context (a type this code does not know), signing.
Bytes smbclient_negotiate() {
  std::string text = kHeader;
  text +=
      "2400 0500 0100 0000 7f000000 00112233445566778899aabbccddeeff"
      "70000000 0400 0000"
      "0202 1002 0003 0203 1103 0000"
      // preauth: count 1, salt 32, SHA-512, salt 00..1f
      "0100 2600 00000000 0100 2000 0100"
      "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f 0000"
      // encryption: AES-256-GCM, AES-256-CCM, AES-128-GCM, AES-128-CCM
      "0200 0a00 00000000 0400 0400 0300 0200 0100 000000000000"
      // type 0x0100, 16 bytes
      "0001 1000 00000000 93ad25509cb411e7b42383de968bcd7c"
      // signing: AES-GMAC, AES-CMAC
      "0800 0600 00000000 0200 0200 0100";
  return hex(text);
}

TEST_CASE("negotiate: request with contexts from hand-written bytes") {
  Bytes m = smbclient_negotiate();
  NegotiateRequest q;
  REQUIRE(decode(ByteSpan(m), q) == NtStatus::SUCCESS);
  CHECK(q.security_mode == kNegotiateSigningEnabled);
  CHECK(q.capabilities == 0x7F);
  CHECK(q.client_guid[0] == 0x00);
  CHECK(q.client_guid[15] == 0xFF);
  CHECK(q.dialects == std::vector<std::uint16_t>{0x0202, 0x0210, 0x0300, 0x0302, 0x0311});
  CHECK(q.offers(Dialect::SMB3_1_1));
  REQUIRE(q.contexts.size() == 4);

  PreauthIntegrityCapabilities preauth;
  auto* c = find_context(q.contexts, NegotiateContextType::SMB2_PREAUTH_INTEGRITY_CAPABILITIES);
  REQUIRE(c != nullptr);
  REQUIRE(decode_context(c->data, preauth) == NtStatus::SUCCESS);
  CHECK(preauth.hash_algorithms == std::vector{HashAlgorithm::SHA_512});
  REQUIRE(preauth.salt.size() == 32);
  CHECK(preauth.salt[31] == 0x1F);

  EncryptionCapabilities enc;
  c = find_context(q.contexts, NegotiateContextType::SMB2_ENCRYPTION_CAPABILITIES);
  REQUIRE(c != nullptr);
  REQUIRE(decode_context(c->data, enc) == NtStatus::SUCCESS);
  CHECK(enc.ciphers == std::vector{CipherId::AES_256_GCM, CipherId::AES_256_CCM,
                                   CipherId::AES_128_GCM, CipherId::AES_128_CCM});

  // MS-SMB2 3.3.5.4: unknown context types are kept, to be ignored by the server.
  CHECK(static_cast<std::uint16_t>(q.contexts[2].type) == 0x0100);
  CHECK(q.contexts[2].data.size() == 16);

  SigningCapabilities sign;
  c = find_context(q.contexts, NegotiateContextType::SMB2_SIGNING_CAPABILITIES);
  REQUIRE(c != nullptr);
  REQUIRE(decode_context(c->data, sign) == NtStatus::SUCCESS);
  CHECK(sign.signing_algorithms ==
        std::vector{SigningAlgorithmId::AES_GMAC, SigningAlgorithmId::AES_CMAC});

  // Encoding the decoded request gives back the same bytes.
  Header h;
  REQUIRE(decode(ByteSpan(m), h) == NtStatus::SUCCESS);
  CHECK(encode_message(h, q) == m);
}

TEST_CASE("negotiate: request malformed") {
  Bytes m = smbclient_negotiate();
  NegotiateRequest q;
  REQUIRE(decode(ByteSpan(m), q) == NtStatus::SUCCESS);
  test::check_truncations(m, q, m.size());  // the last context runs to the very end
  test::check_structure_size<NegotiateRequest>(m);
  test::mutate<NegotiateRequest>(m, 1, 3000);

  auto patched = [&](std::size_t at, std::uint32_t value, int width) {
    Bytes copy = m;
    if (width == 2)
      store_le16(&copy[at], static_cast<std::uint16_t>(value));
    else
      store_le32(&copy[at], value);
    NegotiateRequest out;
    return decode(ByteSpan(copy), out);
  };
  constexpr std::size_t body = kSmb2HeaderSize;
  CHECK(patched(body + 2, 0, 2) == NtStatus::INVALID_PARAMETER);       // DialectCount 0
  CHECK(patched(body + 2, 0xFFFF, 2) == NtStatus::INVALID_PARAMETER);  // huge count
  CHECK(patched(body + 28, 0x71, 4) == NtStatus::INVALID_PARAMETER);   // misaligned
  CHECK(patched(body + 28, 0x40, 4) == NtStatus::INVALID_PARAMETER);   // inside the body
  CHECK(patched(body + 28, 0xFFFFFFF8, 4) == NtStatus::INVALID_PARAMETER);
  CHECK(patched(body + 32, 5, 2) == NtStatus::INVALID_PARAMETER);       // one too many
  CHECK(patched(body + 32, 0xFFFF, 2) == NtStatus::INVALID_PARAMETER);  // huge count
  CHECK(patched(114, 0xFFFF, 2) == NtStatus::INVALID_PARAMETER);        // DataLength
  // Without 3.1.1 among the dialects the context fields are ClientStartTime: ignored.
  Bytes old = m;
  store_le16(&old[108], 0x0300);
  NegotiateRequest out;
  REQUIRE(decode(ByteSpan(old), out) == NtStatus::SUCCESS);
  CHECK(out.contexts.empty());
}

TEST_CASE("negotiate: typed contexts round trip and refuse short data") {
  PreauthIntegrityCapabilities p{{HashAlgorithm::SHA_512}, Bytes(32, 0xAB)};
  EncryptionCapabilities e{{CipherId::AES_128_GCM, CipherId::AES_256_GCM}};
  CompressionCapabilities c{kCompressionCapabilitiesFlagChained,
                            {CompressionAlgorithm::LZ77, CompressionAlgorithm::PATTERN_V1}};
  NetnameNegotiateContext n{"fileserver.example"};
  TransportCapabilities t{kAcceptTransportLevelSecurity};
  RdmaTransformCapabilities r{{RdmaTransformId::ENCRYPTION, RdmaTransformId::SIGNING}};
  SigningCapabilities s{{SigningAlgorithmId::AES_CMAC}};

  auto check = [](const auto& value) {
    using T = std::decay_t<decltype(value)>;
    NegotiateContext ctx = to_context(value);
    T out;
    REQUIRE(decode_context(ctx.data, out) == NtStatus::SUCCESS);
    CHECK(out == value);
    for (std::size_t len = 0; len < ctx.data.size(); ++len) {
      Bytes prefix(ctx.data.begin(), ctx.data.begin() + static_cast<std::ptrdiff_t>(len));
      T shorter;
      if (!std::is_same_v<T, NetnameNegotiateContext> && !std::is_same_v<T, TransportCapabilities>)
        CHECK(decode_context(prefix, shorter) == NtStatus::INVALID_PARAMETER);
      else
        (void)decode_context(prefix, shorter);
    }
  };
  check(p);
  check(e);
  check(c);
  check(n);
  check(t);
  check(r);
  check(s);
  CHECK(to_context(c).type == NegotiateContextType::SMB2_COMPRESSION_CAPABILITIES);
  CHECK(to_context(n).data.size() == 2 * n.net_name.size());
  // A netname of odd length is not UTF-16.
  NetnameNegotiateContext bad;
  CHECK(decode_context(Bytes{0x41}, bad) == NtStatus::INVALID_PARAMETER);
  TransportCapabilities short_transport;
  CHECK(decode_context(Bytes{1, 0, 0}, short_transport) == NtStatus::INVALID_PARAMETER);
}

NegotiateResponse sample_response() {
  NegotiateResponse p;
  p.security_mode = kNegotiateSigningEnabled | kNegotiateSigningRequired;
  p.dialect_revision = to_u16(Dialect::SMB3_1_1);
  for (std::size_t i = 0; i < 16; ++i) p.server_guid[i] = static_cast<std::uint8_t>(0xA0 + i);
  p.capabilities = kGlobalCapDfs | kGlobalCapLeasing | kGlobalCapLargeMtu | kGlobalCapEncryption;
  p.max_transact_size = 8 << 20;
  p.max_read_size = 8 << 20;
  p.max_write_size = 8 << 20;
  p.system_time = 0x01D9000000000000ull;
  p.security_buffer = Bytes{0x60, 0x48, 0x06, 0x06, 0x2b, 0x06, 0x01};
  p.contexts.push_back(
      to_context(PreauthIntegrityCapabilities{{HashAlgorithm::SHA_512}, Bytes(32, 0x11)}));
  p.contexts.push_back(to_context(EncryptionCapabilities{{CipherId::AES_128_GCM}}));
  p.contexts.push_back(to_context(SigningCapabilities{{SigningAlgorithmId::AES_GMAC}}));
  return p;
}

TEST_CASE("negotiate: response round trip and layout") {
  NegotiateResponse p = sample_response();
  Bytes m = test::message(p);
  // MS-SMB2 2.2.4: the security buffer follows the fixed part at 0x80; contexts start
  // 8-byte aligned after it.
  CHECK(load_le16(&m[kSmb2HeaderSize + 56]) == 0x80);
  std::uint32_t context_offset = load_le32(&m[kSmb2HeaderSize + 60]);
  CHECK(context_offset == 0x88);
  CHECK(load_le16(&m[kSmb2HeaderSize + 6]) == 3);
  CHECK(test::round_trip(p) == p);

  // 3.0.2: no contexts on the wire.
  NegotiateResponse old = p;
  old.dialect_revision = to_u16(Dialect::SMB3_0_2);
  NegotiateResponse out = test::round_trip(old);
  CHECK(out.contexts.empty());
  CHECK(out.security_buffer == p.security_buffer);

  // Empty security buffer still gives the one Buffer byte.
  NegotiateResponse bare;
  bare.dialect_revision = 0x0202;
  CHECK(test::message(bare).size() == kSmb2HeaderSize + 65);
  CHECK(test::round_trip(bare) == bare);
}

TEST_CASE("negotiate: response malformed") {
  NegotiateResponse p = sample_response();
  Bytes m = test::message(p);
  test::check_truncations(m, p, m.size());
  test::check_structure_size<NegotiateResponse>(m);
  test::mutate<NegotiateResponse>(m, 2, 3000);
  Bytes copy = m;
  store_le16(&copy[kSmb2HeaderSize + 58], 0xFFFF);  // SecurityBufferLength
  NegotiateResponse out;
  CHECK(decode(ByteSpan(copy), out) == NtStatus::INVALID_PARAMETER);
  copy = m;
  store_le16(&copy[kSmb2HeaderSize + 56], 0x10);  // offset inside the header
  CHECK(decode(ByteSpan(copy), out) == NtStatus::INVALID_PARAMETER);
}

TEST_CASE("negotiate: request round trip without 3.1.1") {
  NegotiateRequest q;
  q.security_mode = kNegotiateSigningEnabled;
  q.capabilities = kGlobalCapLargeMtu;
  q.dialects = {0x0202, 0x0210};
  CHECK(test::round_trip(q) == q);
  test::check_malformed(q, 36 + 4);
}

// smbclient's SMB1 NEGOTIATE offering SMB2 ([MS-CIFS] 2.2.4.52.1, MS-SMB2 3.3.5.3).
TEST_CASE("negotiate: SMB1 negotiate offering SMB 2.002 and SMB 2.???") {
  Bytes m =
      hex("ff534d42 72 00000000 18 4348 0000 0000000000000000 0000 0000 feff 0000 0000"
          "00 2200"
          "024e54204c4d20302e313200"  // "NT LM 0.12"
          "02534d4220322e30303200"    // "SMB 2.002"
          "02534d4220322e3f3f3f00");  // "SMB 2.???"
  std::vector<std::string> dialects;
  REQUIRE(decode_smb1_negotiate(m, dialects));
  CHECK(dialects == std::vector<std::string>{"NT LM 0.12", "SMB 2.002", "SMB 2.???"});

  for (std::size_t n = 0; n < m.size(); ++n) {
    Bytes prefix(m.begin(), m.begin() + static_cast<std::ptrdiff_t>(n));
    CHECK_FALSE(decode_smb1_negotiate(prefix, dialects));
  }
  Bytes bad = m;
  bad[4] = 0x73;  // SESSION_SETUP_ANDX
  CHECK_FALSE(decode_smb1_negotiate(bad, dialects));
  bad = m;
  bad[35] = 0x03;  // BufferFormat
  CHECK_FALSE(decode_smb1_negotiate(bad, dialects));
  bad = m;
  bad.back() = 'x';  // unterminated string
  CHECK_FALSE(decode_smb1_negotiate(bad, dialects));
  bad = m;
  store_le16(&bad[33], 0xFFFF);  // ByteCount past the end
  CHECK_FALSE(decode_smb1_negotiate(bad, dialects));
  Bytes smb2 = smbclient_negotiate();
  CHECK_FALSE(decode_smb1_negotiate(smb2, dialects));
}

}  // namespace
}  // namespace smb
