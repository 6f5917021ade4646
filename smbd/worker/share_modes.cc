#include "smbd/worker/share_modes.hh"

namespace smb::server {

namespace {
constexpr std::uint32_t kReadData = 0x00000001 | 0x00000020;  // read or execute
constexpr std::uint32_t kWriteData = 0x00000002 | 0x00000004;  // write or append
constexpr std::uint32_t kDelete = 0x00010000;
}  // namespace

NtStatus check_share_access(ClientState& client, const FileKey& key, std::uint32_t access,
                            std::uint32_t share_access) {
  for (Open* other : client.opens_of(key)) {
    if (other->delete_pending) return NtStatus::DELETE_PENDING;
    // Opens that only read attributes take part in no share-mode check.
    if ((other->granted_access & (kReadData | kWriteData | kDelete)) == 0) continue;
    if ((access & (kReadData | kWriteData | kDelete)) == 0) continue;
    if ((access & kReadData) && !(other->share_access & kShareRead)) return NtStatus::SHARING_VIOLATION;
    if ((access & kWriteData) && !(other->share_access & kShareWrite)) return NtStatus::SHARING_VIOLATION;
    if ((access & kDelete) && !(other->share_access & kShareDelete)) return NtStatus::SHARING_VIOLATION;
    if ((other->granted_access & kReadData) && !(share_access & kShareRead)) return NtStatus::SHARING_VIOLATION;
    if ((other->granted_access & kWriteData) && !(share_access & kShareWrite)) return NtStatus::SHARING_VIOLATION;
    if ((other->granted_access & kDelete) && !(share_access & kShareDelete)) return NtStatus::SHARING_VIOLATION;
  }
  return NtStatus::SUCCESS;
}

}  // namespace smb::server
