// The `user.DOSATTRIB` extended attribute in the layout Samba writes with `store dos
// attributes = yes`: the NDR encoding of `xattr_DOSATTRIB` (Samba's
// librpc/idl/xattr.idl), little-endian, every field aligned to its size up to 4:
//
//   NUL-terminated ASCII attrib_hex, (pad to 2) u16 version, u16 version again (the
//   union's switch), (pad to 4) the version's body:
//     1: u32 attrib, u32 ea_size, u64 size, u64 alloc_size, u64 create_time,
//        u64 change_time
//     2: u32 flags, then as 1, u64 write_time, NUL-terminated UTF-8 name
//     3: u32 valid_flags, then as 1
//     4: u32 valid_flags, u32 attrib, u64 itime, u64 create_time
//     5: u32 valid_flags, u32 attrib, u64 create_time
//   Versions 1 to 3 carry "0x%x" of the attributes in attrib_hex, 4 and 5 an empty one.
// A value that ends after attrib_hex is the oldest form: only the hex string.
//
// Samba 4.17 writes version 5 with valid_flags ATTRIB | CREATE_TIME (24 bytes, measured
// on what it writes), and reads all of them: the attributes and creation time of
// versions 1 and 2 always (a creation time of 0 meaning none), of 3 to 5 only where
// valid_flags says so. This server reads the same and writes the same version 5.
//
// The decoder is pure and bounded: at most kMaxDosAttribXattrSize bytes, every field
// checked against the buffer, the switch must equal the version, an unknown version,
// a string without its NUL or a hex string that is no number is malformed
// (INVALID_PARAMETER, as Samba answers; the file then gets its derived attributes).
#pragma once

#include <cstdint>
#include <optional>

#include "smbd/base/bytes.hh"
#include "smbd/base/ntstatus.hh"

namespace smb::vfs {

inline constexpr char kDosAttribXattrName[] = "user.DOSATTRIB";
// Far beyond any version's size; a longer value is not Samba's.
inline constexpr std::size_t kMaxDosAttribXattrSize = 256;

// Samba's xattr_DosInfoValidFlags.
inline constexpr std::uint32_t kDosInfoAttrib = 0x01;
inline constexpr std::uint32_t kDosInfoCreateTime = 0x10;

struct DosAttrib {
  std::optional<std::uint32_t> attributes;
  std::optional<std::uint64_t> creation_time;  // NT time
  bool operator==(const DosAttrib&) const = default;
};

NtStatus decode_dos_attrib(ByteSpan in, DosAttrib& out);

// Version 5 as Samba 4.17 writes it; valid_flags has ATTRIB and CREATE_TIME for the
// fields that are set.
Bytes encode_dos_attrib_v5(const DosAttrib& x);

}  // namespace smb::vfs
