// 8.3 short names ([MS-FSCC] 2.1.5.2.1 8.3 filenames; FileAlternateNameInformation 2.4.5
// and the ShortName of FileBothDirectoryInformation 2.4.8), generated the way Samba's
// default `mangling method = hash2` does, so that a client sees the same short names
// from this server as from Samba serving the same directory:
//   - a name that is already 8.3 (at most 8 characters, optionally a dot and 1 to 3 more;
//     ASCII letters, digits and _ - $ ~ only; not a reserved device name such as CON or
//     LPT1) is its own short name;
//   - any other name becomes PHHHH~H[.EXT]: P the first character uppercased ('_' unless
//     it is a letter, digit or one of _ - $ ~), HHHHH~H a base-36 rendering of a 31-bit
//     FNV-1 hash of the uppercased part before the last dot, EXT the first three ASCII
//     letters, digits or _-$~ of an extension of 1 to 3 such characters.
// The hash is over the name uppercased with Unicode's simple case mapping, as Samba's is.
// A path may name an entry by its short name: a lookup that misses (Share::resolve)
// takes the first entry, in byte order, whose short name matches.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace smb::vfs {

// Whether `name` (UTF-8) is a valid 8.3 name as it stands ("." and ".." are).
bool is_8_3(std::string_view name);

// The hash2 short name of `name` (not checked for being 8.3 already).
std::string mangle_8_3(std::string_view name);

// What the share shows as the short name of `name`: empty for a name that is 8.3
// already (a directory entry then carries no short name), else its mangled form.
std::string short_name(std::string_view name);

// FileAlternateNameInformation: the name itself when it is 8.3, else its mangled form.
std::string alternate_name(std::string_view name);

}  // namespace smb::vfs
