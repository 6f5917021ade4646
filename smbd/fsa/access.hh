// Access masks of files and directories: the generic rights mapped to specific ones.
#pragma once

#include <cstdint>

namespace smb::fsa {

// MS-DTYP 2.4.3 with the file mapping of MS-SMB2 2.2.13.1.1: GENERIC_READ, GENERIC_WRITE,
// GENERIC_EXECUTE and GENERIC_ALL become their specific rights, MAXIMUM_ALLOWED becomes
// `maximal` (what the user may do on the share); the other bits stay as asked.
std::uint32_t map_generic_access(std::uint32_t desired, std::uint32_t maximal);

}  // namespace smb::fsa
