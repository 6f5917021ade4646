// Who may use what: share access for a session (valid users, invalid users, guest ok,
// read only) and the access masks of MS-SMB2 2.2.13.1.
#pragma once

#include <cstdint>

#include "conf/config.hh"
#include "server/server_state.hh"

namespace smb::server {

inline constexpr std::uint32_t kFileAllAccess = 0x001F01FF;
inline constexpr std::uint32_t kFileGenericReadAccess = 0x00120089;
inline constexpr std::uint32_t kFileGenericWriteAccess = 0x00120116;
inline constexpr std::uint32_t kFileGenericExecuteAccess = 0x001200A0;
// Access bits that modify the file or its metadata.
inline constexpr std::uint32_t kWriteLikeAccess = 0x00000002 | 0x00000004 | 0x00000010 |
                                                  0x00000100 | 0x00010000 | 0x00040000 |
                                                  0x00080000 | 0x00000040;
inline constexpr std::uint32_t kAccessMaximumAllowed = 0x02000000;
inline constexpr std::uint32_t kAccessSystemSecurity = 0x01000000;

// MS-SMB2 3.3.5.9: generic bits map to their specific rights; MAXIMUM_ALLOWED to
// what the tree allows.
std::uint32_t map_generic_access(std::uint32_t desired, std::uint32_t maximal);

bool user_may_use_share(const Session& session, const conf::Share& share,
                        const conf::Global& global);

}  // namespace smb::server
