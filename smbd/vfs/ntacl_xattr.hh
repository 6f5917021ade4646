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

#include <array>
#include <cstdint>
#include <string>

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

}  // namespace smb::vfs
