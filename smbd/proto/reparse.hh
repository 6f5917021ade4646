// Symbolic links as reparse points: the reparse data of a symbolic link ([MS-FSCC]
// 2.1.2.4), which FSCTL_GET_REPARSE_POINT returns, and the Symbolic Link Error Response
// of a CREATE that stopped on one ([MS-SMB2] 2.2.2.2.1), which carries the same fields
// after a header of its own (the FSCTL codes are in ioctl.hh). Pure: encoders of the output, a
// bounded decoder of the reparse data. Names are UTF-8 here, UTF-16LE on the wire.
#pragma once

#include <cstdint>
#include <string>

#include "smbd/base/bytes.hh"
#include "smbd/base/ntstatus.hh"
#include "smbd/base/wire.hh"  // IO_REPARSE_TAG_SYMLINK

namespace smb {

// [MS-FSCC] 2.1.2.4 Flags: the substitute name is relative to the link's directory.
inline constexpr std::uint32_t SYMLINK_FLAG_RELATIVE = 0x00000001;
// [MS-SMB2] 2.2.2.2.1 SymLinkErrorTag: "SYML".
inline constexpr std::uint32_t kSymLinkErrorTag = 0x4C4D5953;
// [MS-FSCC] 2.1.2.2: ReparseTag, ReparseDataLength and Reserved come before the data.
inline constexpr std::size_t kReparseHeaderSize = 8;

struct SymbolicLinkReparse {
  std::string substitute_name;  // backslash separated
  std::string print_name;
  std::uint32_t flags = 0;  // SYMLINK_FLAG_RELATIVE
  bool operator==(const SymbolicLinkReparse&) const = default;
};

// REPARSE_DATA_BUFFER with ReparseTag IO_REPARSE_TAG_SYMLINK. The names together must
// stay under 32 KiB in UTF-16 (a POSIX link target, at most PATH_MAX bytes, does).
Bytes encode_reparse(const SymbolicLinkReparse& link);
// INVALID_PARAMETER when the buffer is short or its names lie outside it; NOT_SUPPORTED
// for another reparse tag.
NtStatus decode_reparse(ByteSpan buffer, SymbolicLinkReparse& out);

// [MS-SMB2] 2.2.2.2.1: UnparsedPathLength is the size in bytes (UTF-16) of the part of
// the CREATE's path after the symbolic link.
Bytes encode_symlink_error(const SymbolicLinkReparse& link, std::uint16_t unparsed_path_length);

}  // namespace smb
