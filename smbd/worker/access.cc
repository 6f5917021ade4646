#include "smbd/worker/access.hh"

#include <algorithm>
#include <cctype>

namespace smb::server {

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
