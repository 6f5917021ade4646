#include "smbd/crypto/preauth.hh"

#include <openssl/evp.h>

#include "smbd/crypto/openssl_handles.hh"

namespace smb::crypto {

void PreauthHash::update(ByteSpan message) {
  const ByteSpan parts[] = {message};
  update(parts);
}

void PreauthHash::update(std::span<const ByteSpan> message_parts) {
  using namespace detail;
  // A handful of messages per session: a fresh context each time keeps the type copyable.
  MdCtxPtr ctx(check_ptr(EVP_MD_CTX_new(), "EVP_MD_CTX_new"));
  check(EVP_DigestInit_ex(ctx.get(), EVP_sha512(), nullptr), "EVP_DigestInit_ex(SHA512)");
  check(EVP_DigestUpdate(ctx.get(), value_.data(), value_.size()), "EVP_DigestUpdate");
  for (ByteSpan part : message_parts) {
    check(EVP_DigestUpdate(ctx.get(), part.data(), part.size()), "EVP_DigestUpdate");
  }
  unsigned int len = 0;
  check(EVP_DigestFinal_ex(ctx.get(), value_.data(), &len), "EVP_DigestFinal_ex");
}

}  // namespace smb::crypto
