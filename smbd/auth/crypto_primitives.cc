#include "smbd/auth/crypto_primitives.hh"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/rand.h>

#include <cstdlib>
#include <memory>

namespace smb::auth {

namespace {

std::uint32_t rotl(std::uint32_t x, int s) { return (x << s) | (x >> (32 - s)); }

// RFC 1320 3.4: the three rounds over one 64-byte block.
void md4_block(std::array<std::uint32_t, 4>& state, const std::uint8_t* block) {
  std::uint32_t x[16];
  for (int k = 0; k < 16; ++k) x[k] = load_le32(block + 4 * k);
  std::uint32_t a = state[0], b = state[1], c = state[2], d = state[3];

  auto f = [](std::uint32_t u, std::uint32_t v, std::uint32_t w) { return (u & v) | (~u & w); };
  auto g = [](std::uint32_t u, std::uint32_t v, std::uint32_t w) {
    return (u & v) | (u & w) | (v & w);
  };
  auto h = [](std::uint32_t u, std::uint32_t v, std::uint32_t w) { return u ^ v ^ w; };

  static constexpr int r1_shift[4] = {3, 7, 11, 19};
  for (int k = 0; k < 16; ++k) {
    std::uint32_t t = rotl(a + f(b, c, d) + x[k], r1_shift[k % 4]);
    a = d;
    d = c;
    c = b;
    b = t;
  }
  static constexpr int r2_order[16] = {0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15};
  static constexpr int r2_shift[4] = {3, 5, 9, 13};
  for (int k = 0; k < 16; ++k) {
    std::uint32_t t = rotl(a + g(b, c, d) + x[r2_order[k]] + 0x5A827999u, r2_shift[k % 4]);
    a = d;
    d = c;
    c = b;
    b = t;
  }
  static constexpr int r3_order[16] = {0, 8, 4, 12, 2, 10, 6, 14, 1, 9, 5, 13, 3, 11, 7, 15};
  static constexpr int r3_shift[4] = {3, 9, 11, 15};
  for (int k = 0; k < 16; ++k) {
    std::uint32_t t = rotl(a + h(b, c, d) + x[r3_order[k]] + 0x6ED9EBA1u, r3_shift[k % 4]);
    a = d;
    d = c;
    c = b;
    b = t;
  }
  state[0] += a;
  state[1] += b;
  state[2] += c;
  state[3] += d;
}

struct MacDeleter {
  void operator()(EVP_MAC* m) const { EVP_MAC_free(m); }
};
struct MacCtxDeleter {
  void operator()(EVP_MAC_CTX* c) const { EVP_MAC_CTX_free(c); }
};
struct MdCtxDeleter {
  void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};

[[noreturn]] void crypto_failure() { std::abort(); }

EVP_MAC* hmac_algorithm() {
  // Fetched once: EVP_MAC objects are immutable and safe to share between threads.
  static const std::unique_ptr<EVP_MAC, MacDeleter> mac(EVP_MAC_fetch(nullptr, "HMAC", nullptr));
  if (!mac) crypto_failure();
  return mac.get();
}

}  // namespace

Digest16 md4(ByteSpan data) {
  std::array<std::uint32_t, 4> state = {0x67452301u, 0xEFCDAB89u, 0x98BADCFEu, 0x10325476u};
  std::size_t full = data.size() / 64;
  for (std::size_t k = 0; k < full; ++k) md4_block(state, data.data() + 64 * k);

  // RFC 1320 3.1-3.2: pad with 0x80, zeros to 56 mod 64, then the bit length (LE64).
  std::uint8_t tail[128] = {};
  std::size_t rest = data.size() - 64 * full;
  if (rest != 0) std::memcpy(tail, data.data() + 64 * full, rest);
  tail[rest] = 0x80;
  std::size_t tail_len = rest < 56 ? 64 : 128;
  store_le64(tail + tail_len - 8, static_cast<std::uint64_t>(data.size()) * 8);
  for (std::size_t off = 0; off < tail_len; off += 64) md4_block(state, tail + off);

  Digest16 out;
  for (int k = 0; k < 4; ++k) store_le32(out.data() + 4 * k, state[k]);
  return out;
}

Digest16 md5(std::initializer_list<ByteSpan> parts) {
  std::unique_ptr<EVP_MD_CTX, MdCtxDeleter> ctx(EVP_MD_CTX_new());
  if (!ctx || EVP_DigestInit_ex(ctx.get(), EVP_md5(), nullptr) != 1) crypto_failure();
  for (ByteSpan part : parts) {
    if (!part.empty() && EVP_DigestUpdate(ctx.get(), part.data(), part.size()) != 1) {
      crypto_failure();
    }
  }
  Digest16 out;
  unsigned int len = 0;
  if (EVP_DigestFinal_ex(ctx.get(), out.data(), &len) != 1 || len != out.size()) {
    crypto_failure();
  }
  return out;
}

Digest16 hmac_md5(ByteSpan key, std::initializer_list<ByteSpan> parts) {
  std::unique_ptr<EVP_MAC_CTX, MacCtxDeleter> ctx(EVP_MAC_CTX_new(hmac_algorithm()));
  if (!ctx) crypto_failure();
  char digest_name[] = "MD5";
  OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest_name, 0),
                         OSSL_PARAM_construct_end()};
  // A zero-length key is legal for HMAC (anonymous NTLM); OpenSSL wants a non-null pointer.
  static const std::uint8_t empty_key[1] = {0};
  const std::uint8_t* key_data = key.empty() ? empty_key : key.data();
  if (EVP_MAC_init(ctx.get(), key_data, key.size(), params) != 1) crypto_failure();
  for (ByteSpan part : parts) {
    if (!part.empty() && EVP_MAC_update(ctx.get(), part.data(), part.size()) != 1) {
      crypto_failure();
    }
  }
  Digest16 out;
  std::size_t len = 0;
  if (EVP_MAC_final(ctx.get(), out.data(), &len, out.size()) != 1 || len != out.size()) {
    crypto_failure();
  }
  return out;
}

Rc4::Rc4(ByteSpan key) {
  for (int k = 0; k < 256; ++k) s_[k] = static_cast<std::uint8_t>(k);
  if (key.empty()) return;
  std::uint8_t j = 0;
  for (std::size_t k = 0; k < 256; ++k) {
    j = static_cast<std::uint8_t>(j + s_[k] + key[k % key.size()]);
    std::swap(s_[k], s_[j]);
  }
}

void Rc4::apply(MutableByteSpan data) {
  for (std::uint8_t& byte : data) {
    i_ = static_cast<std::uint8_t>(i_ + 1);
    j_ = static_cast<std::uint8_t>(j_ + s_[i_]);
    std::swap(s_[i_], s_[j_]);
    byte ^= s_[static_cast<std::uint8_t>(s_[i_] + s_[j_])];
  }
}

Bytes rc4(ByteSpan key, ByteSpan data) {
  Bytes out(data.begin(), data.end());
  Rc4 cipher(key);
  cipher.apply(out);
  return out;
}

bool equal_constant_time(ByteSpan a, ByteSpan b) {
  if (a.size() != b.size()) return false;
  if (a.empty()) return true;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

void random_bytes(MutableByteSpan out) {
  if (out.empty()) return;
  if (RAND_bytes(out.data(), static_cast<int>(out.size())) != 1) crypto_failure();
}

}  // namespace smb::auth
