// Extended attributes of a file in the NT sense ([MS-FSCC] 2.4.15; [MS-FSA] 2.1.5.11 and
// 2.1.5.14, FileFullEaInformation), kept as Linux `user.` extended attributes the way
// Samba keeps them with `ea support = yes`: the EA "NAME" is the xattr "user.NAME" (a
// name that already starts with "user." is taken as it is), names match ignoring case
// and keep the spelling first stored, an empty value removes the EA, and Samba's own
// attributes (user.DOSATTRIB, user.DosStream.*, ...) are neither listed nor settable.
// Every call works on a descriptor obtained through Share (O_PATH ones included) as the
// calling thread's user, and reads at most kMaxEaValueSize bytes of a value.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "smbd/base/bytes.hh"
#include "smbd/base/ntstatus.hh"

namespace smb::vfs {

// The largest value an EA can carry on the wire (a 16-bit length).
inline constexpr std::size_t kMaxEaValueSize = 65535;

struct ExtendedAttribute {
  std::string name;  // without "user."
  Bytes value;
  std::uint8_t flags = 0;  // FILE_NEED_EA (0x80) is kept on the wire only, as Samba does
  bool operator==(const ExtendedAttribute&) const = default;
};

// Whether `xattr_name` is one Samba keeps for itself (never an EA).
bool is_private_xattr(std::string_view xattr_name);
// [MS-FSCC] 2.4.15: 1 to 255 bytes of printable ASCII without "*+,/:;<=>?[\]| (what
// Windows and Samba refuse with STATUS_INVALID_EA_NAME).
bool valid_ea_name(std::string_view name);
// The xattr an EA name is stored under.
std::string ea_xattr_name(std::string_view ea_name);

// The file's EAs, in the order the file system lists them. A value longer than
// kMaxEaValueSize is left out (no client could be given it).
NtStatus list_eas(int fd, std::vector<ExtendedAttribute>& out);
// Sets (or, with an empty value, removes) each EA in turn ([MS-FSA] 2.1.5.14); names
// must have passed valid_ea_name(). ACCESS_DENIED for one of Samba's own names; the
// file system's refusal (too large, no room) as errno_map gives it.
NtStatus set_eas(int fd, const std::vector<ExtendedAttribute>& eas);

}  // namespace smb::vfs
