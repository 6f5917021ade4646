#include "smbd/crypto/kdf.hh"

#include <doctest/doctest.h>

#include "hex.hh"

using namespace smb::crypto;
using smb::crypto::test::hex;
using smb::crypto::test::to_hex;

// NIST CAVP "KDF in Counter Mode" (KDFCTR_gen.rsp, CAVS 14.4),
// [PRF=HMAC_SHA256] [CTRLOCATION=BEFORE_FIXED] [RLEN=32_BITS].
TEST_CASE("SP800-108 counter KDF: CAVP HMAC_SHA256 COUNT=0, L=128") {
  const auto ko = kdf_counter_hmac_sha256(
      hex("dd1d91b7d90b2bd3138533ce92b272fbf8a369316aefe242e659cc0ae238afe0"),
      hex("01322b96b30acd197979444e468e1c5c6859bf1b1cf951b7e725303e237e46b8"
          "64a145fab25e517b08f8683d0315bb2911d80a0e8aba17f3b413faac"),
      16);
  CHECK(to_hex(ko) == to_hex(hex("10621342bfb0fd40046c0e29f2cfdbf0")));
}

TEST_CASE("SP800-108 counter KDF: CAVP HMAC_SHA256 COUNT=10, L=256 (one full block)") {
  const auto ko = kdf_counter_hmac_sha256(
      hex("e204d6d466aad507ffaf6d6dab0a5b26152c9e21e764370464e360c8fbc765c6"),
      hex("7b03b98d9f94b899e591f3ef264b71b193fba7043c7e953cde23bc5384bc1a62"
          "93580115fae3495fd845dadbd02bd6455cf48d0f62b33e62364a3a80"),
      32);
  CHECK(to_hex(ko) ==
        to_hex(hex("770dfab6a6a4a4bee0257ff335213f78d8287b4fd537d5c1fffa956910e7c779")));
}

TEST_CASE("SP800-108 counter KDF: CAVP HMAC_SHA256 COUNT=30, L=320 (two blocks)") {
  const auto ko = kdf_counter_hmac_sha256(
      hex("c4bedbddb66493e7c7259a3bbbc25f8c7e0ca7fe284d92d431d9cd99a0d214ac"),
      hex("1c69c54766791e315c2cc5c47ecd3ffab87d0d273dd920e70955814c220eacac"
          "e6a5946542da3dfe24ff626b4897898cafb7db83bdff3c14fa46fd4b"),
      40);
  CHECK(to_hex(ko) == to_hex(hex("1da47638d6c9c4d04d74d4640bbd42ab814d9e8cc22f4326695239f9"
                                 "6b0693f12d0dd1152cf44430")));
}

// The SMB 3.0 example of "SMB 2 and SMB 3 security in Windows 10: the anatomy of signing
// and cryptographic keys" (Microsoft Open Specifications blog, appendix).
TEST_CASE("smb3_kdf: SMB 3.0 signing key from the Open Specifications example") {
  const char label[] = "SMB2AESCMAC";
  const char context[] = "SmbSign";
  const auto key =
      smb3_kdf(hex("7CD451825D0450D235424E44BA6E78CC"),
               smb::ByteSpan(reinterpret_cast<const std::uint8_t*>(label), sizeof label),
               smb::ByteSpan(reinterpret_cast<const std::uint8_t*>(context), sizeof context), 16);
  CHECK(to_hex(key) == "0B7E9C5CAC36C0F6EA9AB275298CEDCE");
}

TEST_CASE("SP800-108 counter KDF: an empty key is refused") {
  CHECK_THROWS_AS(kdf_counter_hmac_sha256({}, hex("00"), 16), std::invalid_argument);
}
