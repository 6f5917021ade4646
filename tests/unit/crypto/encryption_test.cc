#include "smbd/crypto/encryption.hh"

#include <doctest/doctest.h>

#include <cstring>
#include <set>

#include "hex.hh"
#include "smbd/crypto/session_keys.hh"
#include "vectors.hh"

using namespace smb::crypto;
using smb::Bytes;
using smb::ByteSpan;
using smb::MutableByteSpan;
using smb::NtStatus;
using smb::crypto::test::hex;
using smb::crypto::test::to_hex;
using namespace smb::crypto::test;

namespace {

SessionKeys keys300(Role role) {
  return derive_session_keys(kDialect300, role, hex(kSessionKey300));
}
SessionKeys keys311(Role role) {
  return derive_session_keys(kDialect311, role, hex(kEncryptionSessionKey311), Cipher::AES_128_GCM,
                             hex(kPreauth311));
}

TransformNonce nonce_field(const char* text) {
  TransformNonce n{};
  const auto b = hex(text);
  std::copy(b.begin(), b.end(), n.begin());
  return n;
}

// Encrypts `plaintext` split at `cuts` with a fixed nonce; returns header || ciphertext.
Bytes seal_split(Encryptor& e, const TransformNonce& nonce, std::uint64_t session_id,
                 ByteSpan plaintext, std::initializer_list<std::size_t> cuts) {
  Bytes wire(kTransformHeaderSize + plaintext.size());
  std::memcpy(wire.data() + kTransformHeaderSize, plaintext.data(), plaintext.size());
  const MutableByteSpan body = MutableByteSpan(wire).subspan(kTransformHeaderSize);
  std::vector<MutableByteSpan> parts;
  std::size_t from = 0;
  for (std::size_t cut : cuts) {
    parts.push_back(body.subspan(from, cut - from));
    from = cut;
  }
  parts.push_back(body.subspan(from));
  e.encrypt_in_place_with_nonce(nonce, session_id, parts,
                                TransformHeaderBytes(wire.data(), kTransformHeaderSize));
  return wire;
}

Bytes test_message(std::size_t size, std::uint8_t seed) {
  Bytes m(size);
  for (std::size_t i = 0; i < size; ++i) m[i] = static_cast<std::uint8_t>(seed + i * 31 + (i >> 8));
  if (size >= 4) smb::store_le32(m.data(), 0x424D53FE);
  return m;
}

constexpr Cipher kAllCiphers[] = {Cipher::AES_128_CCM, Cipher::AES_128_GCM, Cipher::AES_256_CCM,
                                  Cipher::AES_256_GCM};

Bytes key_for(Cipher c, std::uint8_t fill) { return Bytes(cipher_key_size(c), fill); }

}  // namespace

TEST_CASE("encryption: SMB 3.0 AES-128-CCM WRITE request, known answer, whole and in parts") {
  Encryptor e(Cipher::AES_128_CCM, keys300(Role::Client).encrypt_key);
  // The example's Nonce field carries bytes past the 11 CCM uses; they are authenticated.
  const auto nonce = nonce_field("66E69A111892584FB5ED524A744DA3EE");
  const auto expected = to_hex(hex(kWriteRequest300Encrypted));
  CHECK(to_hex(seal_split(e, nonce, kSessionId300, hex(kWriteRequest300), {})) == expected);
  CHECK(to_hex(seal_split(e, nonce, kSessionId300, hex(kWriteRequest300), {64, 112})) == expected);
  CHECK(to_hex(seal_split(e, nonce, kSessionId300, hex(kWriteRequest300), {0, 1, 1, 130})) ==
        expected);
}

TEST_CASE("encryption: SMB 3.0 AES-128-CCM WRITE response, known answer decryption") {
  Decryptor d(Cipher::AES_128_CCM, keys300(Role::Client).decrypt_key);
  Bytes plaintext;
  REQUIRE(d.decrypt(hex(kWriteResponse300Encrypted), plaintext) == NtStatus::SUCCESS);
  CHECK(to_hex(plaintext) == to_hex(hex(kWriteResponse300)));
  CHECK(transform_session_id(hex(kWriteResponse300Encrypted)) == kSessionId300);

  // The server side decrypts the client's request with its decrypt key.
  Decryptor server(Cipher::AES_128_CCM, keys300(Role::Server).decrypt_key);
  REQUIRE(server.decrypt(hex(kWriteRequest300Encrypted), plaintext) == NtStatus::SUCCESS);
  CHECK(to_hex(plaintext) == to_hex(hex(kWriteRequest300)));
}

TEST_CASE("encryption: SMB 3.1.1 AES-128-GCM WRITE request, known answer, whole and in parts") {
  Encryptor e(Cipher::AES_128_GCM, keys311(Role::Client).encrypt_key);
  const auto nonce = nonce_field("C7D6822D269CAF48904C664C00000000");
  const auto expected = to_hex(hex(kWriteRequest311Encrypted));
  CHECK(to_hex(seal_split(e, nonce, kSessionId311, hex(kWriteRequest311), {})) == expected);
  CHECK(to_hex(seal_split(e, nonce, kSessionId311, hex(kWriteRequest311), {64, 112})) == expected);
  CHECK(to_hex(seal_split(e, nonce, kSessionId311, hex(kWriteRequest311), {1, 17, 17, 100})) ==
        expected);
}

TEST_CASE("encryption: SMB 3.1.1 AES-128-GCM WRITE response, known answer, in place") {
  Decryptor d(Cipher::AES_128_GCM, keys311(Role::Client).decrypt_key);
  auto wire = hex(kWriteResponse311Encrypted);
  MutableByteSpan plaintext;
  REQUIRE(d.decrypt_in_place(wire, plaintext) == NtStatus::SUCCESS);
  CHECK(plaintext.data() == wire.data() + kTransformHeaderSize);
  CHECK(to_hex(plaintext) == to_hex(hex(kWriteResponse311)));

  Decryptor server(Cipher::AES_128_GCM, keys311(Role::Server).decrypt_key);
  Bytes request;
  REQUIRE(server.decrypt(hex(kWriteRequest311Encrypted), request) == NtStatus::SUCCESS);
  CHECK(to_hex(request) == to_hex(hex(kWriteRequest311)));
}

// No published SMB example uses the 256-bit ciphers; the expected transform messages were
// computed with an independent implementation (AESCCM/AESGCM of the Python "cryptography"
// package, 16-byte tag) from the [MS-SMB2] 2.2.41 / 3.1.4.3 construction.
TEST_CASE("encryption: AES-256-CCM and AES-256-GCM, independent reference") {
  const auto key = hex("808182838485868788898A8B8C8D8E8F909192939495969798999A9B9C9D9E9F");
  const auto plaintext =
      hex("FE534D4240000100000000000900010008000000000000000500000000000000FFFE000001000000"
          "25000000001000000000000000000000000000000000000031007000170000000000000000000000"
          "060000000400000001000000040000000000000000000000700000000000000000536D623320656E"
          "6372797074696F6E2074657374696E67");
  struct Case {
    Cipher cipher;
    const char* nonce;
    const char* expected;
  };
  const Case cases[] = {
      {Cipher::AES_256_CCM, "0102030405060708090A0B0000000000",
       "FD534D42DCA8A1E1412295D4D1688C87EE6A74560102030405060708090A0B000000000088000000"
       "0000010025000000001000002C3DD36D4F28F055BE02311707ACE9EA44E89C4EDCC76BC2889B17E5"
       "9E1FC9011FABA1E92F11548CC7A3FB9BDDED761C633D95E63B26CE0360C9DBFB8746E4F7A3F86FF2"
       "BF0E6A208E5C0625B63904A8289723E89E8C91A1544C8964E1963DE0CD6D6AF42EBE0B7EA523B922"
       "F9B1A824D6813DBA0939B53C5287ED35990830596F61476C977510F7"},
      {Cipher::AES_256_GCM, "0102030405060708090A0B0C00000000",
       "FD534D42B92435C95CCF6885D5A63842879A22670102030405060708090A0B0C0000000088000000"
       "000001002500000000100000FE5D85B279998A87BC0DB1A7B1CED4E2FBBB0972769288902CC450BB"
       "F84E43339F3D5BAB585D0440832A27D8FADCC3855CC64BB75D518F44A6A6F55B59AA90B9A67F8FDE"
       "C92872AE07C40CD7DB0D3DA9907780AC9FD4324A27F7309DAB7B89F923A0F65F3B2D0759B7FD6896"
       "FA60CEE0182B3261FC8BCF63BAF64B41A3528ADA09350AC5646C6DA8"},
  };
  for (const Case& c : cases) {
    CAPTURE(static_cast<int>(c.cipher));
    Encryptor e(c.cipher, key);
    const auto sealed = seal_split(e, nonce_field(c.nonce), kSessionId311, plaintext, {70});
    CHECK(to_hex(sealed) == to_hex(hex(c.expected)));
    Decryptor d(c.cipher, key);
    Bytes opened;
    REQUIRE(d.decrypt(sealed, opened) == NtStatus::SUCCESS);
    CHECK(opened == plaintext);
  }
}

TEST_CASE("encryption: server-to-client round trips for every cipher and size") {
  const auto gss = hex("404142434445464748494A4B4C4D4E4F505152535455565758595A5B5C5D5E5F");
  const Bytes preauth(64, 0x77);
  for (Cipher c : kAllCiphers) {
    CAPTURE(static_cast<int>(c));
    const SessionKeys server = derive_session_keys(kDialect311, Role::Server, gss, c, preauth);
    const SessionKeys client = derive_session_keys(kDialect311, Role::Client, gss, c, preauth);
    Encryptor e(c, server.encrypt_key);
    Decryptor d(c, client.decrypt_key);
    for (std::size_t size : {64u, 65u, 100u, 4096u, 65537u, (1u << 20) + 3u}) {
      const Bytes message = test_message(size, static_cast<std::uint8_t>(size));
      const ByteSpan parts[] = {ByteSpan(message).first(64), ByteSpan(message).subspan(64)};
      const Bytes wire = e.encrypt(42, parts);
      REQUIRE(wire.size() == kTransformHeaderSize + size);
      CHECK(transform_session_id(wire) == 42u);
      Bytes opened;
      REQUIRE(d.decrypt(wire, opened) == NtStatus::SUCCESS);
      CHECK(opened == message);
      // The client cannot open its own direction's traffic with the wrong key.
      Decryptor wrong(c, client.encrypt_key);
      CHECK(wrong.decrypt(wire, opened) == NtStatus::ACCESS_DENIED);
      CHECK(opened.empty());
    }
  }
}

TEST_CASE("encryption: in-place scatter encryption matches the contiguous form") {
  for (Cipher c : kAllCiphers) {
    CAPTURE(static_cast<int>(c));
    Encryptor e(c, key_for(c, 0x31));
    Decryptor d(c, key_for(c, 0x31));
    Bytes header_and_body = test_message(64 + 48, 1);
    Bytes data = test_message(8 << 20, 2);  // an 8 MiB READ payload
    Bytes expected = header_and_body;
    expected.insert(expected.end(), data.begin(), data.end());

    std::array<std::uint8_t, kTransformHeaderSize> header{};
    const MutableByteSpan parts[] = {header_and_body, data};
    e.encrypt_in_place(7, parts, header);
    Bytes wire(header.begin(), header.end());
    wire.insert(wire.end(), header_and_body.begin(), header_and_body.end());
    wire.insert(wire.end(), data.begin(), data.end());
    MutableByteSpan plaintext;
    REQUIRE(d.decrypt_in_place(wire, plaintext) == NtStatus::SUCCESS);
    CHECK(std::equal(plaintext.begin(), plaintext.end(), expected.begin(), expected.end()));
  }
}

TEST_CASE("encryption: generated nonces never repeat and leave the reserved bytes zero") {
  for (Cipher c : kAllCiphers) {
    CAPTURE(static_cast<int>(c));
    Encryptor e(c, key_for(c, 0x42));
    Encryptor same_key(c, key_for(c, 0x42));  // another channel of the same session
    const Bytes message = test_message(64, 3);
    const ByteSpan parts[] = {message};
    std::set<Bytes> seen;
    for (int i = 0; i < 2000; ++i) {
      for (Encryptor* enc : {&e, &same_key}) {
        TransformHeader h;
        REQUIRE(decode(enc->encrypt(1, parts), h) == NtStatus::SUCCESS);
        CHECK(h.flags == kTransformFlagEncrypted);
        CHECK(h.original_message_size == 64);
        for (std::size_t b = cipher_nonce_size(c); b < h.nonce.size(); ++b) CHECK(h.nonce[b] == 0);
        CHECK(seen.insert(Bytes(h.nonce.begin(), h.nonce.end())).second);
      }
    }
  }
}

TEST_CASE("encryption: one flipped bit anywhere in a transform message is rejected") {
  for (Cipher c : kAllCiphers) {
    CAPTURE(static_cast<int>(c));
    Encryptor e(c, key_for(c, 0x55));
    Decryptor d(c, key_for(c, 0x55));
    const Bytes message = test_message(96, 4);
    const ByteSpan parts[] = {message};
    const Bytes wire = e.encrypt(0x1122334455667788, parts);
    Bytes opened;
    REQUIRE(d.decrypt(wire, opened) == NtStatus::SUCCESS);
    for (std::size_t byte = 0; byte < wire.size(); ++byte) {
      for (int bit : {0, 7}) {
        Bytes tampered = wire;
        tampered[byte] ^= static_cast<std::uint8_t>(1 << bit);
        const NtStatus s = d.decrypt(tampered, opened);
        if (s == NtStatus::SUCCESS) FAIL("accepted with byte " << byte << " bit " << bit);
        CHECK(opened.empty());
        MutableByteSpan in_place;
        CHECK(d.decrypt_in_place(tampered, in_place) != NtStatus::SUCCESS);
        CHECK(in_place.empty());
      }
    }
  }
}

TEST_CASE("encryption: truncated, extended and malformed transform messages") {
  Encryptor e(Cipher::AES_128_GCM, key_for(Cipher::AES_128_GCM, 9));
  Decryptor d(Cipher::AES_128_GCM, key_for(Cipher::AES_128_GCM, 9));
  const Bytes message = test_message(80, 5);
  const ByteSpan parts[] = {message};
  const Bytes wire = e.encrypt(5, parts);
  Bytes opened;
  for (std::size_t n = 0; n < wire.size(); ++n) {
    CAPTURE(n);
    // Only the exact copy of the heap block is handed over, so a read past it would be
    // caught by the sanitizers.
    const Bytes prefix(wire.begin(), wire.begin() + static_cast<std::ptrdiff_t>(n));
    CHECK(d.decrypt(prefix, opened) == NtStatus::INVALID_PARAMETER);
    CHECK(transform_session_id(prefix).has_value() == (n >= kTransformHeaderSize));
  }
  Bytes longer = wire;
  longer.push_back(0);
  CHECK(d.decrypt(longer, opened) == NtStatus::INVALID_PARAMETER);

  auto with = [&](std::size_t offset, std::uint16_t value) {
    Bytes changed = wire;
    smb::store_le16(&changed[offset], value);
    return changed;
  };
  CHECK(d.decrypt(with(42, 0x0000), opened) == NtStatus::INVALID_PARAMETER);  // Flags
  CHECK(d.decrypt(with(42, 0x0003), opened) == NtStatus::INVALID_PARAMETER);
  CHECK(d.decrypt(with(0, 0x534E), opened) == NtStatus::INVALID_PARAMETER);  // ProtocolId
  CHECK_FALSE(transform_session_id(with(0, 0x534E)).has_value());

  // OriginalMessageSize below an SMB2 header is refused even when consistent.
  const Bytes tiny = test_message(63, 6);
  const ByteSpan tiny_parts[] = {tiny};
  CHECK(d.decrypt(e.encrypt(5, tiny_parts), opened) == NtStatus::INVALID_PARAMETER);
}

TEST_CASE("encryption: transform header encode and decode") {
  TransformHeader h;
  h.signature.fill(0xAB);
  h.nonce = nonce_field("000102030405060708090A0B0C0D0E0F");
  h.original_message_size = 0x01020304;
  h.session_id = 0x1122334455667788;
  std::array<std::uint8_t, kTransformHeaderSize> bytes{};
  encode(h, bytes);
  CHECK(to_hex(bytes) ==
        "FD534D42ABABABABABABABABABABABABABABABAB000102030405060708090A0B0C0D0E0F"
        "04030201000001008877665544332211");
  TransformHeader back;
  REQUIRE(decode(bytes, back) == NtStatus::SUCCESS);
  CHECK(back.signature == h.signature);
  CHECK(back.nonce == h.nonce);
  CHECK(back.original_message_size == h.original_message_size);
  CHECK(back.flags == kTransformFlagEncrypted);
  CHECK(back.session_id == h.session_id);
}

TEST_CASE("encryption: key length must fit the cipher") {
  CHECK_THROWS_AS(Encryptor(Cipher::AES_128_GCM, Bytes(32, 1)), std::invalid_argument);
  CHECK_THROWS_AS(Encryptor(Cipher::AES_256_CCM, Bytes(16, 1)), std::invalid_argument);
  CHECK_THROWS_AS(Decryptor(Cipher::AES_256_GCM, Bytes(16, 1)), std::invalid_argument);
  CHECK_THROWS_AS(Decryptor(static_cast<Cipher>(0), Bytes(16, 1)), std::invalid_argument);
}
