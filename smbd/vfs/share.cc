#include "smbd/vfs/share.hh"

#include <dirent.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>
#include <vector>

#include "smbd/base/errno_map.hh"
#include "smbd/vfs/names.hh"
#include "smbd/vfs/nt_time.hh"
#include "smbd/vfs/openat2.hh"
#include "smbd/vfs/posix_file_data.hh"
#include "smbd/vfs/ranges.hh"
#include "smbd/vfs/rename_target.hh"
#include "smbd/vfs/short_name.hh"

namespace smb::vfs {

namespace fa = file_attribute;
namespace am = access_mask;
namespace co = create_option;

namespace {

// Whether `name` could be a short name this server made (short_name.hh): an 8.3 name
// with the '~' of the mangled form. Only such a miss costs a short name per entry.
bool may_be_short_name(std::string_view name) {
  return name.find('~') != std::string_view::npos && is_8_3(name);
}

// Finds `wanted` in directory `dir`: the exact name first, then the first entry (in
// byte order, for determinism) that equals it ignoring case, then, with
// `short_names`, the first whose 8.3 short name equals it ignoring case (as Windows
// opens a file by its short name).
// `st` is what the exact name showed; st_mode 0 when the name was found otherwise.
NtStatus lookup(int dir, std::string_view wanted, std::string& found, bool& exists, struct stat& st,
                bool short_names) {
  std::string name(wanted);
  if (::fstatat(dir, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0) {
    found = std::move(name);
    exists = true;
    return NtStatus::SUCCESS;
  }
  if (errno != ENOENT) return resolve_error(errno, false);
  st = {};
  exists = false;
  found.clear();
  UniqueFd readable(::openat(dir, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!readable) return last_error();
  std::unique_ptr<DIR, int (*)(DIR*)> stream(::fdopendir(readable.get()), &::closedir);
  if (!stream) return last_error();
  (void)readable.release();  // owned by the DIR stream now
  const bool by_short_name = short_names && may_be_short_name(wanted);
  std::string by_short;  // the first entry whose short name matched
  while (const dirent* e = ::readdir(stream.get())) {
    std::string_view candidate = e->d_name;
    if (candidate == "." || candidate == "..") continue;
    if (names_equal_ci(candidate, wanted)) {
      if (!exists || candidate < found) found = candidate;
      exists = true;
    } else if (by_short_name && !exists && !is_8_3(candidate) &&
               names_equal_ci(mangle_8_3(candidate), wanted) &&
               (by_short.empty() || candidate < by_short)) {
      by_short = candidate;
    }
  }
  if (!exists && !by_short.empty()) {
    found = std::move(by_short);
    exists = true;
  }
  return NtStatus::SUCCESS;
}

std::string join(const std::string& dir, std::string_view name) {
  if (dir.empty()) return std::string(name);
  std::string out = dir;
  out += '/';
  out += name;
  return out;
}

// The errors of a lookup beneath the root that a symbolic link on the way causes when the
// share does not follow it: it leaves the share (EXDEV), loops (ELOOP) or leads nowhere
// (ENOENT).
bool link_not_followed(int err) { return err == EXDEV || err == ELOOP || err == ENOENT; }

bool same_file(const struct stat& a, const struct stat& b) {
  return a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

// The entry `name` in `parent` is still the file open as `open_fd`. A symlink entry
// is accepted as is: the descriptor was opened through it.
NtStatus check_identity(int parent, const std::string& name, int open_fd) {
  if (open_fd < 0) return NtStatus::SUCCESS;
  struct stat entry {};
  struct stat opened {};
  if (::fstatat(parent, name.c_str(), &entry, AT_SYMLINK_NOFOLLOW) != 0) return last_error();
  if (::fstat(open_fd, &opened) != 0) return last_error();
  if (S_ISLNK(entry.st_mode) || same_file(entry, opened)) return NtStatus::SUCCESS;
  return NtStatus::OBJECT_NAME_NOT_FOUND;
}

// What an O_PATH descriptor can serve: no data, no attribute writes.
constexpr std::uint32_t kAttributeOnlyAccess = am::FILE_READ_ATTRIBUTES | am::READ_CONTROL |
                                               am::WRITE_DAC | am::WRITE_OWNER | am::DELETE |
                                               am::SYNCHRONIZE | am::MAXIMUM_ALLOWED;

constexpr bool overwrites(CreateDisposition d) {
  return d == CreateDisposition::FILE_SUPERSEDE || d == CreateDisposition::FILE_OVERWRITE ||
         d == CreateDisposition::FILE_OVERWRITE_IF;
}

// Outcome of one attempt; kRetry when a concurrent change of the name space was seen
// and resolution must start again.
enum class Attempt { kDone, kRetry };

}  // namespace

std::string Resolved::relative() const {
  if (name.empty()) return parent_path.empty() ? "." : parent_path;
  return join(parent_path, name);
}

std::string Resolved::smb_path() const {
  std::string path = name.empty() ? parent_path : join(parent_path, name);
  std::replace(path.begin(), path.end(), '/', '\\');
  return path;
}

NtStatus Share::open(const std::string& root_path, Share& out, std::string* error,
                     Backend backend) {
  const int fd = openat2_fd(AT_FDCWD, root_path.c_str(), O_PATH | O_DIRECTORY, 0, 0);
  if (fd < 0) {
    const int err = errno;
    if (error != nullptr) {
      if (err == ENOSYS) {
        *error = "openat2(2) is not available: Linux 5.6 or later is required";
      } else {
        *error = "cannot open share root '" + root_path + "': " + std::strerror(err);
      }
    }
    return err == ENOSYS ? NtStatus::NOT_SUPPORTED : errno_to_ntstatus(err);
  }
  out.root_.reset(fd);
  out.backend_ = backend;
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    const int err = errno;
    if (error != nullptr)
      *error = "cannot stat share root '" + root_path + "': " + std::strerror(err);
    return errno_to_ntstatus(err);
  }
  out.root_device_ = (static_cast<std::uint64_t>(major(st.st_dev)) << 32) | minor(st.st_dev);
  out.root_inode_ = st.st_ino;
  struct statfs fs {};
  if (::fstatfs(fd, &fs) == 0 && (fs.f_type == TMPFS_MAGIC || fs.f_type == RAMFS_MAGIC))
    out.memory_device_ = out.root_device_;
  else
    out.clones_blocks_ = clones_blocks_in(fd);  // memory file systems never do
  return NtStatus::SUCCESS;
}

NtStatus Share::resolve(std::string_view smb_path, Resolved& out) const {
  std::vector<std::string_view> components;
  if (NtStatus st = split_path(smb_path, components); st != NtStatus::SUCCESS) return st;
  out = Resolved{};
  UniqueFd dir;
  if (components.size() > 1) {
    // The directories as spelled first: the kernel walks them in one call, beneath the
    // root and as the calling user, which is what the walk below does component by
    // component when some name differs in case (or is missing).
    std::string exact(components.front());
    for (std::size_t i = 1; i + 1 < components.size(); ++i) exact = join(exact, components[i]);
    dir.reset(openat2_fd(root_.get(), exact.c_str(), O_PATH | O_DIRECTORY, 0, kResolveBeneath));
    if (dir) out.parent_path = std::move(exact);
  }
  const std::size_t walked = dir ? components.size() - 1 : 0;
  // Lookups in the root go through its descriptor itself: the kernel checks the calling
  // user's search permission on it at each one, as it would on a copy opened now.
  if (components.empty()) {
    out.parent = root_.get();
    out.exists = true;
    return NtStatus::SUCCESS;
  }
  for (std::size_t i = walked; i + 1 < components.size(); ++i) {
    std::string found;
    bool exists = false;
    struct stat unused {};
    if (NtStatus st = lookup(dir ? dir.get() : root_.get(), components[i], found, exists, unused,
                             short_name_lookup_);
        st != NtStatus::SUCCESS) {
      return st == NtStatus::OBJECT_NAME_NOT_FOUND ? NtStatus::OBJECT_PATH_NOT_FOUND : st;
    }
    if (!exists) return NtStatus::OBJECT_PATH_NOT_FOUND;
    out.parent_path = join(out.parent_path, found);
    // Re-walked from the root each time, so a symlink may lead anywhere inside the
    // share (also upwards) but never out of it.
    UniqueFd next(
        openat2_fd(root_.get(), out.parent_path.c_str(), O_PATH | O_DIRECTORY, 0, kResolveBeneath));
    if (!next) {
      const int err = errno;
      if (!link_not_followed(err)) return resolve_error(err, true);
      // Where the walk stopped, for a CREATE to tell a link it does not follow.
      const std::size_t end =
          static_cast<std::size_t>(components[i].data() + components[i].size() - smb_path.data());
      out.unparsed = std::string(smb_path.substr(end));
      out.name = std::move(found);
      out.owned_parent = std::move(dir);
      out.parent = out.owned_parent ? out.owned_parent.get() : root_.get();
      return resolve_error(err, true);
    }
    dir = std::move(next);
  }
  out.requested = std::string(components.back());
  std::string found;
  bool exists = false;
  if (NtStatus st = lookup(dir ? dir.get() : root_.get(), components.back(), found, exists,
                           out.entry, short_name_lookup_);
      st != NtStatus::SUCCESS) {
    return st;
  }
  out.exists = exists;
  out.name = exists ? std::move(found) : out.requested;
  out.owned_parent = std::move(dir);
  out.parent = out.owned_parent ? out.owned_parent.get() : root_.get();
  return NtStatus::SUCCESS;
}

NtStatus Share::stat(std::string_view smb_path, FileInfo& out) const {
  Resolved r;
  if (NtStatus st = resolve(smb_path, r); st != NtStatus::SUCCESS) return st;
  if (!r.exists) return NtStatus::OBJECT_NAME_NOT_FOUND;
  UniqueFd fd(openat2_fd(root_.get(), r.relative().c_str(), O_PATH, 0, kResolveBeneath));
  if (!fd) return resolve_error(errno, false);
  return query_info(fd.get(), r.name, out);
}

namespace {

struct OpenContext {
  int root;
  const OpenRequest& request;
  bool want_read;
  bool want_write;       // the client asked for data writes explicitly
  bool maximum_allowed;  // writing is welcome but optional
  const OpenChecks* checks;
};

// Applies the attributes a new or overwritten file gets ([MS-FSA] 2.1.5.1.2.1):
// the requested ones, plus ARCHIVE for files.
NtStatus apply_create_attributes(int fd, const std::string& name, std::uint32_t requested,
                                 bool is_directory, bool created, bool store_dos_attributes) {
  // SPARSE comes only from FSCTL_SET_SPARSE.
  std::uint32_t attrs = requested & ~(fa::FILE_ATTRIBUTE_DIRECTORY | fa::FILE_ATTRIBUTE_NORMAL |
                                      fa::FILE_ATTRIBUTE_SPARSE_FILE);
  if (is_directory) {
    attrs &= ~fa::FILE_ATTRIBUTE_TEMPORARY;
  } else {
    attrs |= fa::FILE_ATTRIBUTE_ARCHIVE;
  }
  // An overwritten file keeps its creation time; its attributes are replaced.
  if (!store_dos_attributes || !created) {
    if (attrs == 0) return NtStatus::SUCCESS;
    BasicInfoChange change;
    change.file_attributes = attrs;
    change.store_dos_attributes = store_dos_attributes;
    return set_basic_info(fd, name, change);
  }
  // READONLY is the mode's too (file.hh); set after the attribute is stored.
  if (NtStatus st = store_new_file_attributes(fd, attrs & ~fa::FILE_ATTRIBUTE_READONLY);
      st != NtStatus::SUCCESS) {
    return st;
  }
  if ((attrs & fa::FILE_ATTRIBUTE_READONLY) == 0) return NtStatus::SUCCESS;
  BasicInfoChange change;
  change.file_attributes = attrs;
  return set_basic_info(fd, name, change);
}

// What a new or overwritten file gets from its CREATE: the attributes, then the EAs of
// the ExtA context.
NtStatus apply_create_metadata(int fd, const std::string& name, const OpenRequest& req,
                               bool is_directory, bool created) {
  NtStatus a = apply_create_attributes(fd, name, req.file_attributes, is_directory, created,
                                       req.new_file.store_dos_attributes);
  if (a == NtStatus::SUCCESS && req.eas) a = set_eas(fd, *req.eas);
  // Space reserved for a file this creates: an overwritten one gets it once its old data
  // is gone (fsa::finish_overwrite).
  if (a == NtStatus::SUCCESS && created && !is_directory && req.allocation_size != 0)
    a = reserve_allocation(fd, req.allocation_size);
  return a;
}

// Whether the entry `name` of `dir`, through which resolving failed with an error
// link_not_followed() accepts, is a symbolic link; its target then goes into `stop`.
bool unfollowed_symlink(int dir, const std::string& name, SymlinkStop& stop) {
  return read_symlink(dir, name, stop.target) == NtStatus::SUCCESS;
}

// The last component of a CREATE's path is a link the share does not follow: it is
// opened itself with FILE_OPEN_REPARSE_POINT (as an attribute-only open: a link has no
// data here), else the CREATE stops on it. kRetry when the entry is no such link.
Attempt stop_on_symlink(const OpenContext& c, const Resolved& r, int err, OpenResult& out,
                        NtStatus& st) {
  const OpenRequest& req = c.request;
  SymlinkStop stop;
  if (!link_not_followed(err) || !unfollowed_symlink(r.parent, r.name, stop))
    return Attempt::kRetry;
  const CreateDisposition disp = req.create_disposition;
  if (disp == CreateDisposition::FILE_CREATE) {
    st = NtStatus::OBJECT_NAME_COLLISION;
    return Attempt::kDone;
  }
  if ((req.create_options & co::FILE_OPEN_REPARSE_POINT) == 0) {
    out.symlink = std::move(stop);
    st = NtStatus::STOPPED_ON_SYMLINK;
    return Attempt::kDone;
  }
  // [MS-FSA] 2.1.5.1.2.1: the reparse point itself, which has no data to replace or read.
  if (overwrites(disp) || c.want_write) {
    st = NtStatus::ACCESS_DENIED;
    return Attempt::kDone;
  }
  if ((req.create_options & co::FILE_DIRECTORY_FILE) != 0) {
    st = NtStatus::NOT_A_DIRECTORY;
    return Attempt::kDone;
  }
  out.fd.reset(openat2_fd(r.parent, r.name.c_str(), O_PATH | O_NOFOLLOW, 0, kResolveNoLinks));
  if (!out.fd) {
    st = resolve_error(errno, false);
    return Attempt::kDone;
  }
  out.attribute_only = true;
  out.create_action = CreateAction::FILE_OPENED;
  return Attempt::kDone;
}

// Whether the statx of an opened descriptor shows the file an earlier stat saw.
bool same_file(const struct statx& opened, const struct stat& seen) {
  return makedev(opened.stx_dev_major, opened.stx_dev_minor) == seen.st_dev &&
         opened.stx_ino == seen.st_ino;
}

// `info_done`: out.info already describes the open file (nothing changed it after).
Attempt open_existing(const OpenContext& c, const Resolved& r, OpenResult& out, NtStatus& st,
                      bool& info_done) {
  const OpenRequest& req = c.request;
  const CreateDisposition disp = req.create_disposition;
  const std::string rel = r.relative();
  const bool overwrite = overwrites(disp);
  st = NtStatus::SUCCESS;

  // A regular file the lookup saw, opened for nothing that its READONLY, HIDDEN or SYSTEM
  // attribute decides (no data write, overwrite or delete-on-close, no MAXIMUM_ALLOWED
  // that would take write access), is opened straight away: relative to its directory,
  // following no link, then checked to be the file seen. Anything else is first
  // identified without being opened for I/O, so that nothing but regular files and
  // directories is ever opened (a FIFO or device would block or act).
  const bool direct = S_ISREG(r.entry.st_mode) && !c.want_write && !overwrite &&
                      !c.maximum_allowed && (req.create_options & co::FILE_DELETE_ON_CLOSE) == 0;
  UniqueFd probe;
  struct stat seen = r.entry;
  if (!direct) {
    probe.reset(openat2_fd(c.root, rel.c_str(), O_PATH, 0, kResolveBeneath));
    if (!probe) {
      const int err = errno;
      if (const Attempt a = stop_on_symlink(c, r, err, out, st); a != Attempt::kRetry) return a;
      if (err == ENOENT) {
        struct stat link {};
        if (::fstatat(r.parent, r.name.c_str(), &link, AT_SYMLINK_NOFOLLOW) != 0) {
          return Attempt::kRetry;  // removed meanwhile
        }
        // Taken, yet not reachable (a link made between the two looks): nothing to open.
        st = (disp == CreateDisposition::FILE_OPEN || disp == CreateDisposition::FILE_OVERWRITE)
                 ? NtStatus::OBJECT_NAME_NOT_FOUND
                 : NtStatus::OBJECT_NAME_COLLISION;
        return Attempt::kDone;
      }
      st = resolve_error(err, false);
      return Attempt::kDone;
    }
    if (::fstat(probe.get(), &seen) != 0) {
      st = last_error();
      return Attempt::kDone;
    }
  }
  if (disp == CreateDisposition::FILE_CREATE) {
    st = NtStatus::OBJECT_NAME_COLLISION;
    return Attempt::kDone;
  }
  const bool is_directory = S_ISDIR(seen.st_mode);
  if (!is_directory && !S_ISREG(seen.st_mode)) {
    st = NtStatus::ACCESS_DENIED;  // devices, FIFOs and sockets are not served
    return Attempt::kDone;
  }
  // The entry seen, opened with `flags`; -1 with errno otherwise.
  auto open_seen = [&](std::uint64_t flags) {
    return direct ? openat2_fd(r.parent, r.name.c_str(), flags, 0, kResolveNoLinks)
                  : openat2_fd(c.root, rel.c_str(), flags, 0, kResolveBeneath);
  };
  // A failure to open that a change of the entry since it was seen explains.
  auto changed = [direct](int err) { return err == ENOENT || (direct && err == ELOOP); };

  UniqueFd fd;
  if (is_directory) {
    if ((req.create_options & co::FILE_NON_DIRECTORY_FILE) != 0) {
      st = NtStatus::FILE_IS_A_DIRECTORY;
      return Attempt::kDone;
    }
    if (overwrite) {
      st = NtStatus::INVALID_PARAMETER;  // a directory cannot be overwritten
      return Attempt::kDone;
    }
    fd.reset(open_seen(O_RDONLY | O_DIRECTORY));
    if (!fd) {
      if (errno == ENOTDIR || changed(errno)) return Attempt::kRetry;
      st = resolve_error(errno, false);
      return Attempt::kDone;
    }
    out.writable = false;
    out.create_action = CreateAction::FILE_OPENED;
  } else {
    if ((req.create_options & co::FILE_DIRECTORY_FILE) != 0) {
      st = NtStatus::NOT_A_DIRECTORY;
      return Attempt::kDone;
    }
    bool readonly = false;
    if (!direct) {
      FileInfo current;
      if (NtStatus q = query_info(probe.get(), r.name, current); q != NtStatus::SUCCESS) {
        st = q;
        return Attempt::kDone;
      }
      readonly = (current.file_attributes & fa::FILE_ATTRIBUTE_READONLY) != 0;
      // [MS-FSA] 2.1.5.1.2.1: the READONLY attribute refuses data writes, overwrites
      // and delete-on-close, whatever the POSIX permissions of the caller.
      if (readonly && (c.want_write || overwrite)) {
        st = NtStatus::ACCESS_DENIED;
        return Attempt::kDone;
      }
      if (readonly && (req.create_options & co::FILE_DELETE_ON_CLOSE) != 0) {
        st = NtStatus::CANNOT_DELETE;
        return Attempt::kDone;
      }
      // [MS-FSA] 2.1.5.1.2.1: overwriting a HIDDEN or SYSTEM file must repeat the bit.
      if (overwrite) {
        for (std::uint32_t bit : {fa::FILE_ATTRIBUTE_HIDDEN, fa::FILE_ATTRIBUTE_SYSTEM}) {
          if ((current.file_attributes & bit) != 0 && (req.file_attributes & bit) == 0) {
            st = NtStatus::ACCESS_DENIED;
            return Attempt::kDone;
          }
        }
      }
    }
    int extra = O_NOCTTY | O_NONBLOCK;
    if ((req.create_options & co::FILE_WRITE_THROUGH) != 0) extra |= O_DSYNC;
    const bool need_write = c.want_write || overwrite || (c.maximum_allowed && !readonly);
    int access = need_write ? O_RDWR : O_RDONLY;
    fd.reset(open_seen(static_cast<std::uint64_t>(access | extra)));
    if (!fd && errno == EACCES && need_write) {
      // MAXIMUM_ALLOWED settles for reading, then for writing alone; an open asking for
      // writing but not reading takes write-only access to a file the caller may not read.
      std::vector<int> fallbacks;
      if (!c.want_write && !overwrite) fallbacks.push_back(O_RDONLY);
      const std::uint32_t explicit_read = am::FILE_READ_DATA | am::FILE_EXECUTE | am::GENERIC_READ |
                                          am::GENERIC_EXECUTE | am::GENERIC_ALL;
      if ((c.request.desired_access & explicit_read) == 0) fallbacks.push_back(O_WRONLY);
      for (int next : fallbacks) {
        access = next;
        fd.reset(open_seen(static_cast<std::uint64_t>(access | extra)));
        if (fd || errno != EACCES) break;
      }
    }
    if (!fd && errno == EACCES && req.attribute_only_fallback && !overwrite &&
        (req.desired_access & ~kAttributeOnlyAccess) == 0) {
      fd.reset(open_seen(O_PATH));
      out.attribute_only = static_cast<bool>(fd);
    }
    if (!fd) {
      if (errno == EISDIR || changed(errno)) return Attempt::kRetry;
      st = resolve_error(errno, false);
      return Attempt::kDone;
    }
    // O_NONBLOCK was for the open only (the flags F_SETFL changes hold nothing else here).
    if (!out.attribute_only) (void)::fcntl(fd.get(), F_SETFL, 0);
    out.writable = access != O_RDONLY && !out.attribute_only;
    out.create_action = CreateAction::FILE_OPENED;
  }
  // The descriptor must be the object that was examined; otherwise start again.
  struct statx opened {};
  if (NtStatus s = statx_fd(fd.get(), opened); s != NtStatus::SUCCESS) {
    st = s;
    return Attempt::kDone;
  }
  if (!same_file(opened, seen)) return Attempt::kRetry;
  if (c.checks != nullptr && c.checks->existing) {
    const ExistingEntry entry{fd.get(), r.parent, r.name, is_directory, out.attribute_only};
    if (st = c.checks->existing(entry); st != NtStatus::SUCCESS) return Attempt::kDone;
  }
  if (overwrite) {
    if (!req.defer_truncate && ::ftruncate(fd.get(), 0) != 0) {
      st = last_error();
      return Attempt::kDone;
    }
    if (NtStatus a = apply_create_metadata(fd.get(), r.name, req, false, false);
        a != NtStatus::SUCCESS) {
      st = a;
      return Attempt::kDone;
    }
    out.create_action = disp == CreateDisposition::FILE_SUPERSEDE ? CreateAction::FILE_SUPERSEDED
                                                                  : CreateAction::FILE_OVERWRITTEN;
  } else {
    query_info(fd.get(), opened, r.name, out.info);
    info_done = true;
  }
  out.fd = std::move(fd);
  out.is_directory = is_directory;
  return Attempt::kDone;
}

Attempt create_new(const OpenContext& c, const Resolved& r, OpenResult& out, NtStatus& st) {
  const OpenRequest& req = c.request;
  const CreateDisposition disp = req.create_disposition;
  st = NtStatus::SUCCESS;
  if (disp == CreateDisposition::FILE_OPEN || disp == CreateDisposition::FILE_OVERWRITE) {
    st = NtStatus::OBJECT_NAME_NOT_FOUND;
    return Attempt::kDone;
  }
  if (c.checks != nullptr && c.checks->create) {
    if (st = c.checks->create(r.parent); st != NtStatus::SUCCESS) return Attempt::kDone;
  }
  const bool directory = (req.create_options & co::FILE_DIRECTORY_FILE) != 0;
  // [MS-FSA] 2.1.5.1.1: a file created read-only cannot be deleted on close.
  if (!directory && (req.file_attributes & fa::FILE_ATTRIBUTE_READONLY) != 0 &&
      (req.create_options & co::FILE_DELETE_ON_CLOSE) != 0) {
    st = NtStatus::CANNOT_DELETE;
    return Attempt::kDone;
  }
  // smb.conf's create masks and inheritance (new_file.hh) decide the mode and owner.
  struct stat parent {};
  if (req.new_file.needs_parent() && ::fstat(r.parent, &parent) != 0) {
    st = last_error();
    return Attempt::kDone;
  }
  const mode_t mode = directory ? req.new_file.directory_mode(parent.st_mode)
                                : req.new_file.file_mode(parent.st_mode);
  UniqueFd fd;
  if (directory) {
    if (::mkdirat(r.parent, r.name.c_str(), mode) != 0) {
      if (errno == EEXIST) return Attempt::kRetry;
      st = resolve_error(errno, true);
      return Attempt::kDone;
    }
    fd.reset(openat2_fd(r.parent, r.name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW, 0,
                        kResolveNoLinks));
  } else {
    std::uint64_t flags = O_CREAT | O_EXCL | O_RDWR | O_NOCTTY;
    if ((req.create_options & co::FILE_WRITE_THROUGH) != 0) flags |= O_DSYNC;
    fd.reset(openat2_fd(r.parent, r.name.c_str(), flags, mode, kResolveNoLinks));
    if (!fd && errno == EEXIST) return Attempt::kRetry;
  }
  if (!fd) {
    st = resolve_error(errno, true);
    return Attempt::kDone;
  }
  if (NtStatus n = finish_new_file(fd.get(), mode, req.new_file,
                                   req.new_file.needs_parent() ? &parent : nullptr);
      n != NtStatus::SUCCESS) {
    st = n;
    return Attempt::kDone;
  }
  if (NtStatus a = apply_create_metadata(fd.get(), r.name, req, directory, true);
      a != NtStatus::SUCCESS) {
    st = a;
    return Attempt::kDone;
  }
  out.fd = std::move(fd);
  out.is_directory = directory;
  out.writable = !directory;
  out.create_action = CreateAction::FILE_CREATED;
  return Attempt::kDone;
}

}  // namespace

NtStatus Share::open(std::string_view smb_path, const OpenRequest& request, OpenResult& out,
                     const OpenChecks* checks) const {
  out = OpenResult{};
  const std::uint32_t options = request.create_options;
  const CreateDisposition disp = request.create_disposition;
  if (static_cast<std::uint32_t>(disp) > 5) return NtStatus::INVALID_PARAMETER;
  // [MS-FSA] 2.1.5.1: contradictory or impossible option combinations.
  if ((options & co::FILE_DIRECTORY_FILE) != 0 && (options & co::FILE_NON_DIRECTORY_FILE) != 0) {
    return NtStatus::INVALID_PARAMETER;
  }
  if ((options & co::FILE_DIRECTORY_FILE) != 0 && disp != CreateDisposition::FILE_CREATE &&
      disp != CreateDisposition::FILE_OPEN && disp != CreateDisposition::FILE_OPEN_IF) {
    return NtStatus::INVALID_PARAMETER;
  }
  const std::uint32_t access = request.desired_access;
  if ((options & co::FILE_DELETE_ON_CLOSE) != 0 &&
      (access & (am::DELETE | am::GENERIC_ALL | am::MAXIMUM_ALLOWED)) == 0) {
    return NtStatus::INVALID_PARAMETER;
  }
  const OpenContext context{
      root_.get(),
      request,
      (access & (am::FILE_READ_DATA | am::FILE_EXECUTE | am::GENERIC_READ | am::GENERIC_EXECUTE |
                 am::GENERIC_ALL | am::MAXIMUM_ALLOWED)) != 0,
      (access &
       (am::FILE_WRITE_DATA | am::FILE_APPEND_DATA | am::GENERIC_WRITE | am::GENERIC_ALL)) != 0,
      (access & am::MAXIMUM_ALLOWED) != 0,
      checks};

  // Each retry follows a concurrent create, delete or replace of the same name.
  for (int attempt = 0; attempt < 8; ++attempt) {
    Resolved r;
    if (NtStatus st = resolve(smb_path, r); st != NtStatus::SUCCESS) {
      // An intermediate link not followed: the CREATE stops on it ([MS-SMB2] 2.2.2.2.1),
      // telling how much of the path (in UTF-16) came after it.
      SymlinkStop stop;
      if (r.parent >= 0 && !r.unparsed.empty() && unfollowed_symlink(r.parent, r.name, stop)) {
        stop.unparsed_path_length = static_cast<std::uint16_t>(utf16le(r.unparsed).size());
        out.symlink = std::move(stop);
        return NtStatus::STOPPED_ON_SYMLINK;
      }
      return st;
    }
    NtStatus st = NtStatus::SUCCESS;
    bool info_done = false;
    const Attempt a =
        r.exists ? open_existing(context, r, out, st, info_done) : create_new(context, r, out, st);
    if (a == Attempt::kRetry) {
      out = OpenResult{};
      continue;
    }
    if (st != NtStatus::SUCCESS) {
      out.fd.reset();
      return st;
    }
    out.delete_on_close = (options & co::FILE_DELETE_ON_CLOSE) != 0;
    out.path = r.smb_path();
    out.name = r.name;
    if (FileIdentity parent;
        !r.name.empty() && r.parent >= 0 && identify_entry(r.parent, parent) == NtStatus::SUCCESS) {
      out.parent_device = parent.device;
      out.parent_file_id = parent.file_id;
    }
    return info_done ? NtStatus::SUCCESS : query_info(out.fd.get(), r.name, out.info);
  }
  return NtStatus::SHARING_VIOLATION;
}

NtStatus Share::rename(std::string_view from, std::string_view to, bool replace_if_exists,
                       int open_fd) const {
  Resolved src;
  if (NtStatus st = resolve(from, src); st != NtStatus::SUCCESS) return st;
  if (!src.exists) return NtStatus::OBJECT_NAME_NOT_FOUND;
  if (src.name.empty()) return NtStatus::ACCESS_DENIED;  // the share root itself
  if (NtStatus st = check_identity(src.parent, src.name, open_fd); st != NtStatus::SUCCESS) {
    return st;
  }
  Resolved dst;
  if (NtStatus st = resolve(to, dst); st != NtStatus::SUCCESS) return st;
  if (dst.name.empty()) return NtStatus::ACCESS_DENIED;

  auto rename_error = [](int err) {
    switch (err) {
      case EEXIST:
        return NtStatus::OBJECT_NAME_COLLISION;
      case ENOTEMPTY:
      case EISDIR:
      case ENOTDIR:
        return NtStatus::ACCESS_DENIED;
      case EINVAL:  // a directory moved into itself
        return NtStatus::INVALID_PARAMETER;
      default:
        return errno_to_ntstatus(err);
    }
  };

  if (dst.exists) {
    struct stat s {};
    struct stat d {};
    struct stat sp {};
    struct stat dp {};
    if (::fstatat(src.parent, src.name.c_str(), &s, AT_SYMLINK_NOFOLLOW) != 0 ||
        ::fstatat(dst.parent, dst.name.c_str(), &d, AT_SYMLINK_NOFOLLOW) != 0 ||
        ::fstat(src.parent, &sp) != 0 || ::fstat(dst.parent, &dp) != 0) {
      return last_error();
    }
    if (same_file(sp, dp) && src.name == dst.name) {
      // The target is the source itself: a no-op, or a change of case only.
      if (dst.requested == dst.name) return NtStatus::SUCCESS;
      if (::renameat2(src.parent, src.name.c_str(), dst.parent, dst.requested.c_str(),
                      RENAME_NOREPLACE) != 0) {
        return rename_error(errno);
      }
      return NtStatus::SUCCESS;
    }
    if (!replace_if_exists) return NtStatus::OBJECT_NAME_COLLISION;
    // [MS-FSA] 2.1.5.14.11: an existing directory is never replaced.
    if (S_ISDIR(d.st_mode)) return NtStatus::ACCESS_DENIED;
    if (::renameat(src.parent, src.name.c_str(), dst.parent, dst.name.c_str()) != 0) {
      return rename_error(errno);
    }
    return NtStatus::SUCCESS;
  }
  if (::renameat2(src.parent, src.name.c_str(), dst.parent, dst.requested.c_str(),
                  RENAME_NOREPLACE) != 0) {
    return rename_error(errno);
  }
  return NtStatus::SUCCESS;
}

bool Share::may_unlink(int parent, const std::string& name) {
  if (name.empty()) return false;  // the share root
  // The effective ids of this thread: the user a request runs as (credentials.hh).
  if (::faccessat(parent, ".", W_OK | X_OK, AT_EACCESS) != 0) return false;
  struct stat dir {};
  if (::fstat(parent, &dir) != 0) return false;
  if ((dir.st_mode & S_ISVTX) == 0) return true;
  const uid_t uid = ::geteuid();
  if (uid == 0 || uid == dir.st_uid) return true;
  struct stat entry {};
  return ::fstatat(parent, name.c_str(), &entry, AT_SYMLINK_NOFOLLOW) == 0 && entry.st_uid == uid;
}

NtStatus Share::remove(std::string_view smb_path, int open_fd) const {
  Resolved r;
  if (NtStatus st = resolve(smb_path, r); st != NtStatus::SUCCESS) return st;
  if (!r.exists) return NtStatus::OBJECT_NAME_NOT_FOUND;
  if (r.name.empty()) return NtStatus::ACCESS_DENIED;  // the share root itself
  if (NtStatus st = check_identity(r.parent, r.name, open_fd); st != NtStatus::SUCCESS) {
    return st;
  }
  struct stat st {};
  if (::fstatat(r.parent, r.name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
    return last_error();
  }
  const int flags = S_ISDIR(st.st_mode) ? AT_REMOVEDIR : 0;
  if (::unlinkat(r.parent, r.name.c_str(), flags) != 0) {
    if (errno == ENOTEMPTY || errno == EEXIST) return NtStatus::DIRECTORY_NOT_EMPTY;
    return last_error();
  }
  return NtStatus::SUCCESS;
}

NtStatus Share::volume_info(VolumeInfo& out) const {
  struct statvfs vfs {};
  if (::fstatvfs(root_.get(), &vfs) != 0) return last_error();
  FileInfo root_info;
  if (NtStatus st = query_info(root_.get(), "", root_info); st != NtStatus::SUCCESS) return st;
  out = VolumeInfo{};
  const std::uint64_t unit = vfs.f_frsize != 0 ? vfs.f_frsize : vfs.f_bsize;
  out.bytes_per_sector = 512;
  out.sectors_per_allocation_unit =
      static_cast<std::uint32_t>(std::max<std::uint64_t>(1, unit / 512));
  // Report in units of sectors_per_allocation_unit * 512 bytes.
  const std::uint64_t scale = std::max<std::uint64_t>(1, unit);
  const std::uint64_t unit_bytes = std::uint64_t{out.sectors_per_allocation_unit} * 512;
  auto units = [&](std::uint64_t blocks) { return blocks * scale / unit_bytes; };
  out.total_allocation_units = units(vfs.f_blocks);
  out.caller_available_allocation_units = units(vfs.f_bavail);
  out.actual_available_allocation_units = units(vfs.f_bfree);
  out.serial_number = static_cast<std::uint32_t>(root_info.device ^ (root_info.device >> 32) ^
                                                 (root_info.device << 16));
  out.creation_time = root_info.creation_time;
  out.maximum_component_name_length = static_cast<std::uint32_t>(kMaxComponentUtf16);
  out.block_refcounting = clones_blocks_;
  return NtStatus::SUCCESS;
}

}  // namespace smb::vfs
