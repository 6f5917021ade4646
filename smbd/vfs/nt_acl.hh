// NT ACLs stored with a file in the `security.NTACL` extended attribute (ntacl_xattr.hh),
// on shares with `vfs objects = acl_xattr`: reading and writing them, the descriptor a new
// file or directory inherits ([MS-DTYP] 2.5.3.4), and the permission bits that keep the
// POSIX mode in step with a DACL.
//
// Reading runs as the requesting user (any process may read `security.*` attributes
// when no security module says otherwise). Writing needs CAP_SYS_ADMIN, so it runs as
// the process (root) for the length of the one setxattr, after the caller has checked
// that the user may change the descriptor: WRITE_DAC / WRITE_OWNER on the open, or the
// creation of the file. Samba's vfs_acl_xattr stores the attribute the same way.
#pragma once

#include <sys/types.h>

#include <array>
#include <cstdint>
#include <optional>

#include "smbd/base/ntstatus.hh"
#include "smbd/base/security_descriptor.hh"
#include "smbd/vfs/nt_token.hh"
#include "smbd/vfs/security.hh"
#include "smbd/vfs/share.hh"

namespace smb::vfs {

// The descriptor stored with the file `fd` refers to (any descriptor, O_PATH too).
// SUCCESS with `out` empty when it has none (or the file system keeps no such
// attributes); INVALID_SECURITY_DESCR when the attribute holds something malformed.
NtStatus read_stored_descriptor(int fd, std::optional<dtyp::SecurityDescriptor>& out);

// Stores `sd` as version 4 as the process, with the SHA-256 of the file's POSIX side
// (posix_acl_hash) as `sys_acl_hash`, so that Samba takes it (the NT-ACL `hash` stays
// zero). The descriptor must have an owner and a group.
NtStatus write_stored_descriptor(int fd, const dtyp::SecurityDescriptor& sd);

// SHA-256 of the file's owner, group, mode and POSIX ACLs as Samba's vfs_acl_xattr
// hashes them (encode_posix_acl_wrapper; no POSIX ACL: the mode's three entries, no
// default ACL on a directory: an empty one), in the first 32 bytes. False when the
// file cannot be read or has a POSIX ACL this decoder refuses.
bool posix_acl_hash(int fd, std::array<std::uint8_t, 64>& out);

// The DACL a new entry inherits from its parent's DACL ([MS-DTYP] 2.5.3.4.2): empty when
// nothing is inheritable. CREATOR OWNER and CREATOR GROUP become `owner` and `group` in
// the entry's effective ACEs; a directory keeps the inheritable ACEs (inherit-only where
// they do not apply to itself) unless NO_PROPAGATE_INHERIT says otherwise; generic rights
// in effective ACEs are mapped. With `auto_inherit` (the parent's DACL is
// SE_DACL_AUTO_INHERITED: [MS-DTYP] 2.5.3.4.1 AutoInheritFlags DACL_AUTO_INHERIT) every ACE
// gets INHERITED_ACE and the entry's DACL is marked SE_DACL_AUTO_INHERITED by the
// caller; without it no ACE is marked, as Windows and Samba answer.
dtyp::Acl inherited_dacl(const dtyp::Acl& parent, bool is_directory, const dtyp::Sid& owner,
                         const dtyp::Sid& group, bool auto_inherit);

// The DACL control bits a SET_INFO or CREATE SecD stores: SE_DACL_AUTO_INHERIT_REQ is a
// request, never stored; SE_DACL_AUTO_INHERITED is kept only when the request came with
// it; SE_DACL_PROTECTED and the rest as given (as Windows and Samba answer smbtorture's
// smb2.acls.INHERITFLAGS).
std::uint16_t dacl_control_to_store(std::uint16_t given);

// The 0777 bits that give the file's owner, group and others what `sd`'s DACL gives them
// (the owner class: the owner SID, Everyone, Authenticated Users; the group class: the
// group SID and those two; others: Everyone and Authenticated Users). Deny ACEs take bits
// away as the access check would; ACEs for other SIDs change no bit, so the mode never
// grants a named user more than Everyone. The owner class always has read, and rwx on a
// directory (Samba's rule): the owner's access is decided by the DACL's check.
mode_t permissions_from_dacl(const dtyp::SecurityDescriptor& sd, uid_t uid, gid_t gid,
                             bool is_directory);

// The generic rights of every ACE mapped to file rights, as a descriptor a client sets
// is stored (Samba does the same; Windows keeps them in inherit-only ACEs).
void map_generic_rights(dtyp::Acl& acl);

// Stores `sd` (owner, group and DACL all present) with the file and sets the mode's
// 0777 bits from its DACL (setuid, setgid and sticky kept). The chmod runs as the
// caller, first: the kernel lets only the owner (or root) change the mode, and only
// then is the attribute written as the process. For a file the caller has just created
// (`new_file`), a refused chmod (`inherit owner` gave it away) leaves the mode as it is
// and the descriptor is still stored.
NtStatus store_descriptor(int fd, const dtyp::SecurityDescriptor& sd, bool new_file);

// The descriptor QUERY_INFO returns on a share that stores ACLs: the stored one, else
// the one made from the mode (security.hh), with the parts `security_information`
// selects. A malformed stored one is INVALID_SECURITY_DESCR.
NtStatus query_descriptor(int fd, std::uint32_t security_information,
                          dtyp::SecurityDescriptor& out);

// The chown a descriptor's owner and group (those `set_owner` / `set_group` select)
// ask of `file` for `token`: a POSIX user's SID other than the file's owner needs root
// or the token's own SID (else INVALID_OWNER); a SID no POSIX user has must be in the
// token (else INVALID_OWNER) and changes no uid; a POSIX group's SID is a chgrp (the
// kernel decides); any other group SID changes no gid. `sid_without_id` says that the
// descriptor names an owner or group the file's POSIX ids cannot show, so it must be
// stored.
NtStatus owners_to_apply(const PosixSecurity& file, bool set_owner,
                         const std::optional<dtyp::Sid>& owner, bool set_group,
                         const std::optional<dtyp::Sid>& group, const NtToken& token,
                         PosixSecurityChange& change, bool& sid_without_id);

// Whether a directory listing with `hide unreadable` shows the file `fd` refers to (any
// descriptor, O_PATH too), as Samba decides it: root sees everything; with `token` (a
// share that stores ACLs) the file's descriptor (stored, else the mode's) must grant
// FILE_READ_DATA, FILE_READ_EA, FILE_READ_ATTRIBUTES and READ_CONTROL, nothing standing
// in for them; without one the mode must let the caller read it. Runs as the caller.
bool entry_readable(int fd, const NtToken* token);

// A rename of the file `fd` refers to onto `target` (an SMB path of `share`) on a share
// that stores ACLs: the target's directory, when it has a stored descriptor, must grant
// `token` FILE_ADD_FILE (FILE_ADD_SUBDIRECTORY for a directory), and a target that
// `replace_if_exists` would remove must grant DELETE (its parent's FILE_DELETE_CHILD
// standing in), as a CREATE there would need ([MS-FSA] 2.1.5.14.11; Samba checks the
// same). ACCESS_DENIED when refused; SUCCESS otherwise (the rename itself decides the
// rest). Runs as the caller.
NtStatus check_rename_target(const Share& share, std::string_view target, int fd,
                             bool replace_if_exists, const NtToken& token);

// SET_INFO on such a share: the parts of `sd` that `security_information` selects
// replace those of the file's descriptor (stored, or made from the mode), generic
// rights mapped (map_generic_rights), DACL control bits as dacl_control_to_store says.
// A new owner that is a POSIX user is a chown as the caller (`token`'s; another user's
// SID needs root, else INVALID_OWNER); an owner SID of the token that is no POSIX user
// (Everyone, a group) is stored and the file keeps its POSIX owner; any other SID is
// INVALID_OWNER. A group that is no POSIX group is INVALID_PRIMARY_GROUP. A DACL is
// stored with store_descriptor(). The caller has checked WRITE_DAC / WRITE_OWNER. SACLs
// are not handled here.
NtStatus set_descriptor(int fd, const dtyp::SecurityDescriptor& sd,
                        std::uint32_t security_information, const NtToken& token);

}  // namespace smb::vfs
