#include "smbd/vfs/nt_token.hh"

#include <algorithm>

#include "smbd/vfs/security.hh"

namespace smb::vfs {

dtyp::Sid creator_group_sid() { return dtyp::Sid::make(3, {1}); }
dtyp::Sid owner_rights_sid() { return dtyp::Sid::make(3, {4}); }
dtyp::Sid network_sid() { return dtyp::Sid::make(5, {2}); }
dtyp::Sid authenticated_users_sid() { return dtyp::Sid::make(5, {11}); }

bool NtToken::has(const dtyp::Sid& sid) const {
  return std::find(sids.begin(), sids.end(), sid) != sids.end();
}

NtToken make_nt_token(uid_t uid, gid_t gid, std::span<const gid_t> groups, LogonKind kind) {
  NtToken token;
  token.user = unix_user_sid(uid);
  token.primary_group = unix_group_sid(gid);
  token.is_root = uid == 0;
  auto add = [&](dtyp::Sid sid) {
    if (!token.has(sid)) token.sids.push_back(std::move(sid));
  };
  add(token.user);
  add(token.primary_group);
  for (gid_t g : groups) add(unix_group_sid(g));
  add(dtyp::everyone_sid());
  add(network_sid());
  if (kind == LogonKind::user) add(authenticated_users_sid());
  if (kind == LogonKind::anonymous) add(dtyp::anonymous_sid());
  return token;
}

}  // namespace smb::vfs
