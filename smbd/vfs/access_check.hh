// The access check of [MS-DTYP] 2.5.3.2 over a file's security descriptor, pure.
//
// - Generic rights are mapped with the file mapping ([MS-SMB2] 2.2.13.1.1), in the
//   desired access and in every ACE's mask (a stored ACE may carry generic bits; Samba
//   maps them when it stores a descriptor, this check maps them when it reads one).
// - No DACL (a NULL DACL): everything asked for is granted.
// - The owner (a SID of the token equal to the descriptor's owner) is granted
//   READ_CONTROL and WRITE_DAC before the ACEs are read, unless an effective ACE names
//   OWNER RIGHTS (S-1-3-4), whose ACEs then say what the owner gets.
// - ACEs are read in order; INHERIT_ONLY ones are skipped; an ACCESS_ALLOWED ACE whose
//   SID the token holds grants its bits that are still wanted, an ACCESS_DENIED one
//   refuses the whole request when it names a bit still wanted. Other ACE types (object,
//   callback, audit) do not take part.
// - MAXIMUM_ALLOWED: every bit the ACEs allow before an ACE denies it, plus the owner's;
//   with other bits asked for as well, those must be among them.
// - ACCESS_SYSTEM_SECURITY needs SeSecurityPrivilege (PRIVILEGE_NOT_HELD without it);
//   WRITE_OWNER is granted to a token with SeTakeOwnershipPrivilege. Only root's token
//   has privileges, and root, as in Samba, passes every check.
// Refusal is ACCESS_DENIED; `granted` is then 0.
#pragma once

#include <cstdint>

#include "smbd/base/ntstatus.hh"
#include "smbd/base/security_descriptor.hh"
#include "smbd/vfs/nt_token.hh"

namespace smb::vfs {

std::uint32_t map_generic_file_rights(std::uint32_t mask);

NtStatus access_check(const dtyp::SecurityDescriptor& sd, const NtToken& token,
                      std::uint32_t desired, std::uint32_t& granted);

// The check of an open of an existing file ([MS-FSA] 2.1.5.1.2.1): DELETE that the
// file's own descriptor refuses is granted when the parent directory's descriptor
// grants FILE_DELETE_CHILD, and FILE_READ_ATTRIBUTES when it grants
// FILE_LIST_DIRECTORY; MAXIMUM_ALLOWED includes them then. `parent` may be null (the
// share root has none to ask).
NtStatus access_check_for_open(const dtyp::SecurityDescriptor& sd,
                               const dtyp::SecurityDescriptor* parent, const NtToken& token,
                               std::uint32_t desired, std::uint32_t& granted);

}  // namespace smb::vfs
