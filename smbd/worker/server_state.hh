// The state a worker keeps for its client (MS-SMB2 3.3.1): sessions with their channels
// and tree connects, and the opens. Requests refer to these by id and look them up
// each time; nothing holds a pointer to them across a wait.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "smbd/auth/authenticator.hh"
#include "smbd/base/bytes.hh"
#include "smbd/base/credentials.hh"
#include "smbd/base/unique_fd.hh"
#include "smbd/conf/config.hh"
#include "smbd/conf/username_map.hh"
#include "smbd/conf/users.hh"
#include "smbd/crypto/encryption.hh"
#include "smbd/crypto/preauth.hh"
#include "smbd/crypto/signing.hh"
#include "smbd/fsa/byte_range_locks.hh"
#include "smbd/fsa/file_open.hh"
#include "smbd/fsa/open_table.hh"
#include "smbd/fsa/oplocks.hh"
#include "smbd/fsa/shared_open_table.hh"
#include "smbd/hostwide/lock_segment.hh"
#include "smbd/hostwide/open_segment.hh"
#include "smbd/proto/file_id.hh"
#include "smbd/rpc/pipe.hh"
#include "smbd/vfs/nt_token.hh"
#include "smbd/vfs/share.hh"

namespace smb::server {

// The configuration a worker serves with, and what is derived from it once.
struct ServerConfig {
  conf::Config conf;
  std::shared_ptr<const conf::UserDb> users;
  std::shared_ptr<const conf::UsernameMap> username_map;  // null without `username map`
  std::array<std::uint8_t, 16> server_guid{};
  // The Unix account name a client's user name (or a principal's name) stands for.
  std::string unix_name(std::string_view user) const {
    return username_map ? username_map->map(user) : std::string(user);
  }
  // The host's table of open files, mapped by the master before it forks; without it
  // (a worker run alone, in tests) share modes hold between this worker's opens only.
  std::shared_ptr<hostwide::OpenSegment> open_segment;
  // The host's table of byte-range locks, made beside it (hostwide/lock_segment.hh).
  std::shared_ptr<hostwide::LockSegment> lock_segment;
  std::size_t max_message_size() const;
};

struct TreeConnect {
  std::uint32_t id = 0;
  std::string share_name;
  bool is_ipc = false;
  bool read_only = false;
  bool encrypt_required = false;
  bool hide_unreadable = false;  // access-based enumeration (`hide unreadable`)
  std::uint32_t maximal_access = 0;
  vfs::NewFilePolicy new_file;  // the share's create masks and inheritance
  bool ea_support = false;      // `ea support`: EAs kept as `user.` xattrs (vfs/eas.hh)
  bool streams = false;         // `vfs objects = streams_xattr`: named streams (vfs/streams.hh)
  // On shares with `vfs objects = acl_xattr`: the token of `identity`, which stored NT
  // ACLs are checked against (fsa/create.hh).
  std::shared_ptr<const vfs::NtToken> nt_token;
  IdentityPtr identity;            // who its requests run as (blocking.hh: identity_for)
  std::shared_ptr<vfs::Share> fs;  // null for IPC$
  bool kernel_oplocks = false;     // `kernel oplocks = yes`: no table oplocks or leases
};

// Per-connection state of a session (MS-SMB2 3.3.1.14 Channel).
// Keys are shared: an answer holds the key its request came under until it is sent,
// also when the session or channel is gone by then (connection.cc).
struct SessionChannel {
  std::uint64_t connection_id = 0;
  std::shared_ptr<crypto::Signer> signer;
};

// A connection binding itself to an existing session (MS-SMB2 3.3.5.5.2): its own
// authentication exchange and, for 3.1.1, its own preauth integrity hash.
struct PendingBinding {
  std::unique_ptr<auth::ServerAuthenticator> authenticator;
  crypto::PreauthHash preauth;
};

struct Session {
  enum class State { IN_PROGRESS, VALID, EXPIRED };
  std::uint64_t id = 0;
  State state = State::IN_PROGRESS;
  std::uint64_t bound_connection = 0;  // the connection that set the session up
  bool logged_off = false;             // LOGOFF seen: no further request may use it
  std::uint16_t dialect = 0;
  std::unique_ptr<auth::ServerAuthenticator> authenticator;
  std::string user;
  std::string domain;
  IdentityPtr identity;  // the POSIX user it acts as, from SESSION_SETUP
  bool guest = false;
  bool anonymous = false;
  bool kerberos = false;  // authenticated by a Kerberos ticket
  // When the ticket ends (Kerberos only): from then the session is EXPIRED until the
  // client re-authenticates (MS-SMB2 3.3.5.2.9, 3.3.5.5.2).
  std::optional<std::chrono::steady_clock::time_point> expires_at;
  bool signing_required = false;
  bool encrypt_data = false;
  Bytes session_key;
  Bytes application_key;
  crypto::PreauthHash preauth;  // 3.1.1 session preauth integrity hash
  std::shared_ptr<crypto::Encryptor> encryptor;
  std::shared_ptr<crypto::Decryptor> decryptor;
  // What a binding connection must match (MS-SMB2 3.3.5.5.2): the algorithms of the
  // connection that set the session up, and Session.SigningKey, which signs the binding
  // exchange itself (3.3.5.2.4).
  std::optional<crypto::Cipher> cipher;
  crypto::SigningAlgorithm signing_algorithm = crypto::SigningAlgorithm::HMAC_SHA256;
  std::shared_ptr<crypto::Signer> session_signer;
  std::map<std::uint64_t, SessionChannel> channels;  // by connection id
  std::map<std::uint64_t, PendingBinding> bindings;  // by connection id
  std::map<std::uint32_t, TreeConnect> trees;
  std::uint32_t next_tree_id = 1;
};

// What a binding request is checked against (MS-SMB2 3.3.5.5.2), also for a session
// that lives in another worker: the master keeps these for every valid session.
struct SessionFacts {
  std::uint16_t dialect = 0;
  std::optional<crypto::Cipher> cipher;
  crypto::SigningAlgorithm signing_algorithm = crypto::SigningAlgorithm::HMAC_SHA256;
  bool valid = false;
  bool keyed = false;  // a user session with a signing key (not guest, not anonymous)
};
SessionFacts facts_of(const Session& session);
Bytes encode_facts(const SessionFacts& facts);
std::optional<SessionFacts> decode_facts(ByteSpan bytes);

struct DirectorySearch;

// MS-SMB2 3.3.1.10 Open.IsDurable and what a durable reconnect (3.3.5.9.7, 3.3.5.9.12)
// is checked against. A durable open outlives the loss of its connection: it stays in
// its worker, with its entries in the host tables, for `timeout` (docs/architecture.md).
struct DurableState {
  bool v2 = false;  // granted for DH2Q (CreateGuid kept), else DHnQ
  std::array<std::uint8_t, 16> create_guid{};
  std::chrono::milliseconds timeout{0};
  std::string owner;          // Open.DurableOwner: the user who made the open
  std::string share_name;     // a reconnect names the same share
  bool disconnected = false;  // its session went with its last channel
  std::chrono::steady_clock::time_point deadline{};  // closed then if still disconnected
  IdentityPtr identity;                              // who a close after the timeout acts as
};

// An open of the SMB layer (MS-SMB2 3.3.1.10): the object store's open of a file
// (fsa::FileOpen) with the ids that name it, the session and tree it belongs to, the
// channel it was made on, and for a named pipe its endpoint instead of a file.
struct Open : fsa::FileOpen {
  FileId id;
  std::uint64_t session_id = 0;
  std::uint32_t tree_id = 0;
  std::unique_ptr<rpc::PipeEndpoint> pipe;
  std::uint64_t connection_id = 0;  // the channel the open was made on (for breaks)
  // MS-SMB2 3.3.1.10: requests of the current and earlier channel sequences still in
  // flight (a client moving an open to another channel bumps the sequence).
  std::uint16_t channel_sequence = 0;
  std::uint32_t outstanding_requests = 0;
  std::uint32_t outstanding_pre_requests = 0;
  std::shared_ptr<DirectorySearch> search;  // QUERY_DIRECTORY state (smb2_query_directory.cc)
  // MS-SMB2 3.3.1.10 Open.LockSequenceArray: per bucket (LockSequenceIndex 1..64) the
  // LockSequenceNumber of the last LOCK that succeeded; 0xFF (no number) until then.
  std::array<std::uint8_t, 64> lock_sequences = filled_lock_sequences();
  static std::array<std::uint8_t, 64> filled_lock_sequences() {
    std::array<std::uint8_t, 64> a;
    a.fill(0xFF);
    return a;
  }
  // MS-FSA 2.1.5.11, FileFullEaInformation: Open.NextEaEntry, where a FileFullEaInformation query
  // without a list and without SL_RESTART_SCAN goes on (smb2_query_info.cc).
  std::size_t next_ea_entry = 0;
  // MS-FSA 2.1.5.14.2 Open.UserSetModificationTime: the last write time this open's
  // WRITEs put back (a LastWriteTime of -1 was set through it; smb2_set_info.cc).
  std::optional<std::uint64_t> frozen_write_time;
  // The first WRITE of the open has set ARCHIVE (smb2_write.cc).
  bool archive_marked = false;
  std::optional<DurableState> durable;  // granted for DHnQ or DH2Q
  bool disconnected() const { return durable && durable->disconnected; }
};

// MS-SMB2 3.3.5.2.10: counts a request of `sequence` against the open. A WRITE,
// SET_INFO or IOCTL with a stale sequence is refused (STATUS_FILE_NOT_AVAILABLE); other
// commands with one pass uncounted.
enum class SequenceCheck { counted, passed, refused };
SequenceCheck admit_channel_sequence(Open& open, std::uint16_t sequence, bool replay,
                                     bool modifies);
// MS-SMB2 3.3.4.1: the request counted by admit_channel_sequence() has completed.
void release_channel_sequence(Open& open, std::uint16_t sequence);

// Open.DurableOwner (MS-SMB2 3.3.5.9.6): who the session acts as, as a durable open and
// a session reconnect (3.3.5.5.3) compare it.
std::string durable_owner_of(const Session& session);

// MS-SMB2 3.3.5.9.6, 3.3.7.1: what a durable open must hold to be granted and kept: a
// batch oplock or a lease with handle caching.
bool holds_handle_caching(const Open& open);

// Who holds the open's byte-range locks (fsa/byte_range_locks.hh).
fsa::LockOwner lock_owner_of(const Open& open);

// Deletes the file of an open whose close said it goes (fsa::close_open), and logs a
// failure. Blocking: call off the loop, or at teardown.
void delete_closed_file(const Open& open);

class ClientState {
 public:
  Session& new_session();
  Session* session(std::uint64_t id);
  void remove_session(std::uint64_t id);

  Open& new_open(std::uint64_t session_id, std::uint32_t tree_id);
  Open* open(const FileId& id);
  // Takes the open out; the caller closes it (fsa::close_open).
  std::unique_ptr<Open> take_open(const FileId& id);
  // An open admitted whose CREATE then failed: out of the tables, nothing deleted.
  void abandon_open(const FileId& id);
  // Closes the opens of a tree connect (every tree of the session for tree_id 0), deleting
  // files whose last open goes on the loop.
  void close_opens_of(std::uint64_t session_id, std::uint32_t tree_id /* 0: all */);
  std::size_t open_count() const { return opens_.size(); }
  // For status reports (smbstatus): every session and open, in id order.
  const std::map<std::uint64_t, std::unique_ptr<Session>>& sessions() const { return sessions_; }
  const std::map<std::uint64_t, std::unique_ptr<Open>>& opens() const { return opens_; }
  // The bound on a session's opens (`max opens per session`): a CREATE takes a place
  // before its file-system work and gives it back when it ends, so that CREATEs under
  // way count too; false when the session has no place left.
  bool reserve_open(std::uint64_t session_id, std::size_t limit);
  void end_create(std::uint64_t session_id);
  // Sessions set up on the connection or using it as a channel.
  std::size_t sessions_on(std::uint64_t connection_id) const;
  // Every open of the file (by device and inode) in this worker.
  std::vector<Open*> opens_of(const fsa::FileKey& key);

  // The object store's state of this process's opens: the open table and the oplocks.
  fsa::OpenTable& files() { return *files_; }
  // Records opens in the host's table, as worker `owner`, from now on; called before the
  // first open.
  void use_host_table(std::shared_ptr<hostwide::OpenSegment> segment, pid_t owner);
  // The client this worker serves, recorded with its opens in the host's table.
  void set_client_guid(const std::array<std::uint8_t, 16>& guid);
  fsa::Oplocks& oplocks() { return oplocks_; }
  // The host table, when opens are recorded there (its oplocks and leases); else null.
  fsa::SharedOpenTable* host_files() { return shared_files_; }
  // Byte-range locks (fsa/byte_range_locks.hh) in `segment`, as worker `owner`; `ring`
  // wakes a worker waiting on a file whose lock went. Called before the first open.
  void use_lock_table(std::shared_ptr<hostwide::LockSegment> segment, pid_t owner,
                      std::function<void(pid_t)> ring);
  // Null only when no table could be made.
  fsa::ByteRangeLocks* locks() { return locks_.get(); }
  // Runs for every open that leaves the table, before its locks go.
  std::function<void(const Open&)> on_open_closing;

  void channel_closed(std::uint64_t connection_id);
  // Called with the id of every session that goes away.
  std::function<void(std::uint64_t)> on_session_removed;
  // A session goes without LOGOFF (its last channel lost, or a reconnect named it as
  // PreviousSessionId, MS-SMB2 3.3.5.5.3): its durable opens that still hold a batch
  // oplock or a lease with H are kept, disconnected (MS-SMB2 3.3.7.1); the others close.
  void disconnect_session(std::uint64_t session_id);
  // The same for the session's opens only, the session staying (LOGOFF, MS-SMB2 3.3.5.6,
  // keeps durable opens the same way and removes the session after its answer).
  void disconnect_opens_of(std::uint64_t session_id);
  // Runs for every durable open that is kept disconnected, to start its timeout.
  std::function<void(const Open&)> on_durable_disconnected;
  // The disconnected durable open with this persistent id, if any (MS-SMB2 3.3.5.9.7).
  Open* disconnected_open(std::uint64_t persistent_id);
  // A disconnected durable open goes to `session`'s tree `tree_id` on `connection_id`.
  void reconnect_open(Open& open, std::uint64_t session_id, std::uint32_t tree_id,
                      std::uint64_t connection_id);
  // Runs when a durable open is granted or taken back (connected again).
  std::function<void(const Open&)> on_durable_connected;
  // Runs with the persistent id of a durable open that leaves this worker (closed, or
  // handed to another worker).
  std::function<void(std::uint64_t)> on_durable_gone;
  // Whether some open, connected or not, has this persistent id.
  bool has_persistent_id(std::uint64_t persistent_id) const;
  // A volatile id for an open another worker hands over (durable.hh).
  std::uint64_t reserve_file_id() { return ++next_file_id_; }
  // Takes a disconnected durable open out without closing anything: it goes to another
  // worker, which holds its table entries and locks from now on.
  std::unique_ptr<Open> hand_over_open(const FileId& id);
  // Takes up an open another worker handed over, disconnected; its id is set.
  Open& adopt_open(std::unique_ptr<Open> open);
  // Closes a disconnected durable open (its timeout passed, or a break could not reach
  // it) as a CLOSE would; false if it is no longer disconnected.
  bool close_disconnected(const FileId& id);
  // When the first disconnected durable open's timeout passes; none without one.
  std::optional<std::chrono::steady_clock::time_point> next_durable_deadline() const;
  // The disconnected durable opens whose timeout has passed by `now`.
  std::vector<FileId> expired_durable_opens(std::chrono::steady_clock::time_point now) const;
  // While durable opens are kept disconnected the worker stays (DESIGN: durability).
  bool keeps_worker_alive() const;
  void close_all();

 private:
  // Closes an open taken out of opens_, on the loop.
  void close_now(Open& open);
  // An open left opens_.
  void forget_open(const Open& open);
  // One open fewer of the session (`max opens per session`).
  void uncount_open(std::uint64_t session_id);

  // Declared before opens_: they refer to the opens and must outlive them.
  std::shared_ptr<hostwide::OpenSegment> segment_;  // outlives the table over it
  std::unique_ptr<fsa::OpenTable> files_ = std::make_unique<fsa::LocalOpenTable>();
  fsa::SharedOpenTable* shared_files_ = nullptr;  // files_ when it is the host's
  fsa::Oplocks oplocks_;
  std::unique_ptr<fsa::ByteRangeLocks> locks_;
  std::map<std::uint64_t, std::unique_ptr<Session>> sessions_;
  std::map<std::uint64_t, std::unique_ptr<Open>> opens_;  // by volatile id
  struct SessionOpens {
    std::size_t opens = 0;
    std::size_t creating = 0;
  };
  std::map<std::uint64_t, SessionOpens> session_opens_;  // by session id
  std::uint64_t next_session_id_ = 0;
  std::uint64_t next_file_id_ = 0;
};

}  // namespace smb::server
