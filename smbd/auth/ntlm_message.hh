// NTLMSSP messages ([MS-NLMP] 2.2): NEGOTIATE, CHALLENGE and AUTHENTICATE, AV pairs and
// the VERSION structure. Decoders are bounded: every payload field is checked against the
// message in 64-bit arithmetic and views point into the caller's buffer.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "smbd/base/bytes.hh"

namespace smb::auth {

// "NTLMSSP\0" ([MS-NLMP] 2.2.1).
inline constexpr std::array<std::uint8_t, 8> kNtlmSignature = {'N', 'T', 'L', 'M',
                                                               'S', 'S', 'P', 0};

// True when `token` starts with the NTLMSSP signature (a raw, unwrapped NTLM token).
bool is_raw_ntlmssp(ByteSpan token);

enum class NtlmMessageType : std::uint32_t {
  NtLmNegotiate = 1,
  NtLmChallenge = 2,
  NtLmAuthenticate = 3,
};

// NEGOTIATE flags ([MS-NLMP] 2.2.2.5).
enum class NegotiateFlag : std::uint32_t {
  NTLMSSP_NEGOTIATE_UNICODE = 0x00000001,
  NTLM_NEGOTIATE_OEM = 0x00000002,
  NTLMSSP_REQUEST_TARGET = 0x00000004,
  NTLMSSP_NEGOTIATE_SIGN = 0x00000010,
  NTLMSSP_NEGOTIATE_SEAL = 0x00000020,
  NTLMSSP_NEGOTIATE_DATAGRAM = 0x00000040,
  NTLMSSP_NEGOTIATE_LM_KEY = 0x00000080,
  NTLMSSP_NEGOTIATE_NTLM = 0x00000200,
  NTLMSSP_ANONYMOUS = 0x00000800,
  NTLMSSP_NEGOTIATE_OEM_DOMAIN_SUPPLIED = 0x00001000,
  NTLMSSP_NEGOTIATE_OEM_WORKSTATION_SUPPLIED = 0x00002000,
  NTLMSSP_NEGOTIATE_ALWAYS_SIGN = 0x00008000,
  NTLMSSP_TARGET_TYPE_DOMAIN = 0x00010000,
  NTLMSSP_TARGET_TYPE_SERVER = 0x00020000,
  NTLMSSP_NEGOTIATE_EXTENDED_SESSIONSECURITY = 0x00080000,
  NTLMSSP_NEGOTIATE_IDENTIFY = 0x00100000,
  NTLMSSP_REQUEST_NON_NT_SESSION_KEY = 0x00400000,
  NTLMSSP_NEGOTIATE_TARGET_INFO = 0x00800000,
  NTLMSSP_NEGOTIATE_VERSION = 0x02000000,
  NTLMSSP_NEGOTIATE_128 = 0x20000000,
  NTLMSSP_NEGOTIATE_KEY_EXCH = 0x40000000,
  NTLMSSP_NEGOTIATE_56 = 0x80000000,
};

constexpr std::uint32_t operator|(NegotiateFlag a, NegotiateFlag b) {
  return static_cast<std::uint32_t>(a) | static_cast<std::uint32_t>(b);
}
constexpr std::uint32_t operator|(std::uint32_t a, NegotiateFlag b) {
  return a | static_cast<std::uint32_t>(b);
}
constexpr bool has_flag(std::uint32_t flags, NegotiateFlag f) {
  return (flags & static_cast<std::uint32_t>(f)) != 0;
}

// AV_PAIR identifiers ([MS-NLMP] 2.2.2.1).
enum class AvId : std::uint16_t {
  MsvAvEOL = 0x0000,
  MsvAvNbComputerName = 0x0001,
  MsvAvNbDomainName = 0x0002,
  MsvAvDnsComputerName = 0x0003,
  MsvAvDnsDomainName = 0x0004,
  MsvAvDnsTreeName = 0x0005,
  MsvAvFlags = 0x0006,
  MsvAvTimestamp = 0x0007,
  MsvAvSingleHost = 0x0008,
  MsvAvTargetName = 0x0009,
  MsvAvChannelBindings = 0x000A,
};

// MsvAvFlags bits ([MS-NLMP] 2.2.2.1).
inline constexpr std::uint32_t kMsvAvFlagAccountConstrained = 0x00000001;
inline constexpr std::uint32_t kMsvAvFlagMicPresent = 0x00000002;
inline constexpr std::uint32_t kMsvAvFlagUntrustedSpn = 0x00000004;

struct AvPair {
  AvId id = AvId::MsvAvEOL;
  Bytes value;
};

// Decodes an AV_PAIR list up to MsvAvEOL (which is not stored). Fails when a pair runs
// past the buffer, when a value is too long, or when there are more than 64 pairs; a list
// that ends without MsvAvEOL is accepted, as some clients omit it in the NTLMv2 blob.
bool decode_av_pairs(ByteSpan data, std::vector<AvPair>& out);
// Encodes the pairs followed by MsvAvEOL.
void encode_av_pairs(const std::vector<AvPair>& pairs, ByteWriter& w);
const AvPair* find_av_pair(const std::vector<AvPair>& pairs, AvId id);

// VERSION ([MS-NLMP] 2.2.2.10).
struct NtlmVersion {
  std::uint8_t product_major_version = 6;
  std::uint8_t product_minor_version = 1;
  std::uint16_t product_build = 7600;
  std::uint8_t ntlm_revision_current = 0x0F;  // NTLMSSP_REVISION_W2K3
};

// NEGOTIATE_MESSAGE ([MS-NLMP] 2.2.1.1). Strings are OEM bytes as carried.
struct NegotiateMessage {
  std::uint32_t negotiate_flags = 0;
  Bytes domain_name;
  Bytes workstation;
  std::optional<NtlmVersion> version;
};

// CHALLENGE_MESSAGE ([MS-NLMP] 2.2.1.2). target_name is UTF-16LE or OEM as the flags say.
struct ChallengeMessage {
  std::uint32_t negotiate_flags = 0;
  std::array<std::uint8_t, 8> server_challenge{};
  Bytes target_name;
  std::vector<AvPair> target_info;
  std::optional<NtlmVersion> version;
};

// AUTHENTICATE_MESSAGE ([MS-NLMP] 2.2.1.3). Names are UTF-16LE when
// NTLMSSP_NEGOTIATE_UNICODE is set, OEM otherwise. `mic` is present when the message is
// long enough to hold one before its payload; whether it is meaningful is decided by
// MsvAvFlags in the NTLMv2 response.
struct AuthenticateMessage {
  std::uint32_t negotiate_flags = 0;
  Bytes lm_challenge_response;
  Bytes nt_challenge_response;
  Bytes domain_name;
  Bytes user_name;
  Bytes workstation;
  Bytes encrypted_random_session_key;
  std::optional<NtlmVersion> version;
  std::optional<std::array<std::uint8_t, 16>> mic;
};

// Byte offset of the MIC field in an AUTHENTICATE_MESSAGE ([MS-NLMP] 2.2.1.3).
inline constexpr std::size_t kAuthenticateMicOffset = 72;

bool decode_negotiate(ByteSpan msg, NegotiateMessage& out);
bool decode_challenge(ByteSpan msg, ChallengeMessage& out);
bool decode_authenticate(ByteSpan msg, AuthenticateMessage& out);

Bytes encode_negotiate(const NegotiateMessage& m);
Bytes encode_challenge(const ChallengeMessage& m);
// Writes the MIC field (zeros when m.mic is empty) only when `with_mic` is true; the
// payload then starts at offset 88 instead of 72.
Bytes encode_authenticate(const AuthenticateMessage& m, bool with_mic);

// NTLMv2_CLIENT_CHALLENGE ([MS-NLMP] 2.2.2.7), the `temp` of 3.3.2 without the trailing
// padding. decode accepts the blob as the client sent it (the part after NTProofStr).
struct NtlmV2ClientChallenge {
  std::uint64_t timestamp = 0;
  std::array<std::uint8_t, 8> challenge_from_client{};
  std::vector<AvPair> av_pairs;
};
bool decode_ntlmv2_client_challenge(ByteSpan blob, NtlmV2ClientChallenge& out);
// Encodes RespType, HiRespType, reserved fields, timestamp, client challenge, the AV pairs
// with MsvAvEOL, and the four zero bytes 3.3.2 appends.
Bytes encode_ntlmv2_client_challenge(const NtlmV2ClientChallenge& c);

// Names in a message: UTF-16LE when unicode, else OEM (bytes taken as Latin-1).
bool ntlm_string_to_utf8(ByteSpan s, bool unicode, std::string& out);
Bytes ntlm_string_to_utf16le(ByteSpan s, bool unicode);

}  // namespace smb::auth
