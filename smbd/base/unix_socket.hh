// A listening unix socket only its owner may connect to (the master's sockets for
// rdmaproxy and smbstatus, in the lock directory).
#pragma once

#include <string>

#include "smbd/base/unique_fd.hh"

namespace smb {

// Binds `path` (a stale socket left there is replaced) with mode 0600 and listens, the
// socket non-blocking and close-on-exec; `type` is SOCK_STREAM or SOCK_SEQPACKET. An
// invalid descriptor, with errno set, when it cannot (ENAMETOOLONG for a long path).
UniqueFd listen_on_private_socket(const std::string& path, int type, int backlog);

}  // namespace smb
