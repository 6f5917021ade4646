// The SIDs of the POSIX identities a session acts as, and the token an access check
// compares a DACL with ([MS-DTYP] 2.5.2, the part of it this server uses).
//
// Local users and groups: uid N is S-1-22-1-N and gid N is S-1-22-2-N (security.hh),
// the SIDs Samba gives a uid or gid its passdb does not map. Samba's default passdb
// (tdbsam) gives its accounts SIDs in the server's own random domain instead (RIDs from
// a counter, groups Domain Users), which only that installation can reproduce;
// docs/security.md has the comparison.
//
// A token holds: the user's SID, the SIDs of its primary and supplementary groups,
// Everyone (S-1-1-0), Network (S-1-5-2), and Authenticated Users (S-1-5-11) unless the
// session is a guest or anonymous one; an anonymous session also holds Anonymous
// (S-1-5-7). `is_root` is uid 0, which has every privilege and, as in Samba, passes
// every access check.
#pragma once

#include <sys/types.h>

#include <span>
#include <vector>

#include "smbd/base/security_descriptor.hh"

namespace smb::vfs {

// Well-known SIDs ([MS-DTYP] 2.4.2.4) beyond those of security_descriptor.hh.
dtyp::Sid creator_group_sid();        // S-1-3-1
dtyp::Sid owner_rights_sid();         // S-1-3-4
dtyp::Sid network_sid();              // S-1-5-2
dtyp::Sid authenticated_users_sid();  // S-1-5-11

enum class LogonKind { user, guest, anonymous };

struct NtToken {
  dtyp::Sid user;
  dtyp::Sid primary_group;
  std::vector<dtyp::Sid> sids;  // every SID of the token, the user's first
  bool is_root = false;

  bool has(const dtyp::Sid& sid) const;
};

NtToken make_nt_token(uid_t uid, gid_t gid, std::span<const gid_t> groups, LogonKind kind);

}  // namespace smb::vfs
