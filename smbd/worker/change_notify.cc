#include "smbd/worker/change_notify.hh"

#include <chrono>
#include <set>

#include "smbd/conf/log.hh"
#include "smbd/proto/change_notify.hh"
#include "smbd/worker/async.hh"
#include "smbd/worker/blocking.hh"
#include "smbd/worker/worker.hh"

namespace smb::server {

namespace {

std::string backslashed(std::string path) {
  for (char& c : path)
    if (c == '/') c = '\\';
  return path;
}

void answer(const RequestPtr& req, fsa::ChangeBuffer::Taken taken) {
  if (taken.status != NtStatus::SUCCESS) {
    req->reply(taken.status);
    return;
  }
  ChangeNotifyResponse response;
  std::vector<FileNotifyInformation> entries;
  entries.reserve(taken.changes.size());
  for (fsa::NotifyChange& change : taken.changes)
    entries.push_back({change.action, std::move(change.name)});
  response.output = encode_file_notify_information(entries);
  req->reply(encode_body(response));
}

}  // namespace

ChangeNotifier::ChangeNotifier(Worker& worker) : worker_(worker) {
  std::string error;
  auto kernel = vfs::DirWatcher::create(error);
  if (!kernel) {
    log::error(nullptr, "change notify: %s", error.c_str());
    return;
  }
  kernel_ = std::make_shared<const vfs::DirWatcher>(std::move(*kernel));
  poll_ = new uv_poll_t{};
  uv_poll_init(worker_.loop(), poll_, kernel_->fd());
  poll_->data = this;
  uv_poll_start(poll_, UV_READABLE, [](uv_poll_t* p, int, int) {
    static_cast<ChangeNotifier*>(p->data)->on_readable();
  });
  // Watches alone do not keep the worker alive.
  uv_unref(reinterpret_cast<uv_handle_t*>(poll_));
  doorbell_listener_ = worker_.on_doorbell([this]() { check_delete_pending(); });
}

ChangeNotifier::~ChangeNotifier() {
  if (doorbell_listener_ != 0) worker_.forget_doorbell(doorbell_listener_);
  if (poll_ != nullptr) {
    uv_poll_stop(poll_);
    uv_close(reinterpret_cast<uv_handle_t*>(poll_),
             [](uv_handle_t* h) { delete reinterpret_cast<uv_poll_t*>(h); });
  }
  // The kernel drops every watch with the descriptor (kernel_ goes with the last job).
}

ChangeNotifier::Watched* ChangeNotifier::find(const OpenKey& key) {
  auto it = watched_.find(key);
  return it == watched_.end() ? nullptr : it->second.get();
}

void ChangeNotifier::serve(const RequestPtr& req, Open& open, std::uint32_t completion_filter,
                           bool watch_tree, std::uint32_t output_buffer_length) {
  if (!kernel_) {
    req->reply(NtStatus::NOT_SUPPORTED);  // no inotify descriptor (logged at start)
    return;
  }
  OpenKey key{open.id.persistent, open.id.volatile_};
  Watched* watched = find(key);
  bool first = watched == nullptr;
  if (first) {
    // MS-FSA 2.1.5.10: the first request sets what the open watches from then on, and
    // the room its changes may take while no request waits.
    auto fresh = std::make_unique<Watched>(
        Watched{key,
                open.session_id,
                open.tree_id,
                open.fd,
                open.key,
                fsa::ChangeBuffer(completion_filter, watch_tree, output_buffer_length),
                {},
                {}});
    watched = fresh.get();
    watched_.emplace(key, std::move(fresh));
    // The directory itself is watched before the request is answered or goes async, so
    // that no change made after the interim response is missed. The loop thread acts as
    // the request's user here (blocking.hh: Serving); inotify_add_watch does no I/O on
    // the directory's contents. Its subdirectories are walked off the loop below.
    int watch = -1;
    NtStatus added = uses_.size() >= kWatchBudget || !open.fd ? NtStatus::INSUFFICIENT_RESOURCES
                                                              : kernel_->add(open.fd->get(), watch);
    if (added == NtStatus::SUCCESS)
      use_watches(key, {{"", watch}}, true);
    else if (added == NtStatus::INSUFFICIENT_RESOURCES)
      watched->buffer.overflow();  // answered STATUS_NOTIFY_ENUM_DIR at once, below
    else {
      watched_.erase(key);
      req->reply(added);
      return;
    }
    if (watched->buffer.ready()) {
      answer(req, watched->buffer.take(output_buffer_length));
      return;
    }
  } else if (watched->waiting.empty() && watched->buffer.ready()) {
    answer(req, watched->buffer.take(output_buffer_length));
    return;
  }
  // MS-SMB2 3.3.5.2.7 <206>: Windows lets only the last element of a compound go async
  // (or a CREATE that breaks an oplock); a CHANGE_NOTIFY that would wait in the middle
  // of one is answered STATUS_INTERNAL_ERROR, and the rest of the compound goes on.
  if (!req->last_in_message()) {
    req->reply(NtStatus::INTERNAL_ERROR);
    return;
  }
  std::uint64_t token = next_token_++;
  watched->waiting.push_back({token, req, output_buffer_length});
  auto went = go_async(req, [this, key, token, req](AsyncEnd reason) {
    // Out of the queue at once; the answer on the next turn of the loop (async.hh).
    if (Watched* w = find(key)) {
      for (auto it = w->waiting.begin(); it != w->waiting.end(); ++it)
        if (it->token == token) {
          w->waiting.erase(it);
          break;
        }
    }
    // A handle closed under the request (CLOSE, TREE_DISCONNECT, LOGOFF) answers
    // STATUS_NOTIFY_CLEANUP, as Windows answers.
    NtStatus status = status_for(reason, NtStatus::NOTIFY_CLEANUP);
    worker_.after(std::chrono::milliseconds(0), [req, status]() { req->reply(status); });
  });
  if (!went) {
    watched->waiting.pop_back();
    req->reply(NtStatus::CANCELLED);
    return;
  }
  if (first && watch_tree) add_watches(key, "");
}

void ChangeNotifier::add_watches(const OpenKey& key, const std::string& relative) {
  Watched* watched = find(key);
  if (watched == nullptr || !watched->dir) return;
  struct Result {
    std::vector<vfs::DirWatcher::Added> added;
    bool complete = true;
  };
  auto result = std::make_shared<Result>();
  auto kernel = kernel_;
  auto dir = watched->dir;
  std::size_t budget = kWatchBudget > uses_.size() ? kWatchBudget - uses_.size() : 0;
  // The open's answers wait for the new watches: a client told of a new directory may
  // count on changes inside it being seen.
  ++watched->adding;
  std::weak_ptr<int> alive = alive_;
  // As the open's user: the kernel checks that it may read each directory.
  IdentityPtr user =
      identity_for_open(worker_.client().session(watched->session_id), watched->tree_id);
  run_blocking(
      worker_.loop(), user,
      [kernel, dir, relative, budget, result]() {
        result->complete = kernel->add_tree(dir->get(), relative, budget, result->added);
      },
      [this, alive, key, result]() {
        if (alive.expired()) return;
        use_watches(key, result->added, result->complete);
        if (Watched* w = find(key)) {
          --w->adding;
          answer_waiting(*w);
        }
      },
      [this, alive, key](NtStatus) {
        if (alive.expired()) return;
        if (Watched* w = find(key)) {
          --w->adding;
          w->buffer.overflow();
          answer_waiting(*w);
        }
      });
}

void ChangeNotifier::use_watches(const OpenKey& key,
                                 const std::vector<vfs::DirWatcher::Added>& added, bool complete) {
  Watched* watched = find(key);
  if (watched == nullptr) {
    // The open closed while the watches were added: drop those no one else uses.
    for (const auto& a : added)
      if (uses_.count(a.watch) == 0) kernel_->remove(a.watch);
    return;
  }
  for (const auto& a : added) {
    std::vector<Use>& uses = uses_[a.watch];
    bool already = false;
    for (const Use& u : uses) already = already || u.open == key;
    if (already) continue;
    uses.push_back({key, backslashed(a.path)});
    watched->kernel_watches.push_back(a.watch);
  }
  if (!complete) {
    watched->buffer.overflow();
    answer_waiting(*watched);
  }
}

void ChangeNotifier::release_watch(int kernel_watch, const OpenKey& key) {
  auto it = uses_.find(kernel_watch);
  if (it == uses_.end()) return;
  std::erase_if(it->second, [&](const Use& u) { return u.open == key; });
  if (it->second.empty()) {
    kernel_->remove(kernel_watch);
    uses_.erase(it);
  }
}

void ChangeNotifier::open_closed(const FileId& id) {
  OpenKey key{id.persistent, id.volatile_};
  auto it = watched_.find(key);
  if (it == watched_.end()) return;
  for (int w : it->second->kernel_watches) release_watch(w, key);
  watched_.erase(it);
}

void ChangeNotifier::delete_pending(const fsa::FileKey& file) {
  for (auto& [key, watched] : watched_) {
    if (watched->file != file) continue;
    while (!watched->waiting.empty()) {
      RequestPtr req = watched->waiting.front().req;
      watched->waiting.pop_front();
      // Called from a CLOSE handler: answered on the next turn of the loop (async.hh).
      worker_.after(std::chrono::milliseconds(0),
                    [req]() { req->reply(NtStatus::DELETE_PENDING); });
    }
  }
}

void ChangeNotifier::check_delete_pending() {
  fsa::SharedOpenTable* table = worker_.client().host_files();
  if (table == nullptr) return;  // a worker alone: every close is this worker's
  std::vector<fsa::FileKey> pending;
  for (const auto& [key, watched] : watched_) {
    if (watched->waiting.empty()) continue;
    std::optional<fsa::FileRecord> record = table->lookup(watched->file);
    if (record && record->delete_pending) pending.push_back(watched->file);
  }
  for (const fsa::FileKey& file : pending) delete_pending(file);
}

void ChangeNotifier::remember_fresh(int kernel_watch, const std::string& name) {
  auto now = std::chrono::steady_clock::now();
  if (fresh_.size() >= kMaxFresh) {
    std::erase_if(fresh_, [&](const auto& entry) { return now - entry.second > kFreshFor; });
    if (fresh_.size() >= kMaxFresh) fresh_.clear();  // a burst of creations: forget them
  }
  fresh_[{kernel_watch, name}] = now;
}

bool ChangeNotifier::take_fresh(int kernel_watch, const std::string& name) {
  auto it = fresh_.find({kernel_watch, name});
  if (it == fresh_.end()) return false;
  bool recent = std::chrono::steady_clock::now() - it->second <= kFreshFor;
  fresh_.erase(it);
  return recent;
}

void ChangeNotifier::on_readable() {
  std::vector<vfs::DirChange> changes;
  if (!kernel_->read([&](const vfs::DirChange& c) { changes.push_back(c); })) {
    // The descriptor failed: no change will be seen again. Stop polling it (it would
    // wake the loop forever) and have every watcher enumerate its directory.
    log::error(nullptr, "change notify: reading inotify events failed");
    uv_poll_stop(poll_);
    vfs::DirChange lost;
    lost.what = vfs::dir_change::overflow;
    changes.push_back(lost);
  }
  if (!changes.empty()) deliver(changes);
}

namespace {

// Whether the entry of changes[i] was created earlier in the same batch of kernel events.
bool created_in_batch(const std::vector<vfs::DirChange>& changes, std::size_t i) {
  for (std::size_t j = 0; j < i; ++j)
    if (changes[j].watch == changes[i].watch && changes[j].name == changes[i].name &&
        (changes[j].what & (vfs::dir_change::created | vfs::dir_change::moved_to)) != 0)
      return true;
  return false;
}

}  // namespace

void ChangeNotifier::deliver(const std::vector<vfs::DirChange>& changes) {
  namespace dc = vfs::dir_change;
  std::set<OpenKey> touched;
  // The other half of a rename (same cookie) in the same directory. A move between
  // directories is a removal from one and an addition to the other, as on NTFS, also
  // within a watched tree.
  auto partner_seen = [&](std::size_t i) {
    const vfs::DirChange& c = changes[i];
    std::uint32_t other = (c.what & dc::moved_from) ? dc::moved_to : dc::moved_from;
    for (std::size_t j = 0; j < changes.size(); ++j)
      if (j != i && changes[j].cookie == c.cookie && (changes[j].what & other) &&
          changes[j].watch == c.watch)
        return true;
    return false;
  };
  for (std::size_t i = 0; i < changes.size(); ++i) {
    const vfs::DirChange& c = changes[i];
    if (c.what & dc::overflow) {
      // MS-FSA 2.1.5.10: changes were lost; every watcher enumerates again.
      for (auto& [key, w] : watched_) {
        w->buffer.overflow();
        touched.insert(key);
      }
      continue;
    }
    auto it = uses_.find(c.watch);
    if (it == uses_.end()) continue;
    if (c.what & dc::watch_gone) {
      // The directory went (or its watch was removed): the kernel forgot the watch.
      for (const Use& u : it->second)
        if (Watched* w = find(u.open)) std::erase(w->kernel_watches, c.watch);
      uses_.erase(it);
      continue;
    }
    if (c.name.empty()) continue;        // the watched directory itself: its parent reports it
    if (c.what & dc::created) remember_fresh(c.watch, c.name);
    if (c.what & (dc::deleted | dc::moved_from)) fresh_.erase({c.watch, c.name});
    // What the server sets on an entry it has just created (its DOS attributes, its
    // descriptor: IN_ATTRIB right behind IN_CREATE, in this batch of events or, when the
    // creation was read already, in a later one) is part of the creation, which Windows
    // reports as one ADDED.
    if (c.what == dc::metadata && (take_fresh(c.watch, c.name) || created_in_batch(changes, i)))
      continue;
    std::vector<Use> uses = it->second;  // adding watches below may change uses_
    for (const Use& u : uses) {
      Watched* w = find(u.open);
      if (w == nullptr) continue;
      bool renamed = (c.what & (dc::moved_from | dc::moved_to)) && c.cookie != 0 && partner_seen(i);
      std::string name = u.prefix.empty() ? c.name : u.prefix + "\\" + c.name;
      // Likewise when its creation is still kept for the next request (the two kernel
      // events came in separate reads).
      if (c.what == dc::metadata && w->buffer.holds(fsa::notify_action::ADDED, name)) continue;
      // MS-FSA 2.1.5.10, as Windows does it: a waiting request completes with the first
      // change it sees (both names of a rename are one change); what follows is kept for
      // the open's next request.
      const bool first_half = renamed && (c.what & dc::moved_from) != 0;
      for (const fsa::MappedChange& m : fsa::map_dir_change(c.what, c.is_directory, renamed))
        if ((m.unless & w->buffer.completion_filter()) == 0 &&
            w->buffer.add(m.filter, m.action, name)) {
          touched.insert(u.open);
          if (!first_half) answer_waiting(*w);
        }
      // A directory new to a watched tree is watched too (and what came with it).
      if (w->buffer.watch_tree() && c.is_directory && (c.what & (dc::created | dc::moved_to))) {
        std::string relative = u.prefix.empty() ? c.name : u.prefix + "\\" + c.name;
        for (char& ch : relative)
          if (ch == '\\') ch = '/';
        // The directory itself at once, on the loop, as the open's user: a client that
        // made it and then makes files in it is seen, whatever worker serves it (one
        // inotify_add_watch, no I/O on the contents). Below it, off the loop.
        int watch = -1;
        {
          credentials::IdentityScope as_user(
              identity_for_open(worker_.client().session(w->session_id), w->tree_id));
          if (as_user.ok() && uses_.size() < kWatchBudget && w->dir &&
              kernel_->add_below(w->dir->get(), relative, watch) == NtStatus::SUCCESS)
            use_watches(u.open, {{relative, watch}}, true);
        }
        add_watches(u.open, relative);
      }
    }
  }
  for (const OpenKey& key : touched)
    if (Watched* w = find(key)) answer_waiting(*w);
}

void ChangeNotifier::answer_waiting(Watched& watched) {
  if (watched.adding > 0) return;  // answered once the new watches are in place
  while (!watched.waiting.empty() && watched.buffer.ready()) {
    Waiting first = std::move(watched.waiting.front());
    watched.waiting.pop_front();
    fsa::ChangeBuffer::Taken taken = watched.buffer.take(first.output_buffer_length);
    // The request leaves the pending list when it completes (async.hh).
    answer(first.req, std::move(taken));
  }
}

}  // namespace smb::server
