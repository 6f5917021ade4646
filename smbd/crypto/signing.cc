#include "smbd/crypto/signing.hh"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include <algorithm>
#include <array>
#include <stdexcept>

#include "smbd/crypto/openssl_handles.hh"

namespace smb::crypto {

namespace {

constexpr std::size_t kCommandOffset = 12;
constexpr std::size_t kFlagsOffset = 16;
constexpr std::size_t kMessageIdOffset = 24;
constexpr std::uint16_t kSmb2Cancel = 0x000C;
constexpr std::array<std::uint8_t, kSignatureSize> kZeroSignature{};

// EVP_EncryptUpdate takes an int length; larger inputs are fed in slices.
constexpr std::size_t kMaxUpdate = std::size_t{1} << 30;

}  // namespace

std::array<std::uint8_t, 12> gmac_nonce(ByteSpan header) {
  if (header.size() < kSmb2HeaderSize) throw std::invalid_argument("gmac_nonce: short header");
  std::array<std::uint8_t, 12> nonce{};
  std::copy_n(header.begin() + kMessageIdOffset, 8, nonce.begin());
  const std::uint32_t flags = load_le32(&header[kFlagsOffset]);
  const std::uint16_t command = load_le16(&header[kCommandOffset]);
  const bool from_server = (flags & kSmb2FlagsServerToRedir) != 0;
  std::uint32_t word = from_server ? 1u : 0u;
  if (command == kSmb2Cancel && !from_server) word |= 2u;
  store_le32(&nonce[8], word);
  return nonce;
}

// One MAC computation's OpenSSL state under the signer's key.
struct Signer::Context {
  SigningAlgorithm algorithm;
  detail::MacCtxPtr mac;      // HMAC-SHA256 and AES-CMAC
  detail::CipherCtxPtr gmac;  // AES-128-GCM used with additional data only

  Context(SigningAlgorithm algorithm, ByteSpan key);
  void start(std::span<const std::uint8_t, 12> gmac_nonce);
  void add(ByteSpan data);
  void finish(std::span<std::uint8_t, kSignatureSize> out);
};

Signer::Context::Context(SigningAlgorithm a, ByteSpan key) : algorithm(a) {
  using namespace detail;
  switch (algorithm) {
    case SigningAlgorithm::HMAC_SHA256: {
      MacPtr m(check_ptr(EVP_MAC_fetch(nullptr, "HMAC", nullptr), "EVP_MAC_fetch(HMAC)"));
      mac.reset(check_ptr(EVP_MAC_CTX_new(m.get()), "EVP_MAC_CTX_new"));
      char digest[] = "SHA256";
      const OSSL_PARAM params[] = {
          OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0), OSSL_PARAM_END};
      check(EVP_MAC_init(mac.get(), key.data(), key.size(), params), "EVP_MAC_init(HMAC)");
      return;
    }
    case SigningAlgorithm::AES_CMAC: {
      MacPtr m(check_ptr(EVP_MAC_fetch(nullptr, "CMAC", nullptr), "EVP_MAC_fetch(CMAC)"));
      mac.reset(check_ptr(EVP_MAC_CTX_new(m.get()), "EVP_MAC_CTX_new"));
      char cipher[] = "AES-128-CBC";
      const OSSL_PARAM params[] = {
          OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_CIPHER, cipher, 0), OSSL_PARAM_END};
      check(EVP_MAC_init(mac.get(), key.data(), key.size(), params), "EVP_MAC_init(CMAC)");
      return;
    }
    case SigningAlgorithm::AES_GMAC: {
      CipherPtr gcm(check_ptr(EVP_CIPHER_fetch(nullptr, "AES-128-GCM", nullptr),
                              "EVP_CIPHER_fetch(AES-128-GCM)"));
      gmac.reset(check_ptr(EVP_CIPHER_CTX_new(), "EVP_CIPHER_CTX_new"));
      check(EVP_EncryptInit_ex(gmac.get(), gcm.get(), nullptr, key.data(), nullptr),
            "EVP_EncryptInit_ex(GMAC)");
      return;
    }
  }
  throw std::invalid_argument("Signer: unknown signing algorithm");
}

Signer::Signer(SigningAlgorithm algorithm, ByteSpan key)
    : algorithm_(algorithm),
      key_(key.begin(), key.end()),
      contexts_([this] { return new_context(); }) {
  switch (algorithm) {
    case SigningAlgorithm::HMAC_SHA256:
      if (key.empty()) throw std::invalid_argument("Signer: empty HMAC key");
      break;
    case SigningAlgorithm::AES_CMAC:
      if (key.size() != 16) throw std::invalid_argument("Signer: AES-CMAC key must be 16 bytes");
      break;
    case SigningAlgorithm::AES_GMAC:
      if (key.size() != 16) throw std::invalid_argument("Signer: AES-GMAC key must be 16 bytes");
      break;
    default:
      throw std::invalid_argument("Signer: unknown signing algorithm");
  }
  // The first context is built now, so that a bad key or a broken OpenSSL shows here.
  (void)contexts_.take();
}

Signer::~Signer() { OPENSSL_cleanse(key_.data(), key_.size()); }

std::unique_ptr<Signer::Context> Signer::new_context() const {
  return std::make_unique<Context>(algorithm_, key_);
}

void Signer::Context::start(std::span<const std::uint8_t, 12> gmac_nonce) {
  using namespace detail;
  if (algorithm == SigningAlgorithm::AES_GMAC) {
    check(EVP_EncryptInit_ex(gmac.get(), nullptr, nullptr, nullptr, gmac_nonce.data()),
          "GMAC nonce");
  } else {
    // A null key restarts the MAC with the key installed by the constructor.
    check(EVP_MAC_init(mac.get(), nullptr, 0, nullptr), "EVP_MAC_init");
  }
}

void Signer::Context::add(ByteSpan data) {
  using namespace detail;
  if (algorithm != SigningAlgorithm::AES_GMAC) {
    check(EVP_MAC_update(mac.get(), data.data(), data.size()), "EVP_MAC_update");
    return;
  }
  // GMAC is GCM with everything as additional data ([RFC4543] 3.1).
  while (!data.empty()) {
    const std::size_t n = std::min(data.size(), kMaxUpdate);
    int outl = 0;
    check(EVP_EncryptUpdate(gmac.get(), nullptr, &outl, data.data(), static_cast<int>(n)),
          "GMAC update");
    data = data.subspan(n);
  }
}

void Signer::Context::finish(std::span<std::uint8_t, kSignatureSize> out) {
  using namespace detail;
  if (algorithm == SigningAlgorithm::AES_GMAC) {
    std::array<std::uint8_t, 16> unused{};
    int outl = 0;
    check(EVP_EncryptFinal_ex(gmac.get(), unused.data(), &outl), "GMAC final");
    check(EVP_CIPHER_CTX_ctrl(gmac.get(), EVP_CTRL_AEAD_GET_TAG, kSignatureSize, out.data()),
          "GMAC tag");
    return;
  }
  std::array<std::uint8_t, 32> m{};  // HMAC-SHA256 is truncated to the first 16 bytes
  std::size_t len = 0;
  check(EVP_MAC_final(mac.get(), m.data(), &len, m.size()), "EVP_MAC_final");
  if (len < kSignatureSize) throw std::runtime_error("Signer: short MAC");
  std::copy_n(m.begin(), kSignatureSize, out.begin());
}

void Signer::mac(std::span<const ByteSpan> data, std::span<const std::uint8_t, 12> gmac_nonce,
                 std::span<std::uint8_t, kSignatureSize> out) {
  auto context = contexts_.take();
  context->start(gmac_nonce);
  for (ByteSpan piece : data) context->add(piece);
  context->finish(out);
}

void Signer::compute(std::span<const ByteSpan> parts, std::span<std::uint8_t, kSignatureSize> out) {
  const ByteSpan first = parts.front();
  const std::array<std::uint8_t, 12> nonce =
      algorithm_ == SigningAlgorithm::AES_GMAC ? gmac_nonce(first) : std::array<std::uint8_t, 12>{};
  auto context = contexts_.take();
  context->start(nonce);
  // The message as signed: header up to the Signature field, sixteen zeros, the rest.
  context->add(first.first(kSignatureOffset));
  context->add(kZeroSignature);
  context->add(first.subspan(kSignatureOffset + kSignatureSize));
  for (ByteSpan part : parts.subspan(1)) context->add(part);
  context->finish(out);
}

void Signer::sign(std::span<const ByteSpan> parts,
                  std::span<std::uint8_t, kSignatureSize> signature) {
  if (parts.empty() || parts.front().size() < kSmb2HeaderSize) {
    throw std::invalid_argument("Signer::sign: message shorter than the SMB2 header");
  }
  compute(parts, signature);
}

bool Signer::verify(std::span<const ByteSpan> parts) {
  if (parts.empty() || parts.front().size() < kSmb2HeaderSize) return false;
  std::array<std::uint8_t, kSignatureSize> expected{};
  compute(parts, expected);
  // MS-SMB2 3.1.5.1; constant time so a forger learns nothing from response timing.
  return CRYPTO_memcmp(expected.data(), parts.front().data() + kSignatureOffset, kSignatureSize) ==
         0;
}

void Signer::sign_message(MutableByteSpan message) {
  if (message.size() < kSmb2HeaderSize) {
    throw std::invalid_argument("Signer::sign_message: message shorter than the SMB2 header");
  }
  store_le32(&message[kFlagsOffset], load_le32(&message[kFlagsOffset]) | kSmb2FlagsSigned);
  const ByteSpan parts[] = {message};
  std::array<std::uint8_t, kSignatureSize> signature{};
  compute(parts, signature);
  std::copy(signature.begin(), signature.end(), message.begin() + kSignatureOffset);
}

bool Signer::verify_message(ByteSpan message) {
  const ByteSpan parts[] = {message};
  return verify(parts);
}

}  // namespace smb::crypto
