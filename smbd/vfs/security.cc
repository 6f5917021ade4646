#include "smbd/vfs/security.hh"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <limits>
#include <string>

#include "smbd/base/errno_map.hh"
#include "smbd/base/wire.hh"

namespace smb::vfs {

namespace {

namespace a = access_mask;

bool unix_id_from_sid(const dtyp::Sid& sid, std::uint32_t rid, std::uint32_t& out) {
  // S-1-22-<rid>-<id>: exactly two sub-authorities.
  if (sid.authority() != kUnixAuthority || sid.sub_authorities.size() != 2 ||
      sid.sub_authorities[0] != rid)
    return false;
  out = sid.sub_authorities[1];
  return true;
}

// [MS-DTYP] 2.4.3: the generic rights of an ACE mask as the file rights they stand for.
std::uint32_t map_generic(std::uint32_t mask) {
  std::uint32_t out = mask & 0x0FFFFFFF;
  if (mask & a::GENERIC_READ) out |= kFileGenericReadAccess;
  if (mask & a::GENERIC_WRITE) out |= kFileGenericWriteAccess;
  if (mask & a::GENERIC_EXECUTE) out |= kFileGenericExecuteAccess;
  if (mask & a::GENERIC_ALL) out |= kFileAllAccess;
  return out;
}

// Which POSIX class an ACE's SID stands for.
enum class PosixClass { kOwner, kGroup, kOther, kNone };

}  // namespace

dtyp::Sid unix_user_sid(uid_t uid) {
  return dtyp::Sid::make(kUnixAuthority, {kUnixUserRid, static_cast<std::uint32_t>(uid)});
}

dtyp::Sid unix_group_sid(gid_t gid) {
  return dtyp::Sid::make(kUnixAuthority, {kUnixGroupRid, static_cast<std::uint32_t>(gid)});
}

bool uid_from_sid(const dtyp::Sid& sid, uid_t& out) {
  std::uint32_t id = 0;
  // (uid_t)-1 means "no change" to chown; it is nobody's id.
  if (!unix_id_from_sid(sid, kUnixUserRid, id) || id == std::numeric_limits<std::uint32_t>::max())
    return false;
  out = static_cast<uid_t>(id);
  return true;
}

bool gid_from_sid(const dtyp::Sid& sid, gid_t& out) {
  std::uint32_t id = 0;
  if (!unix_id_from_sid(sid, kUnixGroupRid, id) || id == std::numeric_limits<std::uint32_t>::max())
    return false;
  out = static_cast<gid_t>(id);
  return true;
}

std::uint32_t access_mask_from_rwx(unsigned rwx, bool is_directory) {
  if ((rwx & 7) == 7) return kFileAllAccess;
  std::uint32_t mask = 0;
  if (rwx & 4) mask |= kFileGenericReadAccess;
  if (rwx & 2) {
    mask |= kFileGenericWriteAccess | a::DELETE;
    // Write permission on a directory is what lets entries be removed from it.
    if (is_directory) mask |= a::FILE_DELETE_CHILD;
  }
  if (rwx & 1) mask |= kFileGenericExecuteAccess;
  return mask;
}

unsigned rwx_from_access_mask(std::uint32_t mask) {
  mask = map_generic(mask);
  unsigned rwx = 0;
  if (mask & a::FILE_READ_DATA) rwx |= 4;
  if (mask & a::FILE_WRITE_DATA) rwx |= 2;
  if (mask & a::FILE_EXECUTE) rwx |= 1;
  return rwx;
}

dtyp::SecurityDescriptor security_descriptor_from_posix(const PosixSecurity& file,
                                                        std::uint32_t security_information) {
  dtyp::SecurityDescriptor sd;
  if (security_information & kOwnerSecurityInformation) sd.owner = unix_user_sid(file.uid);
  if (security_information & kGroupSecurityInformation) sd.group = unix_group_sid(file.gid);
  if (security_information & kDaclSecurityInformation) {
    // Nothing is inherited in a POSIX tree: the DACL is protected from inheritance.
    sd.control |= dtyp::sd_control::SE_DACL_PROTECTED;
    dtyp::Acl acl;
    auto add = [&acl, &file](unsigned rwx, dtyp::Sid sid) {
      if (rwx == 0) return;
      dtyp::Ace ace;
      ace.type = dtyp::AceType::ACCESS_ALLOWED_ACE_TYPE;
      ace.mask = access_mask_from_rwx(rwx, file.is_directory);
      ace.sid = std::move(sid);
      acl.aces.push_back(std::move(ace));
    };
    add((file.mode >> 6) & 7, unix_user_sid(file.uid));
    add((file.mode >> 3) & 7, unix_group_sid(file.gid));
    add(file.mode & 7, dtyp::everyone_sid());
    sd.dacl = std::move(acl);
  }
  return sd;
}

NtStatus posix_change_from_security_descriptor(const dtyp::SecurityDescriptor& sd,
                                               std::uint32_t security_information,
                                               const PosixSecurity& file,
                                               PosixSecurityChange& out) {
  PosixSecurityChange change;
  uid_t owner = file.uid;
  gid_t group = file.gid;
  if (security_information & kOwnerSecurityInformation) {
    if (!sd.owner) return dtyp::kStatusInvalidOwner;
    if (!uid_from_sid(*sd.owner, owner)) return NtStatus::NOT_SUPPORTED;
    if (owner != file.uid) change.uid = owner;
  }
  if (security_information & kGroupSecurityInformation) {
    if (!sd.group) return dtyp::kStatusInvalidPrimaryGroup;
    if (!gid_from_sid(*sd.group, group)) return NtStatus::NOT_SUPPORTED;
    if (group != file.gid) change.gid = group;
  }
  // Labels and claims live in the SACL; there is nowhere to keep one.
  if ((security_information & (kLabelSecurityInformation | kAttributeSecurityInformation)) &&
      sd.sacl && !sd.sacl->aces.empty())
    return NtStatus::NOT_SUPPORTED;

  if (security_information & kDaclSecurityInformation) {
    mode_t permissions = 0;
    if (!sd.dacl) {
      // No DACL (a NULL DACL, or DACL_PRESENT clear): everyone has full access.
      permissions = 0777;
    } else {
      const dtyp::Sid owner_sid = unix_user_sid(owner);
      const dtyp::Sid group_sid = unix_group_sid(group);
      const dtyp::Sid everyone = dtyp::everyone_sid();
      unsigned bits[3] = {0, 0, 0};  // owner, group, other
      for (const dtyp::Ace& ace : sd.dacl->aces) {
        if (ace.type != dtyp::AceType::ACCESS_ALLOWED_ACE_TYPE) return NtStatus::NOT_SUPPORTED;
        if ((ace.flags & ~dtyp::ace_flag::INHERITED_ACE) != 0) return NtStatus::NOT_SUPPORTED;
        PosixClass cls = ace.sid == owner_sid   ? PosixClass::kOwner
                         : ace.sid == group_sid ? PosixClass::kGroup
                         : ace.sid == everyone  ? PosixClass::kOther
                                                : PosixClass::kNone;
        if (cls == PosixClass::kNone) return NtStatus::NOT_SUPPORTED;
        bits[static_cast<int>(cls)] |= rwx_from_access_mask(ace.mask);
      }
      permissions = static_cast<mode_t>(bits[0] << 6 | bits[1] << 3 | bits[2]);
    }
    if (permissions != (file.mode & 0777)) change.permissions = permissions;
  }
  out = change;
  return NtStatus::SUCCESS;
}

NtStatus query_posix_security(int fd, PosixSecurity& out) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) return last_error();
  out.uid = st.st_uid;
  out.gid = st.st_gid;
  out.mode = st.st_mode;
  out.is_directory = S_ISDIR(st.st_mode);
  return NtStatus::SUCCESS;
}

NtStatus apply_posix_security(int fd, const PosixSecurityChange& change) {
  if (change.empty()) return NtStatus::SUCCESS;
  struct stat st {};
  if (::fstat(fd, &st) != 0) return last_error();
  if (S_ISLNK(st.st_mode)) return NtStatus::NOT_SUPPORTED;
  if (change.uid || change.gid) {
    const uid_t uid = change.uid ? *change.uid : static_cast<uid_t>(-1);
    const gid_t gid = change.gid ? *change.gid : static_cast<gid_t>(-1);
    // Giving a file to another owner needs a privilege (Windows: SeRestorePrivilege).
    // This runs as the requesting user (docs/security.md), and only root, which `admin
    // users` act as, holds it; the kernel refuses other users as well (EPERM: ACCESS_DENIED).
    if (change.uid && ::geteuid() != 0) return NtStatus::ACCESS_DENIED;
    // By descriptor, also an O_PATH one (an attribute-only open, share.hh).
    if (::fchownat(fd, "", uid, gid, AT_EMPTY_PATH) != 0) return last_error();
    // chown may have cleared setuid/setgid; the mode below starts from what is now there.
    if (::fstat(fd, &st) != 0) return last_error();
  }
  if (change.permissions) {
    const mode_t mode = (st.st_mode & 07000) | (*change.permissions & 0777);
    // fchmod refuses O_PATH descriptors; the /proc link of the descriptor does not.
    const std::string link = "/proc/self/fd/" + std::to_string(fd);
    if (::chmod(link.c_str(), mode) != 0) return last_error();
  }
  return NtStatus::SUCCESS;
}

NtStatus set_security_descriptor(int fd, const dtyp::SecurityDescriptor& sd,
                                 std::uint32_t security_information) {
  PosixSecurity file;
  PosixSecurityChange change;
  NtStatus status = query_posix_security(fd, file);
  if (status == NtStatus::SUCCESS)
    status = posix_change_from_security_descriptor(sd, security_information, file, change);
  if (status == NtStatus::SUCCESS) status = apply_posix_security(fd, change);
  return status;
}

}  // namespace smb::vfs
