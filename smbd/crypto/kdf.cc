#include "smbd/crypto/kdf.hh"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include <algorithm>
#include <array>
#include <stdexcept>

#include "smbd/crypto/openssl_handles.hh"

namespace smb::crypto {

namespace {

constexpr std::size_t kSha256Size = 32;

void store_be32(std::uint8_t* p, std::uint32_t v) {
  p[0] = static_cast<std::uint8_t>(v >> 24);
  p[1] = static_cast<std::uint8_t>(v >> 16);
  p[2] = static_cast<std::uint8_t>(v >> 8);
  p[3] = static_cast<std::uint8_t>(v);
}

}  // namespace

Bytes kdf_counter_hmac_sha256(ByteSpan key, ByteSpan fixed_input, std::size_t out_bytes) {
  using namespace detail;
  // SP800-108 5.1: n = ceil(L / h) must not exceed 2^r - 1; with r = 32 that bound is far
  // beyond any key this protocol derives, so only the degenerate request is refused.
  if (key.empty()) throw std::invalid_argument("kdf: empty key");

  MacPtr mac(check_ptr(EVP_MAC_fetch(nullptr, "HMAC", nullptr), "EVP_MAC_fetch(HMAC)"));
  MacCtxPtr ctx(check_ptr(EVP_MAC_CTX_new(mac.get()), "EVP_MAC_CTX_new"));
  char digest[] = "SHA256";
  const OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
                               OSSL_PARAM_END};

  Bytes out(out_bytes);
  std::array<std::uint8_t, kSha256Size> block{};
  std::size_t produced = 0;
  for (std::uint32_t i = 1; produced < out_bytes; ++i) {
    std::array<std::uint8_t, 4> counter{};
    store_be32(counter.data(), i);
    // The first init installs the key; later inits reuse it (HMAC keeps the padded key).
    if (i == 1) {
      check(EVP_MAC_init(ctx.get(), key.data(), key.size(), params), "EVP_MAC_init");
    } else {
      check(EVP_MAC_init(ctx.get(), nullptr, 0, nullptr), "EVP_MAC_init");
    }
    check(EVP_MAC_update(ctx.get(), counter.data(), counter.size()), "EVP_MAC_update");
    check(EVP_MAC_update(ctx.get(), fixed_input.data(), fixed_input.size()), "EVP_MAC_update");
    std::size_t len = 0;
    check(EVP_MAC_final(ctx.get(), block.data(), &len, block.size()), "EVP_MAC_final");
    const std::size_t take = std::min(out_bytes - produced, len);
    std::copy_n(block.begin(), take, out.begin() + static_cast<std::ptrdiff_t>(produced));
    produced += take;
  }
  OPENSSL_cleanse(block.data(), block.size());
  return out;
}

Bytes smb3_kdf(ByteSpan key, ByteSpan label, ByteSpan context, std::size_t out_bytes) {
  Bytes fixed;
  fixed.reserve(label.size() + 1 + context.size() + 4);
  fixed.insert(fixed.end(), label.begin(), label.end());
  fixed.push_back(0x00);
  fixed.insert(fixed.end(), context.begin(), context.end());
  std::array<std::uint8_t, 4> length_bits{};
  store_be32(length_bits.data(), static_cast<std::uint32_t>(out_bytes * 8));
  fixed.insert(fixed.end(), length_bits.begin(), length_bits.end());
  return kdf_counter_hmac_sha256(key, fixed, out_bytes);
}

}  // namespace smb::crypto
