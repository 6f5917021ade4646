#include "smbd/fsa/shared_open_table.hh"

#include <algorithm>

#include "smbd/fsa/caching.hh"
#include "smbd/fsa/oplocks.hh"
#include "smbd/hostwide/doorbell.hh"

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

OplockType oplock_type_of(hostwide::Caching caching) {
  switch (caching) {
    case hostwide::Caching::LEVEL_TWO:
      return OplockType::LEVEL_TWO;
    case hostwide::Caching::EXCLUSIVE:
      return OplockType::LEVEL_ONE;
    case hostwide::Caching::BATCH:
      return OplockType::LEVEL_BATCH;
    case hostwide::Caching::LEASE:
      return OplockType::LEVEL_GRANULAR;
    case hostwide::Caching::NONE:
      break;
  }
  return OplockType::LEVEL_NONE;
}

hostwide::Caching caching_of(OplockType type) {
  switch (type) {
    case OplockType::LEVEL_TWO:
      return hostwide::Caching::LEVEL_TWO;
    case OplockType::LEVEL_ONE:
      return hostwide::Caching::EXCLUSIVE;
    case OplockType::LEVEL_BATCH:
      return hostwide::Caching::BATCH;
    case OplockType::LEVEL_GRANULAR:
      return hostwide::Caching::LEASE;
    case OplockType::LEVEL_NONE:
      break;
  }
  return hostwide::Caching::NONE;
}

void copy_caching(const hostwide::OpenEntry& entry, FileOpen& open) {
  open.oplock_level = oplock_type_of(entry.caching);
  open.oplock_break_pending = (entry.break_flags & hostwide::kBreakAwaitsAck) != 0;
  if (entry.caching == hostwide::Caching::LEASE) {
    open.lease.key = entry.lease.key;
    open.lease.parent_key = entry.lease.parent_key;
    open.lease.parent_set = entry.lease.parent_set;
    open.lease.state = entry.lease.state;
    open.lease.epoch = entry.lease.epoch;
    open.lease.version = entry.lease.version;
    open.lease.breaking = open.oplock_break_pending;
  }
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
  OpenIntent intent;
  intent.access = open.granted_access;
  intent.share_access = open.share_access;
  intent.request = open.caching_request;
  intent.self = owner_;
  NtStatus refusal = NtStatus::SUCCESS;
  OpenOutcome outcome;
  hostwide::OpenEntry granted;
  auto result = segment_.insert(
      file_id(open.key), entry, [&](hostwide::FileState& state, hostwide::OpenEntry& incoming) {
        refusal = admit(record_of(state));
        // A sharing violation may yet be a break of another open's handle caching.
        if (refusal != NtStatus::SUCCESS && refusal != NtStatus::SHARING_VIOLATION) return false;
        outcome = decide_open(state, incoming, intent);
        granted = incoming;
        refusal = outcome.verdict == OpenVerdict::WAIT     ? NtStatus::PENDING
                  : outcome.verdict == OpenVerdict::REFUSE ? outcome.status
                                                           : NtStatus::SUCCESS;
        return refusal == NtStatus::SUCCESS;
      });
  ring(outcome.ring);
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
  copy_caching(granted, open);
  tokens_[&open] = entry.token;
  by_token_[entry.token] = &open;
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
  by_token_.erase(token->second);
  tokens_.erase(token);
  ring(left.waiters);
  // The file is delete-pending now for the other workers that hold it: they are told
  // (MS-FSA 2.1.5.10: a CHANGE_NOTIFY waiting on a directory that is to go completes).
  if (open.delete_on_close && result == hostwide::Result::OK) {
    std::vector<pid_t> holders;
    for (const auto& entry : left.entries)
      if (entry.owner != owner_ &&
          std::find(holders.begin(), holders.end(), entry.owner) == holders.end())
        holders.push_back(entry.owner);
    ring(holders);
  }
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

bool SharedOpenTable::hand_over(FileOpen& open, pid_t new_owner, std::uint64_t new_token,
                                const std::array<std::uint8_t, 16>& client) {
  auto token = tokens_.find(&open);
  if (token == tokens_.end()) return false;
  if (segment_.rehome(file_id(open.key), owner_, token->second, new_owner, new_token, client) !=
      hostwide::Result::OK)
    return false;
  by_token_.erase(token->second);
  tokens_.erase(token);
  if (auto local = local_.find(open.key); local != local_.end()) {
    std::erase(local->second, &open);
    if (local->second.empty()) local_.erase(local);
  }
  return true;
}

void SharedOpenTable::adopt(FileOpen& open, std::uint64_t token) {
  tokens_[&open] = token;
  by_token_[token] = &open;
  local_[open.key].push_back(&open);
  hostwide::FileState state;
  if (segment_.lookup(file_id(open.key), state) == hostwide::Result::OK) refresh(open.key, state);
}

void SharedOpenTable::set_delete_pending(const FileKey& key, bool pending) {
  (void)segment_.set_delete_pending(file_id(key), pending);
  if (auto local = local_.find(key); local != local_.end())
    for (FileOpen* open : local->second) open->delete_pending = pending;
  notify(key);
}

void SharedOpenTable::ring(const std::vector<pid_t>& workers) {
  for (pid_t worker : workers)
    (void)hostwide::ring(hostwide::doorbell_name(segment_.host_id(), worker));
}

void SharedOpenTable::refresh(const FileKey& key, const hostwide::FileState& state) {
  for (const auto& entry : state.entries) {
    if (entry.owner != owner_) continue;
    auto open = by_token_.find(entry.token);
    if (open != by_token_.end() && open->second->key == key) copy_caching(entry, *open->second);
  }
}

std::vector<SharedOpenTable::BreakNotice> SharedOpenTable::take_breaks() {
  std::vector<BreakNotice> notices;
  std::vector<std::pair<FileKey, std::array<std::uint8_t, 16>>> leases_told;
  for (const auto& [id, entry] : segment_.take_notifications(owner_)) {
    auto open = by_token_.find(entry.token);
    if (open == by_token_.end()) continue;
    FileKey key{id.device, id.inode};
    if (!(open->second->key == key)) continue;
    copy_caching(entry, *open->second);
    BreakNotice notice;
    notice.open = open->second;
    bool awaits_ack = (entry.break_flags & hostwide::kBreakAwaitsAck) != 0;
    if (entry.caching == hostwide::Caching::LEASE) {
      // One notification per lease, whichever of its opens carried the mark.
      auto told = std::make_pair(key, entry.lease.key);
      if (std::find(leases_told.begin(), leases_told.end(), told) != leases_told.end()) continue;
      leases_told.push_back(told);
      notice.lease = true;
      notice.new_state = entry.lease.breaking_to;
      notice.epoch = entry.lease.epoch;
      notice.ack_required = awaits_ack;
      // Without an acknowledgement the state is already the new one; the client is told
      // what it had (MS-SMB2 3.3.4.7: R to none).
      notice.current_state = awaits_ack ? entry.lease.state : hostwide::kLeaseRead;
    } else {
      notice.new_level =
          awaits_ack ? oplock_type_of(entry.oplock_breaking_to) : OplockType::LEVEL_NONE;
      notice.ack_required = awaits_ack;
    }
    notices.push_back(notice);
  }
  return notices;
}

NtStatus SharedOpenTable::acknowledge_oplock(FileOpen& open, OplockType level,
                                             OplockType& granted) {
  granted = open.oplock_level;
  auto token = tokens_.find(&open);
  if (token == tokens_.end()) return kStatusInvalidOplockProtocol;
  NtStatus status = kStatusInvalidOplockProtocol;
  std::vector<pid_t> waiters;
  hostwide::FileState after;
  (void)segment_.update(file_id(open.key), [&](hostwide::FileState& state) {
    for (auto& entry : state.entries) {
      if (entry.owner != owner_ || entry.token != token->second) continue;
      hostwide::Caching kept = hostwide::Caching::NONE;
      status = fsa::acknowledge_oplock(entry, caching_of(level), kept);
      granted = oplock_type_of(kept);
    }
    if (status == NtStatus::SUCCESS) waiters.swap(state.waiters);
    after = state;
  });
  refresh(open.key, after);
  ring(waiters);
  return status;
}

NtStatus SharedOpenTable::acknowledge_lease(FileOpen& open,
                                            const std::array<std::uint8_t, 16>& lease_key,
                                            std::uint8_t lease_state, std::uint8_t& granted) {
  NtStatus status = NtStatus::OBJECT_NAME_NOT_FOUND;
  std::vector<pid_t> waiters;
  hostwide::FileState after;
  (void)segment_.update(file_id(open.key), [&](hostwide::FileState& state) {
    status = fsa::acknowledge_lease(state, client_, lease_key, lease_state, granted);
    if (status == NtStatus::SUCCESS) waiters.swap(state.waiters);
    after = state;
  });
  refresh(open.key, after);
  // The next step of a break the acknowledgement started goes to this worker's client.
  for (const auto& entry : after.entries)
    if (entry.owner == owner_ && (entry.break_flags & hostwide::kBreakNotify) != 0) {
      waiters.push_back(owner_);
      break;
    }
  ring(waiters);
  return status;
}

void SharedOpenTable::force_breaks(const FileKey& key) {
  std::vector<pid_t> waiters;
  hostwide::FileState after;
  (void)segment_.update(file_id(key), [&](hostwide::FileState& state) {
    if (fsa::force_breaks(state, [](const hostwide::OpenEntry&) { return true; }))
      waiters.swap(state.waiters);
    after = state;
  });
  refresh(key, after);
  ring(waiters);
}

void SharedOpenTable::give_up_break(FileOpen& open) {
  auto token = tokens_.find(&open);
  if (token == tokens_.end()) return;
  std::vector<pid_t> waiters;
  hostwide::FileState after;
  std::uint64_t mine = token->second;
  (void)segment_.update(file_id(open.key), [&](hostwide::FileState& state) {
    hostwide::OpenEntry* held = nullptr;
    for (auto& entry : state.entries)
      if (entry.owner == owner_ && entry.token == mine) held = &entry;
    if (held == nullptr) return;
    hostwide::OpenEntry holder = *held;
    if (fsa::force_breaks(state, [&](const hostwide::OpenEntry& e) {
          return (e.owner == holder.owner && e.token == holder.token) || same_lease(e, holder);
        }))
      waiters.swap(state.waiters);
    after = state;
  });
  refresh(open.key, after);
  ring(waiters);
}

void SharedOpenTable::break_readers(FileOpen& writer) {
  auto token = tokens_.find(&writer);
  if (token == tokens_.end()) return;
  std::vector<pid_t> holders;
  std::uint64_t mine = token->second;
  (void)segment_.update(file_id(writer.key), [&](hostwide::FileState& state) {
    for (const auto& entry : state.entries)
      if (entry.owner == owner_ && entry.token == mine) {
        holders = fsa::break_readers(state, entry);
        break;
      }
  });
  ring(holders);
}

void SharedOpenTable::break_directory_leases(const FileKey& directory, const FileOpen& by) {
  if (directory == FileKey{}) return;
  // The ParentLeaseKey of the change's open (MS-SMB2 2.2.13.2.10): granted with its lease,
  // or asked for by a CREATE not yet admitted.
  const LeaseInfo* lease = nullptr;
  if (by.oplock_level == OplockType::LEVEL_GRANULAR)
    lease = &by.lease;
  else if (by.caching_request.oplock == OplockType::LEVEL_GRANULAR)
    lease = &by.caching_request.lease;
  const std::array<std::uint8_t, 16>* parent_key =
      lease != nullptr && lease->parent_set ? &lease->parent_key : nullptr;
  std::vector<pid_t> holders;
  (void)segment_.update(file_id(directory), [&](hostwide::FileState& state) {
    holders = fsa::break_directory_leases(state, client_, parent_key);
  });
  ring(holders);
}

bool SharedOpenTable::break_handle_leases(FileOpen& renamer) {
  auto token = tokens_.find(&renamer);
  if (token == tokens_.end()) return false;
  std::vector<pid_t> holders;
  bool held = false;
  std::uint64_t mine = token->second;
  (void)segment_.update(file_id(renamer.key), [&](hostwide::FileState& state) {
    for (const auto& entry : state.entries)
      if (entry.owner == owner_ && entry.token == mine) {
        held = fsa::break_handle_leases(state, entry, holders);
        break;
      }
    if (held &&
        std::find(state.waiters.begin(), state.waiters.end(), owner_) == state.waiters.end())
      state.waiters.push_back(owner_);
  });
  ring(holders);
  return held;
}

Watch SharedOpenTable::watch(const FileKey& key, std::function<void()> changed) {
  return watches_.add(key, std::move(changed));
}

}  // namespace smb::fsa
