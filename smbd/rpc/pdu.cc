#include "smbd/rpc/pdu.hh"

namespace smb::rpc {

namespace {

void put_header(ByteWriter& w, const Header& h) {
  w.u8(h.rpc_vers);
  w.u8(h.rpc_vers_minor);
  w.u8(static_cast<std::uint8_t>(h.type));
  w.u8(h.pfc_flags);
  w.bytes(h.drep);
  w.u16(0);  // frag_length, patched by finish()
  w.u16(0);  // auth_length: no verifier is ever sent
  w.u32(h.call_id);
}

// Sets frag_length of the PDU that starts at `start`.
void finish(ByteWriter& w, std::size_t start) {
  w.patch_u16(start + 8, static_cast<std::uint16_t>(w.size() - start));
}

bool header_of(ByteSpan pdu, PduType type, Header& h) {
  return decode_header(pdu, h) && h.type == type && h.frag_length == pdu.size();
}

// The body of a PDU ends where an auth verifier begins ([MS-RPCE] 2.2.2.11: sec_trailer
// of 8 octets followed by auth_length octets, preceded by auth_pad_length padding).
bool body_end(ByteSpan pdu, const Header& h, std::size_t body_start, std::size_t& end) {
  if (h.auth_length == 0) {
    end = pdu.size();
    return true;
  }
  std::uint64_t trailer = 8 + static_cast<std::uint64_t>(h.auth_length);
  if (trailer + body_start > pdu.size()) return false;
  std::size_t trailer_at = pdu.size() - static_cast<std::size_t>(trailer);
  std::uint8_t pad = pdu[trailer_at + 2];
  if (static_cast<std::uint64_t>(body_start) + pad > trailer_at) return false;
  end = trailer_at - pad;
  return true;
}

void put_bind_body(ByteWriter& w, std::uint16_t max_xmit, std::uint16_t max_recv,
                   std::uint32_t group) {
  w.u16(max_xmit);
  w.u16(max_recv);
  w.u32(group);
}

}  // namespace

bool decode_header(ByteSpan pdu, Header& out) {
  ByteReader r(pdu);
  out.rpc_vers = r.u8();
  out.rpc_vers_minor = r.u8();
  out.type = static_cast<PduType>(r.u8());
  out.pfc_flags = r.u8();
  r.copy(out.drep);
  out.frag_length = r.u16();
  out.auth_length = r.u16();
  out.call_id = r.u32();
  // [C706] 12.6.3.1: integer representation in the high nibble of drep[0]; 1 is
  // little-endian. Big-endian peers are not supported.
  return r.ok() && out.rpc_vers == 5 && (out.drep[0] >> 4) == 1;
}

bool decode(ByteSpan pdu, BindPdu& out) {
  if (!decode_header(pdu, out.header) || out.header.frag_length != pdu.size() ||
      (out.header.type != PduType::bind && out.header.type != PduType::alter_context)) {
    return false;
  }
  std::size_t end = 0;
  if (!body_end(pdu, out.header, kCommonHeaderSize, end)) return false;
  ByteReader r(pdu.first(end), kCommonHeaderSize);
  out.max_xmit_frag = r.u16();
  out.max_recv_frag = r.u16();
  out.assoc_group_id = r.u32();
  std::uint8_t n_context = r.u8();
  r.skip(3);  // reserved, reserved2
  out.contexts.clear();
  for (unsigned i = 0; i < n_context && r.ok(); ++i) {
    ContextElement c;
    c.context_id = r.u16();
    std::uint8_t n_transfer = r.u8();
    r.skip(1);
    c.abstract_syntax = get_syntax(r);
    // Bounded by the bytes present before anything is stored.
    if (static_cast<std::uint64_t>(n_transfer) * kSyntaxIdSize > r.remaining()) return false;
    for (unsigned t = 0; t < n_transfer; ++t) c.transfer_syntaxes.push_back(get_syntax(r));
    out.contexts.push_back(std::move(c));
  }
  return r.ok();
}

bool decode(ByteSpan pdu, BindAckPdu& out) {
  if (!decode_header(pdu, out.header) || out.header.frag_length != pdu.size() ||
      (out.header.type != PduType::bind_ack && out.header.type != PduType::alter_context_resp)) {
    return false;
  }
  std::size_t end = 0;
  if (!body_end(pdu, out.header, kCommonHeaderSize, end)) return false;
  ByteReader r(pdu.first(end), kCommonHeaderSize);
  out.max_xmit_frag = r.u16();
  out.max_recv_frag = r.u16();
  out.assoc_group_id = r.u32();
  std::uint16_t addr_len = r.u16();
  ByteSpan addr = r.bytes(addr_len);
  out.secondary_address.clear();
  if (addr_len > 0) {
    if (!r.ok() || addr.back() != 0) return false;
    out.secondary_address.assign(addr.begin(), addr.end() - 1);
  }
  // [C706] 12.6.4.4: the result list is 4-octet aligned from the start of the PDU.
  r.skip((4 - r.position() % 4) % 4);
  std::uint8_t n_results = r.u8();
  r.skip(3);
  out.results.clear();
  for (unsigned i = 0; i < n_results && r.ok(); ++i) {
    ContextResult c;
    c.result = r.u16();
    c.reason = r.u16();
    c.transfer_syntax = get_syntax(r);
    out.results.push_back(c);
  }
  return r.ok();
}

bool decode(ByteSpan pdu, BindNakPdu& out) {
  if (!header_of(pdu, PduType::bind_nak, out.header)) return false;
  ByteReader r(pdu, kCommonHeaderSize);
  out.reject_reason = r.u16();
  std::uint8_t n_versions = r.u8();
  r.skip(static_cast<std::size_t>(n_versions) * 2);
  return r.ok();
}

bool decode(ByteSpan pdu, RequestPdu& out) {
  if (!header_of(pdu, PduType::request, out.header)) return false;
  ByteReader r(pdu, kCommonHeaderSize);
  out.alloc_hint = r.u32();
  out.context_id = r.u16();
  out.opnum = r.u16();
  out.object.reset();
  if (out.header.pfc_flags & kPfcObjectUuid) {
    Uuid u;
    r.copy(u.bytes);
    out.object = u;
  }
  if (!r.ok()) return false;
  std::size_t end = 0;
  if (!body_end(pdu, out.header, r.position(), end)) return false;
  out.stub = pdu.subspan(r.position(), end - r.position());
  return true;
}

bool decode(ByteSpan pdu, ResponsePdu& out) {
  if (!header_of(pdu, PduType::response, out.header)) return false;
  ByteReader r(pdu, kCommonHeaderSize);
  out.alloc_hint = r.u32();
  out.context_id = r.u16();
  out.cancel_count = r.u8();
  r.skip(1);
  if (!r.ok()) return false;
  std::size_t end = 0;
  if (!body_end(pdu, out.header, r.position(), end)) return false;
  out.stub = pdu.subspan(r.position(), end - r.position());
  return true;
}

bool decode(ByteSpan pdu, FaultPdu& out) {
  if (!header_of(pdu, PduType::fault, out.header)) return false;
  ByteReader r(pdu, kCommonHeaderSize);
  out.alloc_hint = r.u32();
  out.context_id = r.u16();
  out.cancel_count = r.u8();
  r.skip(1);
  out.status = r.u32();
  return r.ok();
}

void encode(const BindPdu& pdu, Bytes& out) {
  ByteWriter w(out);
  std::size_t start = out.size();
  put_header(w, pdu.header);
  put_bind_body(w, pdu.max_xmit_frag, pdu.max_recv_frag, pdu.assoc_group_id);
  w.u8(static_cast<std::uint8_t>(pdu.contexts.size()));
  w.zeros(3);
  for (const ContextElement& c : pdu.contexts) {
    w.u16(c.context_id);
    w.u8(static_cast<std::uint8_t>(c.transfer_syntaxes.size()));
    w.u8(0);
    put_syntax(w, c.abstract_syntax);
    for (const SyntaxId& t : c.transfer_syntaxes) put_syntax(w, t);
  }
  finish(w, start);
}

void encode(const BindAckPdu& pdu, Bytes& out) {
  ByteWriter w(out);
  std::size_t start = out.size();
  put_header(w, pdu.header);
  put_bind_body(w, pdu.max_xmit_frag, pdu.max_recv_frag, pdu.assoc_group_id);
  // port_any_t ([C706] 12.6.3.1): length including the NUL, then the octets.
  if (pdu.secondary_address.empty()) {
    w.u16(0);
  } else {
    w.u16(static_cast<std::uint16_t>(pdu.secondary_address.size() + 1));
    w.bytes(ByteSpan(reinterpret_cast<const std::uint8_t*>(pdu.secondary_address.data()),
                     pdu.secondary_address.size()));
    w.u8(0);
  }
  w.align(4, start);
  w.u8(static_cast<std::uint8_t>(pdu.results.size()));
  w.zeros(3);
  for (const ContextResult& c : pdu.results) {
    w.u16(c.result);
    w.u16(c.reason);
    put_syntax(w, c.transfer_syntax);
  }
  finish(w, start);
}

void encode(const BindNakPdu& pdu, Bytes& out) {
  ByteWriter w(out);
  std::size_t start = out.size();
  put_header(w, pdu.header);
  w.u16(pdu.reject_reason);
  // p_rt_versions_supported_t: one protocol version, 5.0.
  w.u8(1);
  w.u8(5);
  w.u8(0);
  finish(w, start);
}

void encode(const RequestPdu& pdu, Bytes& out) {
  ByteWriter w(out);
  std::size_t start = out.size();
  Header h = pdu.header;
  if (pdu.object) h.pfc_flags |= kPfcObjectUuid;
  put_header(w, h);
  w.u32(pdu.alloc_hint);
  w.u16(pdu.context_id);
  w.u16(pdu.opnum);
  if (pdu.object) w.bytes(pdu.object->bytes);
  w.bytes(pdu.stub);
  finish(w, start);
}

void encode(const ResponsePdu& pdu, Bytes& out) {
  ByteWriter w(out);
  std::size_t start = out.size();
  put_header(w, pdu.header);
  w.u32(pdu.alloc_hint);
  w.u16(pdu.context_id);
  w.u8(pdu.cancel_count);
  w.u8(0);
  w.bytes(pdu.stub);
  finish(w, start);
}

void encode(const FaultPdu& pdu, Bytes& out) {
  ByteWriter w(out);
  std::size_t start = out.size();
  put_header(w, pdu.header);
  w.u32(pdu.alloc_hint);
  w.u16(pdu.context_id);
  w.u8(pdu.cancel_count);
  w.u8(0);
  w.u32(pdu.status);
  w.u32(0);  // reserved ([C706] 12.6.4.7)
  finish(w, start);
}

}  // namespace smb::rpc
