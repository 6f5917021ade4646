#include "smbd/auth/ntlm_message.hh"

#include <algorithm>

namespace smb::auth {

namespace {

constexpr std::size_t kMaxAvPairs = 64;

// A payload field descriptor (Len, MaxLen, BufferOffset; [MS-NLMP] 2.2.1.1) read at the
// reader's position. Tracks the lowest offset of a non-empty field, which bounds where the
// fixed header may end (VERSION, MIC).
struct FieldReader {
  ByteReader& r;
  std::uint64_t lowest_offset;

  bool read(Bytes& out) {
    std::uint16_t len = r.u16();
    r.u16();  // MaxLen: ignored on receipt.
    std::uint32_t offset = r.u32();
    if (!r.ok()) return false;
    out.clear();
    if (len == 0) return true;
    ByteSpan view;
    if (!r.slice(offset, len, view)) return false;
    out.assign(view.begin(), view.end());
    lowest_offset = std::min<std::uint64_t>(lowest_offset, offset);
    return true;
  }
};

bool check_header(ByteReader& r, NtlmMessageType type) {
  ByteSpan sig = r.bytes(kNtlmSignature.size());
  std::uint32_t message_type = r.u32();
  return r.ok() && std::equal(sig.begin(), sig.end(), kNtlmSignature.begin()) &&
         message_type == static_cast<std::uint32_t>(type);
}

NtlmVersion read_version(ByteReader& r) {
  NtlmVersion v;
  v.product_major_version = r.u8();
  v.product_minor_version = r.u8();
  v.product_build = r.u16();
  r.skip(3);
  v.ntlm_revision_current = r.u8();
  return v;
}

void write_version(const NtlmVersion& v, ByteWriter& w) {
  w.u8(v.product_major_version);
  w.u8(v.product_minor_version);
  w.u16(v.product_build);
  w.zeros(3);
  w.u8(v.ntlm_revision_current);
}

// Lays out payload fields after a fixed header: each field descriptor is written in the
// header as a placeholder and patched once the payload position is known.
class PayloadWriter {
 public:
  explicit PayloadWriter(ByteWriter& w) : w_(w) {}
  void field_placeholder() {
    positions_.push_back(w_.size());
    w_.zeros(8);
  }
  void append_payloads(std::initializer_list<ByteSpan> values) {
    std::size_t k = 0;
    for (ByteSpan v : values) {
      std::size_t at = positions_.at(k++);
      w_.patch_u16(at, static_cast<std::uint16_t>(v.size()));
      w_.patch_u16(at + 2, static_cast<std::uint16_t>(v.size()));
      // An empty field points nowhere (offset 0), as in the [MS-NLMP] 4.2 examples.
      w_.patch_u32(at + 4, v.empty() ? 0 : static_cast<std::uint32_t>(w_.size()));
      w_.bytes(v);
    }
  }

 private:
  ByteWriter& w_;
  std::vector<std::size_t> positions_;
};

}  // namespace

bool is_raw_ntlmssp(ByteSpan token) {
  return token.size() >= kNtlmSignature.size() &&
         std::equal(kNtlmSignature.begin(), kNtlmSignature.end(), token.begin());
}

bool decode_av_pairs(ByteSpan data, std::vector<AvPair>& out) {
  out.clear();
  ByteReader r(data);
  while (r.remaining() > 0) {
    auto id = static_cast<AvId>(r.u16());
    std::uint16_t len = r.u16();
    ByteSpan value = r.bytes(len);
    if (!r.ok()) return false;
    if (id == AvId::MsvAvEOL) return true;
    if (out.size() == kMaxAvPairs) return false;
    out.push_back(AvPair{id, Bytes(value.begin(), value.end())});
  }
  return true;
}

void encode_av_pairs(const std::vector<AvPair>& pairs, ByteWriter& w) {
  for (const AvPair& p : pairs) {
    if (p.id == AvId::MsvAvEOL) continue;
    w.u16(static_cast<std::uint16_t>(p.id));
    w.u16(static_cast<std::uint16_t>(p.value.size()));
    w.bytes(p.value);
  }
  w.u16(static_cast<std::uint16_t>(AvId::MsvAvEOL));
  w.u16(0);
}

const AvPair* find_av_pair(const std::vector<AvPair>& pairs, AvId id) {
  auto it = std::find_if(pairs.begin(), pairs.end(), [id](const AvPair& p) { return p.id == id; });
  return it == pairs.end() ? nullptr : &*it;
}

bool decode_negotiate(ByteSpan msg, NegotiateMessage& out) {
  out = NegotiateMessage{};
  ByteReader r(msg);
  if (!check_header(r, NtlmMessageType::NtLmNegotiate)) return false;
  out.negotiate_flags = r.u32();
  FieldReader fields{r, msg.size()};
  if (!fields.read(out.domain_name) || !fields.read(out.workstation)) return false;
  if (has_flag(out.negotiate_flags, NegotiateFlag::NTLMSSP_NEGOTIATE_VERSION)) {
    // 2.2.1.1: the VERSION field follows the fixed fields when the flag is set.
    if (fields.lowest_offset < 40) return false;
    out.version = read_version(r);
  }
  return r.ok();
}

bool decode_challenge(ByteSpan msg, ChallengeMessage& out) {
  out = ChallengeMessage{};
  ByteReader r(msg);
  if (!check_header(r, NtlmMessageType::NtLmChallenge)) return false;
  FieldReader fields{r, msg.size()};
  if (!fields.read(out.target_name)) return false;
  out.negotiate_flags = r.u32();
  r.copy(out.server_challenge);
  r.skip(8);  // Reserved
  Bytes target_info;
  if (!fields.read(target_info)) return false;
  if (!decode_av_pairs(target_info, out.target_info)) return false;
  if (has_flag(out.negotiate_flags, NegotiateFlag::NTLMSSP_NEGOTIATE_VERSION)) {
    if (fields.lowest_offset < 56) return false;
    out.version = read_version(r);
  }
  return r.ok();
}

bool decode_authenticate(ByteSpan msg, AuthenticateMessage& out) {
  out = AuthenticateMessage{};
  ByteReader r(msg);
  if (!check_header(r, NtlmMessageType::NtLmAuthenticate)) return false;
  FieldReader fields{r, msg.size()};
  if (!fields.read(out.lm_challenge_response) || !fields.read(out.nt_challenge_response) ||
      !fields.read(out.domain_name) || !fields.read(out.user_name) ||
      !fields.read(out.workstation) || !fields.read(out.encrypted_random_session_key)) {
    return false;
  }
  out.negotiate_flags = r.u32();
  if (!r.ok()) return false;
  // 2.2.1.3: VERSION and MIC sit between the fixed fields and the payload; they are
  // present when the payload leaves room for them.
  if (fields.lowest_offset >= kAuthenticateMicOffset &&
      has_flag(out.negotiate_flags, NegotiateFlag::NTLMSSP_NEGOTIATE_VERSION)) {
    out.version = read_version(r);
  }
  if (fields.lowest_offset >= kAuthenticateMicOffset + 16) {
    r.seek(kAuthenticateMicOffset);
    std::array<std::uint8_t, 16> mic{};
    r.copy(mic);
    out.mic = mic;
  }
  return r.ok();
}

Bytes encode_negotiate(const NegotiateMessage& m) {
  // Starting from a buffer that already holds the signature sidesteps a GCC 12
  // -Wstringop-overflow false positive on inserting into an empty vector.
  Bytes out(kNtlmSignature.begin(), kNtlmSignature.end());
  ByteWriter w(out);
  w.u32(static_cast<std::uint32_t>(NtlmMessageType::NtLmNegotiate));
  std::uint32_t flags = m.negotiate_flags;
  if (m.version) flags = flags | NegotiateFlag::NTLMSSP_NEGOTIATE_VERSION;
  w.u32(flags);
  PayloadWriter payload(w);
  payload.field_placeholder();
  payload.field_placeholder();
  if (m.version) write_version(*m.version, w);
  payload.append_payloads({m.domain_name, m.workstation});
  return out;
}

Bytes encode_challenge(const ChallengeMessage& m) {
  // Starting from a buffer that already holds the signature sidesteps a GCC 12
  // -Wstringop-overflow false positive on inserting into an empty vector.
  Bytes out(kNtlmSignature.begin(), kNtlmSignature.end());
  ByteWriter w(out);
  w.u32(static_cast<std::uint32_t>(NtlmMessageType::NtLmChallenge));
  PayloadWriter payload(w);
  payload.field_placeholder();
  w.u32(m.negotiate_flags);
  w.bytes(m.server_challenge);
  w.zeros(8);
  payload.field_placeholder();
  // 2.2.1.2: the VERSION field always occupies its 8 bytes; zero when not negotiated.
  if (m.version) {
    write_version(*m.version, w);
  } else {
    w.zeros(8);
  }
  ByteWriter info;
  encode_av_pairs(m.target_info, info);
  payload.append_payloads({m.target_name, info.buffer()});
  return out;
}

Bytes encode_authenticate(const AuthenticateMessage& m, bool with_mic) {
  // Starting from a buffer that already holds the signature sidesteps a GCC 12
  // -Wstringop-overflow false positive on inserting into an empty vector.
  Bytes out(kNtlmSignature.begin(), kNtlmSignature.end());
  ByteWriter w(out);
  w.u32(static_cast<std::uint32_t>(NtlmMessageType::NtLmAuthenticate));
  PayloadWriter payload(w);
  for (int k = 0; k < 6; ++k) payload.field_placeholder();
  w.u32(m.negotiate_flags);
  if (m.version) {
    write_version(*m.version, w);
  } else {
    w.zeros(8);
  }
  if (with_mic) {
    if (m.mic) {
      w.bytes(*m.mic);
    } else {
      w.zeros(16);
    }
  }
  // Field order in the header is LM, NT, domain, user, workstation, session key; the
  // payload follows the order Windows uses (names first), which 2.2.1.3 leaves open.
  std::size_t start = w.size();
  w.bytes(m.domain_name);
  w.bytes(m.user_name);
  w.bytes(m.workstation);
  w.bytes(m.lm_challenge_response);
  w.bytes(m.nt_challenge_response);
  w.bytes(m.encrypted_random_session_key);
  auto patch = [&](std::size_t field, std::size_t offset, std::size_t len) {
    std::size_t at = 12 + 8 * field;
    w.patch_u16(at, static_cast<std::uint16_t>(len));
    w.patch_u16(at + 2, static_cast<std::uint16_t>(len));
    w.patch_u32(at + 4, static_cast<std::uint32_t>(offset));
  };
  std::size_t at = start;
  patch(2, at, m.domain_name.size());
  at += m.domain_name.size();
  patch(3, at, m.user_name.size());
  at += m.user_name.size();
  patch(4, at, m.workstation.size());
  at += m.workstation.size();
  patch(0, at, m.lm_challenge_response.size());
  at += m.lm_challenge_response.size();
  patch(1, at, m.nt_challenge_response.size());
  at += m.nt_challenge_response.size();
  patch(5, at, m.encrypted_random_session_key.size());
  return out;
}

bool decode_ntlmv2_client_challenge(ByteSpan blob, NtlmV2ClientChallenge& out) {
  out = NtlmV2ClientChallenge{};
  ByteReader r(blob);
  std::uint8_t resp_type = r.u8();
  std::uint8_t hi_resp_type = r.u8();
  r.skip(2 + 4);  // Reserved1, Reserved2
  out.timestamp = r.u64();
  r.copy(out.challenge_from_client);
  r.skip(4);  // Reserved3
  if (!r.ok()) return false;
  // 2.2.2.7: RespType and HiRespType MUST be 1.
  if (resp_type != 1 || hi_resp_type != 1) return false;
  return decode_av_pairs(blob.subspan(r.position()), out.av_pairs);
}

Bytes encode_ntlmv2_client_challenge(const NtlmV2ClientChallenge& c) {
  ByteWriter w;
  w.u8(1);
  w.u8(1);
  w.zeros(6);
  w.u64(c.timestamp);
  w.bytes(c.challenge_from_client);
  w.zeros(4);
  encode_av_pairs(c.av_pairs, w);
  w.zeros(4);
  return std::move(w.buffer());
}

bool ntlm_string_to_utf8(ByteSpan s, bool unicode, std::string& out) {
  if (unicode) return utf16le_to_utf8(s, out);
  Bytes wide = ntlm_string_to_utf16le(s, false);
  return utf16le_to_utf8(wide, out);
}

Bytes ntlm_string_to_utf16le(ByteSpan s, bool unicode) {
  if (unicode) return Bytes(s.begin(), s.end());
  Bytes wide;
  wide.reserve(s.size() * 2);
  for (std::uint8_t c : s) {
    wide.push_back(c);
    wide.push_back(0);
  }
  return wide;
}

}  // namespace smb::auth
