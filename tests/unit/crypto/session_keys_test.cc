#include "smbd/crypto/session_keys.hh"

#include <doctest/doctest.h>

#include "hex.hh"

using namespace smb::crypto;
using smb::crypto::test::hex;
using smb::crypto::test::to_hex;

namespace {

// The 3.1.1 example of "SMB 2 and SMB 3 security in Windows 10: the anatomy of signing and
// cryptographic keys" (Microsoft Open Specifications blog, appendix): the final
// PreauthSession.PreauthIntegrityHashValue of the first channel.
const char kPreauth311[] =
    "0DD13628CC3ED218EF9DF9772D436D0887AB9814BFAE63A80AA845F36909DB79"
    "28622DDDAD522D9751640A459762C5A9D6BB084CBB3CE6BDADEF5D5BCE3C6C01";

}  // namespace

// The blog lists the keys as the client holds them: EncryptionKey is what the client
// encrypts with (client to server), DecryptionKey what it decrypts with.
TEST_CASE("session keys: SMB 3.0 example from the Open Specifications blog, both roles") {
  const auto gss = hex("7CD451825D0450D235424E44BA6E78CC");
  const SessionKeys client = derive_session_keys(kDialect300, Role::Client, gss);
  CHECK(to_hex(client.session_key) == "7CD451825D0450D235424E44BA6E78CC");
  CHECK(to_hex(client.signing_key) == "0B7E9C5CAC36C0F6EA9AB275298CEDCE");
  CHECK(to_hex(client.encrypt_key) == "FAD27796665B313EBB578F388632B4F7");
  CHECK(to_hex(client.decrypt_key) == "B0F0427F7CEB416D1D9DCC0CD4F99447");
  CHECK(to_hex(client.application_key) == "BB23A4575AA26C721AF525AF15A87B4F");

  const SessionKeys server = derive_session_keys(kDialect300, Role::Server, gss);
  CHECK(server.signing_key == client.signing_key);
  CHECK(server.encrypt_key == client.decrypt_key);
  CHECK(server.decrypt_key == client.encrypt_key);
  CHECK(server.application_key == client.application_key);

  // 3.0.2 uses the same labels; the cipher argument does not apply before 3.1.1.
  const SessionKeys s302 = derive_session_keys(kDialect302, Role::Server, gss, Cipher::AES_256_GCM);
  CHECK(s302.encrypt_key == server.encrypt_key);
  CHECK(s302.signing_key == server.signing_key);
}

TEST_CASE("session keys: SMB 3.0 second channel signing key (session binding example)") {
  CHECK(to_hex(derive_signing_key(kDialect300, hex("4E01A2B313BCF660CC250BEF021AEDE6"))) ==
        "BA1A17DBBFEC349BCA105563D598952F");
}

TEST_CASE("session keys: SMB 3.1.1 example from the Open Specifications blog, both roles") {
  const auto gss = hex("270E1BA896585EEB7AF3472D3B4C75A7");
  const auto preauth = hex(kPreauth311);
  const SessionKeys client =
      derive_session_keys(kDialect311, Role::Client, gss, Cipher::AES_128_GCM, preauth);
  CHECK(to_hex(client.signing_key) == "73FE7A9A77BEF0BDE49C650D8CCB5F76");
  CHECK(to_hex(client.encrypt_key) == "629BCBC54422A0F572B97F45989B6073");
  CHECK(to_hex(client.decrypt_key) == "E2AF0DCEFAC68DA71A0DFBD0D1350D74");
  CHECK(to_hex(client.application_key) == "6D7AD7954E9EC61E907B4D473DC178FF");

  const SessionKeys server =
      derive_session_keys(kDialect311, Role::Server, gss, Cipher::AES_128_CCM, preauth);
  CHECK(server.signing_key == client.signing_key);
  CHECK(server.encrypt_key == client.decrypt_key);
  CHECK(server.decrypt_key == client.encrypt_key);
  CHECK(derive_signing_key(kDialect311, gss, preauth) == client.signing_key);
}

// "Encryption in SMB 3.0: A protocol perspective" and "SMB 3.1.1 Encryption in Windows 10"
// (Microsoft Open Specifications blog), keys as the client holds them.
TEST_CASE("session keys: cipher keys of the SMB 3.0 and 3.1.1 encryption examples") {
  const SessionKeys k300 =
      derive_session_keys(kDialect300, Role::Client, hex("B4546771B515F766A86735532DD6C4F0"));
  CHECK(to_hex(k300.encrypt_key) == "261B72350558F2E9DCF613070383EDBF");
  CHECK(to_hex(k300.decrypt_key) == "8FE2B57EC34D2DB5B1A9727F526BBDB5");

  const auto preauth =
      hex("B23F3CBFD69487D9832B79B1594A367CDD950909B774C3A4C412B4FCEA9EDDDB"
          "A7DB256BA2EA30E977F11F9B113247578E0E915C6D2A513B8F2FCA5707DC8770");
  const SessionKeys k311 =
      derive_session_keys(kDialect311, Role::Client, hex("419FDDF34C1E001909D362AE7FB6AF79"),
                          Cipher::AES_128_GCM, preauth);
  CHECK(to_hex(k311.encrypt_key) == "A2F5E80E5D59103034F32E52F698E5EC");
  CHECK(to_hex(k311.decrypt_key) == "748C50868C90F302962A5C35F5F9A8BF");
}

// No published example covers the 256-bit ciphers; the expected keys were computed with
// an independent SP800-108 implementation (Python hmac/hashlib) from the rules of
// [MS-SMB2] 3.1.4.2: full GSS key and L = 256 for the cipher keys, the 16-byte
// Session.SessionKey and L = 128 for signing and application keys.
TEST_CASE("session keys: SMB 3.1.1 with a 256-bit cipher uses the full key and L=256") {
  const auto gss = hex("404142434445464748494A4B4C4D4E4F505152535455565758595A5B5C5D5E5F");
  const auto preauth = hex(kPreauth311);
  for (Cipher c : {Cipher::AES_256_CCM, Cipher::AES_256_GCM}) {
    const SessionKeys server = derive_session_keys(kDialect311, Role::Server, gss, c, preauth);
    CHECK(to_hex(server.session_key) == "404142434445464748494A4B4C4D4E4F");
    CHECK(to_hex(server.encrypt_key) ==
          "FA2F15537C8E6D5571ED417A1308F66531D413E095D2567130FEB6C9E20E4582");
    CHECK(to_hex(server.decrypt_key) ==
          "2A484FF37B62E1E7B2C7732CA18174CD6E3E6C8DAFDBA5ABD1B22FCB66717662");
    CHECK(to_hex(server.signing_key) == "31B3BC2ABDD23EAB120B25A2FBFA1FDE");
    CHECK(to_hex(server.application_key) == "EA6C98EA4D1AE95B80BDD1B4C1D9808F");
  }
}

TEST_CASE("session keys: 2.x signs with the session key, padded or cut to 16 bytes") {
  const SessionKeys k = derive_session_keys(kDialect210, Role::Server, hex("0102030405"));
  CHECK(to_hex(k.session_key) == "01020304050000000000000000000000");
  CHECK(k.signing_key == k.session_key);
  CHECK(k.application_key == k.session_key);
  CHECK(k.encrypt_key.empty());
  CHECK(k.decrypt_key.empty());
  const auto long_key = hex("000102030405060708090A0B0C0D0E0F1011121314151617");
  CHECK(to_hex(derive_signing_key(kDialect202, long_key)) == "000102030405060708090A0B0C0D0E0F");
}

TEST_CASE("session keys: bad inputs are refused") {
  const auto gss = hex("7CD451825D0450D235424E44BA6E78CC");
  CHECK_THROWS_AS(derive_session_keys(0x0201, Role::Server, gss), std::invalid_argument);
  CHECK_THROWS_AS(derive_session_keys(kDialect300, Role::Server, {}), std::invalid_argument);
  CHECK_THROWS_AS(
      derive_session_keys(kDialect311, Role::Server, gss, Cipher::AES_128_GCM, hex("00112233")),
      std::invalid_argument);
  CHECK_THROWS_AS(
      derive_session_keys(kDialect311, Role::Server, gss, static_cast<Cipher>(9), hex(kPreauth311)),
      std::invalid_argument);
}
