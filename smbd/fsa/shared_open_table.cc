#include "smbd/fsa/shared_open_table.hh"

#include <algorithm>

namespace smb::fsa {

namespace {

hostwide::FileId file_id(const FileKey& key) { return {key.device, key.inode}; }

FileRecord record_of(const hostwide::FileState& state) {
  FileRecord record;
  record.delete_pending = state.delete_pending;
  for (const auto& entry : state.entries)
    record.entries.push_back({entry.granted_access, entry.share_access});
  return record;
}

}  // namespace

SharedOpenTable::SharedOpenTable(hostwide::OpenSegment& segment, pid_t owner)
    : segment_(segment), owner_(owner) {}

// Opens still recorded (a worker ending with opens) leave the segment with it.
SharedOpenTable::~SharedOpenTable() { segment_.remove_owner(owner_); }

void SharedOpenTable::set_client(const std::array<std::uint8_t, 16>& client) {
  client_ = client;
  segment_.set_client(owner_, client);
}

std::optional<FileRecord> SharedOpenTable::lookup(const FileKey& key) const {
  hostwide::FileState state;
  switch (segment_.lookup(file_id(key), state)) {
    case hostwide::Result::OK:
      return record_of(state);
    default:
      return std::nullopt;
  }
}

NtStatus SharedOpenTable::insert(FileOpen& open, const Admission& admit) {
  hostwide::OpenEntry entry;
  entry.owner = owner_;
  entry.token = ++next_token_;
  entry.client = client_;
  entry.granted_access = open.granted_access;
  entry.share_access = open.share_access;
  entry.delete_on_close = open.delete_on_close;
  NtStatus refusal = NtStatus::SUCCESS;
  auto result = segment_.insert(file_id(open.key), entry, [&](const hostwide::FileState& state) {
    refusal = admit(record_of(state));
    return refusal == NtStatus::SUCCESS;
  });
  switch (result) {
    case hostwide::Result::OK:
      break;
    case hostwide::Result::REFUSED:
      return refusal;
    case hostwide::Result::FULL:
      return NtStatus::INSUFFICIENT_RESOURCES;
    default:  // damaged: the segment has repaired the table, this open is refused
      return NtStatus::INTERNAL_ERROR;
  }
  tokens_[&open] = entry.token;
  local_[open.key].push_back(&open);
  notify(open.key);
  return NtStatus::SUCCESS;
}

FileRecord SharedOpenTable::remove(FileOpen& open) {
  auto token = tokens_.find(&open);
  if (token == tokens_.end()) return {};
  hostwide::FileState left;
  auto result =
      segment_.remove(file_id(open.key), owner_, token->second, open.delete_on_close, left);
  tokens_.erase(token);
  if (auto local = local_.find(open.key); local != local_.end()) {
    std::erase(local->second, &open);
    if (open.delete_on_close)
      for (FileOpen* other : local->second) other->delete_pending = true;
    if (local->second.empty()) local_.erase(local);
  }
  notify(open.key);
  // A record lost to damage: nobody is known to hold the file; it is not deleted blindly.
  if (result != hostwide::Result::OK) return {};
  return record_of(left);
}

void SharedOpenTable::set_delete_pending(const FileKey& key, bool pending) {
  (void)segment_.set_delete_pending(file_id(key), pending);
  if (auto local = local_.find(key); local != local_.end())
    for (FileOpen* open : local->second) open->delete_pending = pending;
  notify(key);
}

Watch SharedOpenTable::watch(const FileKey& key, std::function<void()> changed) {
  return watches_.add(key, std::move(changed));
}

}  // namespace smb::fsa
