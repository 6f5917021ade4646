// The NT security view of a POSIX file: a security descriptor made from its owner,
// group and permission bits, and the way back from a descriptor to chown/chmod.
//
// Identities: uid N is the SID S-1-22-1-N and gid N is S-1-22-2-N (the "Unix User" and
// "Unix Group" authorities other SMB servers use for unmapped POSIX ids). Everyone
// (S-1-1-0) stands for "other".
//
// Permissions: the DACL has one ACCESS_ALLOWED ACE per POSIX class that has any bit:
//   owner SID <- the user bits, group SID <- the group bits, Everyone <- the other bits.
// Each class's rwx becomes an access mask:
//   r -> FILE_GENERIC_READ            (directories: list, read attributes and EAs)
//   w -> FILE_GENERIC_WRITE | DELETE  (directories also FILE_DELETE_CHILD)
//   x -> FILE_GENERIC_EXECUTE         (directories: traverse)
//   rwx -> FILE_ALL_ACCESS
// The way back reads each class from the ACEs for its SID (allow masks are ORed, generic
// rights mapped first): FILE_READ_DATA gives r, FILE_WRITE_DATA w, FILE_EXECUTE x; a
// class without an ACE gets no bits. The other rights in a mask have no per-class mode
// bit and are not stored. So mode -> DACL -> mode is the identity for every mode.
// setuid, setgid and sticky bits are never changed.
//
// What the mode cannot express is refused with NOT_SUPPORTED rather than stored in part:
// ACCESS_DENIED ACEs, other ACE types, inheritance flags other than INHERITED_ACE, ACEs
// for any other SID (another user, CREATOR OWNER, Anonymous, ...), owners and groups
// that are not S-1-22 SIDs, and SACLs, labels or claims with any entry. A NULL DACL
// (everyone full access, [MS-DTYP] 2.4.6) becomes rwx for every class.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>

#include "smbd/base/ntstatus.hh"
#include "smbd/base/security_descriptor.hh"
#include "smbd/base/wire.hh"

namespace smb::vfs {

inline constexpr std::uint64_t kUnixAuthority = 22;
inline constexpr std::uint32_t kUnixUserRid = 1;
inline constexpr std::uint32_t kUnixGroupRid = 2;

// The POSIX facts a descriptor is made from.
struct PosixSecurity {
  uid_t uid = 0;
  gid_t gid = 0;
  mode_t mode = 0;  // full st_mode
  bool is_directory = false;
  bool operator==(const PosixSecurity&) const = default;
};

// What a SET_INFO security request changes; unset members stay as they are.
struct PosixSecurityChange {
  std::optional<uid_t> uid;
  std::optional<gid_t> gid;
  std::optional<mode_t> permissions;  // the 0777 bits only
  bool empty() const { return !uid && !gid && !permissions; }
  bool operator==(const PosixSecurityChange&) const = default;
};

dtyp::Sid unix_user_sid(uid_t uid);
dtyp::Sid unix_group_sid(gid_t gid);
bool uid_from_sid(const dtyp::Sid& sid, uid_t& out);
bool gid_from_sid(const dtyp::Sid& sid, gid_t& out);

// One class's three bits (0..7) as an access mask, and back.
std::uint32_t access_mask_from_rwx(unsigned rwx, bool is_directory);
unsigned rwx_from_access_mask(std::uint32_t mask);

// The descriptor QUERY_INFO returns for `security_information` ([MS-SMB2] 2.2.37
// AdditionalInformation): owner, group and DACL when asked for; never a SACL.
dtyp::SecurityDescriptor security_descriptor_from_posix(const PosixSecurity& file,
                                                        std::uint32_t security_information);

// What setting the parts of `sd` selected by `security_information` means for `file`:
// SUCCESS with `out` filled, NOT_SUPPORTED for what the mode cannot express,
// INVALID_OWNER / INVALID_PRIMARY_GROUP when an owner or group is to be set and `sd`
// has none. The caller has checked the access rights.
NtStatus posix_change_from_security_descriptor(const dtyp::SecurityDescriptor& sd,
                                               std::uint32_t security_information,
                                               const PosixSecurity& file, PosixSecurityChange& out);

// fstat of an open descriptor.
NtStatus query_posix_security(int fd, PosixSecurity& out);
// fchown (only for ids that change) then fchmod, keeping the setuid/setgid/sticky bits.
// A process that may not chown gets ACCESS_DENIED (EPERM). Refuses symbolic links.
NtStatus apply_posix_security(int fd, const PosixSecurityChange& change);
// The three together, as SET_INFO and CREATE with a security descriptor do them.
NtStatus set_security_descriptor(int fd, const dtyp::SecurityDescriptor& sd,
                                 std::uint32_t security_information);

}  // namespace smb::vfs
