// One Signer, Encryptor or Decryptor used by several threads at once, as the worker's loop
// and pool threads use a session's keys: every thread must still reproduce the published
// vectors, and nonces drawn at once on several threads must all differ. Run under
// ThreadSanitizer too (scripts/test.sh).
#include <doctest/doctest.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cstring>
#include <set>
#include <thread>
#include <vector>

#include "hex.hh"
#include "smbd/crypto/encryption.hh"
#include "smbd/crypto/session_keys.hh"
#include "smbd/crypto/signing.hh"
#include "vectors.hh"

using namespace smb::crypto;
using namespace smb::crypto::test;
using smb::Bytes;
using smb::ByteSpan;
using smb::MutableByteSpan;
using smb::NtStatus;

namespace {

constexpr int kThreads = 4;
constexpr int kRounds = 200;

// Runs `body(thread)` on kThreads threads at once and counts the rounds it got wrong.
template <typename Body>
int failures_on_threads(Body body) {
  std::atomic<int> failures{0};
  std::atomic<int> ready{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      // Start together, so that the threads really overlap.
      ready.fetch_add(1);
      while (ready.load() < kThreads) std::this_thread::yield();
      for (int round = 0; round < kRounds; ++round)
        if (!body(t)) failures.fetch_add(1);
    });
  }
  for (auto& thread : threads) thread.join();
  return failures.load();
}

TransformNonce nonce_field(const char* text) {
  TransformNonce n{};
  const auto b = hex(text);
  std::copy(b.begin(), b.end(), n.begin());
  return n;
}

// Encrypts `plaintext` with a fixed nonce, the first 64 bytes and the rest as two parts
// (a response header and its READ data); returns header || ciphertext.
Bytes seal(Encryptor& e, const TransformNonce& nonce, std::uint64_t session_id,
           ByteSpan plaintext) {
  Bytes wire(kTransformHeaderSize + plaintext.size());
  std::memcpy(wire.data() + kTransformHeaderSize, plaintext.data(), plaintext.size());
  const MutableByteSpan body = MutableByteSpan(wire).subspan(kTransformHeaderSize);
  const MutableByteSpan parts[] = {body.first(64), body.subspan(64)};
  e.encrypt_in_place_with_nonce(nonce, session_id, parts,
                                TransformHeaderBytes(wire.data(), kTransformHeaderSize));
  return wire;
}

}  // namespace

TEST_CASE("concurrent: one Signer signs and verifies the published vectors on several threads") {
  Signer cmac(SigningAlgorithm::AES_CMAC, hex(kSigningKey311));
  Signer gmac(SigningAlgorithm::AES_GMAC, hex("77be63708971c4e240d1cb79e8d77feb"));
  const Bytes response = hex(kSignedResponse);
  const Bytes expected = hex("EBE146DA120BA25FC3376A49DFE31BC1");
  // gcmEncryptExtIV128.rsp, [Keylen=128][IVlen=96][PTlen=0][AADlen=128][Taglen=128] Count 0.
  const Bytes aad = hex("7a43ec1d9c0a5a78a0b16533a6213cab");
  const Bytes nist_nonce = hex("e0e00f19fed7ba0136a797f3");
  const Bytes nist_tag = hex("209fcc8d3675ed938e9c7166709dd946");
  int failures = failures_on_threads([&](int thread) {
    std::array<std::uint8_t, kSignatureSize> sig{};
    const ByteSpan whole[] = {response};
    const ByteSpan split[] = {ByteSpan(response).first(64), ByteSpan(response).subspan(64)};
    cmac.sign(thread % 2 == 0 ? std::span<const ByteSpan>(whole) : split, sig);
    bool ok = std::equal(sig.begin(), sig.end(), expected.begin()) && cmac.verify(whole);
    Bytes forged = response;
    forged[70] ^= 1;
    ok = ok && !cmac.verify_message(forged);
    std::array<std::uint8_t, 12> n{};
    std::copy(nist_nonce.begin(), nist_nonce.end(), n.begin());
    const ByteSpan data[] = {aad};
    gmac.mac(data, n, sig);
    return ok && std::equal(sig.begin(), sig.end(), nist_tag.begin());
  });
  CHECK(failures == 0);
}

TEST_CASE(
    "concurrent: one Encryptor and one Decryptor reproduce the published vectors on several "
    "threads") {
  const SessionKeys client300 = derive_session_keys(kDialect300, Role::Client, hex(kSessionKey300));
  const SessionKeys server300 = derive_session_keys(kDialect300, Role::Server, hex(kSessionKey300));
  const SessionKeys client311 =
      derive_session_keys(kDialect311, Role::Client, hex(kEncryptionSessionKey311),
                          Cipher::AES_128_GCM, hex(kPreauth311));
  const SessionKeys server311 =
      derive_session_keys(kDialect311, Role::Server, hex(kEncryptionSessionKey311),
                          Cipher::AES_128_GCM, hex(kPreauth311));
  Encryptor ccm(Cipher::AES_128_CCM, client300.encrypt_key);
  Encryptor gcm(Cipher::AES_128_GCM, client311.encrypt_key);
  Decryptor ccm_server(Cipher::AES_128_CCM, server300.decrypt_key);
  Decryptor gcm_server(Cipher::AES_128_GCM, server311.decrypt_key);
  const Bytes request300 = hex(kWriteRequest300);
  const Bytes request311 = hex(kWriteRequest311);
  const Bytes sealed300 = hex(kWriteRequest300Encrypted);
  const Bytes sealed311 = hex(kWriteRequest311Encrypted);
  const TransformNonce nonce300 = nonce_field("66E69A111892584FB5ED524A744DA3EE");
  const TransformNonce nonce311 = nonce_field("C7D6822D269CAF48904C664C00000000");
  int failures = failures_on_threads([&](int) {
    bool ok = seal(ccm, nonce300, kSessionId300, request300) == sealed300 &&
              seal(gcm, nonce311, kSessionId311, request311) == sealed311;
    Bytes plaintext;
    ok = ok && ccm_server.decrypt(sealed300, plaintext) == NtStatus::SUCCESS &&
         plaintext == request300;
    Bytes in_place = sealed311;
    MutableByteSpan opened;
    ok = ok && gcm_server.decrypt_in_place(in_place, opened) == NtStatus::SUCCESS &&
         std::equal(opened.begin(), opened.end(), request311.begin(), request311.end());
    Bytes corrupt = sealed311;
    corrupt.back() ^= 0x80;
    return ok && gcm_server.decrypt(corrupt, plaintext) == NtStatus::ACCESS_DENIED;
  });
  CHECK(failures == 0);
}

TEST_CASE("concurrent: nonces drawn on several threads at once never repeat") {
  Encryptor e(Cipher::AES_128_GCM, Bytes(16, 0x42));
  Decryptor d(Cipher::AES_128_GCM, Bytes(16, 0x42));
  std::array<std::vector<Bytes>, kThreads> nonces;
  const Bytes message(100, 0xFE);
  int failures = failures_on_threads([&](int thread) {
    const ByteSpan parts[] = {message};
    Bytes wire = e.encrypt(7, parts);
    TransformHeader h;
    Bytes plaintext;
    if (decode(wire, h) != NtStatus::SUCCESS || d.decrypt(wire, plaintext) != NtStatus::SUCCESS)
      return false;
    nonces[static_cast<std::size_t>(thread)].emplace_back(h.nonce.begin(), h.nonce.end());
    return plaintext == message;
  });
  CHECK(failures == 0);
  std::set<Bytes> seen;
  for (const auto& list : nonces)
    for (const Bytes& n : list) CHECK(seen.insert(n).second);
  CHECK(seen.size() == static_cast<std::size_t>(kThreads * kRounds));
}
