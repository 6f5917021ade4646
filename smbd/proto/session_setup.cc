#include "smbd/proto/session_setup.hh"

#include "smbd/proto/body.hh"

namespace smb {

namespace {
constexpr std::uint16_t kRequestSize = 25;  // MS-SMB2 2.2.5
constexpr std::uint16_t kResponseSize = 9;  // MS-SMB2 2.2.6
}  // namespace

NtStatus decode(ByteSpan pdu, SessionSetupRequest& out) {
  ByteReader r(pdu);
  if (NtStatus s = body::begin(pdu, kRequestSize, r); s != NtStatus::SUCCESS) return s;
  SessionSetupRequest q;
  q.flags = r.u8();
  q.security_mode = r.u8();
  q.capabilities = r.u32();
  q.channel = r.u32();
  std::uint16_t offset = r.u16();
  std::uint16_t length = r.u16();
  q.previous_session_id = r.u64();
  if (!r.ok() || !body::buffer(pdu, offset, length, kRequestSize, q.security_buffer))
    return NtStatus::INVALID_PARAMETER;
  out = std::move(q);
  return NtStatus::SUCCESS;
}

void encode(const SessionSetupRequest& q, ByteWriter& w) {
  std::size_t header = body::header_start(w);
  w.u16(kRequestSize);
  w.u8(q.flags);
  w.u8(q.security_mode);
  w.u32(q.capabilities);
  w.u32(q.channel);
  w.u16(static_cast<std::uint16_t>(kSmb2HeaderSize + body::fixed_size(kRequestSize)));
  w.u16(static_cast<std::uint16_t>(q.security_buffer.size()));
  w.u64(q.previous_session_id);
  w.bytes(q.security_buffer);
  body::pad_empty_buffer(w, header, kRequestSize);
}

NtStatus decode(ByteSpan pdu, SessionSetupResponse& out) {
  ByteReader r(pdu);
  if (NtStatus s = body::begin(pdu, kResponseSize, r); s != NtStatus::SUCCESS) return s;
  SessionSetupResponse p;
  p.session_flags = r.u16();
  std::uint16_t offset = r.u16();
  std::uint16_t length = r.u16();
  if (!r.ok() || !body::buffer(pdu, offset, length, kResponseSize, p.security_buffer))
    return NtStatus::INVALID_PARAMETER;
  out = std::move(p);
  return NtStatus::SUCCESS;
}

void encode(const SessionSetupResponse& p, ByteWriter& w) {
  std::size_t header = body::header_start(w);
  w.u16(kResponseSize);
  w.u16(p.session_flags);
  w.u16(static_cast<std::uint16_t>(kSmb2HeaderSize + body::fixed_size(kResponseSize)));
  w.u16(static_cast<std::uint16_t>(p.security_buffer.size()));
  w.bytes(p.security_buffer);
  body::pad_empty_buffer(w, header, kResponseSize);
}

}  // namespace smb
