// MD4 (RFC 1320 A.5), RC4 (RFC 6229 2), MD5 / HMAC-MD5 (RFC 1321, RFC 2104) and the
// NT hash ([MS-NLMP] 4.2.2.1.2).
#include <doctest/doctest.h>

#include "smbd/auth/crypto_primitives.hh"
#include "smbd/auth/nt_hash.hh"
#include "test_util.hh"

using namespace smb;
using namespace smb::auth;
using namespace smb::auth::test;

TEST_CASE("md4 RFC 1320 test suite") {
  struct Vector {
    std::string_view input;
    std::string_view digest;
  };
  const Vector vectors[] = {
      {"", "31d6cfe0d16ae931b73c59d7e0c089c0"},
      {"a", "bde52cb31de33e46245e05fbdbd6fb24"},
      {"abc", "a448017aaf21d8525fc10ae87aa6729d"},
      {"message digest", "d9130a8164549fe818874806e1c7014b"},
      {"abcdefghijklmnopqrstuvwxyz", "d79e1c308aa5bbcdeea8ed63df412da9"},
      {"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
       "043f8582f241db351ce627e153e7f0e4"},
      {"12345678901234567890123456789012345678901234567890123456789012345678901234567890",
       "e33b4ddc9c38f2199c3e7b164fcc0536"},
  };
  for (const Vector& v : vectors) {
    CAPTURE(v.input);
    CHECK(to_hex(md4(text_bytes(v.input))) == v.digest);
  }
}

TEST_CASE("rc4 RFC 6229 keystreams") {
  // 40-bit key 0x0102030405 at offsets 0, 16, 240, 256.
  Rc4 cipher(hex("0102030405"));
  Bytes stream(272, 0);
  cipher.apply(stream);
  ByteSpan s(stream);
  CHECK(to_hex(s.subspan(0, 16)) == "b2396305f03dc027ccc3524a0a1118a8");
  CHECK(to_hex(s.subspan(16, 16)) == "6982944f18fc82d589c403a47a0d0919");
  CHECK(to_hex(s.subspan(240, 16)) == "28cb1132c96ce286421dcaadb8b69eae");
  CHECK(to_hex(s.subspan(256, 16)) == "1cfcf62b03eddb641d77dfcf7f8d8c93");

  // 128-bit and 192-bit keys at offset 0, and state carried across apply() calls.
  Bytes zeros(16, 0);
  CHECK(to_hex(rc4(hex("0102030405060708090a0b0c0d0e0f10"), zeros)) ==
        "9ac7cc9a609d1ef7b2932899cde41b97");
  CHECK(to_hex(rc4(hex("0102030405060708090a0b0c0d0e0f101112131415161718"), zeros)) ==
        "0595e57fe5f0bb3c706edac8a4b2db11");
  Rc4 split(hex("0102030405"));
  Bytes first(7, 0), second(9, 0);
  split.apply(first);
  split.apply(second);
  first.insert(first.end(), second.begin(), second.end());
  CHECK(to_hex(first) == "b2396305f03dc027ccc3524a0a1118a8");
}

TEST_CASE("md5 and hmac-md5 reference values") {
  CHECK(to_hex(md5({text_bytes("abc")})) == "900150983cd24fb0d6963f7d28e17f72");
  CHECK(to_hex(md5({text_bytes("ab"), text_bytes("c")})) == "900150983cd24fb0d6963f7d28e17f72");
  // RFC 2104 appendix test vectors 1 and 2.
  CHECK(to_hex(hmac_md5(Bytes(16, 0x0b), {text_bytes("Hi There")})) ==
        "9294727a3638bb1c13f48ef8158bfc9d");
  CHECK(to_hex(hmac_md5(text_bytes("Jefe"),
                        {text_bytes("what do ya want "), text_bytes("for nothing?")})) ==
        "750c783e6ab0b503eaa86e310a5db738");
}

TEST_CASE("nt hash of the MS-NLMP 4.2.1 password") {
  // [MS-NLMP] 4.2.2.1.2 NTOWFv1("Password").
  CHECK(to_hex(nt_hash("Password")) == "a4f49c406510bdcab6824ee7c30fd852");
  // The empty password hashes to MD4 of nothing.
  CHECK(to_hex(nt_hash("")) == "31d6cfe0d16ae931b73c59d7e0c089c0");
}

TEST_CASE("uppercase of UTF-16LE user names") {
  CHECK(uppercase_utf16le(utf16le("user")) == utf16le("USER"));
  CHECK(uppercase_utf16le(utf16le("jürgen")) == utf16le("JÜRGEN"));
  CHECK(uppercase_utf16le(utf16le("иван")) == utf16le("ИВАН"));
  CHECK(uppercase_utf16le(utf16le("A1_-")) == utf16le("A1_-"));
}

TEST_CASE("constant-time comparison") {
  CHECK(equal_constant_time(hex("0102"), hex("0102")));
  CHECK_FALSE(equal_constant_time(hex("0102"), hex("0103")));
  CHECK_FALSE(equal_constant_time(hex("0102"), hex("01")));
}
