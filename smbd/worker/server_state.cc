#include "smbd/worker/server_state.hh"

#include <openssl/rand.h>

#include <algorithm>

#include "smbd/conf/log.hh"
#include "smbd/fsa/close.hh"
#include "smbd/worker/blocking.hh"
#include "smbd/worker/oplocks.hh"

namespace smb::server {

std::size_t ServerConfig::max_message_size() const {
  const auto& g = conf.global;
  std::size_t largest = std::max({g.smb2_max_read, g.smb2_max_write, g.smb2_max_trans});
  // Headers, a transform header and compound padding on top of the largest payload.
  return largest + 64 * 1024;
}

namespace {
std::uint64_t random_u64() {
  std::uint64_t v = 0;
  RAND_bytes(reinterpret_cast<unsigned char*>(&v), sizeof v);
  return v;
}
}  // namespace

void ClientState::use_host_table(std::shared_ptr<hostwide::OpenSegment> segment, pid_t owner) {
  auto shared = std::make_unique<fsa::SharedOpenTable>(*segment, owner);
  shared_files_ = shared.get();
  files_ = std::move(shared);
  segment_ = std::move(segment);
}

void ClientState::use_lock_table(std::shared_ptr<hostwide::LockSegment> segment, pid_t owner,
                                 std::function<void(pid_t)> ring) {
  locks_ = std::make_unique<fsa::ByteRangeLocks>(std::move(segment), owner, std::move(ring));
}

fsa::LockOwner lock_owner_of(const Open& open) { return {open.key, open.id.volatile_}; }

void ClientState::set_client_guid(const std::array<std::uint8_t, 16>& guid) {
  if (shared_files_) shared_files_->set_client(guid);
}

Session& ClientState::new_session() {
  // Session ids are not guessable from another client's (MS-SMB2 3.3.5.5.1 asks only for
  // uniqueness; unpredictability makes misuse of someone else's id pointless to try).
  std::uint64_t id;
  do {
    id = random_u64() & 0x0000FFFFFFFFFFFFull;
  } while (id == 0 || id == 0xFFFFFFFFFFFFull || sessions_.count(id) != 0);
  auto session = std::make_unique<Session>();
  session->id = id;
  Session& ref = *session;
  sessions_.emplace(id, std::move(session));
  return ref;
}

Session* ClientState::session(std::uint64_t id) {
  auto it = sessions_.find(id);
  return it == sessions_.end() ? nullptr : it->second.get();
}

void ClientState::remove_session(std::uint64_t id) {
  if (sessions_.erase(id) != 0 && on_session_removed) on_session_removed(id);
}

SessionFacts facts_of(const Session& session) {
  SessionFacts f;
  f.dialect = session.dialect;
  f.cipher = session.cipher;
  f.signing_algorithm = session.signing_algorithm;
  f.valid = session.state == Session::State::VALID && !session.logged_off;
  f.keyed = !session.anonymous && !session.guest && session.session_signer != nullptr;
  return f;
}

Bytes encode_facts(const SessionFacts& facts) {
  Bytes out;
  ByteWriter w(out);
  w.u16(facts.dialect);
  w.u16(facts.cipher ? static_cast<std::uint16_t>(*facts.cipher) : 0);
  w.u16(static_cast<std::uint16_t>(facts.signing_algorithm));
  w.u8(static_cast<std::uint8_t>((facts.valid ? 1 : 0) | (facts.keyed ? 2 : 0)));
  return out;
}

std::optional<SessionFacts> decode_facts(ByteSpan bytes) {
  ByteReader r(bytes);
  SessionFacts f;
  f.dialect = r.u16();
  std::uint16_t cipher = r.u16();
  std::uint16_t signing = r.u16();
  std::uint8_t flags = r.u8();
  if (!r.ok() || r.remaining() != 0 || cipher > 4 || signing > 2) return std::nullopt;
  if (cipher != 0) f.cipher = static_cast<crypto::Cipher>(cipher);
  f.signing_algorithm = static_cast<crypto::SigningAlgorithm>(signing);
  f.valid = (flags & 1) != 0;
  f.keyed = (flags & 2) != 0;
  return f;
}

Open& ClientState::new_open(std::uint64_t session_id, std::uint32_t tree_id) {
  auto open = std::make_unique<Open>();
  std::uint64_t volatile_id = ++next_file_id_;
  open->id = FileId{random_u64() >> 1, volatile_id};
  open->session_id = session_id;
  open->tree_id = tree_id;
  Open& ref = *open;
  opens_.emplace(volatile_id, std::move(open));
  ++session_opens_[session_id].opens;
  return ref;
}

bool ClientState::reserve_open(std::uint64_t session_id, std::size_t limit) {
  SessionOpens& counts = session_opens_[session_id];
  if (counts.opens + counts.creating >= limit) return false;
  ++counts.creating;
  return true;
}

void ClientState::end_create(std::uint64_t session_id) {
  auto it = session_opens_.find(session_id);
  if (it == session_opens_.end()) return;
  if (it->second.creating > 0) --it->second.creating;
  if (it->second.opens == 0 && it->second.creating == 0) session_opens_.erase(it);
}

void ClientState::forget_open(const Open& open) {
  // MS-FSA 2.1.5.5: the requests waiting on the open end, and its locks go.
  if (on_open_closing) on_open_closing(open);
  if (locks_ && !open.pipe && !open.is_directory) locks_->unlock_all(lock_owner_of(open));
  if (!open.disconnected()) uncount_open(open.session_id);
  if (open.durable && on_durable_gone) on_durable_gone(open.id.persistent);
}

std::size_t ClientState::sessions_on(std::uint64_t connection_id) const {
  std::size_t n = 0;
  for (const auto& [id, session] : sessions_)
    if (session->bound_connection == connection_id || session->channels.count(connection_id) != 0)
      ++n;
  return n;
}

Open* ClientState::open(const FileId& id) {
  auto it = opens_.find(id.volatile_);
  if (it == opens_.end() || it->second->id.persistent != id.persistent) return nullptr;
  return it->second.get();
}

std::unique_ptr<Open> ClientState::take_open(const FileId& id) {
  auto it = opens_.find(id.volatile_);
  if (it == opens_.end() || it->second->id.persistent != id.persistent) return nullptr;
  auto open = std::move(it->second);
  opens_.erase(it);
  forget_open(*open);
  return open;
}

void ClientState::abandon_open(const FileId& id) {
  auto open = take_open(id);
  if (open && !open->pipe) (void)fsa::close_open(*files_, oplocks_, *open);
}

void ClientState::close_opens_of(std::uint64_t session_id, std::uint32_t tree_id) {
  for (auto it = opens_.begin(); it != opens_.end();) {
    if (it->second->session_id == session_id && (tree_id == 0 || it->second->tree_id == tree_id)) {
      auto open = std::move(it->second);
      it = opens_.erase(it);
      forget_open(*open);
      close_now(*open);
    } else {
      ++it;
    }
  }
}

void ClientState::close_now(Open& open) {
  if (open.pipe) return;
  const bool goes = fsa::close_open(*files_, oplocks_, open);
  // MS-SMB2 3.3.4.7: a written file's close, or its delete once done, changes its
  // directory's entry.
  if (!goes) {
    if (open.modified) directory_changed(*this, open.parent, open);
    return;
  }
  // The file is deleted as the user of the open's share, who asked for it
  // (docs/security.md), never as the process.
  IdentityPtr user = open.disconnected() && open.durable->identity
                         ? open.durable->identity
                         : identity_for_open(session(open.session_id), open.tree_id);
  credentials::IdentityScope as_user(user);
  if (as_user.ok()) {
    delete_closed_file(open);
    directory_changed(*this, open.parent, open);
  } else {
    log::error(nullptr, "delete on close of '%s' not done: cannot act as %s", open.path.c_str(),
               user->describe().c_str());
  }
}

void delete_closed_file(const Open& open) {
  NtStatus status = fsa::delete_closed_file(open);
  if (status != NtStatus::SUCCESS)
    log::notice(nullptr, "delete on close of '%s' failed: %s", open.path.c_str(),
                std::string(nt_status_name(status)).c_str());
}

std::vector<Open*> ClientState::opens_of(const fsa::FileKey& key) {
  std::vector<Open*> found;
  for (auto& [id, open] : opens_)
    if (!open->pipe && open->key == key) found.push_back(open.get());
  return found;
}

SequenceCheck admit_channel_sequence(Open& open, std::uint16_t sequence, bool replay,
                                     bool modifies) {
  auto stale = modifies ? SequenceCheck::refused : SequenceCheck::passed;
  if (sequence == open.channel_sequence) {
    // A replay must wait until the requests sent before the client moved to this
    // sequence have drained.
    if (replay && open.outstanding_pre_requests != 0) return stale;
    ++open.outstanding_requests;
    return SequenceCheck::counted;
  }
  if (static_cast<std::uint16_t>(sequence - open.channel_sequence) <= 0x7FFF) {
    open.outstanding_pre_requests += open.outstanding_requests;
    open.outstanding_requests = 1;
    open.channel_sequence = sequence;
    return SequenceCheck::counted;
  }
  return stale;
}

void release_channel_sequence(Open& open, std::uint16_t sequence) {
  if (sequence == open.channel_sequence) {
    if (open.outstanding_requests > 0) --open.outstanding_requests;
  } else if (open.outstanding_pre_requests > 0) {
    --open.outstanding_pre_requests;
  }
}

void ClientState::channel_closed(std::uint64_t connection_id) {
  // MS-SMB2 3.3.7.1: a session loses the channel; a session left with no channel is
  // torn down with its tree connects and opens.
  std::vector<std::uint64_t> orphaned;
  for (auto& [id, session] : sessions_) {
    session->bindings.erase(connection_id);
    bool had_channel = session->channels.erase(connection_id) != 0;
    if (session->channels.empty() && (had_channel || session->bound_connection == connection_id))
      orphaned.push_back(id);
  }
  for (std::uint64_t id : orphaned) disconnect_session(id);
}

std::string durable_owner_of(const Session& session) {
  if (session.anonymous) return "anonymous";
  if (session.guest) return "guest";
  if (session.identity) return "uid:" + std::to_string(session.identity->uid);
  return "user:" + session.domain + "\\" + session.user;
}

bool holds_handle_caching(const Open& open) {
  return open.oplock_level == fsa::OplockType::LEVEL_BATCH ||
         (open.oplock_level == fsa::OplockType::LEVEL_GRANULAR &&
          (open.lease.state & hostwide::kLeaseHandle) != 0);
}

void ClientState::uncount_open(std::uint64_t session_id) {
  auto it = session_opens_.find(session_id);
  if (it == session_opens_.end()) return;
  if (it->second.opens > 0) --it->second.opens;
  if (it->second.opens == 0 && it->second.creating == 0) session_opens_.erase(it);
}

void ClientState::disconnect_session(std::uint64_t session_id) {
  disconnect_opens_of(session_id);
  remove_session(session_id);
}

void ClientState::disconnect_opens_of(std::uint64_t session_id) {
  const Session* session = this->session(session_id);
  for (auto it = opens_.begin(); it != opens_.end();) {
    Open& open = *it->second;
    if (open.session_id != session_id) {
      ++it;
      continue;
    }
    // An open that is to delete its file is not kept (the file goes now, as Samba does).
    // One whose break is in progress could not acknowledge it any more: it closes, and
    // whoever waits for the break goes on.
    if (!open.durable || open.pipe || !holds_handle_caching(open) || open.delete_on_close ||
        open.delete_pending || open.oplock_break_pending || open.lease.breaking) {
      auto closing = std::move(it->second);
      it = opens_.erase(it);
      forget_open(*closing);
      close_now(*closing);
      continue;
    }
    open.durable->identity = identity_for_open(session, open.tree_id);
    uncount_open(open.session_id);
    open.session_id = 0;
    open.tree_id = 0;
    open.connection_id = 0;
    open.search.reset();
    open.outstanding_requests = 0;
    open.outstanding_pre_requests = 0;
    open.durable->disconnected = true;
    open.durable->deadline = std::chrono::steady_clock::now() + open.durable->timeout;
    log::debug(4, nullptr, "durable open of '%s' kept for %lld ms", open.path.c_str(),
               static_cast<long long>(open.durable->timeout.count()));
    if (on_durable_disconnected) on_durable_disconnected(open);
    ++it;
  }
}

Open* ClientState::disconnected_open(std::uint64_t persistent_id) {
  for (auto& [id, open] : opens_)
    if (open->id.persistent == persistent_id && open->disconnected()) return open.get();
  return nullptr;
}

void ClientState::reconnect_open(Open& open, std::uint64_t session_id, std::uint32_t tree_id,
                                 std::uint64_t connection_id) {
  open.session_id = session_id;
  open.tree_id = tree_id;
  open.connection_id = connection_id;
  open.channel_sequence = 0;
  open.durable->disconnected = false;
  open.durable->identity.reset();
  if (on_durable_connected) on_durable_connected(open);
  ++session_opens_[session_id].opens;
}

bool ClientState::has_persistent_id(std::uint64_t persistent_id) const {
  return std::any_of(opens_.begin(), opens_.end(), [&](const auto& entry) {
    return entry.second->id.persistent == persistent_id;
  });
}

std::unique_ptr<Open> ClientState::hand_over_open(const FileId& id) {
  Open* open = this->open(id);
  if (open == nullptr || !open->disconnected()) return nullptr;
  auto taken = std::move(opens_.find(id.volatile_)->second);
  opens_.erase(id.volatile_);
  if (on_durable_gone) on_durable_gone(id.persistent);
  return taken;
}

Open& ClientState::adopt_open(std::unique_ptr<Open> open) {
  Open& ref = *open;
  opens_[open->id.volatile_] = std::move(open);
  return ref;
}

bool ClientState::close_disconnected(const FileId& id) {
  Open* open = this->open(id);
  if (open == nullptr || !open->disconnected()) return false;
  auto taken = std::move(opens_.find(id.volatile_)->second);
  opens_.erase(id.volatile_);
  forget_open(*taken);
  close_now(*taken);
  return true;
}

std::optional<std::chrono::steady_clock::time_point> ClientState::next_durable_deadline() const {
  std::optional<std::chrono::steady_clock::time_point> next;
  for (const auto& [id, open] : opens_)
    if (open->disconnected() && (!next || open->durable->deadline < *next))
      next = open->durable->deadline;
  return next;
}

std::vector<FileId> ClientState::expired_durable_opens(
    std::chrono::steady_clock::time_point now) const {
  std::vector<FileId> expired;
  for (const auto& [id, open] : opens_)
    if (open->disconnected() && open->durable->deadline <= now) expired.push_back(open->id);
  return expired;
}

bool ClientState::keeps_worker_alive() const {
  return std::any_of(opens_.begin(), opens_.end(),
                     [](const auto& entry) { return entry.second->disconnected(); });
}

void ClientState::close_all() {
  while (!opens_.empty()) {
    auto open = std::move(opens_.begin()->second);
    opens_.erase(opens_.begin());
    forget_open(*open);
    close_now(*open);
  }
  while (!sessions_.empty()) remove_session(sessions_.begin()->first);
}

}  // namespace smb::server
