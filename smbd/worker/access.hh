// Who may use what: share access for a session (valid users, invalid users, guest ok,
// read only) and the access masks of MS-SMB2 2.2.13.1.
#pragma once

#include <cstdint>

#include "smbd/conf/config.hh"
#include "smbd/worker/server_state.hh"
#include "smbd/base/wire.hh"

namespace smb::server {

// MS-SMB2 3.3.5.9: generic bits map to their specific rights; MAXIMUM_ALLOWED to
// what the tree allows.
std::uint32_t map_generic_access(std::uint32_t desired, std::uint32_t maximal);

bool user_may_use_share(const Session& session, const conf::Share& share,
                        const conf::Global& global);

}  // namespace smb::server
