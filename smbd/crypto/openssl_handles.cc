#include "smbd/crypto/openssl_handles.hh"

#include <openssl/err.h>

#include <array>
#include <stdexcept>
#include <string>

namespace smb::crypto::detail {

void throw_openssl_error(const char* what) {
  std::string message = std::string("OpenSSL: ") + what;
  if (unsigned long code = ERR_get_error(); code != 0) {
    std::array<char, 256> reason{};
    ERR_error_string_n(code, reason.data(), reason.size());
    message += ": ";
    message += reason.data();
  }
  ERR_clear_error();
  throw std::runtime_error(message);
}

}  // namespace smb::crypto::detail
