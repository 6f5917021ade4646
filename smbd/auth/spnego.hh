// SPNEGO ([MS-SPNG], RFC 4178) tokens: NegTokenInit (with the GSS-API initial-context
// framing of RFC 2743 3.1), NegTokenInit2's negHints for the server's hint, NegTokenResp.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <vector>

#include "smbd/base/bytes.hh"

namespace smb::auth {

// DER encodings (tag, length, value) of the mechanism OIDs.
// SPNEGO 1.3.6.1.5.5.2 (RFC 4178 3).
inline constexpr std::array<std::uint8_t, 8> kSpnegoOid = {0x06, 0x06, 0x2b, 0x06,
                                                           0x01, 0x05, 0x05, 0x02};
// NTLMSSP 1.3.6.1.4.1.311.2.2.10 ([MS-NLMP] 1.9).
inline constexpr std::array<std::uint8_t, 12> kNtlmsspOid = {0x06, 0x0a, 0x2b, 0x06, 0x01, 0x04,
                                                             0x01, 0x82, 0x37, 0x02, 0x02, 0x0a};

// RFC 4178 4.2.2 negState.
enum class NegState : std::uint8_t {
  accept_completed = 0,
  accept_incomplete = 1,
  reject = 2,
  request_mic = 3,
};

struct NegTokenInit {
  std::vector<Bytes> mech_types;  // each a DER-encoded OID
  Bytes mech_types_der;           // the MechTypeList exactly as received (mechListMIC input)
  std::optional<Bytes> mech_token;
  std::optional<Bytes> mech_list_mic;
};

struct NegTokenResp {
  std::optional<NegState> neg_state;
  std::optional<Bytes> supported_mech;  // a DER-encoded OID
  std::optional<Bytes> response_token;
  std::optional<Bytes> mech_list_mic;
};

// At most this many mechanisms are accepted in a MechTypeList.
inline constexpr std::size_t kMaxMechTypes = 16;

// Decodes a NegTokenInit, framed as a GSS-API InitialContextToken with the SPNEGO OID or
// bare ([0] NegTokenInit). Accepts NegTokenInit2 ([MS-SPNG] 2.2.1): negHints is skipped.
bool decode_neg_token_init(ByteSpan token, NegTokenInit& out);
// Decodes a bare [1] NegTokenResp.
bool decode_neg_token_resp(ByteSpan token, NegTokenResp& out);

// The DER MechTypeList for `mech_types`.
Bytes encode_mech_type_list(const std::vector<Bytes>& mech_types);
// A framed NegTokenInit (the client's first token). mech_types_der is ignored: the list is
// encoded from mech_types.
Bytes encode_neg_token_init(const NegTokenInit& init);
// The server's hint for the SMB2 NEGOTIATE response ([MS-SMB2] 3.3.5.4, [MS-SPNG] 3.2.5.2):
// a framed NegTokenInit2 offering NTLMSSP with negHints.hintName
// "not_defined_in_RFC4178@please_ignore".
// With `mech_types` (DER OIDs, most preferred first) it offers those instead.
Bytes encode_neg_token_init_hint();
Bytes encode_neg_token_init_hint(const std::vector<Bytes>& mech_types);
// A bare [1] NegTokenResp.
Bytes encode_neg_token_resp(const NegTokenResp& resp);

}  // namespace smb::auth
