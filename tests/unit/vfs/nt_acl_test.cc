// Stored NT ACLs (vfs/nt_acl.hh): what new entries inherit, compared with what Samba
// 4.17 made a file and a directory inherit from the same parent (samba_ntacl_vectors.hh),
// the mode kept in step with a DACL, and the attribute written and read on a real file.
#include <doctest/doctest.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "samba_ntacl_vectors.hh"
#include "smbd/base/unique_fd.hh"
#include "smbd/base/wire.hh"
#include "smbd/vfs/nt_acl.hh"
#include "smbd/vfs/nt_token.hh"
#include "smbd/vfs/ntacl_xattr.hh"
#include "smbd/vfs/security.hh"
#include "test_dir.hh"

using namespace smb;
using namespace smb::vfs;
using namespace smb::dtyp;
using namespace smb::vfs::test;
namespace am = smb::access_mask;
namespace flag = smb::dtyp::ace_flag;

namespace {

SecurityDescriptor samba(const char* vector) {
  NtaclXattr x;
  REQUIRE(decode_ntacl_xattr(hex(vector), x) == NtStatus::SUCCESS);
  return x.sd;
}

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

// Samba 4.17 leaves INHERITED_ACE out of what a child inherits; the rest must agree.
Acl without_inherited_flag(Acl acl) {
  for (Ace& a : acl.aces) a.flags &= static_cast<std::uint8_t>(~flag::INHERITED_ACE);
  return acl;
}

SecurityDescriptor with_dacl(std::vector<Ace> aces) {
  SecurityDescriptor sd;
  sd.control = sd_control::SE_SELF_RELATIVE | sd_control::SE_DACL_PRESENT;
  sd.owner = unix_user_sid(1000);
  sd.group = unix_group_sid(100);
  sd.dacl = Acl{};
  sd.dacl->aces = std::move(aces);
  return sd;
}

}  // namespace

TEST_CASE("inheritance: a file and a directory inherit what Samba gave them") {
  const SecurityDescriptor parent = samba(kSambaDirV4);
  const SecurityDescriptor file = samba(kSambaDirV4File);
  const SecurityDescriptor subdir = samba(kSambaDirV4Subdir);
  // CREATOR OWNER and CREATOR GROUP become the creator's SIDs: Samba's, here. The
  // parent is not SE_DACL_AUTO_INHERITED, so no ACE is marked INHERITED_ACE, as Samba
  // stored them.
  const bool auto_inherit = (parent.control & sd_control::SE_DACL_AUTO_INHERITED) != 0;
  CHECK_FALSE(auto_inherit);
  CHECK(inherited_dacl(*parent.dacl, false, *file.owner, *file.group, auto_inherit) == *file.dacl);
  CHECK(inherited_dacl(*parent.dacl, true, *subdir.owner, *subdir.group, auto_inherit) ==
        *subdir.dacl);
  // Under an auto-inherited parent the same ACEs carry INHERITED_ACE.
  const Acl for_file = inherited_dacl(*parent.dacl, false, *file.owner, *file.group, true);
  CHECK(without_inherited_flag(for_file) == *file.dacl);
  for (const Ace& a : for_file.aces) CHECK(a.flags == flag::INHERITED_ACE);
  const Acl for_dir = inherited_dacl(*parent.dacl, true, *subdir.owner, *subdir.group, true);
  CHECK(without_inherited_flag(for_dir) == *subdir.dacl);
  for (const Ace& a : for_dir.aces) CHECK((a.flags & flag::INHERITED_ACE) != 0);
}

TEST_CASE("inheritance: MS-DTYP 2.5.3.4 flag by flag") {
  const Sid owner = unix_user_sid(1000);
  const Sid group = unix_group_sid(100);
  const Sid x = unix_user_sid(2000);
  const Sid y = unix_user_sid(2001);
  const Acl parent{
      kAclRevision,
      {deny(am::FILE_READ_DATA, x, flag::OBJECT_INHERIT_ACE | flag::NO_PROPAGATE_INHERIT_ACE),
       allow(kFileAllAccess, creator_owner_sid(),
             flag::OBJECT_INHERIT_ACE | flag::CONTAINER_INHERIT_ACE | flag::INHERIT_ONLY_ACE),
       allow(kFileGenericReadAccess, x, flag::CONTAINER_INHERIT_ACE),
       allow(am::GENERIC_READ, y, flag::OBJECT_INHERIT_ACE),
       allow(kFileAllAccess, y),  // not inheritable
       allow(kFileAllAccess, creator_group_sid(),
             flag::CONTAINER_INHERIT_ACE | flag::NO_PROPAGATE_INHERIT_ACE)}};
  constexpr std::uint8_t kI = flag::INHERITED_ACE;
  // A file: the object-inherit ACEs, without inheritance flags, generic rights mapped.
  const Acl file = inherited_dacl(parent, false, owner, group, true);
  CHECK(file == Acl{kAclRevision,
                    {deny(am::FILE_READ_DATA, x, kI), allow(kFileAllAccess, owner, kI),
                     allow(kFileGenericReadAccess, y, kI)}});
  // A directory: container-inherit ACEs apply and stay inheritable unless
  // NO_PROPAGATE; object-inherit-only ones pass through as inherit-only; CREATOR OWNER
  // applies as the owner and stays inheritable as itself.
  const Acl dir = inherited_dacl(parent, true, owner, group, true);
  CHECK(dir ==
        Acl{kAclRevision,
            {allow(kFileAllAccess, owner, kI),
             allow(kFileAllAccess, creator_owner_sid(),
                   flag::OBJECT_INHERIT_ACE | flag::CONTAINER_INHERIT_ACE | flag::INHERIT_ONLY_ACE |
                       kI),
             allow(kFileGenericReadAccess, x, flag::CONTAINER_INHERIT_ACE | kI),
             allow(am::GENERIC_READ, y, flag::OBJECT_INHERIT_ACE | flag::INHERIT_ONLY_ACE | kI),
             allow(kFileAllAccess, group, kI)}});
  // Without auto-inheritance the same ACEs, none marked.
  for (const Ace& a : inherited_dacl(parent, true, owner, group, false).aces)
    CHECK((a.flags & flag::INHERITED_ACE) == 0);
  // Nothing inheritable: nothing inherited.
  CHECK(inherited_dacl(Acl{kAclRevision, {allow(kFileAllAccess, y)}}, true, owner, group, true)
            .aces.empty());
}

TEST_CASE("set security: which DACL control bits are stored") {
  namespace c = sd_control;
  CHECK(dacl_control_to_store(c::SE_DACL_PRESENT | c::SE_DACL_AUTO_INHERIT_REQ) ==
        c::SE_DACL_PRESENT);
  CHECK(dacl_control_to_store(c::SE_DACL_PRESENT | c::SE_DACL_AUTO_INHERITED) ==
        c::SE_DACL_PRESENT);
  CHECK(dacl_control_to_store(c::SE_DACL_AUTO_INHERIT_REQ | c::SE_DACL_AUTO_INHERITED |
                              c::SE_DACL_PROTECTED) ==
        (c::SE_DACL_AUTO_INHERITED | c::SE_DACL_PROTECTED));
}

TEST_CASE("mode in step: each class gets what the DACL gives its SIDs") {
  const Sid owner = unix_user_sid(1000);
  const Sid group = unix_group_sid(100);
  const Sid other_user = unix_user_sid(2000);
  CHECK(permissions_from_dacl(
            with_dacl({allow(kFileAllAccess, owner),
                       allow(kFileGenericReadAccess | kFileGenericExecuteAccess, group),
                       allow(kFileGenericReadAccess, everyone_sid())}),
            1000, 100, false) == 0754);
  // Everyone's bits reach every class; a deny before them takes bits away.
  CHECK(permissions_from_dacl(
            with_dacl({deny(am::FILE_WRITE_DATA, group), allow(kFileAllAccess, everyone_sid())}),
            1000, 100, false) == 0757);
  // A named user gets nothing from the mode beyond what Everyone has; the owner keeps
  // read (rwx on a directory).
  CHECK(permissions_from_dacl(with_dacl({allow(kFileAllAccess, other_user)}), 1000, 100, false) ==
        0400);
  CHECK(permissions_from_dacl(with_dacl({allow(kFileAllAccess, other_user)}), 1000, 100, true) ==
        0700);
  // Authenticated Users count for every class; inherit-only ACEs for none.
  CHECK(permissions_from_dacl(
            with_dacl({allow(kFileGenericReadAccess, authenticated_users_sid()),
                       allow(kFileAllAccess, everyone_sid(), flag::INHERIT_ONLY_ACE)}),
            1000, 100, false) == 0444);
  // A NULL DACL is everything.
  SecurityDescriptor null_dacl = with_dacl({});
  null_dacl.dacl.reset();
  CHECK(permissions_from_dacl(null_dacl, 1000, 100, false) == 0777);
}

TEST_CASE("stored descriptor: written as version 4, read back, mode in step") {
  if (::geteuid() != 0) {
    MESSAGE("skipped: security.* attributes need CAP_SYS_ADMIN");
    return;
  }
  TestDir dir;
  const auto path = dir.root() / "file";
  TestDir::write(path, "x");
  ::chmod(path.c_str(), 0600);
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  REQUIRE(fd);
  std::optional<SecurityDescriptor> stored;
  REQUIRE(read_stored_descriptor(fd.get(), stored) == NtStatus::SUCCESS);
  CHECK(!stored);

  struct stat st {};
  REQUIRE(::fstat(fd.get(), &st) == 0);
  SecurityDescriptor sd = with_dacl({deny(am::FILE_WRITE_DATA, unix_user_sid(2000)),
                                     allow(kFileGenericReadAccess, everyone_sid()),
                                     allow(kFileAllAccess, unix_user_sid(st.st_uid))});
  sd.owner = unix_user_sid(st.st_uid);
  sd.group = unix_group_sid(st.st_gid);
  REQUIRE(store_descriptor(fd.get(), sd, false) == NtStatus::SUCCESS);
  REQUIRE(read_stored_descriptor(fd.get(), stored) == NtStatus::SUCCESS);
  REQUIRE(stored);
  CHECK(*stored == sd);
  REQUIRE(::fstat(fd.get(), &st) == 0);
  CHECK((st.st_mode & 07777) == 0744);
  Bytes raw(4096);
  const ssize_t n = ::getxattr(path.c_str(), kNtaclXattrName, raw.data(), raw.size());
  REQUIRE(n > 8);
  CHECK(raw[0] == 4);  // version 4
  // What QUERY_INFO answers: the parts asked for, the DACL's control bits with it.
  SecurityDescriptor answer;
  REQUIRE(query_descriptor(fd.get(), kDaclSecurityInformation, answer) == NtStatus::SUCCESS);
  CHECK(!answer.owner);
  CHECK(answer.dacl == sd.dacl);

  // Garbage in the attribute: a clear status, not a descriptor.
  REQUIRE(::setxattr(path.c_str(), kNtaclXattrName, "\xff\xff\xff", 3, 0) == 0);
  CHECK(read_stored_descriptor(fd.get(), stored) == kStatusInvalidSecurityDescr);
  CHECK(query_descriptor(fd.get(), kDaclSecurityInformation, answer) ==
        kStatusInvalidSecurityDescr);
  // SET_INFO replaces it.
  SecurityDescriptor change = with_dacl({allow(kFileAllAccess, everyone_sid())});
  const NtToken root = make_nt_token(0, 0, {}, LogonKind::user);
  REQUIRE(set_descriptor(fd.get(), change, kDaclSecurityInformation, root) == NtStatus::SUCCESS);
  REQUIRE(read_stored_descriptor(fd.get(), stored) == NtStatus::SUCCESS);
  REQUIRE(stored);
  CHECK(stored->dacl == change.dacl);
  CHECK(*stored->owner == unix_user_sid(st.st_uid));
  REQUIRE(::fstat(fd.get(), &st) == 0);
  CHECK((st.st_mode & 07777) == 0777);
}
