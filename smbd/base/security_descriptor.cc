#include "smbd/base/security_descriptor.hh"

#include <charconv>
#include <cstdio>

namespace smb::dtyp {

namespace {

constexpr NtStatus kBad = kStatusInvalidSecurityDescr;

std::size_t round_up4(std::size_t n) { return (n + 3) & ~std::size_t{3}; }

// An ACE's minimum: the 4-byte header and the 4-byte mask every ACE type starts with
// ([MS-DTYP] 2.4.4.2 to 2.4.4.17).
constexpr std::size_t kMinAceSize = kAceHeaderSize + 4;

NtStatus decode_ace(ByteSpan in, Ace& out, std::size_t& used) {
  if (in.size() < kAceHeaderSize) return kBad;
  out = Ace{};
  out.type = static_cast<AceType>(in[0]);
  out.flags = in[1];
  const std::size_t ace_size = load_le16(&in[2]);
  // [MS-DTYP] 2.4.4.1: AceSize may exceed the fields but must be a multiple of 4.
  if (ace_size < kMinAceSize || ace_size % 4 != 0 || ace_size > in.size()) return kBad;
  ByteSpan body = in.subspan(kAceHeaderSize, ace_size - kAceHeaderSize);
  if (out.is_simple()) {
    out.mask = load_le32(body.data());
    std::size_t sid_size = 0;
    if (decode_sid(body.subspan(4), out.sid, sid_size) != NtStatus::SUCCESS) return kBad;
  } else {
    out.opaque.assign(body.begin(), body.end());
  }
  used = ace_size;
  return NtStatus::SUCCESS;
}

void encode_ace(const Ace& ace, ByteWriter& w) {
  w.u8(static_cast<std::uint8_t>(ace.type));
  w.u8(ace.flags);
  w.u16(static_cast<std::uint16_t>(ace.wire_size()));
  if (ace.is_simple()) {
    w.u32(ace.mask);
    encode(ace.sid, w);
  } else {
    w.bytes(ace.opaque);
    w.zeros(round_up4(ace.opaque.size()) - ace.opaque.size());
  }
}

// The part of a descriptor at `offset` (non-zero): it must start after the header and
// lie inside the buffer; the part's own decoder bounds its length.
bool part_at(ByteSpan in, std::uint32_t offset, ByteSpan& out) {
  if (offset < kSecurityDescriptorHeaderSize || offset >= in.size()) return false;
  out = in.subspan(offset);
  return true;
}

}  // namespace

Sid Sid::make(std::uint64_t authority, std::initializer_list<std::uint32_t> subs) {
  Sid s;
  for (int i = 0; i < 6; ++i)
    s.identifier_authority[static_cast<std::size_t>(i)] =
        static_cast<std::uint8_t>(authority >> (8 * (5 - i)));
  s.sub_authorities.assign(subs.begin(), subs.end());
  if (s.sub_authorities.size() > kMaxSubAuthorities) s.sub_authorities.resize(kMaxSubAuthorities);
  return s;
}

std::uint64_t Sid::authority() const {
  std::uint64_t v = 0;
  for (std::uint8_t b : identifier_authority) v = (v << 8) | b;
  return v;
}

std::string Sid::to_string() const {
  // [MS-DTYP] 2.4.2.1: authorities of 2^32 and above are written in hexadecimal.
  char buf[32];
  const std::uint64_t a = authority();
  if (a >= (std::uint64_t{1} << 32)) {
    std::snprintf(buf, sizeof buf, "S-1-0x%012llX", static_cast<unsigned long long>(a));
  } else {
    std::snprintf(buf, sizeof buf, "S-1-%llu", static_cast<unsigned long long>(a));
  }
  std::string out = buf;
  for (std::uint32_t sub : sub_authorities) {
    out += '-';
    out += std::to_string(sub);
  }
  return out;
}

bool Sid::parse(std::string_view text, Sid& out) {
  if (text.size() < 4 || (text[0] != 'S' && text[0] != 's') || text.substr(1, 3) != "-1-")
    return false;
  text.remove_prefix(4);
  auto number = [&text](std::uint64_t& v, std::uint64_t max) {
    std::size_t end = text.find('-');
    std::string_view field = text.substr(0, end);
    int base = 10;
    if (field.size() > 2 && field[0] == '0' && (field[1] == 'x' || field[1] == 'X')) {
      field.remove_prefix(2);
      base = 16;
    }
    if (field.empty()) return false;
    auto [ptr, ec] = std::from_chars(field.data(), field.data() + field.size(), v, base);
    if (ec != std::errc{} || ptr != field.data() + field.size() || v > max) return false;
    text = end == std::string_view::npos ? std::string_view{} : text.substr(end + 1);
    return end == std::string_view::npos || !text.empty();
  };
  std::uint64_t authority = 0;
  if (!number(authority, (std::uint64_t{1} << 48) - 1)) return false;
  Sid s = make(authority, {});
  while (!text.empty()) {
    std::uint64_t sub = 0;
    if (s.sub_authorities.size() == kMaxSubAuthorities || !number(sub, 0xFFFFFFFFu)) return false;
    s.sub_authorities.push_back(static_cast<std::uint32_t>(sub));
  }
  out = std::move(s);
  return true;
}

Sid everyone_sid() { return Sid::make(1, {0}); }
Sid creator_owner_sid() { return Sid::make(3, {0}); }
Sid anonymous_sid() { return Sid::make(5, {7}); }
Sid administrators_sid() { return Sid::make(5, {32, 544}); }

std::size_t Ace::wire_size() const {
  return kAceHeaderSize + (is_simple() ? 4 + sid.wire_size() : round_up4(opaque.size()));
}

std::size_t Acl::wire_size() const {
  std::size_t n = kAclHeaderSize;
  for (const Ace& ace : aces) n += ace.wire_size();
  return n;
}

NtStatus decode_sid(ByteSpan in, Sid& out, std::size_t& used) {
  // [MS-DTYP] 2.4.2.2: Revision, SubAuthorityCount, IdentifierAuthority[6], then
  // SubAuthorityCount 32-bit values.
  if (in.size() < 8 || in[0] != kSidRevision || in[1] > kMaxSubAuthorities) return kBad;
  const std::size_t count = in[1];
  const std::size_t size = 8 + 4 * count;
  if (size > in.size()) return kBad;
  Sid s;
  for (std::size_t i = 0; i < 6; ++i) s.identifier_authority[i] = in[2 + i];
  s.sub_authorities.reserve(count);
  for (std::size_t i = 0; i < count; ++i) s.sub_authorities.push_back(load_le32(&in[8 + 4 * i]));
  out = std::move(s);
  used = size;
  return NtStatus::SUCCESS;
}

NtStatus decode_acl(ByteSpan in, Acl& out, std::size_t& used) {
  // [MS-DTYP] 2.4.5: AclRevision, Sbz1, AclSize, AceCount, Sbz2, then the ACEs.
  if (in.size() < kAclHeaderSize) return kBad;
  // MS-DTYP names revisions 2 and 4; Windows also takes 3 (ACL_REVISION3), which Samba's
  // tools send.
  const std::uint8_t revision = in[0];
  if (revision < kAclRevision || revision > kAclRevisionDs) return kBad;
  const std::size_t acl_size = load_le16(&in[2]);
  const std::size_t ace_count = load_le16(&in[4]);
  if (acl_size < kAclHeaderSize || acl_size > in.size()) return kBad;
  // Every ACE takes at least kMinAceSize bytes, so a count that cannot fit is refused
  // before anything is allocated for it.
  if (ace_count > (acl_size - kAclHeaderSize) / kMinAceSize) return kBad;
  ByteSpan body = in.subspan(kAclHeaderSize, acl_size - kAclHeaderSize);
  Acl acl;
  acl.revision = revision;
  acl.aces.reserve(ace_count);
  std::size_t at = 0;
  for (std::size_t i = 0; i < ace_count; ++i) {
    Ace ace;
    std::size_t ace_size = 0;
    if (decode_ace(body.subspan(at), ace, ace_size) != NtStatus::SUCCESS) return kBad;
    at += ace_size;
    acl.aces.push_back(std::move(ace));
  }
  out = std::move(acl);
  used = acl_size;
  return NtStatus::SUCCESS;
}

NtStatus decode(ByteSpan in, SecurityDescriptor& out) {
  // [MS-DTYP] 2.4.6: Revision, Sbz1, Control, OffsetOwner, OffsetGroup, OffsetSacl,
  // OffsetDacl; a zero offset means the part is absent.
  if (in.size() < kSecurityDescriptorHeaderSize || in[0] != kSecurityDescriptorRevision)
    return kBad;
  SecurityDescriptor sd;
  sd.sbz1 = in[1];
  sd.control = load_le16(&in[2]);
  if ((sd.control & sd_control::SE_SELF_RELATIVE) == 0) return kBad;
  const std::uint32_t offset_owner = load_le32(&in[4]);
  const std::uint32_t offset_group = load_le32(&in[8]);
  const std::uint32_t offset_sacl = load_le32(&in[12]);
  const std::uint32_t offset_dacl = load_le32(&in[16]);
  ByteSpan part;
  std::size_t used = 0;
  if (offset_owner != 0) {
    Sid sid;
    if (!part_at(in, offset_owner, part) || decode_sid(part, sid, used) != NtStatus::SUCCESS)
      return kBad;
    sd.owner = std::move(sid);
  }
  if (offset_group != 0) {
    Sid sid;
    if (!part_at(in, offset_group, part) || decode_sid(part, sid, used) != NtStatus::SUCCESS)
      return kBad;
    sd.group = std::move(sid);
  }
  if (sd.sacl_present() && offset_sacl != 0) {
    Acl acl;
    if (!part_at(in, offset_sacl, part) || decode_acl(part, acl, used) != NtStatus::SUCCESS)
      return kBad;
    sd.sacl = std::move(acl);
  }
  if (sd.dacl_present() && offset_dacl != 0) {
    Acl acl;
    if (!part_at(in, offset_dacl, part) || decode_acl(part, acl, used) != NtStatus::SUCCESS)
      return kBad;
    sd.dacl = std::move(acl);
  }
  out = std::move(sd);
  return NtStatus::SUCCESS;
}

void encode(const Sid& sid, ByteWriter& w) {
  const std::size_t count = std::min(sid.sub_authorities.size(), kMaxSubAuthorities);
  w.u8(kSidRevision);
  w.u8(static_cast<std::uint8_t>(count));
  for (std::uint8_t b : sid.identifier_authority) w.u8(b);
  for (std::size_t i = 0; i < count; ++i) w.u32(sid.sub_authorities[i]);
}

void encode(const Acl& acl, ByteWriter& w) {
  w.u8(acl.revision);
  w.u8(0);
  w.u16(static_cast<std::uint16_t>(acl.wire_size()));
  w.u16(static_cast<std::uint16_t>(acl.aces.size()));
  w.u16(0);
  for (const Ace& ace : acl.aces) encode_ace(ace, w);
}

std::size_t wire_size(const SecurityDescriptor& sd) {
  std::size_t n = kSecurityDescriptorHeaderSize;
  if (sd.sacl) n += sd.sacl->wire_size();
  if (sd.dacl) n += sd.dacl->wire_size();
  if (sd.owner) n += sd.owner->wire_size();
  if (sd.group) n += sd.group->wire_size();
  return n;
}

void encode(const SecurityDescriptor& sd, ByteWriter& w) {
  const std::size_t base = w.size();
  std::uint16_t control = sd.control | sd_control::SE_SELF_RELATIVE;
  if (sd.dacl) control |= sd_control::SE_DACL_PRESENT;
  if (sd.sacl) control |= sd_control::SE_SACL_PRESENT;
  w.u8(kSecurityDescriptorRevision);
  w.u8(sd.sbz1);
  w.u16(control);
  const std::size_t offsets = w.size();
  w.zeros(16);
  auto here = [&w, base]() { return static_cast<std::uint32_t>(w.size() - base); };
  if (sd.sacl) {
    w.patch_u32(offsets + 8, here());
    encode(*sd.sacl, w);
  }
  if (sd.dacl) {
    w.patch_u32(offsets + 12, here());
    encode(*sd.dacl, w);
  }
  if (sd.owner) {
    w.patch_u32(offsets, here());
    encode(*sd.owner, w);
  }
  if (sd.group) {
    w.patch_u32(offsets + 4, here());
    encode(*sd.group, w);
  }
}

}  // namespace smb::dtyp
