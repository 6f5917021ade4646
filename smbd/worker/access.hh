// Who may use a share: valid users, invalid users and guest ok of its smb.conf section.
#pragma once

#include "smbd/conf/config.hh"
#include "smbd/worker/server_state.hh"

namespace smb::server {

bool user_may_use_share(const Session& session, const conf::Share& share,
                        const conf::Global& global);

}  // namespace smb::server
