// Directory change events from the kernel (inotify(7)): one descriptor, its watches and
// its events in the backend's own words. The SMB meaning of an event (MS-FSA 2.1.5.10
// actions and completion filters) is fsa's (fsa/change_notify.hh).
//
// Watches are added as whoever calls (the kernel checks read access to the directory
// with the thread's file-system identity): call add() off the loop, as the user. The
// kernel gives one watch per directory and descriptor, whoever adds it again: callers
// count their uses of a watch and remove it when the last goes.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "smbd/base/ntstatus.hh"
#include "smbd/base/unique_fd.hh"

namespace smb::vfs {

// What happened, as inotify says it (several may be set on one event).
namespace dir_change {
inline constexpr std::uint32_t created = 0x0001;     // IN_CREATE
inline constexpr std::uint32_t deleted = 0x0002;     // IN_DELETE
inline constexpr std::uint32_t moved_from = 0x0004;  // IN_MOVED_FROM (cookie pairs it)
inline constexpr std::uint32_t moved_to = 0x0008;    // IN_MOVED_TO
inline constexpr std::uint32_t data = 0x0010;        // IN_MODIFY: contents or size
inline constexpr std::uint32_t metadata = 0x0020;    // IN_ATTRIB: mode, owner, times, xattrs
inline constexpr std::uint32_t watch_gone = 0x0040;  // IN_IGNORED: the directory went
inline constexpr std::uint32_t overflow = 0x0080;    // IN_Q_OVERFLOW: events were lost
}  // namespace dir_change

struct DirChange {
  int watch = -1;          // the watched directory (-1 with overflow)
  std::uint32_t what = 0;  // dir_change bits
  std::uint32_t cookie = 0;
  bool is_directory = false;
  std::string name;  // the entry inside the watched directory; empty for the directory itself
};

class DirWatcher {
 public:
  // A non-blocking inotify descriptor; nothing (and `error` says why) when the kernel
  // refuses one.
  static std::optional<DirWatcher> create(std::string& error);

  int fd() const { return fd_.get(); }
  // Watches the directory `dir` (a descriptor, also O_PATH) for every change of its
  // entries; the watch's number, or the status of the failure (INSUFFICIENT_RESOURCES
  // when the user's inotify watches are used up).
  NtStatus add(int dir, int& watch) const;
  // Watches the subdirectory `name` of `dir`, never following a symbolic link.
  NtStatus add_at(int dir, const std::string& name, int& watch) const;
  // Watches the directory `relative` ('/' separated) beneath `root`, resolved without
  // leaving it and without symbolic links.
  NtStatus add_below(int root, const std::string& relative, int& watch) const;
  void remove(int watch) const;
  // Watches the directory `relative` below `root` (resolved beneath it, no symbolic
  // links; "" is `root`, which is not watched again) and every directory beneath it,
  // depth first, at most `budget` of them: each added one to `added` with its path below
  // `root` ('/' separated). False when the budget ran out or a watch could not be added
  // (the tree is then watched only in part); directories that vanish meanwhile, or that
  // the caller may not read, are skipped.
  struct Added {
    std::string path;
    int watch = -1;
  };
  bool add_tree(int root, const std::string& relative, std::size_t budget,
                std::vector<Added>& added) const;
  // Reads what the kernel has queued, without blocking; each event to `sink`. False when
  // the descriptor failed.
  bool read(const std::function<void(const DirChange&)>& sink) const;

 private:
  explicit DirWatcher(UniqueFd fd) : fd_(std::move(fd)) {}
  UniqueFd fd_;
};

}  // namespace smb::vfs
