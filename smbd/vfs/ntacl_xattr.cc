#include "smbd/vfs/ntacl_xattr.hh"

#include <algorithm>
#include <cstring>

namespace smb::vfs {

namespace {

constexpr NtStatus kBad = dtyp::kStatusInvalidSecurityDescr;
// The referent ids Samba's NDR writer gives the first two unique pointers.
constexpr std::uint32_t kFirstReferent = 0x00020000;
constexpr std::uint32_t kSecondReferent = 0x00020004;

std::size_t align4(std::size_t n) { return (n + 3) & ~std::size_t{3}; }

// The descriptor as Samba's NDR lays it out inside the attribute: the header, then
// owner, group, SACL and DACL, each offset counted from the start of the attribute.
void encode_descriptor(const dtyp::SecurityDescriptor& sd, ByteWriter& w) {
  const std::size_t base = w.size();
  std::uint16_t control = sd.control | dtyp::sd_control::SE_SELF_RELATIVE;
  control &= static_cast<std::uint16_t>(
      ~(dtyp::sd_control::SE_DACL_PRESENT | dtyp::sd_control::SE_SACL_PRESENT));
  // A NULL DACL is PRESENT without a body (security_descriptor.hh).
  if (sd.dacl_present() || sd.dacl) control |= dtyp::sd_control::SE_DACL_PRESENT;
  if (sd.sacl_present() || sd.sacl) control |= dtyp::sd_control::SE_SACL_PRESENT;
  std::size_t next = base + dtyp::kSecurityDescriptorHeaderSize;
  auto place = [&](std::size_t size) -> std::uint32_t {
    const auto at = static_cast<std::uint32_t>(next);
    next += size;
    return at;
  };
  const std::uint32_t owner = sd.owner ? place(sd.owner->wire_size()) : 0;
  const std::uint32_t group = sd.group ? place(sd.group->wire_size()) : 0;
  const std::uint32_t sacl = sd.sacl ? place(sd.sacl->wire_size()) : 0;
  const std::uint32_t dacl = sd.dacl ? place(sd.dacl->wire_size()) : 0;
  w.u8(dtyp::kSecurityDescriptorRevision);
  w.u8(sd.sbz1);
  w.u16(control);
  w.u32(owner);
  w.u32(group);
  w.u32(sacl);
  w.u32(dacl);
  if (sd.owner) dtyp::encode(*sd.owner, w);
  if (sd.group) dtyp::encode(*sd.group, w);
  if (sd.sacl) dtyp::encode(*sd.sacl, w);
  if (sd.dacl) dtyp::encode(*sd.dacl, w);
}

}  // namespace

NtStatus decode_ntacl_xattr(ByteSpan in, NtaclXattr& out) {
  out = NtaclXattr{};
  if (in.size() > kMaxNtaclXattrSize) return kBad;
  ByteReader r(in);
  const std::uint16_t version = r.u16();
  const std::uint16_t level = r.u16();
  const std::uint32_t arm = r.u32();
  if (!r.ok() || version != level || arm == 0) return kBad;
  out.version = version;
  std::uint32_t sd_pointer = arm;
  switch (version) {
    case 1:
      break;
    case 2:
      sd_pointer = r.u32();
      r.copy(MutableByteSpan(out.hash.data(), kNtaclV2HashSize));
      break;
    case 3:
      sd_pointer = r.u32();
      out.hash_type = r.u16();
      r.copy(out.hash);
      break;
    case 4: {
      sd_pointer = r.u32();
      out.hash_type = r.u16();
      r.copy(out.hash);
      if (!r.ok()) return kBad;
      // The description runs to its NUL, which must be inside the buffer.
      ByteSpan rest = in.subspan(r.position());
      const auto nul = std::find(rest.begin(), rest.end(), std::uint8_t{0});
      if (nul == rest.end()) return kBad;
      const auto length = static_cast<std::size_t>(nul - rest.begin());
      out.description.assign(reinterpret_cast<const char*>(rest.data()), length);
      r.skip(length + 1);
      r.seek(align4(r.position()));
      out.time = r.u64();
      r.copy(out.sys_acl_hash);
      break;
    }
    default:
      return kBad;
  }
  if (!r.ok() || sd_pointer == 0) return kBad;
  const std::size_t sd_offset = align4(r.position());
  if (sd_offset + dtyp::kSecurityDescriptorHeaderSize > in.size()) return kBad;
  // The descriptor's offsets count from the start of the attribute: made relative to
  // the descriptor, the parts are checked by the MS-DTYP decoder.
  Bytes sd(in.begin() + static_cast<std::ptrdiff_t>(sd_offset), in.end());
  for (std::size_t field = 4; field < dtyp::kSecurityDescriptorHeaderSize; field += 4) {
    const std::uint32_t offset = load_le32(&sd[field]);
    if (offset == 0) continue;
    if (offset < sd_offset + dtyp::kSecurityDescriptorHeaderSize) return kBad;
    store_le32(&sd[field], static_cast<std::uint32_t>(offset - sd_offset));
  }
  return dtyp::decode(sd, out.sd);
}

Bytes encode_ntacl_xattr_v4(const NtaclXattr& x) {
  Bytes out;
  ByteWriter w(out);
  w.u16(4);
  w.u16(4);
  w.u32(kFirstReferent);
  w.u32(kSecondReferent);
  w.u16(x.hash_type);
  w.bytes(x.hash);
  const std::size_t length = std::min(x.description.size(), std::strlen(x.description.c_str()));
  w.bytes(ByteSpan(reinterpret_cast<const std::uint8_t*>(x.description.data()), length));
  w.u8(0);
  w.zeros(align4(out.size()) - out.size());
  w.u64(x.time);
  w.bytes(x.sys_acl_hash);
  w.zeros(align4(out.size()) - out.size());
  encode_descriptor(x.sd, w);
  return out;
}

namespace {

void align(ByteWriter& w, std::size_t to) { w.zeros((to - w.size() % to) % to); }

// smb_acl_t: the conformant array's size, then the structure aligned to its 64-bit ids.
void encode_acl(const std::vector<PosixAclEntry>& entries, ByteWriter& w) {
  align(w, 4);
  w.u32(static_cast<std::uint32_t>(entries.size()));
  align(w, 8);
  w.u32(static_cast<std::uint32_t>(entries.size()));  // count
  w.u32(0);                                           // next, always 0
  for (const PosixAclEntry& e : entries) {
    align(w, 8);
    w.u16(e.tag);
    w.u16(e.tag);  // the union's level
    if (e.tag == PosixAclEntry::USER || e.tag == PosixAclEntry::GROUP) {
      align(w, 8);
      w.u64(e.id);
    }
    align(w, 4);
    w.u32(e.perm);
    align(w, 8);
  }
  align(w, 8);
}

}  // namespace

Bytes encode_posix_acl_wrapper(const PosixAclState& state) {
  Bytes out;
  ByteWriter w(out);
  w.u32(kFirstReferent);
  w.u32(state.default_acl ? kSecondReferent : 0);
  align(w, 8);
  w.u64(state.uid);
  w.u64(state.gid);
  w.u32(state.mode);
  encode_acl(state.access, w);
  if (state.default_acl) encode_acl(*state.default_acl, w);
  return out;
}

std::vector<PosixAclEntry> posix_acl_from_mode(mode_t mode) {
  return {{PosixAclEntry::USER_OBJ, (mode >> 6) & 7u, 0},
          {PosixAclEntry::GROUP_OBJ, (mode >> 3) & 7u, 0},
          {PosixAclEntry::OTHER, mode & 7u, 0}};
}

bool decode_linux_posix_acl(ByteSpan in, std::vector<PosixAclEntry>& out) {
  out.clear();
  constexpr std::uint32_t kVersion = 2;
  if (in.size() < 4 || (in.size() - 4) % 8 != 0 || load_le32(in.data()) != kVersion) return false;
  for (std::size_t at = 4; at < in.size(); at += 8) {
    PosixAclEntry e;
    switch (load_le16(&in[at])) {
      case 0x01:
        e.tag = PosixAclEntry::USER_OBJ;
        break;
      case 0x02:
        e.tag = PosixAclEntry::USER;
        break;
      case 0x04:
        e.tag = PosixAclEntry::GROUP_OBJ;
        break;
      case 0x08:
        e.tag = PosixAclEntry::GROUP;
        break;
      case 0x10:
        e.tag = PosixAclEntry::MASK;
        break;
      case 0x20:
        e.tag = PosixAclEntry::OTHER;
        break;
      default:
        return false;
    }
    e.perm = load_le16(&in[at + 2]) & 7u;
    if (e.tag == PosixAclEntry::USER || e.tag == PosixAclEntry::GROUP)
      e.id = load_le32(&in[at + 4]);
    out.push_back(e);
  }
  return true;
}

}  // namespace smb::vfs
