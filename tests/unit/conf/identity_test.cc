// The POSIX identity of SMB users (conf/identity.hh), against this host's own accounts:
// root and the guest account nobody exist on every system these tests run on.
#include "smbd/conf/identity.hh"

#include <doctest/doctest.h>
#include <grp.h>
#include <pwd.h>

#include <algorithm>

using namespace smb;
using namespace smb::conf;

namespace {

User passdb_user(const std::string& name, uid_t uid) {
  User user;
  user.name = name;
  user.uid = uid;
  return user;
}

// A uid no account has.
uid_t unused_uid() {
  uid_t uid = 3999999;
  while (::getpwuid(uid) != nullptr) ++uid;
  return uid;
}

const passwd& nobody() {
  static const passwd entry = *::getpwnam("nobody");
  return entry;
}

Share share_named(const std::string& name) {
  Share share;
  share.name = name;
  share.path = "/srv/" + name;
  return share;
}

}  // namespace

TEST_CASE("NSS lookups of accounts and groups") {
  std::string error;
  auto root = unix_account_by_uid(0, error);
  REQUIRE(root.has_value());
  CHECK(root->name == "root");
  CHECK(root->gid == 0);
  auto by_name = unix_account_by_name("root", error);
  REQUIRE(by_name.has_value());
  CHECK(by_name->uid == 0);
  CHECK_FALSE(unix_account_by_name("no-such-account-here", error).has_value());
  CHECK_FALSE(unix_account_by_uid(unused_uid(), error).has_value());
  CHECK(error.empty());
  CHECK(unix_group_by_name("root", error) == gid_t{0});
  CHECK_FALSE(unix_group_by_name("no-such-group-here", error).has_value());
}

TEST_CASE("a user of the smbpasswd file acts as the account of its uid") {
  std::string why;
  auto root = user_identity(passdb_user("root", 0), why);
  REQUIRE(root.has_value());
  CHECK(root->uid == 0);
  CHECK(root->gid == 0);
  CHECK(std::binary_search(root->groups.begin(), root->groups.end(), gid_t{0}));
  // No Unix account of that name: the uid alone decides (smbd-passwd records the
  // caller's uid for such names).
  auto unnamed = user_identity(passdb_user("no-such-account-here", nobody().pw_uid), why);
  REQUIRE(unnamed.has_value());
  CHECK(unnamed->uid == nobody().pw_uid);
  CHECK(unnamed->gid == nobody().pw_gid);
}

TEST_CASE("a user whose uid no account has, or another account's uid, has no identity") {
  std::string why;
  uid_t uid = unused_uid();
  CHECK_FALSE(user_identity(passdb_user("ghost", uid), why).has_value());
  CHECK(why == "no Unix account has uid " + std::to_string(uid) + " (smbpasswd entry of 'ghost')");
  // smbpasswd(5): the uid must be that of the Unix account of the same name.
  why.clear();
  CHECK_FALSE(user_identity(passdb_user("nobody", 0), why).has_value());
  CHECK(why == "smbpasswd gives 'nobody' uid 0 but the Unix account 'nobody' has uid " +
                   std::to_string(nobody().pw_uid));
}

TEST_CASE("guest and anonymous sessions act as the guest account") {
  Global global;
  std::string why;
  auto guest = guest_identity(global, why);
  REQUIRE(guest.has_value());
  CHECK(guest->uid == nobody().pw_uid);
  CHECK(guest->gid == nobody().pw_gid);
  global.guest_account = "no-such-account-here";
  CHECK_FALSE(guest_identity(global, why).has_value());
  CHECK(why == "guest account 'no-such-account-here' is not a Unix account");
}

TEST_CASE("force user, admin users and force group on a share") {
  const PosixIdentity alice = PosixIdentity::make(4001, 4001, {4001, 0});
  std::string why;
  Share plain = share_named("plain");
  CHECK(share_identity(alice, "alice", plain, why) == alice);

  Share forced = share_named("forced");
  forced.force_user = "nobody";
  auto as_nobody = share_identity(alice, "alice", forced, why);
  REQUIRE(as_nobody.has_value());
  CHECK(as_nobody->uid == nobody().pw_uid);
  CHECK(as_nobody->gid == nobody().pw_gid);
  forced.force_user = "no-such-account-here";
  CHECK_FALSE(share_identity(alice, "alice", forced, why).has_value());
  CHECK(why == "force user 'no-such-account-here' of [forced] is not a Unix account");

  // Admins are root with their own groups; names compare without case, @ and + are groups.
  Share admin = share_named("admin");
  admin.admin_users = {"bob", "ALICE"};
  auto as_root = share_identity(alice, "alice", admin, why);
  REQUIRE(as_root.has_value());
  CHECK(as_root->uid == 0);
  CHECK(as_root->gid == 4001);
  CHECK(as_root->groups == alice.groups);
  admin.admin_users = {"@root"};
  CHECK(share_identity(alice, "alice", admin, why)->uid == 0);
  admin.admin_users = {"+no-such-group-here", "bob"};
  CHECK(share_identity(alice, "alice", admin, why)->uid == 4001);
  // force user wins over admin users, as in Samba.
  admin.admin_users = {"alice"};
  admin.force_user = "nobody";
  CHECK(share_identity(alice, "alice", admin, why)->uid == nobody().pw_uid);

  Share group = share_named("group");
  group.force_group = "root";
  const PosixIdentity outsider = PosixIdentity::make(4002, 4002, {4002});
  CHECK(share_identity(outsider, "carol", group, why)->gid == 0);
  // '+': only members take the group on.
  group.force_group = "+root";
  CHECK(share_identity(alice, "alice", group, why)->gid == 0);
  CHECK(share_identity(outsider, "carol", group, why)->gid == 4002);
  group.force_user = "nobody";
  if (nobody().pw_gid != 0) {
    CHECK_FALSE(share_identity(outsider, "carol", group, why).has_value());
    CHECK(why == "force user 'nobody' is not a member of force group 'root'");
  }
  group.force_user.clear();
  group.force_group = "no-such-group-here";
  CHECK_FALSE(share_identity(alice, "alice", group, why).has_value());
  CHECK(why == "force group 'no-such-group-here' of [group] is not a Unix group");
}
