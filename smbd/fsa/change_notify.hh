// Change notification (MS-FSA 2.1.5.10 Server Requests Change Notifications for a
// Directory): what a backend change means for a watcher (its action and the completion
// filter bits it matches) and how the changes of one open are held until a request takes
// them. The backend's events come from vfs/dir_watch.hh; the wire form of the changes
// (FILE_NOTIFY_INFORMATION) is the SMB layer's.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "smbd/base/ntstatus.hh"

namespace smb::fsa {

namespace notify_filter {  // MS-FSA 2.1.5.10 CompletionFilter (MS-SMB2 2.2.35)
inline constexpr std::uint32_t FILE_NAME = 0x00000001;
inline constexpr std::uint32_t DIR_NAME = 0x00000002;
inline constexpr std::uint32_t ATTRIBUTES = 0x00000004;
inline constexpr std::uint32_t SIZE = 0x00000008;
inline constexpr std::uint32_t LAST_WRITE = 0x00000010;
inline constexpr std::uint32_t LAST_ACCESS = 0x00000020;
inline constexpr std::uint32_t CREATION = 0x00000040;
inline constexpr std::uint32_t EA = 0x00000080;
inline constexpr std::uint32_t SECURITY = 0x00000100;
inline constexpr std::uint32_t STREAM_NAME = 0x00000200;
inline constexpr std::uint32_t STREAM_SIZE = 0x00000400;
inline constexpr std::uint32_t STREAM_WRITE = 0x00000800;
inline constexpr std::uint32_t ALL = 0x00000FFF;
}  // namespace notify_filter

namespace notify_action {  // MS-FSCC 2.7.1 FILE_NOTIFY_INFORMATION Action
inline constexpr std::uint32_t ADDED = 0x00000001;
inline constexpr std::uint32_t REMOVED = 0x00000002;
inline constexpr std::uint32_t MODIFIED = 0x00000003;
inline constexpr std::uint32_t RENAMED_OLD_NAME = 0x00000004;
inline constexpr std::uint32_t RENAMED_NEW_NAME = 0x00000005;
}  // namespace notify_action

// One change as a watcher sees it: the action and the name relative to the watched
// directory (backslash separated below it, for a watch of the tree).
struct NotifyChange {
  std::uint32_t action = 0;
  std::string name;
  bool operator==(const NotifyChange&) const = default;
};

// A backend change (vfs::DirChange bits) as MS-FSA actions, each with the completion
// filter bits that select it. A rename whose two halves were seen together is
// `renamed`: moved_from gives RENAMED_OLD_NAME, moved_to RENAMED_NEW_NAME; a half alone
// (the other side is outside the watch) is a removal or an addition, as on NTFS.
struct MappedChange {
  std::uint32_t action = 0;
  std::uint32_t filter = 0;
  // Not reported to a watcher whose completion filter meets these bits.
  std::uint32_t unless = 0;
};
std::vector<MappedChange> map_dir_change(std::uint32_t what, bool is_directory, bool renamed);

// The size of `changes` as FILE_NOTIFY_INFORMATION entries (MS-FSCC 2.7.1): 12 bytes and
// the UTF-16 name each, every entry but the last padded to 4 bytes.
std::size_t notify_information_size(const std::vector<NotifyChange>& changes);

// The changes of one directory open between requests (MS-FSA 2.1.5.10: after the first
// request the open collects the changes its filter selects, also while no request is
// pending). Bounded by the first request's OutputBufferLength: changes that would not fit
// it are not kept, and the next request is answered STATUS_NOTIFY_ENUM_DIR (the client
// enumerates the directory again), as Windows does.
class ChangeBuffer {
 public:
  ChangeBuffer(std::uint32_t completion_filter, bool watch_tree, std::size_t limit_bytes)
      : filter_(completion_filter), watch_tree_(watch_tree), limit_(limit_bytes) {}

  std::uint32_t completion_filter() const { return filter_; }
  bool watch_tree() const { return watch_tree_; }
  // Keeps the change when `filter` meets the open's completion filter; false when not.
  bool add(std::uint32_t filter, std::uint32_t action, std::string name);
  // Changes were lost (the backend's queue overflowed, or part of the tree is unwatched).
  void overflow();
  // A request would be answered now.
  bool ready() const { return overflowed_ || !changes_.empty(); }
  // Whether a kept change, not yet handed to a request, is `action` on `name`.
  bool holds(std::uint32_t action, const std::string& name) const {
    for (const NotifyChange& c : changes_)
      if (c.action == action && c.name == name) return true;
    return false;
  }

  struct Taken {
    NtStatus status = NtStatus::SUCCESS;  // SUCCESS, or NOTIFY_ENUM_DIR with no changes
    std::vector<NotifyChange> changes;
  };
  // Hands the kept changes to a request with room for `output_buffer_length` bytes and
  // starts afresh. Call when ready().
  Taken take(std::uint32_t output_buffer_length);

 private:
  std::uint32_t filter_;
  bool watch_tree_;
  std::size_t limit_;
  std::vector<NotifyChange> changes_;
  std::size_t size_ = 0;  // notify_information_size(changes_)
  bool overflowed_ = false;
};

}  // namespace smb::fsa
