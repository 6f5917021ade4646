#include "smbd/vfs/dir_watch.hh"

#include <dirent.h>
#include <fcntl.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "smbd/base/errno_map.hh"
#include "smbd/vfs/openat2.hh"

namespace smb::vfs {

namespace {

// Every change of a directory's entries that some completion filter can ask for
// (MS-FSA 2.1.5.10). IN_ACCESS is left out: reads would wake every watcher, and Linux
// keeps access times lazily (relatime) where NTFS keeps them at all.
constexpr std::uint32_t kWatchedEvents =
    IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO | IN_MODIFY | IN_ATTRIB | IN_ONLYDIR;

std::uint32_t change_bits(std::uint32_t mask) {
  std::uint32_t what = 0;
  if (mask & IN_CREATE) what |= dir_change::created;
  if (mask & IN_DELETE) what |= dir_change::deleted;
  if (mask & IN_MOVED_FROM) what |= dir_change::moved_from;
  if (mask & IN_MOVED_TO) what |= dir_change::moved_to;
  if (mask & IN_MODIFY) what |= dir_change::data;
  if (mask & IN_ATTRIB) what |= dir_change::metadata;
  if (mask & IN_IGNORED) what |= dir_change::watch_gone;
  if (mask & IN_Q_OVERFLOW) what |= dir_change::overflow;
  return what;
}

bool is_dot(const char* name) {
  return std::strcmp(name, ".") == 0 || std::strcmp(name, "..") == 0;
}

}  // namespace

std::optional<DirWatcher> DirWatcher::create(std::string& error) {
  UniqueFd fd(::inotify_init1(IN_NONBLOCK | IN_CLOEXEC));
  if (fd.get() < 0) {
    error = std::string("inotify_init1: ") + std::strerror(errno);
    return std::nullopt;
  }
  return DirWatcher(std::move(fd));
}

NtStatus DirWatcher::add(int dir, int& watch) const {
  // inotify takes a path: the descriptor's /proc link names the very directory open.
  std::string path = "/proc/self/fd/" + std::to_string(dir);
  int wd = ::inotify_add_watch(fd_.get(), path.c_str(), kWatchedEvents);
  if (wd < 0) return errno == ENOSPC ? NtStatus::INSUFFICIENT_RESOURCES : last_error();
  watch = wd;
  return NtStatus::SUCCESS;
}

NtStatus DirWatcher::add_at(int dir, const std::string& name, int& watch) const {
  if (name.empty() || name.find('/') != std::string::npos || is_dot(name.c_str()))
    return NtStatus::OBJECT_NAME_INVALID;
  UniqueFd sub(::openat(dir, name.c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (sub.get() < 0) return last_error();
  return add(sub.get(), watch);
}

NtStatus DirWatcher::add_below(int root, const std::string& relative, int& watch) const {
  UniqueFd dir(openat2_fd(root, relative.c_str(), O_PATH | O_DIRECTORY, 0, kResolveNoLinks));
  if (dir.get() < 0) return last_error();
  return add(dir.get(), watch);
}

void DirWatcher::remove(int watch) const { (void)::inotify_rm_watch(fd_.get(), watch); }

bool DirWatcher::add_tree(int root, const std::string& relative, std::size_t budget,
                          std::vector<Added>& added) const {
  UniqueFd top_fd;
  int dir = root;
  if (!relative.empty()) {
    top_fd.reset(openat2_fd(root, relative.c_str(), O_PATH | O_DIRECTORY, 0, kResolveNoLinks));
    if (top_fd.get() < 0) return true;  // gone again, or not a directory: nothing to watch
    if (added.size() >= budget) return false;
    int watch = -1;
    NtStatus s = add(top_fd.get(), watch);
    if (s == NtStatus::INSUFFICIENT_RESOURCES) return false;
    if (s != NtStatus::SUCCESS) return true;
    added.push_back({relative, watch});
    dir = top_fd.get();
  }
  // Depth first with an explicit stack of open directories, each read as the caller.
  struct Level {
    std::string path;
    DIR* stream;
  };
  auto open_level = [](int at, const char* name, const std::string& path) -> std::optional<Level> {
    int fd = ::openat(at, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) return std::nullopt;
    DIR* stream = ::fdopendir(fd);
    if (stream == nullptr) {
      ::close(fd);
      return std::nullopt;
    }
    return Level{path, stream};
  };
  std::vector<Level> stack;
  auto top = open_level(dir, ".", relative);
  if (!top) return false;
  stack.push_back(*top);
  bool complete = true;
  while (!stack.empty()) {
    errno = 0;
    dirent* e = ::readdir(stack.back().stream);
    if (e == nullptr) {
      ::closedir(stack.back().stream);
      stack.pop_back();
      continue;
    }
    if (is_dot(e->d_name)) continue;
    int at = ::dirfd(stack.back().stream);
    bool is_dir = e->d_type == DT_DIR;
    if (e->d_type == DT_UNKNOWN) {
      struct stat st {};
      is_dir = ::fstatat(at, e->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode);
    }
    if (!is_dir) continue;
    std::string path = stack.back().path.empty() ? e->d_name : stack.back().path + "/" + e->d_name;
    if (added.size() >= budget) {
      complete = false;
      break;
    }
    int watch = -1;
    NtStatus s = add_at(at, e->d_name, watch);
    if (s == NtStatus::INSUFFICIENT_RESOURCES) {
      complete = false;
      break;
    }
    if (s != NtStatus::SUCCESS) continue;  // gone meanwhile, or not readable by the user
    added.push_back({path, watch});
    if (auto level = open_level(at, e->d_name, path)) stack.push_back(*level);
  }
  for (Level& level : stack) ::closedir(level.stream);
  return complete;
}

bool DirWatcher::read(const std::function<void(const DirChange&)>& sink) const {
  alignas(inotify_event) char buffer[16384];
  for (;;) {
    ssize_t n = ::read(fd_.get(), buffer, sizeof buffer);
    if (n < 0) return errno == EAGAIN || errno == EINTR;
    if (n == 0) return true;
    // The kernel writes whole events; each is checked against what was read anyway.
    std::size_t at = 0;
    while (at + sizeof(inotify_event) <= static_cast<std::size_t>(n)) {
      inotify_event raw;
      std::memcpy(&raw, buffer + at, sizeof raw);
      std::size_t size = sizeof(inotify_event) + raw.len;
      if (at + size > static_cast<std::size_t>(n)) break;
      DirChange change;
      change.watch = raw.wd;
      change.what = change_bits(raw.mask);
      change.cookie = raw.cookie;
      change.is_directory = (raw.mask & IN_ISDIR) != 0;
      const char* name = buffer + at + sizeof raw;
      change.name.assign(name, ::strnlen(name, raw.len));
      at += size;
      if (change.what != 0) sink(change);
    }
  }
}

}  // namespace smb::vfs
