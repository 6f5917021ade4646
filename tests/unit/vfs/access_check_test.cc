// The access check of [MS-DTYP] 2.5.3.2 (vfs/access_check.hh) and the session token
// (vfs/nt_token.hh). Each expected answer is worked out from the spec's algorithm in the
// comment beside it: A is uid 2001 (primary group 3001), B is uid 2002 (group 3002,
// member of 3003), both logged on as users.
#include <doctest/doctest.h>

#include <vector>

#include "smbd/base/wire.hh"
#include "smbd/vfs/access_check.hh"
#include "smbd/vfs/nt_token.hh"
#include "smbd/vfs/security.hh"

using namespace smb;
using namespace smb::vfs;
using namespace smb::dtyp;
namespace am = smb::access_mask;

namespace {

const NtToken kA = make_nt_token(2001, 3001, std::vector<gid_t>{3001}, LogonKind::user);
const NtToken kB = make_nt_token(2002, 3002, std::vector<gid_t>{3003}, LogonKind::user);
const NtToken kGuest = make_nt_token(65534, 65534, {}, LogonKind::guest);
const NtToken kAnonymous = make_nt_token(65534, 65534, {}, LogonKind::anonymous);
const NtToken kRoot = make_nt_token(0, 0, {}, LogonKind::user);
const Sid kSidA = unix_user_sid(2001);
const Sid kSidB = unix_user_sid(2002);

Ace ace(AceType type, std::uint32_t mask, Sid sid, std::uint8_t flags = 0) {
  Ace a;
  a.type = type;
  a.mask = mask;
  a.sid = std::move(sid);
  a.flags = flags;
  return a;
}
Ace allow(std::uint32_t mask, Sid sid, std::uint8_t flags = 0) {
  return ace(AceType::ACCESS_ALLOWED_ACE_TYPE, mask, std::move(sid), flags);
}
Ace deny(std::uint32_t mask, Sid sid, std::uint8_t flags = 0) {
  return ace(AceType::ACCESS_DENIED_ACE_TYPE, mask, std::move(sid), flags);
}

// A descriptor owned by `owner` with these ACEs.
SecurityDescriptor sd(std::vector<Ace> aces, Sid owner = unix_user_sid(1000)) {
  SecurityDescriptor s;
  s.control = sd_control::SE_SELF_RELATIVE | sd_control::SE_DACL_PRESENT;
  s.owner = std::move(owner);
  s.group = unix_group_sid(1000);
  s.dacl = Acl{};
  s.dacl->aces = std::move(aces);
  return s;
}

struct Answer {
  NtStatus status;
  std::uint32_t granted;
};
Answer check(const SecurityDescriptor& s, const NtToken& t, std::uint32_t desired) {
  Answer a{};
  a.status = access_check(s, t, desired, a.granted);
  return a;
}
bool granted(const SecurityDescriptor& s, const NtToken& t, std::uint32_t desired,
             std::uint32_t expect) {
  const Answer a = check(s, t, desired);
  return a.status == NtStatus::SUCCESS && a.granted == expect;
}
bool refused(const SecurityDescriptor& s, const NtToken& t, std::uint32_t desired) {
  const Answer a = check(s, t, desired);
  return a.status == NtStatus::ACCESS_DENIED && a.granted == 0;
}

}  // namespace

TEST_CASE("token: user, groups, Everyone, Network, Authenticated Users") {
  CHECK(kA.user.to_string() == "S-1-22-1-2001");
  CHECK(kA.primary_group.to_string() == "S-1-22-2-3001");
  CHECK(kA.sids.front() == kA.user);
  CHECK(kA.has(everyone_sid()));
  CHECK(kA.has(network_sid()));
  CHECK(kA.has(authenticated_users_sid()));
  CHECK(!kA.has(anonymous_sid()));
  CHECK(kA.sids.size() == 5);  // the primary group is listed once
  CHECK(kB.has(unix_group_sid(3002)));
  CHECK(kB.has(unix_group_sid(3003)));
  CHECK(!kGuest.has(authenticated_users_sid()));
  CHECK(kGuest.has(everyone_sid()));
  CHECK(kAnonymous.has(anonymous_sid()));
  CHECK(!kAnonymous.has(authenticated_users_sid()));
  CHECK(kRoot.is_root);
  CHECK(!kA.is_root);
  CHECK(creator_group_sid().to_string() == "S-1-3-1");
  CHECK(creator_owner_sid().to_string() == "S-1-3-0");
}

TEST_CASE("access check: explicit allow for one user") {
  const auto s = sd({allow(kFileGenericReadAccess, kSidA)});
  // A: the ACE clears every wanted bit.
  CHECK(granted(s, kA, am::FILE_READ_DATA, am::FILE_READ_DATA));
  // A wants WRITE_DATA too: it stays in RemainingAccess.
  CHECK(refused(s, kA, am::FILE_READ_DATA | am::FILE_WRITE_DATA));
  // B: no ACE applies.
  CHECK(refused(s, kB, am::FILE_READ_DATA));
  // Nothing asked for: nothing remains, granted 0.
  CHECK(granted(s, kB, 0, 0));
}

TEST_CASE("access check: deny before allow refuses, allow before deny grants") {
  const auto deny_first =
      sd({deny(am::FILE_WRITE_DATA, everyone_sid()), allow(kFileAllAccess, everyone_sid())});
  CHECK(refused(deny_first, kA, am::FILE_WRITE_DATA));
  CHECK(refused(deny_first, kA, am::FILE_READ_DATA | am::FILE_WRITE_DATA));
  CHECK(granted(deny_first, kA, am::FILE_READ_DATA, am::FILE_READ_DATA));
  // MAXIMUM_ALLOWED: WRITE_DATA denied first, the rest allowed.
  CHECK(granted(deny_first, kA, am::MAXIMUM_ALLOWED, kFileAllAccess & ~am::FILE_WRITE_DATA));
  CHECK(refused(deny_first, kA, am::MAXIMUM_ALLOWED | am::FILE_WRITE_DATA));

  // The allow ACE cleared WRITE_DATA from RemainingAccess before the deny was read.
  const auto allow_first =
      sd({allow(kFileAllAccess, everyone_sid()), deny(am::FILE_WRITE_DATA, kSidA)});
  CHECK(granted(allow_first, kA, am::FILE_WRITE_DATA, am::FILE_WRITE_DATA));
  CHECK(granted(allow_first, kA, am::MAXIMUM_ALLOWED, kFileAllAccess));

  // A deny for B only does not touch A.
  const auto deny_b =
      sd({deny(kFileAllAccess, kSidB), allow(kFileGenericReadAccess, everyone_sid())});
  CHECK(granted(deny_b, kA, am::FILE_READ_DATA, am::FILE_READ_DATA));
  CHECK(refused(deny_b, kB, am::FILE_READ_DATA));
  // MAXIMUM_ALLOWED with nothing allowed: granted 0, as Samba answers (an open that
  // would be granted nothing is refused above this check).
  CHECK(granted(deny_b, kB, am::MAXIMUM_ALLOWED, 0));
}

TEST_CASE("access check: MAXIMUM_ALLOWED takes each bit from the first ACE naming it") {
  // read allowed; then read and write denied (only write is still undecided); then write
  // allowed again, too late.
  const auto s = sd({allow(am::FILE_READ_DATA, everyone_sid()),
                     deny(am::FILE_READ_DATA | am::FILE_WRITE_DATA, everyone_sid()),
                     allow(am::FILE_WRITE_DATA | am::FILE_APPEND_DATA, everyone_sid())});
  CHECK(granted(s, kA, am::MAXIMUM_ALLOWED, am::FILE_READ_DATA | am::FILE_APPEND_DATA));
  // Without MAXIMUM_ALLOWED the deny ACE meets WRITE_DATA still wanted.
  CHECK(refused(s, kA, am::FILE_WRITE_DATA));
  CHECK(granted(s, kA, am::FILE_READ_DATA, am::FILE_READ_DATA));
}

TEST_CASE("access check: inherit-only ACEs are skipped, inherited ones apply") {
  using namespace ace_flag;
  const auto only = sd({allow(kFileAllAccess, kSidA,
                              INHERIT_ONLY_ACE | OBJECT_INHERIT_ACE | CONTAINER_INHERIT_ACE)});
  CHECK(refused(only, kA, am::FILE_READ_DATA));
  CHECK(granted(only, kA, am::MAXIMUM_ALLOWED, 0));
  const auto inherited = sd({allow(kFileGenericReadAccess, kSidA, INHERITED_ACE)});
  CHECK(granted(inherited, kA, am::FILE_READ_DATA, am::FILE_READ_DATA));
  // An inherit-only deny does not refuse; an inherited deny does.
  const auto deny_io = sd({deny(am::FILE_READ_DATA, kSidA, INHERIT_ONLY_ACE | OBJECT_INHERIT_ACE),
                           allow(kFileGenericReadAccess, kSidA)});
  CHECK(granted(deny_io, kA, am::FILE_READ_DATA, am::FILE_READ_DATA));
  const auto deny_inh =
      sd({deny(am::FILE_READ_DATA, kSidA, INHERITED_ACE), allow(kFileGenericReadAccess, kSidA)});
  CHECK(refused(deny_inh, kA, am::FILE_READ_DATA));
}

TEST_CASE("access check: generic rights in the request and in ACEs") {
  const auto read = sd({allow(kFileGenericReadAccess, kSidA)});
  CHECK(granted(read, kA, am::GENERIC_READ, kFileGenericReadAccess));
  CHECK(refused(read, kA, am::GENERIC_WRITE));
  CHECK(refused(read, kA, am::GENERIC_ALL));
  // An ACE holding GENERIC_READ allows what it maps to.
  const auto generic = sd({allow(am::GENERIC_READ, kSidA)});
  CHECK(granted(generic, kA, am::FILE_READ_DATA, am::FILE_READ_DATA));
  CHECK(granted(generic, kA, am::MAXIMUM_ALLOWED, kFileGenericReadAccess));
  const auto all = sd({allow(am::GENERIC_ALL, kSidA)});
  CHECK(granted(all, kA, am::GENERIC_ALL, kFileAllAccess));
  // A deny of GENERIC_WRITE refuses FILE_APPEND_DATA.
  const auto deny_generic =
      sd({deny(am::GENERIC_WRITE, everyone_sid()), allow(kFileAllAccess, everyone_sid())});
  CHECK(refused(deny_generic, kA, am::FILE_APPEND_DATA));
  CHECK(granted(deny_generic, kA, am::FILE_EXECUTE, am::FILE_EXECUTE));
}

TEST_CASE("access check: the owner's implicit READ_CONTROL and WRITE_DAC") {
  const std::uint32_t implicit = am::READ_CONTROL | am::WRITE_DAC;
  const auto empty = sd({}, kSidA);
  CHECK(granted(empty, kA, implicit, implicit));
  CHECK(granted(empty, kA, am::MAXIMUM_ALLOWED, implicit));
  CHECK(refused(empty, kA, am::FILE_READ_DATA));
  CHECK(refused(empty, kA, am::WRITE_OWNER));
  CHECK(refused(empty, kB, am::READ_CONTROL));
  // Granted before the ACEs are read: a deny cannot take them from the owner.
  const auto denied = sd({deny(kFileAllAccess, kSidA)}, kSidA);
  CHECK(granted(denied, kA, am::WRITE_DAC, am::WRITE_DAC));
  CHECK(granted(denied, kA, am::MAXIMUM_ALLOWED, implicit));
  CHECK(refused(denied, kA, am::FILE_READ_DATA));
  // A group as owner: members are the owner.
  const auto group_owned = sd({}, unix_group_sid(3003));
  CHECK(granted(group_owned, kB, am::READ_CONTROL, am::READ_CONTROL));
  CHECK(refused(group_owned, kA, am::READ_CONTROL));
}

TEST_CASE("access check: an OWNER RIGHTS ACE replaces the owner's implicit rights") {
  const auto s = sd({allow(am::FILE_READ_DATA | am::READ_CONTROL, owner_rights_sid())}, kSidA);
  CHECK(refused(s, kA, am::WRITE_DAC));
  CHECK(
      granted(s, kA, am::FILE_READ_DATA | am::READ_CONTROL, am::FILE_READ_DATA | am::READ_CONTROL));
  CHECK(granted(s, kA, am::MAXIMUM_ALLOWED, am::FILE_READ_DATA | am::READ_CONTROL));
  // Not the owner: OWNER RIGHTS is nobody else.
  CHECK(refused(s, kB, am::FILE_READ_DATA));
  // Inherit-only, it does not count: the implicit rights stand.
  const auto io =
      sd({allow(am::FILE_READ_DATA, owner_rights_sid(), ace_flag::INHERIT_ONLY_ACE)}, kSidA);
  CHECK(granted(io, kA, am::WRITE_DAC, am::WRITE_DAC));
}

TEST_CASE("access check: groups, Authenticated Users, guests and anonymous") {
  const auto by_group = sd({allow(kFileGenericReadAccess, unix_group_sid(3003))});
  CHECK(granted(by_group, kB, am::FILE_READ_DATA, am::FILE_READ_DATA));
  CHECK(refused(by_group, kA, am::FILE_READ_DATA));
  const auto authenticated = sd({allow(kFileGenericReadAccess, authenticated_users_sid())});
  CHECK(granted(authenticated, kA, am::FILE_READ_DATA, am::FILE_READ_DATA));
  CHECK(refused(authenticated, kGuest, am::FILE_READ_DATA));
  CHECK(refused(authenticated, kAnonymous, am::FILE_READ_DATA));
  const auto deny_anonymous =
      sd({deny(kFileAllAccess, anonymous_sid()), allow(kFileGenericReadAccess, everyone_sid())});
  CHECK(refused(deny_anonymous, kAnonymous, am::FILE_READ_DATA));
  CHECK(granted(deny_anonymous, kGuest, am::FILE_READ_DATA, am::FILE_READ_DATA));
}

TEST_CASE("access check: NULL DACL, other ACE types, privileges, root") {
  SecurityDescriptor null_dacl;
  null_dacl.control = sd_control::SE_SELF_RELATIVE | sd_control::SE_DACL_PRESENT;
  null_dacl.owner = unix_user_sid(1000);
  CHECK(granted(null_dacl, kB, am::FILE_WRITE_DATA, am::FILE_WRITE_DATA));
  CHECK(granted(null_dacl, kB, am::MAXIMUM_ALLOWED, kFileAllAccess));
  CHECK(granted(null_dacl, kB, am::GENERIC_ALL, kFileAllAccess));

  Ace object;
  object.type = AceType::ACCESS_ALLOWED_OBJECT_ACE_TYPE;
  object.opaque = Bytes(32, 0xff);
  CHECK(refused(sd({object}), kA, am::FILE_READ_DATA));

  const auto s = sd({allow(kFileAllAccess, everyone_sid())});
  // SeSecurityPrivilege is needed for the SACL; no user token holds it.
  CHECK(check(s, kA, am::ACCESS_SYSTEM_SECURITY).status == NtStatus::PRIVILEGE_NOT_HELD);
  CHECK(granted(s, kA, am::WRITE_OWNER, am::WRITE_OWNER));
  // Root passes every check, as with Samba.
  const auto none = sd({deny(kFileAllAccess, everyone_sid())});
  CHECK(granted(none, kRoot, am::FILE_READ_DATA | am::ACCESS_SYSTEM_SECURITY,
                am::FILE_READ_DATA | am::ACCESS_SYSTEM_SECURITY));
  CHECK(granted(none, kRoot, am::MAXIMUM_ALLOWED, kFileAllAccess | am::ACCESS_SYSTEM_SECURITY));
}

TEST_CASE("access check for an open: the parent stands in for DELETE and FILE_READ_ATTRIBUTES") {
  const auto file_denies_delete =
      sd({deny(am::DELETE, kSidA), allow(kFileGenericReadAccess, kSidA)});
  const auto parent_delete_child = sd({allow(am::FILE_DELETE_CHILD, kSidA)});
  const auto parent_nothing = sd({allow(am::FILE_LIST_DIRECTORY, kSidA)});
  const std::uint32_t want = am::DELETE | am::FILE_READ_DATA;
  std::uint32_t out = 0;
  CHECK(access_check_for_open(file_denies_delete, &parent_delete_child, kA, want, out) ==
        NtStatus::SUCCESS);
  CHECK(out == want);
  CHECK(access_check_for_open(file_denies_delete, &parent_nothing, kA, want, out) ==
        NtStatus::ACCESS_DENIED);
  CHECK(access_check_for_open(file_denies_delete, nullptr, kA, want, out) ==
        NtStatus::ACCESS_DENIED);
  // DELETE is all the parent can add: WRITE_DATA is still the file's to refuse.
  CHECK(access_check_for_open(file_denies_delete, &parent_delete_child, kA,
                              am::DELETE | am::FILE_WRITE_DATA, out) == NtStatus::ACCESS_DENIED);
  // MAXIMUM_ALLOWED gets DELETE from the parent.
  CHECK(access_check_for_open(file_denies_delete, &parent_delete_child, kA, am::MAXIMUM_ALLOWED,
                              out) == NtStatus::SUCCESS);
  CHECK(out == (kFileGenericReadAccess | am::DELETE));
  CHECK(access_check_for_open(file_denies_delete, &parent_nothing, kA, am::MAXIMUM_ALLOWED, out) ==
        NtStatus::SUCCESS);
  CHECK(out == kFileGenericReadAccess);  // which holds FILE_READ_ATTRIBUTES already
  // B gets nothing from a parent that gives A FILE_DELETE_CHILD.
  CHECK(access_check_for_open(file_denies_delete, &parent_delete_child, kB, am::DELETE, out) ==
        NtStatus::ACCESS_DENIED);
  // FILE_LIST_DIRECTORY on the parent stands in for FILE_READ_ATTRIBUTES.
  const auto file_denies_all = sd({deny(kFileAllAccess, kSidA)});
  CHECK(access_check_for_open(file_denies_all, &parent_nothing, kA, am::FILE_READ_ATTRIBUTES,
                              out) == NtStatus::SUCCESS);
  CHECK(out == am::FILE_READ_ATTRIBUTES);
  CHECK(access_check_for_open(file_denies_all, &parent_delete_child, kA, am::FILE_READ_ATTRIBUTES,
                              out) == NtStatus::ACCESS_DENIED);
  CHECK(access_check_for_open(file_denies_all, &parent_nothing, kA,
                              am::FILE_READ_ATTRIBUTES | am::FILE_READ_DATA,
                              out) == NtStatus::ACCESS_DENIED);
  // A file that allows DELETE itself needs no parent.
  const auto file_allows = sd({allow(am::DELETE, kSidB)});
  CHECK(access_check_for_open(file_allows, &parent_nothing, kB, am::DELETE, out) ==
        NtStatus::SUCCESS);
  CHECK(out == am::DELETE);
}
