// The NT security view of POSIX files (vfs/security.hh): mode <-> DACL, uid/gid <-> SID,
// and chmod/chown through a security descriptor on a real file.
#include <doctest/doctest.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "test_dir.hh"
#include "smbd/vfs/security.hh"
#include "smbd/base/unique_fd.hh"

using smb::NtStatus;
using namespace smb;
using namespace smb::vfs;
using namespace smb::dtyp;
using smb::vfs::test::TestDir;

namespace {

constexpr std::uint32_t kAll =
    kOwnerSecurityInformation | kGroupSecurityInformation | kDaclSecurityInformation;

Ace allow(std::uint32_t mask, Sid sid, std::uint8_t flags = 0) {
  Ace ace;
  ace.mask = mask;
  ace.sid = std::move(sid);
  ace.flags = flags;
  return ace;
}

SecurityDescriptor dacl_only(std::vector<Ace> aces) {
  SecurityDescriptor sd;
  Acl acl;
  acl.aces = std::move(aces);
  sd.dacl = std::move(acl);
  sd.control |= sd_control::SE_DACL_PRESENT;
  return sd;
}

PosixSecurity file_of(mode_t mode, bool directory = false) {
  return PosixSecurity{1000, 100, (directory ? S_IFDIR : S_IFREG) | mode, directory};
}

mode_t permissions_after(const SecurityDescriptor& sd, const PosixSecurity& file,
                         std::uint32_t info = kDaclSecurityInformation) {
  PosixSecurityChange change;
  REQUIRE(posix_change_from_security_descriptor(sd, info, file, change) == NtStatus::SUCCESS);
  return change.permissions ? *change.permissions : (file.mode & 0777);
}

}  // namespace

TEST_CASE("security: Unix SIDs") {
  CHECK(unix_user_sid(1000).to_string() == "S-1-22-1-1000");
  CHECK(unix_group_sid(0).to_string() == "S-1-22-2-0");
  uid_t uid = 0;
  gid_t gid = 0;
  CHECK(uid_from_sid(unix_user_sid(4242), uid));
  CHECK(uid == 4242);
  CHECK(gid_from_sid(unix_group_sid(77), gid));
  CHECK(gid == 77);
  CHECK(!uid_from_sid(unix_group_sid(77), uid));
  CHECK(!gid_from_sid(unix_user_sid(77), gid));
  CHECK(!uid_from_sid(everyone_sid(), uid));
  CHECK(!uid_from_sid(Sid::make(22, {1, 5, 6}), uid));
  CHECK(!uid_from_sid(Sid::make(22, {1, 0xFFFFFFFFu}), uid));  // chown's "no change"
}

TEST_CASE("security: the access mask of each rwx") {
  CHECK(access_mask_from_rwx(0, false) == 0);
  CHECK(access_mask_from_rwx(4, false) == 0x00120089);  // FILE_GENERIC_READ
  CHECK(access_mask_from_rwx(5, false) == 0x001200A9);  // read and execute
  CHECK(access_mask_from_rwx(6, false) == 0x0013019F);  // generic read, write, DELETE
  CHECK(access_mask_from_rwx(6, true) == 0x001301DF);   // ... and FILE_DELETE_CHILD
  CHECK(access_mask_from_rwx(7, false) == 0x001F01FF);  // FILE_ALL_ACCESS
  for (unsigned rwx = 0; rwx < 8; ++rwx) {
    CHECK(rwx_from_access_mask(access_mask_from_rwx(rwx, false)) == rwx);
    CHECK(rwx_from_access_mask(access_mask_from_rwx(rwx, true)) == rwx);
  }
  // Masks Windows Explorer writes: Modify, Read & execute, Write; generic rights.
  CHECK(rwx_from_access_mask(0x001301BF) == 7);
  CHECK(rwx_from_access_mask(0x00100116) == 2);
  CHECK(rwx_from_access_mask(0x80000000) == 4);
  CHECK(rwx_from_access_mask(0x10000000) == 7);
  CHECK(rwx_from_access_mask(0x00020000) == 0);  // READ_CONTROL alone
}

TEST_CASE("security: descriptor of a file with mode 0754") {
  SecurityDescriptor sd = security_descriptor_from_posix(file_of(0754), kAll);
  REQUIRE(sd.owner);
  REQUIRE(sd.group);
  REQUIRE(sd.dacl);
  CHECK(sd.owner->to_string() == "S-1-22-1-1000");
  CHECK(sd.group->to_string() == "S-1-22-2-100");
  CHECK(!sd.sacl);
  CHECK((sd.control & sd_control::SE_DACL_PRESENT) == 0);  // the encoder sets it
  REQUIRE(sd.dacl->aces.size() == 3);
  CHECK(sd.dacl->aces[0] == allow(0x001F01FF, unix_user_sid(1000)));
  CHECK(sd.dacl->aces[1] == allow(0x001200A9, unix_group_sid(100)));
  CHECK(sd.dacl->aces[2] == allow(0x00120089, everyone_sid()));

  // Classes without bits get no ACE.
  sd = security_descriptor_from_posix(file_of(0600), kAll);
  REQUIRE(sd.dacl->aces.size() == 1);
  CHECK(sd.dacl->aces[0].sid == unix_user_sid(1000));

  // Only what was asked for.
  sd = security_descriptor_from_posix(file_of(0644), kGroupSecurityInformation);
  CHECK(!sd.owner);
  CHECK(sd.group);
  CHECK(!sd.dacl);
  sd = security_descriptor_from_posix(file_of(0644), 0);
  CHECK(sd == SecurityDescriptor{});
  CHECK(encode(sd).size() == kSecurityDescriptorHeaderSize);
  sd = security_descriptor_from_posix(file_of(0644), kSaclSecurityInformation);
  CHECK(!sd.sacl);
}

TEST_CASE("security: mode -> descriptor -> mode is the identity") {
  for (bool directory : {false, true}) {
    for (mode_t mode = 0; mode < 0777 + 1; ++mode) {
      PosixSecurity file = file_of(mode, directory);
      SecurityDescriptor sd = security_descriptor_from_posix(file, kAll);
      // Through the wire, as a client would send it back.
      SecurityDescriptor back;
      REQUIRE(decode(encode(sd), back) == NtStatus::SUCCESS);
      PosixSecurityChange change;
      REQUIRE(posix_change_from_security_descriptor(back, kAll, file_of(0, directory), change) ==
              NtStatus::SUCCESS);
      CHECK(!change.uid);
      CHECK(!change.gid);
      mode_t got = change.permissions ? *change.permissions : 0;
      CHECK_MESSAGE(got == mode, std::oct, mode);
      // Sent back unchanged to the same file: nothing to do.
      REQUIRE(posix_change_from_security_descriptor(back, kAll, file, change) == NtStatus::SUCCESS);
      CHECK(change.empty());
    }
  }
}

TEST_CASE("security: a DACL back to mode bits") {
  PosixSecurity file = file_of(0644);
  // Explorer: owner Full control, group Read & execute, Everyone nothing.
  CHECK(permissions_after(dacl_only({allow(0x001F01FF, unix_user_sid(1000)),
                                     allow(0x001200A9, unix_group_sid(100))}),
                          file) == 0750);
  // Allow ACEs for one SID add up; INHERITED_ACE is fine.
  CHECK(permissions_after(dacl_only({allow(0x00120089, everyone_sid()),
                                     allow(0x00100116, everyone_sid(), ace_flag::INHERITED_ACE)}),
                          file) == 0006);
  // No ACE at all: no access for anyone.
  CHECK(permissions_after(dacl_only({}), file) == 0);
  // A NULL DACL: full access for everyone.
  SecurityDescriptor null_dacl;
  null_dacl.control |= sd_control::SE_DACL_PRESENT;
  CHECK(permissions_after(null_dacl, file) == 0777);
  // Setting the owner too: the DACL's owner ACE names the new owner.
  SecurityDescriptor sd = dacl_only({allow(0x001F01FF, unix_user_sid(2000))});
  sd.owner = unix_user_sid(2000);
  PosixSecurityChange change;
  REQUIRE(posix_change_from_security_descriptor(
              sd, kOwnerSecurityInformation | kDaclSecurityInformation, file, change) ==
          NtStatus::SUCCESS);
  CHECK(change.uid == uid_t{2000});
  CHECK(change.permissions == mode_t{0700});
  // The DACL is not looked at when only the owner is set.
  REQUIRE(posix_change_from_security_descriptor(sd, kOwnerSecurityInformation, file, change) ==
          NtStatus::SUCCESS);
  CHECK(change.uid == uid_t{2000});
  CHECK(!change.permissions);
}

TEST_CASE("security: what the mode cannot express is refused") {
  PosixSecurity file = file_of(0644);
  PosixSecurityChange change;
  auto refused = [&](const SecurityDescriptor& sd, std::uint32_t info) {
    return posix_change_from_security_descriptor(sd, info, file, change);
  };
  constexpr std::uint32_t dacl = kDaclSecurityInformation;
  // ACEs for SIDs without a POSIX class.
  CHECK(refused(dacl_only({allow(0x001F01FF, anonymous_sid())}), dacl) == NtStatus::NOT_SUPPORTED);
  CHECK(refused(dacl_only({allow(0x001F01FF, creator_owner_sid())}), dacl) ==
        NtStatus::NOT_SUPPORTED);
  CHECK(refused(dacl_only({allow(0x001F01FF, unix_user_sid(1001))}), dacl) ==
        NtStatus::NOT_SUPPORTED);
  // Deny ACEs, other types, inheritance.
  Ace deny = allow(0x2, everyone_sid());
  deny.type = AceType::ACCESS_DENIED_ACE_TYPE;
  CHECK(refused(dacl_only({deny}), dacl) == NtStatus::NOT_SUPPORTED);
  Ace audit;
  audit.type = AceType::SYSTEM_AUDIT_ACE_TYPE;
  audit.opaque = {0, 0, 0, 0};
  CHECK(refused(dacl_only({audit}), dacl) == NtStatus::NOT_SUPPORTED);
  CHECK(refused(dacl_only({allow(0x1F01FF, everyone_sid(),
                                 ace_flag::OBJECT_INHERIT_ACE | ace_flag::CONTAINER_INHERIT_ACE)}),
                dacl) == NtStatus::NOT_SUPPORTED);
  // Owners and groups that are not Unix SIDs, or missing.
  SecurityDescriptor sd;
  sd.owner = administrators_sid();
  CHECK(refused(sd, kOwnerSecurityInformation) == NtStatus::NOT_SUPPORTED);
  sd.group = everyone_sid();
  CHECK(refused(sd, kGroupSecurityInformation) == NtStatus::NOT_SUPPORTED);
  CHECK(refused(SecurityDescriptor{}, kOwnerSecurityInformation) == kStatusInvalidOwner);
  CHECK(refused(SecurityDescriptor{}, kGroupSecurityInformation) == kStatusInvalidPrimaryGroup);
  // A label to store.
  SecurityDescriptor labelled;
  Acl sacl;
  sacl.aces.push_back(audit);
  labelled.sacl = sacl;
  CHECK(refused(labelled, kLabelSecurityInformation) == NtStatus::NOT_SUPPORTED);
  CHECK(refused(SecurityDescriptor{}, kLabelSecurityInformation) == NtStatus::SUCCESS);
}

TEST_CASE("security: chmod and chown of a real file through a descriptor") {
  TestDir dir;
  TestDir::write(dir.root() / "f", "x");
  UniqueFd fd(::open((dir.root() / "f").c_str(), O_RDONLY | O_CLOEXEC));
  REQUIRE(fd.valid());
  REQUIRE(::fchmod(fd.get(), 04644) == 0);
  PosixSecurity before;
  REQUIRE(query_posix_security(fd.get(), before) == NtStatus::SUCCESS);
  CHECK((before.mode & 07777) == 04644);
  CHECK(before.uid == ::geteuid());

  // Read back what a query gives, change it to 0750 and apply: setuid stays.
  SecurityDescriptor sd = dacl_only({allow(0x001F01FF, unix_user_sid(before.uid)),
                                     allow(0x001200A9, unix_group_sid(before.gid))});
  REQUIRE(set_security_descriptor(fd.get(), sd, kDaclSecurityInformation) == NtStatus::SUCCESS);
  struct stat st {};
  REQUIRE(::fstat(fd.get(), &st) == 0);
  CHECK((st.st_mode & 07777) == 04750);

  // The same owner again is no change; another owner needs the right to chown.
  sd.owner = unix_user_sid(before.uid);
  CHECK(set_security_descriptor(fd.get(), sd, kOwnerSecurityInformation) == NtStatus::SUCCESS);
  sd.owner = unix_user_sid(before.uid == 4321 ? 4322 : 4321);
  NtStatus chown_status = set_security_descriptor(fd.get(), sd, kOwnerSecurityInformation);
  REQUIRE(::fstat(fd.get(), &st) == 0);
  if (::geteuid() == 0) {
    CHECK(chown_status == NtStatus::SUCCESS);
    CHECK(uid_from_sid(*sd.owner, before.uid));
    CHECK(st.st_uid == before.uid);
  } else {
    CHECK(chown_status == NtStatus::ACCESS_DENIED);
    CHECK(st.st_uid == ::geteuid());
  }
}
