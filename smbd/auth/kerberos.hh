// The Kerberos mechanism of SPNEGO on the server side ([MS-SMB2] 3.3.5.5.3, RFC 4121):
// an AP-REQ accepted through MIT Kerberos' GSS-API with the keys of a keytab, answered
// with an AP-REP (mutual authentication). The session key is the context's key as SSPI
// gives it (GSS_C_INQ_SSPI_SESSION_KEY), as [MS-SMB2] 3.3.5.5.3 asks.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "smbd/base/bytes.hh"
#include "smbd/base/ntstatus.hh"

namespace smb::auth {

// DER encodings of the Kerberos mechanism OIDs SPNEGO offers: the standard one
// (1.2.840.113554.1.2.2, RFC 4121) and Microsoft's (1.2.840.48018.1.2.2), which Windows
// clients list first.
inline constexpr std::uint8_t kKerberosOid[] = {0x06, 0x09, 0x2a, 0x86, 0x48, 0x86,
                                                0xf7, 0x12, 0x01, 0x02, 0x02};
inline constexpr std::uint8_t kMsKerberosOid[] = {0x06, 0x09, 0x2a, 0x86, 0x48, 0x82,
                                                  0xf7, 0x12, 0x01, 0x02, 0x02};

bool is_kerberos_oid(ByteSpan der_oid);

struct KerberosSettings {
  std::string keytab;  // path of the keytab holding the service's keys
  std::string realm;   // upper case: clients of other realms are refused
};

struct KerberosResult {
  NtStatus status = NtStatus::LOGON_FAILURE;
  Bytes output_token;  // the AP-REP (GSS-framed) on success
  Bytes session_key;   // the context's key, at least 16 bytes (zero-padded)
  std::string user;    // the principal's name without its realm
  std::string realm;
  std::int64_t lifetime_seconds = 0;  // until the ticket ends
  std::string failure;                // why it failed, for the log
};

// Accepts one AP-REQ. Each call uses a fresh security context.
KerberosResult accept_kerberos(const KerberosSettings& settings, ByteSpan initial_token);

}  // namespace smb::auth
