#include "smbd/worker/access.hh"

#include <algorithm>
#include <cctype>

namespace smb::server {

std::uint32_t map_generic_access(std::uint32_t desired, std::uint32_t maximal) {
  std::uint32_t mapped = desired & 0x0FFFFFFF & ~kAccessMaximumAllowed;
  if (desired & 0x80000000u) mapped |= kFileGenericReadAccess;
  if (desired & 0x40000000u) mapped |= kFileGenericWriteAccess;
  if (desired & 0x20000000u) mapped |= kFileGenericExecuteAccess;
  if (desired & 0x10000000u) mapped |= kFileAllAccess;
  if (desired & kAccessMaximumAllowed) mapped |= maximal;
  return mapped;
}

namespace {
bool in_list(const std::vector<std::string>& names, const std::string& user) {
  return std::any_of(names.begin(), names.end(), [&](const std::string& n) {
    return n.size() == user.size() &&
           std::equal(n.begin(), n.end(), user.begin(), [](char a, char b) {
             return std::tolower(static_cast<unsigned char>(a)) ==
                    std::tolower(static_cast<unsigned char>(b));
           });
  });
}
}  // namespace

bool user_may_use_share(const Session& session, const conf::Share& share,
                        const conf::Global& global) {
  if (session.anonymous) return share.guest_ok;
  if (session.guest) {
    if (!share.guest_ok) return false;
    const std::string& guest = global.guest_account;
    if (!share.valid_users.empty() && !in_list(share.valid_users, guest)) return false;
    return true;
  }
  if (in_list(share.invalid_users, session.user)) return false;
  if (!share.valid_users.empty() && !in_list(share.valid_users, session.user)) return false;
  return true;
}

}  // namespace smb::server
