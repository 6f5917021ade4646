#include "smbd/crypto/encryption.hh"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <algorithm>
#include <climits>
#include <stdexcept>

#include "smbd/crypto/openssl_handles.hh"
#include "smbd/crypto/signing.hh"

namespace smb::crypto {

namespace {

using namespace detail;

constexpr std::size_t kTagSize = 16;
constexpr std::size_t kSignatureFieldOffset = 4;
constexpr std::size_t kNonceOffset = 20;
constexpr std::size_t kOriginalSizeOffset = 36;
constexpr std::size_t kReservedOffset = 40;
constexpr std::size_t kFlagsOffset = 42;
constexpr std::size_t kSessionIdOffset = 44;
constexpr std::size_t kMaxMessage = INT_MAX;  // EVP lengths are int

const char* cipher_name(Cipher c) {
  switch (c) {
    case Cipher::AES_128_CCM:
      return "AES-128-CCM";
    case Cipher::AES_128_GCM:
      return "AES-128-GCM";
    case Cipher::AES_256_CCM:
      return "AES-256-CCM";
    case Cipher::AES_256_GCM:
      return "AES-256-GCM";
  }
  throw std::invalid_argument("unknown cipher");
}

// Prepares `ctx` for `cipher` with `key` once; each message then only sets its nonce.
CipherCtxPtr make_context(Cipher cipher, ByteSpan key, bool encrypt) {
  if (!is_known(cipher)) throw std::invalid_argument("unknown cipher");
  if (key.size() != cipher_key_size(cipher)) {
    throw std::invalid_argument("encryption key length does not match the cipher");
  }
  CipherPtr evp(
      check_ptr(EVP_CIPHER_fetch(nullptr, cipher_name(cipher), nullptr), "EVP_CIPHER_fetch"));
  CipherCtxPtr ctx(check_ptr(EVP_CIPHER_CTX_new(), "EVP_CIPHER_CTX_new"));
  const int enc = encrypt ? 1 : 0;
  check(EVP_CipherInit_ex(ctx.get(), evp.get(), nullptr, nullptr, nullptr, enc), "CipherInit");
  check(EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_AEAD_SET_IVLEN,
                            static_cast<int>(cipher_nonce_size(cipher)), nullptr),
        "set nonce length");
  if (!is_gcm(cipher)) {
    // CCM binds the tag length (M) and the nonce length into the key setup, so both are
    // fixed before the key; OpenSSL's default M is 12, SMB uses 16.
    check(EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_AEAD_SET_TAG, kTagSize, nullptr),
          "set tag length");
  }
  check(EVP_CipherInit_ex(ctx.get(), nullptr, nullptr, key.data(), nullptr, enc), "set key");
  return ctx;
}

void write_header(const TransformNonce& nonce, std::uint32_t size, std::uint64_t session_id,
                  TransformHeaderBytes out) {
  TransformHeader header;
  header.nonce = nonce;
  header.original_message_size = size;
  header.session_id = session_id;
  encode(header, out);
}

// GCM streams: any number of updates of any size, output length equal to input length.
void gcm_update(EVP_CIPHER_CTX* ctx, std::uint8_t* out, const std::uint8_t* in, std::size_t size) {
  int outl = 0;
  check(EVP_CipherUpdate(ctx, out, &outl, in, static_cast<int>(size)), "GCM update");
  if (static_cast<std::size_t>(outl) != size) throw std::runtime_error("GCM: short output");
}

}  // namespace

NtStatus decode(ByteSpan message, TransformHeader& out) {
  ByteReader r(message);
  const std::uint32_t protocol_id = r.u32();
  r.copy(out.signature);
  r.copy(out.nonce);
  out.original_message_size = r.u32();
  r.skip(2);  // Reserved
  out.flags = r.u16();
  out.session_id = r.u64();
  if (!r.ok() || protocol_id != kTransformProtocolId) return NtStatus::INVALID_PARAMETER;
  return NtStatus::SUCCESS;
}

void encode(const TransformHeader& header, TransformHeaderBytes out) {
  std::uint8_t* p = out.data();
  store_le32(p, kTransformProtocolId);
  std::copy(header.signature.begin(), header.signature.end(), p + kSignatureFieldOffset);
  std::copy(header.nonce.begin(), header.nonce.end(), p + kNonceOffset);
  store_le32(p + kOriginalSizeOffset, header.original_message_size);
  store_le16(p + kReservedOffset, 0);
  store_le16(p + kFlagsOffset, header.flags);
  store_le64(p + kSessionIdOffset, header.session_id);
}

std::optional<std::uint64_t> transform_session_id(ByteSpan message) {
  TransformHeader header;
  if (decode(message, header) != NtStatus::SUCCESS) return std::nullopt;
  return header.session_id;
}

// ---------------------------------------------------------------------------------------

struct Encryptor::Context {
  CipherCtxPtr ctx;
  Bytes gather;  // CCM only: contiguous copy of a multi-part message
};

Encryptor::Encryptor(Cipher cipher, ByteSpan key)
    : cipher_(cipher), key_(key.begin(), key.end()), contexts_([this] {
        return std::make_unique<Context>(Context{make_context(cipher_, key_, true), {}});
      }) {
  // The first context is built now: a key that does not fit the cipher fails here.
  (void)contexts_.take();
  check(RAND_bytes(fixed_.data(), static_cast<int>(fixed_.size())), "RAND_bytes");
  std::array<std::uint8_t, 8> start{};
  check(RAND_bytes(start.data(), static_cast<int>(start.size())), "RAND_bytes");
  counter_first_ = load_le64(start.data());
}

Encryptor::~Encryptor() { OPENSSL_cleanse(key_.data(), key_.size()); }

TransformNonce Encryptor::next_nonce() {
  // [MS-SMB2] 3.1.4.3: a nonce is never used for another message under the same key.
  // The 2^64th message would take the first counter value again: refuse it instead (and
  // every one after it).
  const std::uint64_t index = issued_.fetch_add(1, std::memory_order_relaxed);
  if (index == UINT64_MAX) {
    issued_.store(UINT64_MAX, std::memory_order_relaxed);
    throw std::runtime_error("Encryptor: nonce space exhausted; the session must rekey");
  }
  const std::size_t fixed_size = cipher_nonce_size(cipher_) - 8;
  TransformNonce nonce{};
  std::copy_n(fixed_.begin(), fixed_size, nonce.begin());
  store_le64(nonce.data() + fixed_size, counter_first_ + index);
  return nonce;
}

Bytes Encryptor::encrypt(std::uint64_t session_id, std::span<const ByteSpan> plaintext_parts) {
  std::size_t total = 0;
  for (ByteSpan part : plaintext_parts) total += part.size();
  if (total > kMaxMessage) throw std::length_error("Encryptor: message too large");
  Bytes out(kTransformHeaderSize + total);
  auto at = out.begin() + kTransformHeaderSize;
  for (ByteSpan part : plaintext_parts) at = std::copy(part.begin(), part.end(), at);
  const MutableByteSpan body[] = {MutableByteSpan(out).subspan(kTransformHeaderSize)};
  encrypt_in_place(session_id, body, TransformHeaderBytes(out.data(), kTransformHeaderSize));
  return out;
}

void Encryptor::encrypt_in_place(std::uint64_t session_id, std::span<const MutableByteSpan> parts,
                                 TransformHeaderBytes header) {
  encrypt_in_place_with_nonce(next_nonce(), session_id, parts, header);
}

void Encryptor::encrypt_in_place_with_nonce(const TransformNonce& nonce, std::uint64_t session_id,
                                            std::span<const MutableByteSpan> parts,
                                            TransformHeaderBytes header) {
  std::size_t total = 0;
  std::size_t non_empty = 0;
  for (MutableByteSpan part : parts) {
    total += part.size();
    non_empty += part.empty() ? 0 : 1;
  }
  if (total > kMaxMessage) throw std::length_error("Encryptor: message too large");
  write_header(nonce, static_cast<std::uint32_t>(total), session_id, header);
  const std::uint8_t* aad = header.data() + kTransformAadOffset;
  auto context = contexts_.take();
  EVP_CIPHER_CTX* ctx = context->ctx.get();
  Bytes& gather = context->gather;
  int outl = 0;

  check(EVP_EncryptInit_ex(ctx, nullptr, nullptr, nullptr, nonce.data()), "set nonce");
  if (is_gcm(cipher_)) {
    check(EVP_EncryptUpdate(ctx, nullptr, &outl, aad, kTransformAadSize), "GCM aad");
    for (MutableByteSpan part : parts) {
      if (!part.empty()) gcm_update(ctx, part.data(), part.data(), part.size());
    }
    std::array<std::uint8_t, 16> unused{};
    check(EVP_EncryptFinal_ex(ctx, unused.data(), &outl), "GCM final");
  } else {
    // CCM ([RFC3610]) authenticates the length first, and OpenSSL takes the whole
    // plaintext in a single update.
    std::uint8_t* data = nullptr;
    if (non_empty > 1) {
      gather.resize(total);
      auto at = gather.begin();
      for (MutableByteSpan part : parts) at = std::copy(part.begin(), part.end(), at);
      data = gather.data();
    } else {
      for (MutableByteSpan part : parts) {
        if (!part.empty()) data = part.data();
      }
    }
    check(EVP_EncryptUpdate(ctx, nullptr, &outl, nullptr, static_cast<int>(total)), "CCM length");
    check(EVP_EncryptUpdate(ctx, nullptr, &outl, aad, kTransformAadSize), "CCM aad");
    check(EVP_EncryptUpdate(ctx, data, &outl, data, static_cast<int>(total)), "CCM encrypt");
    check(EVP_EncryptFinal_ex(ctx, nullptr, &outl), "CCM final");
    if (non_empty > 1) {
      auto from = gather.begin();
      for (MutableByteSpan part : parts) {
        std::copy_n(from, part.size(), part.begin());
        from += static_cast<std::ptrdiff_t>(part.size());
      }
    }
  }
  check(EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, kTagSize,
                            header.data() + kSignatureFieldOffset),
        "get tag");
}

// ---------------------------------------------------------------------------------------

struct Decryptor::Context {
  CipherCtxPtr ctx;
};

Decryptor::Decryptor(Cipher cipher, ByteSpan key)
    : cipher_(cipher), key_(key.begin(), key.end()), contexts_([this] {
        return std::make_unique<Context>(Context{make_context(cipher_, key_, false)});
      }) {
  (void)contexts_.take();
}

Decryptor::~Decryptor() { OPENSSL_cleanse(key_.data(), key_.size()); }

NtStatus Decryptor::check_header(ByteSpan message, TransformHeader& header) const {
  if (decode(message, header) != NtStatus::SUCCESS) return NtStatus::INVALID_PARAMETER;
  // [MS-SMB2] 3.3.5.2.1.1: Flags must say Encrypted, and OriginalMessageSize must cover at
  // least an SMB2 header. Nothing may follow the ciphertext, which has exactly that size.
  if (header.flags != kTransformFlagEncrypted) return NtStatus::INVALID_PARAMETER;
  const std::size_t ciphertext = message.size() - kTransformHeaderSize;
  if (header.original_message_size < kSmb2HeaderSize ||
      header.original_message_size != ciphertext || ciphertext > kMaxMessage) {
    return NtStatus::INVALID_PARAMETER;
  }
  return NtStatus::SUCCESS;
}

bool Decryptor::open(ByteSpan message, const TransformHeader& header, std::uint8_t* out) {
  auto context = contexts_.take();
  EVP_CIPHER_CTX* ctx = context->ctx.get();
  const std::uint8_t* aad = message.data() + kTransformAadOffset;
  const std::uint8_t* in = message.data() + kTransformHeaderSize;
  const int size = static_cast<int>(header.original_message_size);
  // The tag is copied out first: with in-place decryption the header stays intact, but
  // OpenSSL keeps its own copy either way.
  std::array<std::uint8_t, kTagSize> tag = header.signature;
  int outl = 0;

  if (EVP_DecryptInit_ex(ctx, nullptr, nullptr, nullptr, header.nonce.data()) <= 0) return false;
  if (EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, kTagSize, tag.data()) <= 0) return false;
  if (is_gcm(cipher_)) {
    if (EVP_DecryptUpdate(ctx, nullptr, &outl, aad, kTransformAadSize) <= 0) return false;
    if (EVP_DecryptUpdate(ctx, out, &outl, in, size) <= 0 || outl != size) return false;
    std::array<std::uint8_t, 16> unused{};
    return EVP_DecryptFinal_ex(ctx, unused.data(), &outl) > 0;
  }
  // CCM verifies the tag inside the single update that decrypts.
  if (EVP_DecryptUpdate(ctx, nullptr, &outl, nullptr, size) <= 0) return false;
  if (EVP_DecryptUpdate(ctx, nullptr, &outl, aad, kTransformAadSize) <= 0) return false;
  return EVP_DecryptUpdate(ctx, out, &outl, in, size) > 0 && outl == size;
}

NtStatus Decryptor::decrypt(ByteSpan transform_message, Bytes& plaintext) {
  plaintext.clear();
  TransformHeader header;
  if (NtStatus s = check_header(transform_message, header); s != NtStatus::SUCCESS) return s;
  plaintext.resize(header.original_message_size);
  if (!open(transform_message, header, plaintext.data())) {
    OPENSSL_cleanse(plaintext.data(), plaintext.size());
    plaintext.clear();
    return NtStatus::ACCESS_DENIED;
  }
  return NtStatus::SUCCESS;
}

NtStatus Decryptor::decrypt_in_place(MutableByteSpan transform_message,
                                     MutableByteSpan& plaintext) {
  plaintext = {};
  TransformHeader header;
  if (NtStatus s = check_header(transform_message, header); s != NtStatus::SUCCESS) return s;
  MutableByteSpan body = transform_message.subspan(kTransformHeaderSize);
  if (!open(transform_message, header, body.data())) {
    OPENSSL_cleanse(body.data(), body.size());
    return NtStatus::ACCESS_DENIED;
  }
  plaintext = body;
  return NtStatus::SUCCESS;
}

}  // namespace smb::crypto
