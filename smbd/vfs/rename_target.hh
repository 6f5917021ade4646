// What a rename meets at its new name ([MS-FSA] 2.1.5.14.11): the directory the name goes
// into and the file the name already gives, if any, by the identities the open table
// knows files by (FileInfo's device and file_id), so the SMB layer can ask the table
// about their opens before renaming.
#pragma once

#include <cstdint>
#include <string_view>

#include "smbd/base/ntstatus.hh"
#include "smbd/vfs/share.hh"

namespace smb::vfs {

struct FileIdentity {
  std::uint64_t device = 0;
  std::uint64_t file_id = 0;
};

struct RenameTarget {
  FileIdentity directory;  // the directory of the new name
  bool exists = false;     // the new name is taken (possibly by the renamed file itself)
  FileIdentity existing;   // the file it names, when it exists
};

// The identity of the open file or directory `fd` (an O_PATH descriptor will do), without
// reading its metadata beyond the inode.
NtStatus identify_entry(int fd, FileIdentity& out);

// The identity of the directory holding the entry `smb_path` of `share` (the entry need
// not exist); ACCESS_DENIED for the share root, which has none in the share. A change of
// the entry breaks that directory's leases.
NtStatus directory_of(const Share& share, std::string_view smb_path, FileIdentity& out);

// Resolves `target` (an SMB path of `share`) as the rename will; the error of a target
// that does not resolve is the one the rename would give.
NtStatus find_rename_target(const Share& share, std::string_view target, RenameTarget& out);

}  // namespace smb::vfs
