// A share: the root directory every path of a tree connect is resolved beneath.
//
// SMB paths (UTF-8, backslash separated, relative to the share root) are validated
// ([MS-FSCC] 2.1.5), matched case-insensitively component by component, and resolved
// with openat2(2) RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS from the root descriptor: a
// symlink inside the share is followed, one that leads outside (absolute, or through
// "..") is refused by the kernel at the moment of use, so there is no window between
// checking a path and using it. A CREATE that meets such a link stops on it (symlink.hh). Every
// later operation is an *at() call on descriptors obtained this way. A Share is immutable after
// open() and safe to share between threads.
#pragma once

#include <sys/stat.h>
#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "smbd/base/ntstatus.hh"
#include "smbd/base/unique_fd.hh"
#include "smbd/base/wire.hh"
#include "smbd/vfs/eas.hh"
#include "smbd/vfs/file.hh"
#include "smbd/vfs/new_file.hh"
#include "smbd/vfs/symlink.hh"

namespace smb::vfs {

// CreateDisposition and CreateAction ([MS-SMB2] 2.2.13, 2.2.14) are the wire enums of
// base/wire.hh, used here unchanged.
using smb::CreateAction;
using smb::CreateDisposition;
namespace create_option = ::smb::create_option;
namespace access_mask = ::smb::access_mask;

// Which backend serves the data of a share's regular files (file_data.hh; the choice is
// made by fsa/backend.hh).
enum class Backend {
  posix,  // pread/pwrite on the descriptor (posix_file_data.hh)
  pmem,   // a mapping per file (`pmem = yes`; pmem/mapped_file_data.hh)
};

struct OpenRequest {
  std::uint32_t desired_access = access_mask::FILE_READ_DATA;
  std::uint32_t file_attributes = 0;
  // Share modes, oplocks and leases are the SMB layer's bookkeeping; not used here.
  std::uint32_t share_access = 0;
  CreateDisposition create_disposition = CreateDisposition::FILE_OPEN;
  std::uint32_t create_options = 0;
  NewFilePolicy new_file;  // permissions and owner of a file or directory this creates
  // An overwrite disposition leaves the old data for the caller to drop (create_action
  // FILE_OVERWRITTEN / FILE_SUPERSEDED): pmem files are truncated through their mapping.
  bool defer_truncate = false;
  // A share that stores NT ACLs (they decided the access): an existing regular file the
  // caller may not read is opened O_PATH when nothing asked for needs its data
  // (attributes, READ_CONTROL, WRITE_DAC, WRITE_OWNER, DELETE, MAXIMUM_ALLOWED), as
  // Samba opens such files without data access.
  bool attribute_only_fallback = false;
  // [MS-FSA] 2.1.5.1: EAs given with the CREATE (the ExtA context), set on a file this
  // creates or overwrites and ignored for one it opens (eas.hh).
  std::shared_ptr<const std::vector<ExtendedAttribute>> eas;
  // [MS-SMB2] 2.2.13.2.6 AlSi: space a file this creates reserves, without growing it
  // (reserve_allocation, posix_file_data.hh); 0 for none.
  std::uint64_t allocation_size = 0;
};

struct OpenResult {
  UniqueFd fd;  // files: O_RDONLY / O_RDWR (O_WRONLY if only writing was asked and
                // reading is not permitted); directories: O_RDONLY | O_DIRECTORY
  CreateAction create_action = CreateAction::FILE_OPENED;
  FileInfo info;
  bool is_directory = false;
  bool writable = false;         // the descriptor allows writing
  bool attribute_only = false;   // an O_PATH descriptor (attribute_only_fallback)
  bool delete_on_close = false;  // FILE_DELETE_ON_CLOSE was requested; the caller acts
  std::string path;              // the path with the on-disk spelling, backslashes
  std::string name;              // its last component ("" for the share root)
  // The identity (FileInfo's device and file_id) of the directory holding it, whose
  // leases its creation breaks; zero for the share root.
  std::uint64_t parent_device = 0;
  std::uint64_t parent_file_id = 0;
  // STOPPED_ON_SYMLINK: the link not followed, and what of the path came after it.
  std::optional<SymlinkStop> symlink;
};

// A path resolved up to its last component.
struct Resolved {
  // O_PATH | O_DIRECTORY descriptor of the containing directory: the share root's own
  // for an entry of the root (and the root itself), else `owned_parent`'s.
  int parent = -1;
  UniqueFd owned_parent;
  std::string parent_path;       // on-disk path of that directory from the root, "/"-joined
  std::string name;              // on-disk name of the last component, "" for the root
  std::string requested;         // the last component as the client spelled it
  bool exists = false;           // `name` was found (exactly or ignoring case)
  // When an intermediate component could not be followed: `parent` and `name` are that
  // component and its directory, `unparsed` the rest of the path from its separator on.
  std::string unparsed;
  // What the lookup saw at `name` (not following a symlink) when it was found by its
  // exact spelling; st_mode 0 otherwise. A hint only: the entry may change after.
  struct stat entry {};
  std::string relative() const;  // on-disk path from the root ("." for the root)
  std::string smb_path() const;  // relative() with backslashes ("" for the root)
};

// An existing entry a CREATE has opened, before an overwrite changes anything.
struct ExistingEntry {
  int fd = -1;            // the open entry (O_PATH for an attribute-only open)
  int parent = -1;        // O_PATH descriptor of the directory it was found in
  std::string_view name;  // its on-disk name there, "" for the share root
  bool is_directory = false;
  bool attribute_only = false;
};

// The caller's decisions inside Share::open, made on what the open itself resolved and
// opened (no second lookup of the path): a status other than SUCCESS fails the open
// with that status and leaves nothing changed.
struct OpenChecks {
  // An existing entry, once opened and known to be the entry looked up.
  std::function<NtStatus(const ExistingEntry&)> existing;
  // Before a new entry is created in `parent` (O_PATH descriptor of the directory).
  std::function<NtStatus(int parent)> create;
};

// The figures of a share's file system; the SMB layer puts them into the [MS-FSCC] 2.5
// structures.
struct VolumeInfo {
  // Sizes in allocation units of sectors_per_allocation_unit * bytes_per_sector bytes.
  std::uint64_t total_allocation_units = 0;
  std::uint64_t caller_available_allocation_units = 0;
  std::uint64_t actual_available_allocation_units = 0;
  std::uint32_t sectors_per_allocation_unit = 1;
  std::uint32_t bytes_per_sector = 512;
  std::uint32_t serial_number = 0;  // derived from st_dev
  std::uint64_t creation_time = 0;  // the root directory's creation time
  std::uint32_t maximum_component_name_length = 255;
  // Names keep their case but are looked up ignoring it (share.hh), in Unicode.
  bool case_sensitive_search = false;
  bool case_preserved_names = true;
  bool unicode_on_disk = true;
  // FSCTL_DUPLICATE_EXTENTS_TO_FILE can share blocks here (FILE_SUPPORTS_BLOCK_REFCOUNTING).
  bool block_refcounting = false;
};

class Share {
 public:
  Share() = default;

  // Opens `root_path` (an existing directory). NOT_SUPPORTED with a message in
  // `error` when the kernel has no openat2(2) (Linux < 5.6).
  static NtStatus open(const std::string& root_path, Share& out, std::string* error = nullptr,
                       Backend backend = Backend::posix);

  bool valid() const { return root_.valid(); }
  // Whether a path component may name an entry by its 8.3 short name (short_name.hh),
  // as with Samba's `mangled names` other than "no".
  void set_short_name_lookup(bool on) { short_name_lookup_ = on; }
  int root_fd() const { return root_.get(); }
  Backend backend() const { return backend_; }

  // Validates `smb_path` and resolves every component but the last, which is looked
  // up (exactly, then ignoring case) but not opened. OBJECT_PATH_NOT_FOUND when an
  // intermediate directory is missing or not a directory; ACCESS_DENIED when it lies
  // outside the share.
  NtStatus resolve(std::string_view smb_path, Resolved& out) const;

  // CREATE with NT semantics ([MS-FSA] 2.1.5.1). A symbolic link this does not follow
  // (symlink.hh) answers STOPPED_ON_SYMLINK with out.symlink set; as the last component
  // with FILE_OPEN_REPARSE_POINT, the link itself is opened (O_PATH, attribute_only).
  // `checks`, when given, are consulted on the way (OpenChecks).
  NtStatus open(std::string_view smb_path, const OpenRequest& request, OpenResult& out,
                const OpenChecks* checks = nullptr) const;

  // Opens an existing file or directory for metadata only (O_PATH), following
  // symlinks beneath the share; for stat-like queries by path.
  NtStatus stat(std::string_view smb_path, FileInfo& out) const;

  // Renames `from` to `to` (both SMB paths in this share), files and directories.
  // Without replace_if_exists an existing target is OBJECT_NAME_COLLISION (atomic with
  // RENAME_NOREPLACE); with it, an existing directory target is ACCESS_DENIED
  // ([MS-FSA] 2.1.5.14.11). A case-only rename of the same entry is allowed.
  // `open_fd`, when given, must be the file at `from` (a guard against it having been
  // replaced meanwhile); OBJECT_NAME_NOT_FOUND otherwise.
  NtStatus rename(std::string_view from, std::string_view to, bool replace_if_exists,
                  int open_fd = -1) const;

  // Whether the calling thread's user may unlink the entry `name` of directory `parent`
  // as the file system decides it: write and search on the directory, and where the
  // directory is sticky, ownership of the directory or of the entry (root may always).
  // What a DELETE that no stored ACL of the entry grants is left to ([MS-FSA] 2.1.5.1.2.1
  // with the kernel's check underneath), known at the open rather than found at the close.
  static bool may_unlink(int parent, const std::string& name);

  // Deletes the file or (empty) directory at `smb_path`: the delete-on-close action.
  // DIRECTORY_NOT_EMPTY for a directory with entries; `open_fd` as for rename.
  NtStatus remove(std::string_view smb_path, int open_fd = -1) const;

  // statvfs of the share's file system.
  NtStatus volume_info(VolumeInfo& out) const;

  // Whether a file on `device` (FileInfo::device) lives in memory: the share's root is on
  // tmpfs or ramfs and the file on that same file system. Its metadata calls (statx,
  // xattrs) never wait for a device, so the event loop may make them itself.
  bool in_memory(std::uint64_t device) const {
    return memory_device_.has_value() && *memory_device_ == device;
  }
  // Whether `other` serves the same root directory (another tree connect of the share).
  bool same_root(const Share& other) const {
    return root_device_ == other.root_device_ && root_inode_ == other.root_inode_;
  }

 private:
  UniqueFd root_;
  std::uint64_t root_device_ = 0;  // the root's identity, read once at open
  std::uint64_t root_inode_ = 0;
  std::optional<std::uint64_t> memory_device_;  // root_device_, when it is tmpfs or ramfs
  bool clones_blocks_ = false;                  // ranges.hh clones_blocks_in, at open
  Backend backend_ = Backend::posix;
  bool short_name_lookup_ = true;
};

}  // namespace smb::vfs
