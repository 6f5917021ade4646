#include "smbd/vfs/nt_acl.hh"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <openssl/sha.h>

#include <cerrno>
#include <string>

#include "smbd/base/credentials.hh"
#include "smbd/base/errno_map.hh"
#include "smbd/base/wire.hh"
#include "smbd/vfs/access_check.hh"
#include "smbd/vfs/nt_token.hh"
#include "smbd/vfs/ntacl_xattr.hh"
#include "smbd/vfs/openat2.hh"
#include "smbd/vfs/security.hh"

namespace smb::vfs {

namespace {

namespace flag = dtyp::ace_flag;

// A descriptor's file through /proc: the xattr calls on a path work for O_PATH
// descriptors as well, which f*xattr refuses.
std::string proc_path(int fd) { return "/proc/self/fd/" + std::to_string(fd); }

constexpr std::uint8_t kInheritFlags = flag::OBJECT_INHERIT_ACE | flag::CONTAINER_INHERIT_ACE |
                                       flag::NO_PROPAGATE_INHERIT_ACE | flag::INHERIT_ONLY_ACE;

// A Linux POSIX ACL attribute of the file: SUCCESS with nothing when it has none.
bool read_posix_acl(const std::string& path, const char* name,
                    std::optional<std::vector<PosixAclEntry>>& out) {
  out.reset();
  Bytes value(4096);
  const ssize_t n = ::getxattr(path.c_str(), name, value.data(), value.size());
  if (n < 0) return errno == ENODATA || errno == ENOTSUP;
  std::vector<PosixAclEntry> entries;
  if (!decode_linux_posix_acl(ByteSpan(value.data(), static_cast<std::size_t>(n)), entries))
    return false;
  out = std::move(entries);
  return true;
}

}  // namespace

bool posix_acl_hash(int fd, std::array<std::uint8_t, kNtaclHashSize>& out) {
  out.fill(0);
  struct stat st {};
  if (::fstat(fd, &st) != 0) return false;
  const std::string path = proc_path(fd);
  PosixAclState state;
  state.uid = st.st_uid;
  state.gid = st.st_gid;
  state.mode = st.st_mode;
  std::optional<std::vector<PosixAclEntry>> acl;
  if (!read_posix_acl(path, "system.posix_acl_access", acl)) return false;
  state.access = acl ? std::move(*acl) : posix_acl_from_mode(st.st_mode);
  if (S_ISDIR(st.st_mode)) {
    if (!read_posix_acl(path, "system.posix_acl_default", acl)) return false;
    state.default_acl = acl ? std::move(*acl) : std::vector<PosixAclEntry>{};
  }
  const Bytes blob = encode_posix_acl_wrapper(state);
  ::SHA256(blob.data(), blob.size(), out.data());
  return true;
}

NtStatus read_stored_descriptor(int fd, std::optional<dtyp::SecurityDescriptor>& out) {
  out.reset();
  // An open file or directory answers itself; an O_PATH descriptor has no xattr calls
  // of its own and is read through /proc/self/fd.
  auto get = [fd](Bytes& value) {
    const ssize_t n = ::fgetxattr(fd, kNtaclXattrName, value.data(), value.size());
    if (n >= 0 || errno != EBADF) return n;
    return ::getxattr(proc_path(fd).c_str(), kNtaclXattrName, value.data(), value.size());
  };
  // Most descriptors are small: a first try with a small buffer, the largest size an
  // attribute can have only when that is too small.
  Bytes value(4096);
  ssize_t n = get(value);
  if (n < 0 && errno == ERANGE) {
    value.resize(kMaxNtaclXattrSize);
    n = get(value);
  }
  if (n < 0) {
    if (errno == ENODATA || errno == ENOTSUP) return NtStatus::SUCCESS;
    // Larger than any attribute Linux keeps: not one this server or Samba wrote.
    if (errno == ERANGE) return dtyp::kStatusInvalidSecurityDescr;
    return last_error();
  }
  NtaclXattr x;
  if (NtStatus st = decode_ntacl_xattr(ByteSpan(value.data(), static_cast<std::size_t>(n)), x);
      st != NtStatus::SUCCESS)
    return st;
  out = std::move(x.sd);
  return NtStatus::SUCCESS;
}

NtStatus write_stored_descriptor(int fd, const dtyp::SecurityDescriptor& sd) {
  if (!sd.owner || !sd.group) return NtStatus::INVALID_PARAMETER;
  NtaclXattr x;
  x.sd = sd;
  // What Samba compares before it believes a version 4 descriptor: the hash of the
  // file's POSIX side as it is now. Without one, Samba shows the mode's descriptor.
  if (posix_acl_hash(fd, x.sys_acl_hash)) {
    x.hash_type = kNtaclHashTypeSha256;
    x.description = "posix_acl";
  }
  const Bytes value = encode_ntacl_xattr_v4(x);
  if (value.size() > kMaxNtaclXattrSize) return NtStatus::INSUFFICIENT_RESOURCES;
  credentials::IdentityScope as_process(credentials::process_identity());
  if (!as_process.ok()) return NtStatus::ACCESS_DENIED;
  if (::setxattr(proc_path(fd).c_str(), kNtaclXattrName, value.data(), value.size(), 0) != 0)
    return last_error();
  return NtStatus::SUCCESS;
}

dtyp::Acl inherited_dacl(const dtyp::Acl& parent, bool is_directory, const dtyp::Sid& owner,
                         const dtyp::Sid& group, bool auto_inherit) {
  dtyp::Acl out;
  out.revision = parent.revision;
  const dtyp::Sid creator_owner = dtyp::creator_owner_sid();
  const dtyp::Sid creator_group = creator_group_sid();
  const std::uint8_t inherited = auto_inherit ? flag::INHERITED_ACE : 0;
  auto add = [&out, inherited](const dtyp::Ace& from, std::uint8_t flags, dtyp::Sid sid,
                               bool effective) {
    dtyp::Ace ace = from;
    ace.flags = static_cast<std::uint8_t>((flags & ~flag::INHERITED_ACE) | inherited);
    ace.sid = std::move(sid);
    if (effective) ace.mask = map_generic_file_rights(ace.mask);
    out.aces.push_back(std::move(ace));
  };
  for (const dtyp::Ace& ace : parent.aces) {
    if (!ace.is_simple()) continue;  // object and callback ACEs are not inherited here
    const bool oi = (ace.flags & flag::OBJECT_INHERIT_ACE) != 0;
    const bool ci = (ace.flags & flag::CONTAINER_INHERIT_ACE) != 0;
    const bool no_propagate = (ace.flags & flag::NO_PROPAGATE_INHERIT_ACE) != 0;
    const bool creator = ace.sid == creator_owner || ace.sid == creator_group;
    dtyp::Sid effective_sid = ace.sid == creator_owner   ? owner
                              : ace.sid == creator_group ? group
                                                         : ace.sid;
    const std::uint8_t audit = ace.flags & static_cast<std::uint8_t>(~kInheritFlags);
    if (!is_directory) {
      if (oi) add(ace, audit & ~flag::INHERITED_ACE, effective_sid, true);
      continue;
    }
    if (ci) {
      if (no_propagate) {
        add(ace, audit & ~flag::INHERITED_ACE, effective_sid, true);
      } else if (creator) {
        // Applies to the directory with the creator's SID, and stays inheritable as is.
        add(ace, audit & ~flag::INHERITED_ACE, effective_sid, true);
        add(ace, static_cast<std::uint8_t>((ace.flags & kInheritFlags) | flag::INHERIT_ONLY_ACE),
            ace.sid, false);
      } else {
        add(ace,
            static_cast<std::uint8_t>(ace.flags & ~flag::INHERIT_ONLY_ACE & ~flag::INHERITED_ACE),
            ace.sid, true);
      }
    } else if (oi && !no_propagate) {
      // For the files below only.
      add(ace,
          static_cast<std::uint8_t>((ace.flags & ~flag::INHERITED_ACE) | flag::INHERIT_ONLY_ACE),
          ace.sid, false);
    }
  }
  return out;
}

mode_t permissions_from_dacl(const dtyp::SecurityDescriptor& sd, uid_t uid, gid_t gid,
                             bool is_directory) {
  auto rwx_of = [&sd](std::vector<dtyp::Sid> sids) {
    NtToken token;
    token.sids = std::move(sids);
    // Not the owner: the owner's implicit rights are no mode bits.
    dtyp::SecurityDescriptor view = sd;
    view.owner.reset();
    std::uint32_t granted = 0;
    if (access_check(view, token, access_mask::MAXIMUM_ALLOWED, granted) != NtStatus::SUCCESS)
      return 0u;
    return rwx_from_access_mask(granted);
  };
  const dtyp::Sid everyone = dtyp::everyone_sid();
  const dtyp::Sid authenticated = authenticated_users_sid();
  // The owner keeps read (and on a directory rwx) whatever the DACL says, as Samba's
  // POSIX side gives it: the owner can always reach the file to read or repair its
  // descriptor, and the DACL's check above the kernel's still refuses what it refuses.
  const unsigned owner_minimum = is_directory ? 7u : 4u;
  // OWNER RIGHTS (S-1-3-4) ACEs apply to the owner.
  const unsigned user =
      owner_minimum | rwx_of({unix_user_sid(uid), owner_rights_sid(), everyone, authenticated});
  const unsigned group = rwx_of({unix_group_sid(gid), everyone, authenticated});
  const unsigned other = rwx_of({everyone, authenticated});
  return static_cast<mode_t>(user << 6 | group << 3 | other);
}

std::uint16_t dacl_control_to_store(std::uint16_t given) {
  namespace c = dtyp::sd_control;
  std::uint16_t out = given & static_cast<std::uint16_t>(
                                  ~(c::SE_DACL_AUTO_INHERIT_REQ | c::SE_DACL_AUTO_INHERITED));
  if ((given & (c::SE_DACL_AUTO_INHERIT_REQ | c::SE_DACL_AUTO_INHERITED)) ==
      (c::SE_DACL_AUTO_INHERIT_REQ | c::SE_DACL_AUTO_INHERITED))
    out |= c::SE_DACL_AUTO_INHERITED;
  return out;
}

void map_generic_rights(dtyp::Acl& acl) {
  for (dtyp::Ace& ace : acl.aces)
    if (ace.is_simple()) ace.mask = map_generic_file_rights(ace.mask);
}

NtStatus store_descriptor(int fd, const dtyp::SecurityDescriptor& sd, bool new_file) {
  PosixSecurity file;
  if (NtStatus st = query_posix_security(fd, file); st != NtStatus::SUCCESS) return st;
  if (S_ISLNK(file.mode)) return NtStatus::NOT_SUPPORTED;
  mode_t mode =
      (file.mode & 07000) | permissions_from_dacl(sd, file.uid, file.gid, S_ISDIR(file.mode));
  // A file's owner write bit is its READONLY attribute (file.hh): a DACL leaves it as it
  // is, as Windows keeps the attribute apart from the ACL; what the DACL refuses the
  // owner is refused by its check.
  if (!S_ISDIR(file.mode)) mode = (mode & ~mode_t{S_IWUSR}) | (file.mode & S_IWUSR);
  if (::chmod(proc_path(fd).c_str(), mode) != 0 && !(new_file && errno == EPERM))
    return last_error();
  return write_stored_descriptor(fd, sd);
}

NtStatus check_rename_target(const Share& share, std::string_view target, int fd,
                             bool replace_if_exists, const NtToken& token) {
  if (token.is_root) return NtStatus::SUCCESS;
  Resolved r;
  if (share.resolve(target, r) != NtStatus::SUCCESS || r.parent < 0) return NtStatus::SUCCESS;
  std::optional<dtyp::SecurityDescriptor> parent;
  if (NtStatus st = read_stored_descriptor(r.parent, parent); st != NtStatus::SUCCESS)
    return NtStatus::ACCESS_DENIED;  // a descriptor that cannot be read may refuse
  struct stat st {};
  if (::fstat(fd, &st) != 0) return last_error();
  std::uint32_t granted = 0;
  if (parent && access_check(*parent, token,
                             S_ISDIR(st.st_mode) ? access_mask::FILE_ADD_SUBDIRECTORY
                                                 : access_mask::FILE_ADD_FILE,
                             granted) != NtStatus::SUCCESS)
    return NtStatus::ACCESS_DENIED;
  if (!replace_if_exists || !r.exists) return NtStatus::SUCCESS;
  UniqueFd existing(
      openat2_fd(share.root_fd(), r.relative().c_str(), O_PATH | O_NOFOLLOW, 0, kResolveBeneath));
  if (!existing) return NtStatus::SUCCESS;
  std::optional<dtyp::SecurityDescriptor> replaced;
  if (read_stored_descriptor(existing.get(), replaced) != NtStatus::SUCCESS)
    return NtStatus::ACCESS_DENIED;
  if (!replaced) return NtStatus::SUCCESS;  // the kernel decides, as for its unlink
  dtyp::SecurityDescriptor stand_in;
  if (parent) {
    stand_in = *parent;
  } else {
    PosixSecurity dir;
    if (NtStatus q = query_posix_security(r.parent, dir); q != NtStatus::SUCCESS) return q;
    stand_in = security_descriptor_from_posix(
        dir, kOwnerSecurityInformation | kGroupSecurityInformation | kDaclSecurityInformation);
  }
  return access_check_for_open(*replaced, &stand_in, token, access_mask::DELETE, granted) ==
                 NtStatus::SUCCESS
             ? NtStatus::SUCCESS
             : NtStatus::ACCESS_DENIED;
}

bool entry_readable(int fd, const NtToken* token) {
  if (token == nullptr) return ::faccessat(AT_FDCWD, proc_path(fd).c_str(), R_OK, AT_EACCESS) == 0;
  if (token->is_root) return true;
  dtyp::SecurityDescriptor sd;
  if (query_descriptor(
          fd, kOwnerSecurityInformation | kGroupSecurityInformation | kDaclSecurityInformation,
          sd) != NtStatus::SUCCESS)
    return false;
  constexpr std::uint32_t kRead = access_mask::FILE_READ_DATA | access_mask::FILE_READ_EA |
                                  access_mask::FILE_READ_ATTRIBUTES | access_mask::READ_CONTROL;
  std::uint32_t granted = 0;
  return access_check(sd, *token, kRead, granted) == NtStatus::SUCCESS;
}

NtStatus query_descriptor(int fd, std::uint32_t security_information,
                          dtyp::SecurityDescriptor& out) {
  std::optional<dtyp::SecurityDescriptor> stored;
  if (NtStatus st = read_stored_descriptor(fd, stored); st != NtStatus::SUCCESS) return st;
  if (!stored) {
    PosixSecurity file;
    if (NtStatus st = query_posix_security(fd, file); st != NtStatus::SUCCESS) return st;
    out = security_descriptor_from_posix(file, security_information);
    return NtStatus::SUCCESS;
  }
  out = dtyp::SecurityDescriptor{};
  out.sbz1 = stored->sbz1;
  if (security_information & kOwnerSecurityInformation) out.owner = stored->owner;
  if (security_information & kGroupSecurityInformation) out.group = stored->group;
  if (security_information & kDaclSecurityInformation) {
    // The DACL's control bits come with it.
    constexpr std::uint16_t kDaclControl =
        dtyp::sd_control::SE_DACL_PRESENT | dtyp::sd_control::SE_DACL_DEFAULTED |
        dtyp::sd_control::SE_DACL_AUTO_INHERIT_REQ | dtyp::sd_control::SE_DACL_AUTO_INHERITED |
        dtyp::sd_control::SE_DACL_PROTECTED | dtyp::sd_control::SE_DACL_TRUSTED;
    out.control |= stored->control & kDaclControl;
    out.dacl = stored->dacl;
  }
  return NtStatus::SUCCESS;
}

NtStatus owners_to_apply(const PosixSecurity& file, bool set_owner,
                         const std::optional<dtyp::Sid>& owner, bool set_group,
                         const std::optional<dtyp::Sid>& group, const NtToken& token,
                         PosixSecurityChange& change, bool& sid_without_id) {
  change = PosixSecurityChange{};
  sid_without_id = false;
  if (set_owner) {
    if (!owner) return dtyp::kStatusInvalidOwner;
    uid_t uid = 0;
    if (uid_from_sid(*owner, uid)) {
      // Another user's SID: only a privileged user may give a file away (Windows
      // answers INVALID_OWNER for an owner outside the caller's token, as Samba does);
      // taking it is a chown as the caller, which the kernel allows root alone.
      if (uid != file.uid && !token.is_root && !token.has(*owner)) return dtyp::kStatusInvalidOwner;
      if (uid != file.uid) change.uid = uid;
    } else {
      // A SID no POSIX user has (a group of the token, Everyone): the descriptor names
      // it and the file keeps its POSIX owner, as Samba stores it. Only a SID of the
      // caller's token may own the file (the owner must be in the token unless the
      // caller holds SeRestorePrivilege).
      if (!token.is_root && !token.has(*owner)) return dtyp::kStatusInvalidOwner;
      sid_without_id = true;
    }
  }
  if (set_group) {
    if (!group) return dtyp::kStatusInvalidPrimaryGroup;
    gid_t gid = 0;
    if (gid_from_sid(*group, gid)) {
      // A chgrp as the caller: the kernel allows the owner only groups it belongs to.
      if (gid != file.gid) change.gid = gid;
    } else {
      // Any SID may be a primary group ([MS-DTYP] 2.4.6); one no POSIX group has is
      // stored and the file keeps its POSIX group.
      sid_without_id = true;
    }
  }
  return NtStatus::SUCCESS;
}

NtStatus set_descriptor(int fd, const dtyp::SecurityDescriptor& sd,
                        std::uint32_t security_information, const NtToken& token) {
  PosixSecurity file;
  if (NtStatus st = query_posix_security(fd, file); st != NtStatus::SUCCESS) return st;
  std::optional<dtyp::SecurityDescriptor> stored;
  if (NtStatus st = read_stored_descriptor(fd, stored);
      st != NtStatus::SUCCESS && st != dtyp::kStatusInvalidSecurityDescr)
    return st;
  const std::uint32_t all =
      kOwnerSecurityInformation | kGroupSecurityInformation | kDaclSecurityInformation;
  // A malformed stored descriptor is replaced: what the mode says stands in for it.
  dtyp::SecurityDescriptor next = stored ? *stored : security_descriptor_from_posix(file, all);
  if (!next.owner) next.owner = unix_user_sid(file.uid);
  if (!next.group) next.group = unix_group_sid(file.gid);

  PosixSecurityChange owners;
  bool sid_without_id = false;
  if (NtStatus st =
          owners_to_apply(file, (security_information & kOwnerSecurityInformation) != 0, sd.owner,
                          (security_information & kGroupSecurityInformation) != 0, sd.group, token,
                          owners, sid_without_id);
      st != NtStatus::SUCCESS)
    return st;
  if (security_information & kOwnerSecurityInformation) next.owner = sd.owner;
  if (security_information & kGroupSecurityInformation) next.group = sd.group;
  if (NtStatus st = apply_posix_security(fd, owners); st != NtStatus::SUCCESS) return st;
  const bool dacl = (security_information & kDaclSecurityInformation) != 0;
  if (dacl) {
    // A DACL set without SE_DACL_PRESENT is a NULL DACL (as Windows and Samba store it,
    // smb2.create.nulldacl): present, granting everything.
    next.control = dacl_control_to_store(sd.control) | dtyp::sd_control::SE_SELF_RELATIVE |
                   dtyp::sd_control::SE_DACL_PRESENT;
    next.control &= static_cast<std::uint16_t>(~(dtyp::sd_control::SE_SACL_PRESENT));
    next.dacl = sd.dacl;
    if (next.dacl) map_generic_rights(*next.dacl);
  }
  next.sacl.reset();
  // Only the owner or group changed on a file without a stored descriptor: the chown
  // said it all.
  if (!dacl && !stored && !sid_without_id) return NtStatus::SUCCESS;
  return store_descriptor(fd, next, false);
}

}  // namespace smb::vfs
