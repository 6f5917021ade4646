#include "smbd/proto/close.hh"

#include "smbd/proto/body.hh"

namespace smb {

namespace {
constexpr std::uint16_t kRequestSize = 24;   // MS-SMB2 2.2.15
constexpr std::uint16_t kResponseSize = 60;  // MS-SMB2 2.2.16
}  // namespace

NtStatus decode(ByteSpan pdu, CloseRequest& out) {
  ByteReader r(pdu);
  if (NtStatus s = body::begin(pdu, kRequestSize, r); s != NtStatus::SUCCESS) return s;
  CloseRequest q;
  q.flags = r.u16();
  r.skip(4);
  q.file_id = read_file_id(r);
  if (!r.ok()) return NtStatus::INVALID_PARAMETER;
  out = q;
  return NtStatus::SUCCESS;
}

void encode(const CloseRequest& q, ByteWriter& w) {
  w.u16(kRequestSize);
  w.u16(q.flags);
  w.u32(0);
  write_file_id(w, q.file_id);
}

NtStatus decode(ByteSpan pdu, CloseResponse& out) {
  ByteReader r(pdu);
  if (NtStatus s = body::begin(pdu, kResponseSize, r); s != NtStatus::SUCCESS) return s;
  CloseResponse p;
  p.flags = r.u16();
  r.skip(4);
  p.creation_time = r.u64();
  p.last_access_time = r.u64();
  p.last_write_time = r.u64();
  p.change_time = r.u64();
  p.allocation_size = r.u64();
  p.end_of_file = r.u64();
  p.file_attributes = r.u32();
  if (!r.ok()) return NtStatus::INVALID_PARAMETER;
  out = p;
  return NtStatus::SUCCESS;
}

void encode(const CloseResponse& p, ByteWriter& w) {
  w.u16(kResponseSize);
  w.u16(p.flags);
  w.u32(0);
  w.u64(p.creation_time);
  w.u64(p.last_access_time);
  w.u64(p.last_write_time);
  w.u64(p.change_time);
  w.u64(p.allocation_size);
  w.u64(p.end_of_file);
  w.u32(p.file_attributes);
}

}  // namespace smb
