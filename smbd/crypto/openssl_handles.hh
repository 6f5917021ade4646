// Owning wrappers for the OpenSSL 3 handles used by this library, and the one place
// where an OpenSSL failure becomes a C++ exception.
#pragma once

#include <openssl/evp.h>

#include <memory>

namespace smb::crypto::detail {

struct CipherCtxDeleter {
  void operator()(EVP_CIPHER_CTX* p) const { EVP_CIPHER_CTX_free(p); }
};
struct CipherDeleter {
  void operator()(EVP_CIPHER* p) const { EVP_CIPHER_free(p); }
};
struct MacCtxDeleter {
  void operator()(EVP_MAC_CTX* p) const { EVP_MAC_CTX_free(p); }
};
struct MacDeleter {
  void operator()(EVP_MAC* p) const { EVP_MAC_free(p); }
};
struct MdCtxDeleter {
  void operator()(EVP_MD_CTX* p) const { EVP_MD_CTX_free(p); }
};
struct MdDeleter {
  void operator()(EVP_MD* p) const { EVP_MD_free(p); }
};

using CipherCtxPtr = std::unique_ptr<EVP_CIPHER_CTX, CipherCtxDeleter>;
using CipherPtr = std::unique_ptr<EVP_CIPHER, CipherDeleter>;
using MacCtxPtr = std::unique_ptr<EVP_MAC_CTX, MacCtxDeleter>;
using MacPtr = std::unique_ptr<EVP_MAC, MacDeleter>;
using MdCtxPtr = std::unique_ptr<EVP_MD_CTX, MdCtxDeleter>;
using MdPtr = std::unique_ptr<EVP_MD, MdDeleter>;

// OpenSSL fails here only on memory exhaustion or a broken installation; neither can be
// handled per message, so they surface as std::runtime_error carrying the library's reason.
[[noreturn]] void throw_openssl_error(const char* what);

inline void check(int rc, const char* what) {
  if (rc <= 0) throw_openssl_error(what);
}
template <typename T>
T* check_ptr(T* p, const char* what) {
  if (p == nullptr) throw_openssl_error(what);
  return p;
}

}  // namespace smb::crypto::detail
