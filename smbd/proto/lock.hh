// SMB2 LOCK request (MS-SMB2 2.2.26, elements 2.2.26.1) and response (2.2.27).
#pragma once

#include <cstdint>
#include <vector>

#include "smbd/base/bytes.hh"
#include "smbd/proto/file_id.hh"
#include "smbd/proto/header.hh"
#include "smbd/base/ntstatus.hh"

namespace smb {

// MS-SMB2 2.2.26.1: Flags.
inline constexpr std::uint32_t kLockFlagSharedLock = 0x00000001;
inline constexpr std::uint32_t kLockFlagExclusiveLock = 0x00000002;
inline constexpr std::uint32_t kLockFlagUnlock = 0x00000004;
inline constexpr std::uint32_t kLockFlagFailImmediately = 0x00000010;

struct LockElement {
  std::uint64_t offset = 0;
  std::uint64_t length = 0;
  std::uint32_t flags = 0;
  bool operator==(const LockElement&) const = default;
};

// MS-SMB2 2.2.26: LockSequenceNumber is the low 4 bits, LockSequenceIndex the high 28.
struct LockRequest {
  std::uint8_t lock_sequence_number = 0;
  std::uint32_t lock_sequence_index = 0;
  FileId file_id;
  std::vector<LockElement> locks;
  bool operator==(const LockRequest&) const = default;
};

struct LockResponse {
  bool operator==(const LockResponse&) const = default;
};

// MS-SMB2 3.3.5.14: LockCount 0 is STATUS_INVALID_PARAMETER; the elements must fit.
NtStatus decode(ByteSpan pdu, LockRequest& out);
NtStatus decode(ByteSpan pdu, LockResponse& out);
void encode(const LockRequest& request, ByteWriter& w);
void encode(const LockResponse& response, ByteWriter& w);

}  // namespace smb
