// The `security.NTACL` extended attribute in the layout Samba's vfs_acl_xattr uses: the
// NDR encoding of `xattr_NTACL` (Samba's librpc/idl/xattr.idl), little-endian, with
// unique pointers (a non-zero 32-bit referent id, the pointed-to data after the scalars).
//
//   version 1: u16 version, u16 level, ptr -> SECURITY_DESCRIPTOR
//   version 2: ... ptr -> { ptr sd, u8 hash[16] }
//   version 3: ... ptr -> { ptr sd, u16 hash_type, u8 hash[64] }
//   version 4: ... ptr -> { ptr sd, u16 hash_type, u8 hash[64], NUL-terminated UTF-8
//              description, (pad to 4) u64 time, u8 sys_acl_hash[64] }
// followed by the security descriptor, aligned to 4: the MS-DTYP header ([MS-DTYP]
// 2.4.6) then owner, group, SACL and DACL, as Samba's NDR writes it, with every offset
// counted from the start of the attribute, not of the descriptor (measured on what
// Samba 4.17 writes). Versions 1 to 4 are read; only version 4 is written, as Samba 4.17
// writes it (referent ids 0x00020000 and 0x00020004), so that a descriptor Samba wrote
// encodes back to Samba's bytes.
//
// The decoder is pure and bounded: at most kMaxNtaclXattrSize bytes, every field
// checked against the buffer before it is read, the level must equal the version, a
// NULL pointer or an unknown version is malformed. Malformed input is
// INVALID_SECURITY_DESCR (dtyp::kStatusInvalidSecurityDescr).
#pragma once

#include <sys/types.h>

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "smbd/base/bytes.hh"
#include "smbd/base/ntstatus.hh"
#include "smbd/base/security_descriptor.hh"

namespace smb::vfs {

inline constexpr char kNtaclXattrName[] = "security.NTACL";
// Linux's largest extended attribute value (XATTR_SIZE_MAX).
inline constexpr std::size_t kMaxNtaclXattrSize = 65536;
inline constexpr std::size_t kNtaclHashSize = 64;
inline constexpr std::size_t kNtaclV2HashSize = 16;
// Samba's XATTR_SD_HASH_TYPE_*.
inline constexpr std::uint16_t kNtaclHashTypeNone = 0;
inline constexpr std::uint16_t kNtaclHashTypeSha256 = 1;

struct NtaclXattr {
  std::uint16_t version = 4;
  dtyp::SecurityDescriptor sd;
  // Versions 3 and 4; version 2's 16 bytes are in the first bytes of `hash`.
  std::uint16_t hash_type = kNtaclHashTypeNone;
  std::array<std::uint8_t, kNtaclHashSize> hash{};
  // Version 4 only.
  std::string description;
  std::uint64_t time = 0;
  std::array<std::uint8_t, kNtaclHashSize> sys_acl_hash{};
  bool operator==(const NtaclXattr&) const = default;
};

NtStatus decode_ntacl_xattr(ByteSpan in, NtaclXattr& out);

// Version 4, whatever `x.version` says. A description holding a NUL is cut there (the
// format cannot carry it).
Bytes encode_ntacl_xattr_v4(const NtaclXattr& x);

// The POSIX side Samba hashes into `sys_acl_hash`: the file's owner, group, full st_mode,
// its access ACL and, for a directory, its default ACL, as the NDR `smb_acl_wrapper` of
// Samba's librpc/idl/smb_acl.idl (unique pointers, 64-bit ids aligned to 8, conformant
// entry arrays). A file without a POSIX ACL has the three entries its mode implies.
struct PosixAclEntry {
  // Samba's smb_acl_tag_t.
  enum Tag : std::uint16_t {
    USER = 1,
    USER_OBJ = 2,
    GROUP = 3,
    GROUP_OBJ = 4,
    OTHER = 5,
    MASK = 6
  };
  std::uint16_t tag = USER_OBJ;
  std::uint32_t perm = 0;  // 4 read, 2 write, 1 execute
  std::uint32_t id = 0;    // USER and GROUP only
  bool operator==(const PosixAclEntry&) const = default;
};
struct PosixAclState {
  uid_t uid = 0;
  gid_t gid = 0;
  mode_t mode = 0;
  std::vector<PosixAclEntry> access;
  std::optional<std::vector<PosixAclEntry>> default_acl;  // directories
};
Bytes encode_posix_acl_wrapper(const PosixAclState& state);
// USER_OBJ, GROUP_OBJ and OTHER from a mode's 0777 bits.
std::vector<PosixAclEntry> posix_acl_from_mode(mode_t mode);
// Linux's `system.posix_acl_access` / `system.posix_acl_default` value (a u32 version 2,
// then 8-byte entries: u16 tag, u16 perm, u32 id), in its own order. False for anything
// else.
bool decode_linux_posix_acl(ByteSpan in, std::vector<PosixAclEntry>& out);

}  // namespace smb::vfs
