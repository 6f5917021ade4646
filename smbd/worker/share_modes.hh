// Share access between opens of the same file (MS-FSA 2.1.5.1.2: the share-mode check),
// and delete-pending state.
#pragma once

#include <cstdint>

#include "smbd/base/ntstatus.hh"
#include "smbd/worker/server_state.hh"

namespace smb::server {

inline constexpr std::uint32_t kShareRead = 0x1;
inline constexpr std::uint32_t kShareWrite = 0x2;
inline constexpr std::uint32_t kShareDelete = 0x4;

// SHARING_VIOLATION when the new open conflicts with an existing one, DELETE_PENDING when
// the file is marked for deletion.
NtStatus check_share_access(ClientState& client, const FileKey& key, std::uint32_t access,
                            std::uint32_t share_access);

}  // namespace smb::server
