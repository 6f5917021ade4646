#include "smbd/vfs/dir.hh"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <memory>

#include "smbd/base/errno_map.hh"
#include "smbd/vfs/names.hh"
#include "smbd/vfs/openat2.hh"

namespace smb::vfs {

NtStatus DirEnumerator::open(const Share& share, std::string_view smb_path) {
  std::lock_guard lock(mu_);
  Resolved r;
  if (NtStatus st = share.resolve(smb_path, r); st != NtStatus::SUCCESS) return st;
  if (!r.exists) return NtStatus::OBJECT_NAME_NOT_FOUND;
  share_ = &share;
  relative_ = r.name.empty() ? std::string() : r.relative();
  dir_.reset(openat2_fd(share.root_fd(), r.relative().c_str(), O_RDONLY | O_DIRECTORY, 0,
                        kResolveBeneath));
  if (!dir_) return errno == ENOTDIR ? NtStatus::NOT_A_DIRECTORY : resolve_error(errno, false);
  return snapshot();
}

NtStatus DirEnumerator::snapshot() {
  names_.clear();
  position_ = 0;
  UniqueFd readable(::openat(dir_.get(), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!readable) return last_error();
  std::unique_ptr<DIR, int (*)(DIR*)> stream(::fdopendir(readable.get()), &::closedir);
  if (!stream) return last_error();
  (void)readable.release();  // owned by the DIR stream now
  errno = 0;
  while (const dirent* e = ::readdir(stream.get())) {
    std::string_view name = e->d_name;
    if (name == "." || name == "..") continue;
    names_.emplace_back(name);
  }
  if (errno != 0) return last_error();
  std::sort(names_.begin(), names_.end());
  names_.insert(names_.begin(), {".", ".."});
  return NtStatus::SUCCESS;
}

NtStatus DirEnumerator::stat_entry(const std::string& name, FileInfo& out,
                                   const EntryFilter& visible) const {
  if (name == "." || (name == ".." && relative_.empty())) return query_info(dir_.get(), "", out);
  if (name == "..") {
    UniqueFd parent(
        openat2_fd(share_->root_fd(), (relative_ + "/..").c_str(), O_PATH, 0, kResolveBeneath));
    if (!parent) return last_error();
    return query_info(parent.get(), "", out);
  }
  struct stat st {};
  if (::fstatat(dir_.get(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) return last_error();
  UniqueFd fd;
  if (S_ISLNK(st.st_mode)) {
    // Follow from the share root, so links to anywhere inside the share resolve and
    // links outside it fail.
    const std::string path = relative_.empty() ? name : relative_ + "/" + name;
    fd.reset(openat2_fd(share_->root_fd(), path.c_str(), O_PATH, 0, kResolveBeneath));
  }
  if (!fd) {
    fd.reset(openat2_fd(dir_.get(), name.c_str(), O_PATH | O_NOFOLLOW, 0, kResolveBeneath));
    if (!fd) return last_error();
  }
  if (visible && !visible(fd.get())) return NtStatus::ACCESS_DENIED;
  return query_info(fd.get(), name, out);
}

NtStatus DirEnumerator::list(const NameExpression& expression, bool restart,
                             const std::function<Take(const DirEntry&)>& take,
                             const EntryFilter& visible) {
  std::lock_guard lock(mu_);
  if (!dir_) return NtStatus::INVALID_HANDLE;
  if (restart) {
    if (NtStatus st = snapshot(); st != NtStatus::SUCCESS) return st;
  }
  DirEntry entry;
  for (; position_ < names_.size(); ++position_) {
    const std::string& name = names_[position_];
    if (!expression.matches(name)) continue;
    // Removed since the snapshot, unreadable or hidden: not part of the listing.
    if (stat_entry(name, entry.info, visible) != NtStatus::SUCCESS) continue;
    entry.name = name;
    const Take taken = take(entry);
    if (taken == Take::none) break;
    if (taken == Take::last) {
      ++position_;
      break;
    }
  }
  return NtStatus::SUCCESS;
}

}  // namespace smb::vfs
