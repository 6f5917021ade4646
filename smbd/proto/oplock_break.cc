#include "smbd/proto/oplock_break.hh"

#include "smbd/proto/body.hh"

namespace smb {

namespace {
constexpr std::uint16_t kOplockSize = 24;             // MS-SMB2 2.2.23.1, 2.2.24.1, 2.2.25.1
constexpr std::uint16_t kLeaseNotificationSize = 44;  // MS-SMB2 2.2.23.2
constexpr std::uint16_t kLeaseAckSize = 36;           // MS-SMB2 2.2.24.2, 2.2.25.2
}  // namespace

OplockBreakKind oplock_break_kind(ByteSpan pdu) {
  switch (body::structure_size(pdu)) {
    case kOplockSize:
      return OplockBreakKind::OPLOCK;
    case kLeaseNotificationSize:
      return OplockBreakKind::LEASE_NOTIFICATION;
    case kLeaseAckSize:
      return OplockBreakKind::LEASE_ACK;
    default:
      return OplockBreakKind::UNKNOWN;
  }
}

NtStatus decode(ByteSpan pdu, OplockBreak& out) {
  ByteReader r(pdu);
  if (NtStatus s = body::begin(pdu, kOplockSize, r); s != NtStatus::SUCCESS) return s;
  OplockBreak b;
  b.oplock_level = static_cast<OplockLevel>(r.u8());
  r.skip(5);
  b.file_id = read_file_id(r);
  if (!r.ok()) return NtStatus::INVALID_PARAMETER;
  out = b;
  return NtStatus::SUCCESS;
}

void encode(const OplockBreak& b, ByteWriter& w) {
  w.u16(kOplockSize);
  w.u8(static_cast<std::uint8_t>(b.oplock_level));
  w.u8(0);
  w.u32(0);
  write_file_id(w, b.file_id);
}

NtStatus decode(ByteSpan pdu, LeaseBreakNotification& out) {
  ByteReader r(pdu);
  if (NtStatus s = body::begin(pdu, kLeaseNotificationSize, r); s != NtStatus::SUCCESS) return s;
  LeaseBreakNotification n;
  n.new_epoch = r.u16();
  n.flags = r.u32();
  n.lease_key = read_guid(r);
  n.current_lease_state = r.u32();
  n.new_lease_state = r.u32();
  n.break_reason = r.u32();
  n.access_mask_hint = r.u32();
  n.share_mask_hint = r.u32();
  if (!r.ok()) return NtStatus::INVALID_PARAMETER;
  out = n;
  return NtStatus::SUCCESS;
}

void encode(const LeaseBreakNotification& n, ByteWriter& w) {
  w.u16(kLeaseNotificationSize);
  w.u16(n.new_epoch);
  w.u32(n.flags);
  write_guid(w, n.lease_key);
  w.u32(n.current_lease_state);
  w.u32(n.new_lease_state);
  w.u32(n.break_reason);
  w.u32(n.access_mask_hint);
  w.u32(n.share_mask_hint);
}

NtStatus decode(ByteSpan pdu, LeaseBreakAck& out) {
  ByteReader r(pdu);
  if (NtStatus s = body::begin(pdu, kLeaseAckSize, r); s != NtStatus::SUCCESS) return s;
  LeaseBreakAck a;
  r.skip(2);
  a.flags = r.u32();
  a.lease_key = read_guid(r);
  a.lease_state = r.u32();
  a.lease_duration = r.u64();
  if (!r.ok()) return NtStatus::INVALID_PARAMETER;
  out = a;
  return NtStatus::SUCCESS;
}

void encode(const LeaseBreakAck& a, ByteWriter& w) {
  w.u16(kLeaseAckSize);
  w.u16(0);
  w.u32(a.flags);
  write_guid(w, a.lease_key);
  w.u32(a.lease_state);
  w.u64(a.lease_duration);
}

}  // namespace smb
