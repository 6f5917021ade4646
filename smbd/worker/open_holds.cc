#include "smbd/worker/open_holds.hh"

namespace smb::server {

void OpenHolds::hold(const FileId& id) { ++entries_[key(id)].holds; }

void OpenHolds::release(const FileId& id) {
  auto it = entries_.find(key(id));
  if (it == entries_.end() || it->second.holds == 0) return;
  if (--it->second.holds != 0) return;
  std::vector<std::function<void()>> waiting = std::move(it->second.waiting);
  entries_.erase(it);
  for (auto& close : waiting) defer_(std::move(close));
}

bool OpenHolds::held(const FileId& id) const {
  auto it = entries_.find(key(id));
  return it != entries_.end() && it->second.holds != 0;
}

void OpenHolds::when_released(const FileId& id, std::function<void()> close) {
  auto it = entries_.find(key(id));
  if (it == entries_.end() || it->second.holds == 0) {
    close();
    return;
  }
  it->second.waiting.push_back(std::move(close));
}

}  // namespace smb::server
