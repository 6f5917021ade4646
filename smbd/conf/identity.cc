#include "smbd/conf/identity.hh"

#include <grp.h>
#include <pwd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "smbd/conf/text.hh"

namespace smb::conf {

namespace {

// NSS calls with a buffer that grows while they answer ERANGE.
template <typename Entry, typename Lookup>
std::optional<Entry> nss_lookup(Lookup lookup, std::string& error, std::vector<char>& buffer) {
  Entry entry{};
  Entry* found = nullptr;
  buffer.resize(1024);
  for (;;) {
    int rc = lookup(&entry, buffer.data(), buffer.size(), &found);
    if (rc == ERANGE && buffer.size() < (1u << 24)) {
      buffer.resize(buffer.size() * 2);
      continue;
    }
    if (rc != 0) {
      // Lookups of names that do not exist may answer ENOENT and the like.
      if (rc != ENOENT && rc != ESRCH && rc != EBADF && rc != EPERM) error = std::strerror(rc);
      return std::nullopt;
    }
    if (found == nullptr) return std::nullopt;
    return entry;
  }
}

UnixAccount to_account(const passwd& pw) { return {pw.pw_name, pw.pw_uid, pw.pw_gid}; }

}  // namespace

std::optional<UnixAccount> unix_account_by_uid(uid_t uid, std::string& error) {
  std::vector<char> buffer;
  auto pw = nss_lookup<passwd>(
      [uid](passwd* e, char* b, std::size_t n, passwd** f) { return getpwuid_r(uid, e, b, n, f); },
      error, buffer);
  if (!pw) return std::nullopt;
  return to_account(*pw);
}

std::optional<UnixAccount> unix_account_by_name(std::string_view name, std::string& error) {
  std::string key(name);
  std::vector<char> buffer;
  auto pw = nss_lookup<passwd>([&key](passwd* e, char* b, std::size_t n,
                                      passwd** f) { return getpwnam_r(key.c_str(), e, b, n, f); },
                               error, buffer);
  if (!pw) return std::nullopt;
  return to_account(*pw);
}

std::optional<gid_t> unix_group_by_name(std::string_view name, std::string& error) {
  std::string key(name);
  std::vector<char> buffer;
  auto gr = nss_lookup<group>([&key](group* e, char* b, std::size_t n,
                                     group** f) { return getgrnam_r(key.c_str(), e, b, n, f); },
                              error, buffer);
  if (!gr) return std::nullopt;
  return gr->gr_gid;
}

std::optional<PosixIdentity> identity_of_account(const UnixAccount& account, std::string& why) {
  std::vector<gid_t> groups(32);
  for (;;) {
    int count = static_cast<int>(groups.size());
    if (getgrouplist(account.name.c_str(), account.gid, groups.data(), &count) >= 0) {
      groups.resize(static_cast<std::size_t>(count));
      break;
    }
    // -1: the list did not fit; `count` says how many there are.
    if (count <= static_cast<int>(groups.size()) || count > 65536) {
      why = "the groups of Unix account '" + account.name + "' cannot be listed";
      return std::nullopt;
    }
    groups.resize(static_cast<std::size_t>(count));
  }
  return PosixIdentity::make(account.uid, account.gid, std::move(groups));
}

std::optional<PosixIdentity> user_identity(const User& user, std::string& why) {
  std::string error;
  auto account = unix_account_by_uid(user.uid, error);
  if (!account) {
    why = "no Unix account has uid " + std::to_string(user.uid) + " (smbpasswd entry of '" +
          user.name + "')" + (error.empty() ? "" : ": " + error);
    return std::nullopt;
  }
  // smbpasswd(5): the uid must be that of the Unix account of the same name.
  auto same_name = unix_account_by_name(user.name, error);
  if (same_name && same_name->uid != user.uid) {
    why = "smbpasswd gives '" + user.name + "' uid " + std::to_string(user.uid) +
          " but the Unix account '" + same_name->name + "' has uid " +
          std::to_string(same_name->uid);
    return std::nullopt;
  }
  return identity_of_account(*account, why);
}

std::optional<PosixIdentity> guest_identity(const Global& global, std::string& why) {
  std::string error;
  auto account = unix_account_by_name(global.guest_account, error);
  if (!account) {
    why = "guest account '" + global.guest_account + "' is not a Unix account" +
          (error.empty() ? "" : ": " + error);
    return std::nullopt;
  }
  return identity_of_account(*account, why);
}

bool user_in_list(const std::vector<std::string>& list, std::string_view user_name,
                  const PosixIdentity& identity) {
  for (const std::string& item : list) {
    if (!item.empty() && (item.front() == '@' || item.front() == '+')) {
      std::string error;
      auto gid = unix_group_by_name(std::string_view(item).substr(1), error);
      if (gid && (*gid == identity.gid ||
                  std::binary_search(identity.groups.begin(), identity.groups.end(), *gid)))
        return true;
    } else if (iequals(item, user_name)) {
      return true;
    }
  }
  return false;
}

std::optional<PosixIdentity> share_identity(const PosixIdentity& session,
                                            std::string_view user_name, const Share& share,
                                            std::string& why) {
  PosixIdentity identity = session;
  bool forced = !share.force_user.empty();
  std::string error;
  if (forced) {
    auto account = unix_account_by_name(share.force_user, error);
    if (!account) {
      why = "force user '" + share.force_user + "' of [" + share.name + "] is not a Unix account" +
            (error.empty() ? "" : ": " + error);
      return std::nullopt;
    }
    auto forced_identity = identity_of_account(*account, why);
    if (!forced_identity) return std::nullopt;
    identity = std::move(*forced_identity);
  } else if (user_in_list(share.admin_users, user_name, session)) {
    identity.uid = 0;  // `admin users`: root, with the user's own groups
  }
  if (!share.force_group.empty()) {
    bool members_only = share.force_group.front() == '+';
    std::string_view name = std::string_view(share.force_group).substr(members_only ? 1 : 0);
    auto gid = unix_group_by_name(name, error);
    if (!gid) {
      why = "force group '" + std::string(name) + "' of [" + share.name + "] is not a Unix group" +
            (error.empty() ? "" : ": " + error);
      return std::nullopt;
    }
    bool member = identity.gid == *gid ||
                  std::binary_search(identity.groups.begin(), identity.groups.end(), *gid);
    if (!members_only || member) {
      identity.gid = *gid;
    } else if (forced) {
      // Samba refuses the share when the forced user is not in a '+' forced group.
      why = "force user '" + share.force_user + "' is not a member of force group '" +
            std::string(name) + "'";
      return std::nullopt;
    }
  }
  return identity;
}

}  // namespace smb::conf
