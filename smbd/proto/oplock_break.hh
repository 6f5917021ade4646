// SMB2 OPLOCK_BREAK: oplock break notification, acknowledgment and response
// (MS-SMB2 2.2.23.1, 2.2.24.1, 2.2.25.1, all one layout) and lease break notification,
// acknowledgment and response (2.2.23.2, 2.2.24.2, 2.2.25.2). The StructureSize tells
// which one a pdu holds.
#pragma once

#include <cstdint>

#include "smbd/base/bytes.hh"
#include "smbd/proto/create.hh"
#include "smbd/proto/file_id.hh"
#include "smbd/proto/header.hh"
#include "smbd/base/ntstatus.hh"

namespace smb {

struct OplockBreak {
  OplockLevel oplock_level = OplockLevel::NONE;
  FileId file_id;
  bool operator==(const OplockBreak&) const = default;
};
using OplockBreakNotification = OplockBreak;
using OplockBreakAcknowledgment = OplockBreak;
using OplockBreakResponse = OplockBreak;

// MS-SMB2 2.2.23.2: Flags.
inline constexpr std::uint32_t kNotifyBreakLeaseFlagAckRequired = 0x00000001;

struct LeaseBreakNotification {
  std::uint16_t new_epoch = 0;
  std::uint32_t flags = 0;
  Guid lease_key{};
  std::uint32_t current_lease_state = 0;
  std::uint32_t new_lease_state = 0;
  std::uint32_t break_reason = 0;
  std::uint32_t access_mask_hint = 0;
  std::uint32_t share_mask_hint = 0;
  bool operator==(const LeaseBreakNotification&) const = default;
};

struct LeaseBreakAck {
  std::uint32_t flags = 0;
  Guid lease_key{};
  std::uint32_t lease_state = 0;
  std::uint64_t lease_duration = 0;
  bool operator==(const LeaseBreakAck&) const = default;
};
using LeaseBreakAcknowledgment = LeaseBreakAck;
using LeaseBreakResponse = LeaseBreakAck;

enum class OplockBreakKind { OPLOCK, LEASE_NOTIFICATION, LEASE_ACK, UNKNOWN };
// From the StructureSize: 24 oplock, 44 lease break notification, 36 lease ack/response.
OplockBreakKind oplock_break_kind(ByteSpan pdu);

NtStatus decode(ByteSpan pdu, OplockBreak& out);
NtStatus decode(ByteSpan pdu, LeaseBreakNotification& out);
NtStatus decode(ByteSpan pdu, LeaseBreakAck& out);
void encode(const OplockBreak& body, ByteWriter& w);
void encode(const LeaseBreakNotification& body, ByteWriter& w);
void encode(const LeaseBreakAck& body, ByteWriter& w);

}  // namespace smb
