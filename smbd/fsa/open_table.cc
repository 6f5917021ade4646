#include "smbd/fsa/open_table.hh"

#include <algorithm>
#include <utility>

namespace smb::fsa {

Watch& Watch::operator=(Watch&& other) noexcept {
  if (this != &other) {
    cancel();
    cancel_ = std::move(other.cancel_);
    other.cancel_ = nullptr;
  }
  return *this;
}

void Watch::cancel() {
  if (cancel_) std::exchange(cancel_, nullptr)();
}

FileRecord LocalOpenTable::record_of(const std::vector<FileOpen*>& opens) const {
  FileRecord record;
  for (const FileOpen* open : opens) {
    record.delete_pending = record.delete_pending || open->delete_pending;
    record.entries.push_back({open->granted_access, open->share_access});
  }
  return record;
}

std::optional<FileRecord> LocalOpenTable::lookup(const FileKey& key) const {
  auto it = files_.find(key);
  if (it == files_.end()) return std::nullopt;
  return record_of(it->second);
}

NtStatus LocalOpenTable::insert(FileOpen& open, const Admission& admit) {
  auto it = files_.find(open.key);
  NtStatus status = admit(it == files_.end() ? FileRecord{} : record_of(it->second));
  if (status != NtStatus::SUCCESS) return status;
  files_[open.key].push_back(&open);
  notify(open.key);
  return NtStatus::SUCCESS;
}

FileRecord LocalOpenTable::remove(FileOpen& open) {
  auto it = files_.find(open.key);
  if (it == files_.end()) return {};
  auto& opens = it->second;
  auto found = std::find(opens.begin(), opens.end(), &open);
  if (found == opens.end()) return record_of(opens);
  opens.erase(found);
  bool deletes = open.delete_on_close || open.delete_pending;
  if (open.delete_on_close)
    for (FileOpen* other : opens) other->delete_pending = true;
  FileRecord left = record_of(opens);
  left.delete_pending = left.delete_pending || deletes;
  if (opens.empty()) files_.erase(it);
  notify(open.key);
  return left;
}

void LocalOpenTable::set_delete_pending(const FileKey& key, bool pending) {
  auto it = files_.find(key);
  if (it == files_.end()) return;
  for (FileOpen* open : it->second) open->delete_pending = pending;
  notify(key);
}

Watch LocalOpenTable::watch(const FileKey& key, std::function<void()> changed) {
  return watches_.add(key, std::move(changed));
}

Watch FileWatches::add(const FileKey& key, std::function<void()> changed) {
  std::uint64_t id = ++next_;
  watches_[key].emplace(id, std::move(changed));
  return Watch([this, key, id]() {
    auto it = watches_.find(key);
    if (it == watches_.end()) return;
    it->second.erase(id);
    if (it->second.empty()) watches_.erase(it);
  });
}

void FileWatches::notify(const FileKey& key) {
  auto it = watches_.find(key);
  if (it == watches_.end()) return;
  // Each watch fires once; a callback may watch again or change the table.
  auto fired = std::move(it->second);
  watches_.erase(it);
  for (auto& [id, callback] : fired) callback();
}

}  // namespace smb::fsa
