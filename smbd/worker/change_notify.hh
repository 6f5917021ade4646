// CHANGE_NOTIFY's state in a worker (MS-SMB2 3.3.5.19, MS-FSA 2.1.5.10): one inotify
// descriptor on the loop (vfs/dir_watch.hh), the kernel watches the directory opens of
// this worker hold on it, and per watched open its buffered changes (fsa/change_notify.hh)
// and the requests waiting for them.
//
// The first CHANGE_NOTIFY on a directory open watches the directory (and, with
// SMB2_WATCH_TREE, every directory beneath it, and those created later) as the open's
// user, then keeps the changes its completion filter selects until the open closes.
// Kernel watches are shared between opens of the same directory and counted; this
// worker holds at most kWatchBudget of them. A tree that does not fit, and an overflow of
// the kernel's queue, answer the next request STATUS_NOTIFY_ENUM_DIR, as Windows does
// when it loses changes. Changes made by anyone (local processes, other workers) are
// seen, since they come from the kernel.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "smbd/fsa/change_notify.hh"
#include "smbd/fsa/file_open.hh"
#include "smbd/proto/file_id.hh"
#include "smbd/vfs/dir_watch.hh"
#include "smbd/worker/request.hh"
#include "smbd/worker/uv.hh"

namespace smb::server {

class Worker;

class ChangeNotifier {
 public:
  static constexpr std::size_t kWatchBudget = 4096;

  explicit ChangeNotifier(Worker& worker);
  ~ChangeNotifier();
  ChangeNotifier(const ChangeNotifier&) = delete;
  ChangeNotifier& operator=(const ChangeNotifier&) = delete;

  // Serves a checked CHANGE_NOTIFY request on `open` (a directory open with
  // FILE_LIST_DIRECTORY, a buffer the connection allows): answers it now when changes
  // are kept already, else makes it wait (async.hh).
  void serve(const RequestPtr& req, Open& open, std::uint32_t completion_filter, bool watch_tree,
             std::uint32_t output_buffer_length);
  // The open is closing: its watches go (its waiting requests were ended already).
  void open_closed(const FileId& id);
  // The directory `file` is delete-pending (an open with delete-on-close closed while
  // others remain): the requests waiting on it are answered STATUS_DELETE_PENDING, as
  // Windows does. A close in this worker reports it; one in another worker rings this
  // worker's doorbell (fsa/shared_open_table.hh), and the watched directories with
  // waiting requests are looked up in the host's open table then.
  void delete_pending(const fsa::FileKey& file);

 private:
  using OpenKey = std::pair<std::uint64_t, std::uint64_t>;  // persistent, volatile
  struct Waiting {
    std::uint64_t token = 0;
    RequestPtr req;
    std::uint32_t output_buffer_length = 0;
  };
  struct Watched {
    OpenKey key;
    std::uint64_t session_id = 0;
    std::uint32_t tree_id = 0;
    std::shared_ptr<UniqueFd> dir;  // the open's directory, for watches added later
    fsa::FileKey file;
    fsa::ChangeBuffer buffer;
    std::vector<int> kernel_watches;
    std::deque<Waiting> waiting;
    unsigned adding = 0;  // walks adding watches below it, under way
  };
  struct Use {
    OpenKey open;
    std::string prefix;  // the watched directory below the open's ("" for itself), '\\'
  };

  void start_polling();
  void on_readable();
  // The doorbell rang: answers the waiting requests of directories that became
  // delete-pending in another worker.
  void check_delete_pending();
  // Entries created lately, by kernel watch and name: the first metadata change of one
  // (IN_ATTRIB) is what its creator stored on it (the server stores a new entry's DOS
  // attributes right after creating it), part of the creation, which Windows reports as
  // one ADDED. Forgotten after kFreshFor, or once that change came.
  void remember_fresh(int kernel_watch, const std::string& name);
  bool take_fresh(int kernel_watch, const std::string& name);
  void deliver(const std::vector<vfs::DirChange>& changes);
  // Watches `relative` ('/' separated below the open's directory; "" for what is
  // beneath the directory itself) and every directory beneath it, as the open's user,
  // off the loop (a walk of the tree).
  void add_watches(const OpenKey& key, const std::string& relative);
  void use_watches(const OpenKey& key, const std::vector<vfs::DirWatcher::Added>& added,
                   bool complete);
  void release_watch(int kernel_watch, const OpenKey& key);
  // Answers the waiting requests of `watched` that its kept changes can answer.
  void answer_waiting(Watched& watched);
  Watched* find(const OpenKey& key);

  Worker& worker_;
  std::shared_ptr<const vfs::DirWatcher> kernel_;          // shared with jobs on the pool
  std::shared_ptr<int> alive_ = std::make_shared<int>(0);  // jobs' continuations check it
  uv_poll_t* poll_ = nullptr;  // closed asynchronously, freed by its close callback
  std::map<OpenKey, std::unique_ptr<Watched>> watched_;
  std::map<int, std::vector<Use>> uses_;  // by kernel watch
  std::uint64_t next_token_ = 1;
  std::uint64_t doorbell_listener_ = 0;
  static constexpr std::chrono::milliseconds kFreshFor{1000};
  static constexpr std::size_t kMaxFresh = 1024;
  std::map<std::pair<int, std::string>, std::chrono::steady_clock::time_point> fresh_;
};

}  // namespace smb::server
