// SMB2 SESSION_SETUP request (MS-SMB2 2.2.5) and response (2.2.6).
// Ownership: the security buffers are copied into the structs.
#pragma once

#include <cstdint>

#include "smbd/base/bytes.hh"
#include "smbd/proto/header.hh"
#include "smbd/base/ntstatus.hh"

namespace smb {

// MS-SMB2 2.2.5: Flags.
inline constexpr std::uint8_t kSessionSetupFlagBinding = 0x01;
// MS-SMB2 2.2.5: SecurityMode (one byte here).
inline constexpr std::uint8_t kSessionSigningEnabled = 0x01;
inline constexpr std::uint8_t kSessionSigningRequired = 0x02;
// MS-SMB2 2.2.6: SessionFlags.
inline constexpr std::uint16_t kSessionFlagIsGuest = 0x0001;
inline constexpr std::uint16_t kSessionFlagIsNull = 0x0002;
inline constexpr std::uint16_t kSessionFlagEncryptData = 0x0004;

struct SessionSetupRequest {
  std::uint8_t flags = 0;
  std::uint8_t security_mode = 0;
  std::uint32_t capabilities = 0;
  std::uint32_t channel = 0;  // MUST be 0
  std::uint64_t previous_session_id = 0;
  Bytes security_buffer;
  bool operator==(const SessionSetupRequest&) const = default;
};

struct SessionSetupResponse {
  std::uint16_t session_flags = 0;
  Bytes security_buffer;
  bool operator==(const SessionSetupResponse&) const = default;
};

NtStatus decode(ByteSpan pdu, SessionSetupRequest& out);
NtStatus decode(ByteSpan pdu, SessionSetupResponse& out);
void encode(const SessionSetupRequest& request, ByteWriter& w);
void encode(const SessionSetupResponse& response, ByteWriter& w);

}  // namespace smb
