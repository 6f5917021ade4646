// Requests in flight that a CLOSE of their open waits for.
//
// MS-SMB2 3.3.5.10 closes an open at once; but a request that is still working on the
// open (an asynchronous operation that will act on it, or report on it, when it ends)
// must end first, or it would find its open gone under it and fail with FILE_CLOSED
// although the client asked for it before the CLOSE. Samba's smbd waits the same way for
// an open's outstanding asynchronous requests before it closes it (smbtorture's
// smb2.ioctl.bug14769 checks it).
//
// A request takes a hold on the open by its FileId while it works on it, and releases it
// exactly once when it ends. A CLOSE of a held open runs once the last hold is released.
// The other ways an open goes (LOGOFF, TREE_DISCONNECT, the connection lost) do not wait:
// they end the holders' waits (async.hh, AsyncEnd::open_closed), which release their holds.
// A CLOSE that waited runs on a later turn of the loop than the release, never inside the
// handler that released it, and looks its open up again.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <utility>
#include <vector>

#include "smbd/proto/file_id.hh"

namespace smb::server {

class OpenHolds {
 public:
  // `defer` runs a function on a later turn of the loop (Worker::after).
  explicit OpenHolds(std::function<void(std::function<void()>)> defer) : defer_(std::move(defer)) {}

  void hold(const FileId& id);
  // Releases one hold of `id`; the CLOSEs waiting for the last are run (deferred).
  void release(const FileId& id);
  bool held(const FileId& id) const;
  // Runs `close` now when `id` is not held, else once its last hold is released.
  void when_released(const FileId& id, std::function<void()> close);

 private:
  using Key = std::pair<std::uint64_t, std::uint64_t>;
  static Key key(const FileId& id) { return {id.persistent, id.volatile_}; }
  struct Entry {
    std::uint32_t holds = 0;
    std::vector<std::function<void()>> waiting;
  };
  std::function<void(std::function<void()>)> defer_;
  std::map<Key, Entry> entries_;
};

}  // namespace smb::server
