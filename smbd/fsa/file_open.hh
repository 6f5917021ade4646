// An open of a file or directory as the object store sees it (MS-FSA 2.1.1.5 Open): the
// file it names, the access it was granted, its sharing mode, its delete-on-close and
// oplock state, its position and mode. The SMB layer's open (FileId, session, tree,
// channel sequence) derives from it; fsa never looks past this part.
#pragma once

#include <array>
#include <compare>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "smbd/base/unique_fd.hh"
#include "smbd/vfs/file.hh"
#include "smbd/vfs/file_data.hh"
#include "smbd/vfs/share.hh"

namespace smb::fsa {

// What fsa reports about a file: the backend's NT view of it (times, sizes, attributes).
using FileInfo = vfs::FileInfo;

// Identifies a file across opens, processes and names (MS-FSA 2.1.1.4 File): the unit of
// share modes, delete-pending and oplocks.
struct FileKey {
  std::uint64_t device = 0;
  std::uint64_t inode = 0;
  auto operator<=>(const FileKey&) const = default;
};

// MS-FSA 2.1.5.18: the oplock types (LEVEL_GRANULAR is a lease), with LEVEL_NONE for an
// open that holds none.
enum class OplockType : std::uint8_t {
  LEVEL_NONE,
  LEVEL_TWO,
  LEVEL_ONE,
  LEVEL_BATCH,
  LEVEL_GRANULAR,
};

// A lease as an open sees it (MS-SMB2 3.3.1.13): key, state (hostwide::kLeaseRead,
// kLeaseHandle, kLeaseWrite), epoch and version; asked for by a CREATE, then granted.
struct LeaseInfo {
  std::array<std::uint8_t, 16> key{};
  std::array<std::uint8_t, 16> parent_key{};
  std::uint8_t state = 0;
  std::uint16_t epoch = 0;
  std::uint8_t version = 0;  // 1 or 2
  bool parent_set = false;
  bool breaking = false;  // a break is in progress (the CREATE response says so)
};

// What a CREATE asks of the host table's caching (fsa/caching.hh), set before admission.
struct CachingRequest {
  OplockType oplock = OplockType::LEVEL_NONE;  // LEVEL_GRANULAR: `lease`
  LeaseInfo lease;
  bool overwrites = false;  // FILE_OVERWRITE(_IF) or FILE_SUPERSEDE: a write of the file
  bool retry = false;       // the CREATE tries again after waiting for a break
};

struct FileOpen {
  std::string path;  // share-relative with the on-disk spelling, backslash separated
  FileKey key;
  // The directory holding the file (zero for the share root): its leases break when this
  // open adds, removes, renames or modifies the entry (MS-SMB2 3.3.4.7).
  FileKey parent;
  bool modified = false;  // data was written through this open: its close changes the entry
  std::shared_ptr<UniqueFd> fd;       // shared with blocking work in flight
  std::shared_ptr<vfs::FileData> io;  // regular files opened for data: READ/WRITE go here
  std::shared_ptr<vfs::Share> fs;     // the share the file lives in
  std::string stream;                 // a named stream's on-disk name ("" for the file)
  // A named stream's open also holds an entry without access in its file's record: the
  // file stays, delete-pending, while a stream of it is open ([MS-FSA] 2.1.5.5).
  std::shared_ptr<FileOpen> base_entry;
  bool base_goes = false;  // close_open(): that entry was the file's last and it goes
  bool is_directory = false;
  std::uint32_t granted_access = 0;
  std::uint32_t share_access = 0;
  bool delete_on_close = false;  // FILE_DELETE_ON_CLOSE or a disposition set on this open
  bool delete_pending = false;   // the file is to go when its last open closes
  // DELETE came from the file's own stored NT ACL, not from the share or the parent: a
  // delete the kernel refuses the user is made as the process.
  bool delete_granted_by_acl = false;
  OplockType oplock_level = OplockType::LEVEL_NONE;
  bool oplock_break_pending = false;  // a break was sent; the holder has not acknowledged
  CachingRequest caching_request;     // the CREATE's, read by the host table at admission
  bool caching_in_table = false;      // oplock or lease from the host table, not the kernel
  LeaseInfo lease;                    // granted, when oplock_level is LEVEL_GRANULAR
  std::uint64_t position = 0;         // FilePositionInformation
  std::uint32_t mode = 0;             // FileModeInformation

  // The last component of `path` ("" for the share root).
  std::string_view name() const;
};

}  // namespace smb::fsa
