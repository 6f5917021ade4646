// The POSIX identity each SMB user acts as, as Samba derives it:
//
//   - a user of the smbpasswd file: the entry's uid (Samba's smbpasswd(5): it must be the
//     uid of the Unix account of the same name, when there is one), the primary group of
//     the account with that uid and its supplementary groups (getgrouplist), from NSS;
//   - guest and anonymous sessions: the `guest account` (default nobody);
//   - on a share: `force user` replaces that identity with the named account's,
//     `admin users` act as root (uid 0, their own groups), `force group` replaces the
//     primary group (with a leading '+' only for members of the group).
//
// A user without such an identity cannot log on; `why` says what is missing, for the log.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "smbd/base/credentials.hh"
#include "smbd/conf/config.hh"
#include "smbd/conf/users.hh"

namespace smb::conf {

// One account of the Unix user database (getpwuid_r / getpwnam_r).
struct UnixAccount {
  std::string name;
  uid_t uid = 0;
  gid_t gid = 0;
};

// nullopt when there is no such account; `error` is set when NSS itself failed.
std::optional<UnixAccount> unix_account_by_uid(uid_t uid, std::string& error);
std::optional<UnixAccount> unix_account_by_name(std::string_view name, std::string& error);
std::optional<gid_t> unix_group_by_name(std::string_view name, std::string& error);
// The account's identity: its uid, primary gid and every group it belongs to.
std::optional<PosixIdentity> identity_of_account(const UnixAccount& account, std::string& why);

// The identity a user of the smbpasswd file logs on as.
std::optional<PosixIdentity> user_identity(const User& user, std::string& why);
// The identity of guest and anonymous sessions: the `guest account`.
std::optional<PosixIdentity> guest_identity(const Global& global, std::string& why);
// The identity a session acting as `session` (for user `user_name`) has on `share`.
std::optional<PosixIdentity> share_identity(const PosixIdentity& session,
                                            std::string_view user_name, const Share& share,
                                            std::string& why);

// Whether `user_name`, acting as `identity`, is named by a list of users and groups
// (`admin users`): names compare without case; @name and +name are Unix groups.
bool user_in_list(const std::vector<std::string>& list, std::string_view user_name,
                  const PosixIdentity& identity);

}  // namespace smb::conf
