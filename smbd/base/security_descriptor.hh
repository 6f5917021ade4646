// Security descriptors as SMB2 QUERY_INFO / SET_INFO SMB2_0_INFO_SECURITY and the CREATE
// SecD context carry them: the self-relative SECURITY_DESCRIPTOR ([MS-DTYP] 2.4.6), SID
// (2.4.2), ACL (2.4.5) and ACE (2.4.4). Pure decoders and encoders over byte spans.
//
// The decoder checks every offset, size and count against the buffer before it reads:
// SubAuthorityCount <= 15, AclSize inside the buffer and at least its header, each
// AceSize at least 8, a multiple of 4 and inside its ACL, AceCount ACEs inside AclSize.
// Parts may overlap or leave gaps (the format allows both). ACCESS_ALLOWED and
// ACCESS_DENIED ACEs are decoded; every other ACE type is kept as opaque bytes.
// The encoder writes the canonical form: parts in the order SACL, DACL, owner, group
// (as Windows lays them out), no gaps, every size exact.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "smbd/base/bytes.hh"
#include "smbd/base/ntstatus.hh"

namespace smb::dtyp {

// [MS-ERREF] 2.3.1 statuses of this format.
inline constexpr NtStatus kStatusInvalidSecurityDescr = static_cast<NtStatus>(0xC0000079);
inline constexpr NtStatus kStatusInvalidOwner = static_cast<NtStatus>(0xC000005A);
inline constexpr NtStatus kStatusInvalidPrimaryGroup = static_cast<NtStatus>(0xC000005B);

// [MS-DTYP] 2.4.6 Control flags (little-endian u16 on the wire).
namespace sd_control {
inline constexpr std::uint16_t SE_OWNER_DEFAULTED = 0x0001;
inline constexpr std::uint16_t SE_GROUP_DEFAULTED = 0x0002;
inline constexpr std::uint16_t SE_DACL_PRESENT = 0x0004;
inline constexpr std::uint16_t SE_DACL_DEFAULTED = 0x0008;
inline constexpr std::uint16_t SE_SACL_PRESENT = 0x0010;
inline constexpr std::uint16_t SE_SACL_DEFAULTED = 0x0020;
inline constexpr std::uint16_t SE_DACL_TRUSTED = 0x0040;
inline constexpr std::uint16_t SE_SERVER_SECURITY = 0x0080;
inline constexpr std::uint16_t SE_DACL_AUTO_INHERIT_REQ = 0x0100;
inline constexpr std::uint16_t SE_SACL_AUTO_INHERIT_REQ = 0x0200;
inline constexpr std::uint16_t SE_DACL_AUTO_INHERITED = 0x0400;
inline constexpr std::uint16_t SE_SACL_AUTO_INHERITED = 0x0800;
inline constexpr std::uint16_t SE_DACL_PROTECTED = 0x1000;
inline constexpr std::uint16_t SE_SACL_PROTECTED = 0x2000;
inline constexpr std::uint16_t SE_RM_CONTROL_VALID = 0x4000;
inline constexpr std::uint16_t SE_SELF_RELATIVE = 0x8000;
}  // namespace sd_control

// [MS-DTYP] 2.4.4.1 AceType.
enum class AceType : std::uint8_t {
  ACCESS_ALLOWED_ACE_TYPE = 0x00,
  ACCESS_DENIED_ACE_TYPE = 0x01,
  SYSTEM_AUDIT_ACE_TYPE = 0x02,
  SYSTEM_ALARM_ACE_TYPE = 0x03,
  ACCESS_ALLOWED_COMPOUND_ACE_TYPE = 0x04,
  ACCESS_ALLOWED_OBJECT_ACE_TYPE = 0x05,
  ACCESS_DENIED_OBJECT_ACE_TYPE = 0x06,
  SYSTEM_AUDIT_OBJECT_ACE_TYPE = 0x07,
  SYSTEM_ALARM_OBJECT_ACE_TYPE = 0x08,
  ACCESS_ALLOWED_CALLBACK_ACE_TYPE = 0x09,
  ACCESS_DENIED_CALLBACK_ACE_TYPE = 0x0A,
  SYSTEM_MANDATORY_LABEL_ACE_TYPE = 0x11,
};

// [MS-DTYP] 2.4.4.1 AceFlags.
namespace ace_flag {
inline constexpr std::uint8_t OBJECT_INHERIT_ACE = 0x01;
inline constexpr std::uint8_t CONTAINER_INHERIT_ACE = 0x02;
inline constexpr std::uint8_t NO_PROPAGATE_INHERIT_ACE = 0x04;
inline constexpr std::uint8_t INHERIT_ONLY_ACE = 0x08;
inline constexpr std::uint8_t INHERITED_ACE = 0x10;
inline constexpr std::uint8_t SUCCESSFUL_ACCESS_ACE_FLAG = 0x40;
inline constexpr std::uint8_t FAILED_ACCESS_ACE_FLAG = 0x80;
}  // namespace ace_flag

// [MS-DTYP] 2.4.1.1 / 2.4.2.1 limits.
inline constexpr std::size_t kMaxSubAuthorities = 15;
inline constexpr std::uint8_t kSidRevision = 1;
inline constexpr std::uint8_t kAclRevision = 2;
inline constexpr std::uint8_t kAclRevisionDs = 4;
inline constexpr std::uint8_t kSecurityDescriptorRevision = 1;
inline constexpr std::size_t kSecurityDescriptorHeaderSize = 20;
inline constexpr std::size_t kAclHeaderSize = 8;
inline constexpr std::size_t kAceHeaderSize = 4;

// [MS-DTYP] 2.4.2.2: Revision 1, a 48-bit big-endian IdentifierAuthority and up to 15
// sub-authorities.
struct Sid {
  std::array<std::uint8_t, 6> identifier_authority{};
  std::vector<std::uint32_t> sub_authorities;

  // A SID from a 48-bit authority and its sub-authorities (at most 15).
  static Sid make(std::uint64_t authority, std::initializer_list<std::uint32_t> subs);
  // "S-1-5-32-544" ([MS-DTYP] 2.4.2.1); false for anything else or more than 15
  // sub-authorities.
  static bool parse(std::string_view text, Sid& out);

  std::uint64_t authority() const;
  std::string to_string() const;
  std::size_t wire_size() const { return 8 + 4 * sub_authorities.size(); }
  bool operator==(const Sid&) const = default;
};

// Well-known SIDs ([MS-DTYP] 2.4.2.4).
Sid everyone_sid();        // S-1-1-0
Sid creator_owner_sid();   // S-1-3-0
Sid anonymous_sid();       // S-1-5-7
Sid administrators_sid();  // S-1-5-32-544

struct Ace {
  AceType type = AceType::ACCESS_ALLOWED_ACE_TYPE;
  std::uint8_t flags = 0;
  // ACCESS_ALLOWED and ACCESS_DENIED ([MS-DTYP] 2.4.4.2, 2.4.4.4): the mask and SID.
  std::uint32_t mask = 0;
  Sid sid;
  // Other types: everything after the 4-byte header, as received (a multiple of 4).
  Bytes opaque;

  bool is_simple() const {
    return type == AceType::ACCESS_ALLOWED_ACE_TYPE || type == AceType::ACCESS_DENIED_ACE_TYPE;
  }
  std::size_t wire_size() const;
  bool operator==(const Ace&) const = default;
};

struct Acl {
  std::uint8_t revision = kAclRevision;
  std::vector<Ace> aces;
  std::size_t wire_size() const;
  bool operator==(const Acl&) const = default;
};

// A decoded descriptor. `control` is kept as received apart from the PRESENT bits, which
// the encoder derives: SE_DACL_PRESENT with no `dacl` is a NULL DACL (everyone has full
// access, [MS-DTYP] 2.4.6), which the decoder also reports that way.
struct SecurityDescriptor {
  std::uint16_t control = sd_control::SE_SELF_RELATIVE;
  std::uint8_t sbz1 = 0;  // resource manager control bits when SE_RM_CONTROL_VALID
  std::optional<Sid> owner;
  std::optional<Sid> group;
  std::optional<Acl> sacl;
  std::optional<Acl> dacl;

  bool dacl_present() const { return (control & sd_control::SE_DACL_PRESENT) != 0; }
  bool sacl_present() const { return (control & sd_control::SE_SACL_PRESENT) != 0; }
  bool operator==(const SecurityDescriptor&) const = default;
};

// Decoders: SUCCESS, or kStatusInvalidSecurityDescr for anything malformed. `sid`
// and `acl` decode one structure at the start of `in` (trailing bytes are allowed);
// `used` is its size.
NtStatus decode_sid(ByteSpan in, Sid& out, std::size_t& used);
NtStatus decode_acl(ByteSpan in, Acl& out, std::size_t& used);
// A whole self-relative descriptor; SE_SELF_RELATIVE must be set. An ACL is read only
// when its PRESENT bit is set (a non-zero offset without it is ignored, as Windows does).
NtStatus decode(ByteSpan in, SecurityDescriptor& out);

void encode(const Sid& sid, ByteWriter& w);
void encode(const Acl& acl, ByteWriter& w);
void encode(const SecurityDescriptor& sd, ByteWriter& w);
inline Bytes encode(const SecurityDescriptor& sd) {
  Bytes out;
  ByteWriter w(out);
  encode(sd, w);
  return out;
}
// The encoded size, without encoding.
std::size_t wire_size(const SecurityDescriptor& sd);

}  // namespace smb::dtyp
