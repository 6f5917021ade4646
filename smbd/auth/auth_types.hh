// Types shared by the NTLM and SPNEGO roles: server identity, the user database hook,
// injectable randomness and clock, and why an authentication failed.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "smbd/base/bytes.hh"

namespace smb::auth {

// Names the server announces in CHALLENGE_MESSAGE.TargetInfo ([MS-NLMP] 2.2.1.2).
struct ServerIdentity {
  std::string netbios_name;       // MsvAvNbComputerName and TargetName, e.g. "FILESRV"
  std::string netbios_domain;     // MsvAvNbDomainName: the workgroup, e.g. "WORKGROUP"
  std::string dns_computer_name;  // MsvAvDnsComputerName, e.g. "filesrv.example.com"
  std::string dns_domain_name;    // MsvAvDnsDomainName, e.g. "example.com"
};

// What the user database holds for one account.
struct UserRecord {
  std::array<std::uint8_t, 16> nt_hash{};  // NTOWFv1 of the password (nt_hash.hh)
  bool disabled = false;
};

// Looks up an account. `user` is the bare account name and `domain` the domain the client
// named (possibly empty); a "DOMAIN\user" or "user@domain" user field is split before the
// call. Matching is the callee's job and is expected to ignore case.
using UserLookup =
    std::function<std::optional<UserRecord>(std::string_view user, std::string_view domain)>;

// Fills a buffer with random bytes; the default is the OpenSSL CSPRNG. Tests inject
// fixed values to reproduce published vectors.
using RandomSource = std::function<void(MutableByteSpan)>;
// The current time as a FILETIME ([MS-DTYP] 2.3.3).
using FiletimeClock = std::function<std::uint64_t()>;

enum class AuthFailure {
  none,
  invalid_token,          // malformed NTLMSSP or SPNEGO data
  unsupported_mechanism,  // the client offers no NTLMSSP
  out_of_sequence,        // a token arrived in a state that does not expect it
  lm_or_ntlmv1_refused,   // LM, NTLMv1 or NTLM2 session response ([MS-NLMP] 3.3.1)
  no_such_user,
  wrong_password,
  account_disabled,
  mic_mismatch,            // AUTHENTICATE_MESSAGE.MIC ([MS-NLMP] 3.2.5.1.2)
  mech_list_mic_mismatch,  // SPNEGO mechListMIC missing or wrong ([MS-SPNG] 3.2.5.1)
  rejected_by_peer,        // the other side sent negState reject
};

std::string_view auth_failure_name(AuthFailure f);

}  // namespace smb::auth
