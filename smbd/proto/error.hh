// SMB2 ERROR response (MS-SMB2 2.2.2) and its 3.1.1 error contexts (2.2.2.1).
// Ownership: error data and contexts are copied into the struct.
#pragma once

#include <cstdint>
#include <vector>

#include "smbd/base/bytes.hh"
#include "smbd/proto/header.hh"
#include "smbd/base/ntstatus.hh"

namespace smb {

// MS-SMB2 2.2.2.1: ErrorId.
inline constexpr std::uint32_t kErrorIdDefault = 0x00000000;
inline constexpr std::uint32_t kErrorIdShareRedirect = 0x72645253;

struct ErrorContext {
  std::uint32_t error_id = kErrorIdDefault;
  Bytes data;
  bool operator==(const ErrorContext&) const = default;
};

// With `contexts` non-empty, ErrorContextCount is their number and ErrorData holds them,
// each 8-byte aligned; otherwise ErrorData is `error_data` (e.g. the 4-byte required
// size of STATUS_BUFFER_TOO_SMALL, or a symbolic link error response). MS-SMB2 2.2.2:
// with ByteCount 0, one zero byte of ErrorData is still sent.
struct ErrorResponse {
  Bytes error_data;
  std::vector<ErrorContext> contexts;
  bool operator==(const ErrorResponse&) const = default;
};

NtStatus decode(ByteSpan pdu, ErrorResponse& out);
void encode(const ErrorResponse& response, ByteWriter& w);

}  // namespace smb
