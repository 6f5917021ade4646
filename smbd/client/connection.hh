// The client side of SMB2/3 over TCP ([MS-SMB2] 3.2): NEGOTIATE with the 3.1.1 contexts,
// SESSION_SETUP through SPNEGO/NTLMSSP, key derivation, signing, encryption, credits and
// any number of outstanding requests on one connection.
//
// Model: a Connection is owned by one thread. submit() queues a request and returns;
// poll() does the socket I/O and runs the callbacks of completed requests (which may
// submit more). The blocking calls (create(), read(), ...) are submit() plus poll() until
// that request completes, so tests read like a script and a load generator keeps many
// requests in flight from one thread without locks.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "smbd/auth/ntlm_client.hh"
#include "smbd/base/bytes.hh"
#include "smbd/base/ntstatus.hh"
#include "smbd/client/credits.hh"
#include "smbd/crypto/algorithms.hh"
#include "smbd/crypto/encryption.hh"
#include "smbd/crypto/preauth.hh"
#include "smbd/crypto/signing.hh"
#include "smbd/proto/create.hh"
#include "smbd/proto/file_id.hh"
#include "smbd/proto/header.hh"
#include "smbd/proto/lock.hh"
#include "smbd/proto/negotiate.hh"
#include "smbd/proto/oplock_break.hh"
#include "smbd/proto/query_directory.hh"
#include "smbd/proto/query_info.hh"
#include "smbd/proto/set_info.hh"

namespace smb::client {

// [MS-DTYP] 2.4.3 / [MS-SMB2] 2.2.13.1: access mask bits a client asks for.
namespace access {
inline constexpr std::uint32_t FILE_READ_DATA = 0x00000001;
inline constexpr std::uint32_t FILE_LIST_DIRECTORY = 0x00000001;
inline constexpr std::uint32_t FILE_WRITE_DATA = 0x00000002;
inline constexpr std::uint32_t FILE_APPEND_DATA = 0x00000004;
inline constexpr std::uint32_t FILE_READ_EA = 0x00000008;
inline constexpr std::uint32_t FILE_WRITE_EA = 0x00000010;
inline constexpr std::uint32_t FILE_READ_ATTRIBUTES = 0x00000080;
inline constexpr std::uint32_t FILE_WRITE_ATTRIBUTES = 0x00000100;
inline constexpr std::uint32_t DELETE = 0x00010000;
inline constexpr std::uint32_t READ_CONTROL = 0x00020000;
inline constexpr std::uint32_t SYNCHRONIZE = 0x00100000;
inline constexpr std::uint32_t MAXIMUM_ALLOWED = 0x02000000;
inline constexpr std::uint32_t GENERIC_ALL = 0x10000000;
inline constexpr std::uint32_t GENERIC_WRITE = 0x40000000;
inline constexpr std::uint32_t GENERIC_READ = 0x80000000;
}  // namespace access

// A failure that ends a blocking call: transport errors, timeouts, protocol violations
// by the server, or an NTSTATUS where the call cannot continue (e.g. LOGON_FAILURE).
class Error : public std::runtime_error {
 public:
  Error(NtStatus status, const std::string& what) : std::runtime_error(what), status_(status) {}
  NtStatus status() const { return status_; }

 private:
  NtStatus status_;
};

struct Options {
  // Dialects offered: every known one in [min_dialect, max_dialect] (MS-SMB2 2.2.3).
  std::uint16_t min_dialect = 0x0202;
  std::uint16_t max_dialect = 0x0311;
  // Sign every request and require signed responses (SecurityMode SIGNING_REQUIRED).
  bool sign = false;
  // Encrypt all traffic of every session after SESSION_SETUP (3.x only).
  bool encrypt = false;
  // 3.1.1 negotiate contexts, in order of preference (MS-SMB2 2.2.3.1.2, 2.2.3.1.7).
  std::vector<crypto::Cipher> ciphers{crypto::Cipher::AES_128_GCM, crypto::Cipher::AES_256_GCM,
                                      crypto::Cipher::AES_128_CCM, crypto::Cipher::AES_256_CCM};
  std::vector<crypto::SigningAlgorithm> signing_algorithms{crypto::SigningAlgorithm::AES_GMAC,
                                                           crypto::SigningAlgorithm::AES_CMAC,
                                                           crypto::SigningAlgorithm::HMAC_SHA256};
  // Credits the client tries to hold (it asks for more until it has them).
  std::uint32_t target_credits = 512;
  // How long a blocking call waits for its response.
  std::chrono::milliseconds timeout{30000};
  // Zero: a random ClientGuid.
  Guid client_guid{};
};

// One response as received; `pdu` (the compound element from its header) is valid only
// during the callback. For a request that never got an answer (disconnect, bad
// signature) the status is synthetic and `pdu` is empty.
struct Response {
  Header header;
  ByteSpan pdu;
  bool was_signed = false;
  bool was_encrypted = false;
  NtStatus status() const { return header.status; }
};
using Callback = std::function<void(const Response&)>;

// A response kept beyond its callback (blocking calls).
struct Reply {
  Header header;
  Bytes pdu;
  bool was_signed = false;
  bool was_encrypted = false;
  NtStatus status() const { return header.status; }
};

// Where a request goes: a session and a tree (both 0 before they exist).
struct Tree {
  std::uint64_t session_id = 0;
  std::uint32_t tree_id = 0;
  std::uint32_t share_flags = 0;
  std::uint32_t maximal_access = 0;
  bool encrypt = false;  // MS-SMB2 3.2.5.5: Share.EncryptData
};

// A request before it gets a header: the body (encoded as if after a 64-byte header), a
// payload sent right after it (WRITE data), and the size of the expected response data
// (READ length) for the credit charge.
struct Call {
  Command command = Command::ECHO;
  std::uint64_t session_id = 0;
  std::uint32_t tree_id = 0;
  bool tree_encrypt = false;
  Bytes body;
  ByteSpan payload;
  std::uint32_t response_payload = 0;
  std::uint32_t extra_flags = 0;
};

struct SessionOptions {
  bool encrypt = false;  // in addition to Options::encrypt
  bool sign = false;     // in addition to Options::sign
};

class Connection {
 public:
  // TCP connect and NEGOTIATE. Throws Error.
  static std::unique_ptr<Connection> connect(const std::string& host, std::uint16_t port,
                                             const Options& options = {});
  // TCP connect only; the caller negotiates (negotiate()) or speaks raw bytes.
  static std::unique_ptr<Connection> open(const std::string& host, std::uint16_t port,
                                          const Options& options = {});
  // Takes a connected stream socket that carries Direct TCP framing (the SMB Direct
  // client bridges its engine to one, rdma_client.hh); the caller negotiates.
  static std::unique_ptr<Connection> adopt(int fd, const Options& options = {});
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // ---- negotiated state
  void negotiate();  // MS-SMB2 3.2.4.2.2; throws Error
  std::uint16_t dialect() const { return dialect_; }
  const NegotiateResponse& negotiate_response() const { return negotiate_response_; }
  std::uint32_t max_read_size() const { return negotiate_response_.max_read_size; }
  std::uint32_t max_write_size() const { return negotiate_response_.max_write_size; }
  std::uint32_t max_transact_size() const { return negotiate_response_.max_transact_size; }
  std::optional<crypto::Cipher> cipher() const { return cipher_; }
  crypto::SigningAlgorithm signing_algorithm() const { return signing_algorithm_; }
  const CreditWindow& credits() const { return credits_; }
  const Options& options() const { return options_; }
  // Per-session facts after SESSION_SETUP.
  bool session_encrypts(std::uint64_t session_id) const;
  bool session_signs(std::uint64_t session_id) const;
  std::uint16_t session_flags(std::uint64_t session_id) const;

  // ---- sessions and trees (blocking; throw Error with the server's status on failure)
  // An empty user and password authenticate anonymously.
  std::uint64_t session_setup(const auth::ClientCredentials& credentials,
                              const SessionOptions& session_options = {});
  // Binds this connection to an established session of `primary` as another channel
  // (multi-channel; same ClientGuid). Requests on this connection may then use the
  // session and its trees and opens. Throws Error with the server's status.
  void bind_session(const Connection& primary, std::uint64_t session_id,
                    const auth::ClientCredentials& credentials);
  Tree tree_connect(std::uint64_t session_id, std::string_view unc_path);
  NtStatus tree_disconnect(const Tree& tree);
  NtStatus logoff(std::uint64_t session_id);

  // ---- asynchronous requests; callbacks run inside poll()
  // Queues the request; it is sent as soon as credits allow.
  void submit(Call call, Callback done);
  // Queues the requests as one compound message (MS-SMB2 3.2.4.1.4), sent as soon as
  // credits allow all of them; `done[i]` completes `calls[i]`. A related element sets
  // kFlagRelatedOperations in its extra_flags (and names kRelatedFileId). Each element
  // is signed on its own when the session signs; the whole message is encrypted when
  // it encrypts (as the first element's session and tree ask).
  void submit_compound(std::vector<Call> calls, std::vector<Callback> done);
  // Does the pending socket I/O, waiting at most `timeout_ms` (-1: no limit) for some.
  // Returns false when nothing happened in that time. Throws Error when the connection
  // fails (after completing every outstanding request with CONNECTION_DISCONNECTED).
  bool poll(int timeout_ms);
  // Requests submitted and not yet completed (queued or on the wire).
  std::size_t outstanding() const { return pending_.size() + waiting_.size(); }
  // poll() until `done()` holds; Error on timeout (Options::timeout).
  void wait_until(const std::function<bool()>& done);
  // submit() and wait for the final response.
  Reply call(Call call);

  // ---- typed requests. Blocking forms return the server's status.
  NtStatus create(const Tree& tree, const CreateRequest& request, CreateResponse& response);
  // Opens `name` with the given access, disposition and options; share access is all.
  NtStatus open(const Tree& tree, std::string_view name, std::uint32_t desired_access,
                CreateDisposition disposition, std::uint32_t create_options, FileId& file_id);
  NtStatus close(const Tree& tree, const FileId& file_id);
  NtStatus read(const Tree& tree, const FileId& file_id, std::uint64_t offset, std::uint32_t length,
                Bytes& data);
  NtStatus write(const Tree& tree, const FileId& file_id, std::uint64_t offset, ByteSpan data,
                 std::uint32_t* count = nullptr);
  NtStatus flush(const Tree& tree, const FileId& file_id);
  // LOCK (MS-SMB2 2.2.26) of the elements, all or none; a waiting one completes when the
  // server's final answer comes (after its interim STATUS_PENDING).
  NtStatus lock(const Tree& tree, const FileId& file_id, const std::vector<LockElement>& locks);
  NtStatus echo();
  NtStatus query_directory(const Tree& tree, const QueryDirectoryRequest& request, Bytes& output);
  NtStatus query_info(const Tree& tree, const QueryInfoRequest& request, Bytes& output);
  NtStatus set_info(const Tree& tree, const SetInfoRequest& request);
  // SET_INFO FileRenameInformation ([MS-FSCC] 2.4.37.2) and FileDispositionInformation.
  NtStatus rename(const Tree& tree, const FileId& file_id, std::string_view new_name,
                  bool replace_if_exists);
  NtStatus set_delete_on_close(const Tree& tree, const FileId& file_id, bool delete_pending);
  // Every name in a directory (FileNamesInformation, repeated until NO_MORE_FILES),
  // "." and ".." included.
  NtStatus list_directory(const Tree& tree, std::string_view path, std::vector<std::string>& names);

  using StatusCallback = std::function<void(NtStatus)>;
  void create_async(const Tree& tree, const CreateRequest& request,
                    std::function<void(NtStatus, const CreateResponse&)> done);
  void close_async(const Tree& tree, const FileId& file_id, StatusCallback done);
  // `data` views the response; valid during the callback only.
  void read_async(const Tree& tree, const FileId& file_id, std::uint64_t offset,
                  std::uint32_t length, std::function<void(NtStatus, ByteSpan data)> done);
  // The data is copied into the request before write_async returns.
  void write_async(const Tree& tree, const FileId& file_id, std::uint64_t offset, ByteSpan data,
                   std::function<void(NtStatus, std::uint32_t count)> done);
  void flush_async(const Tree& tree, const FileId& file_id, StatusCallback done);
  void lock_async(const Tree& tree, const FileId& file_id, const std::vector<LockElement>& locks,
                  StatusCallback done);
  void echo_async(StatusCallback done);
  void query_directory_async(const Tree& tree, const QueryDirectoryRequest& request,
                             std::function<void(NtStatus, const Bytes& output)> done);
  void query_info_async(const Tree& tree, const QueryInfoRequest& request,
                        std::function<void(NtStatus, const Bytes& output)> done);
  void set_info_async(const Tree& tree, const SetInfoRequest& request, StatusCallback done);
  // CREATE, QUERY_INFO of the new open and CLOSE as one compound (related operations):
  // what a client sends to stat a path in one round trip. `done` gets the first error of
  // the three (SUCCESS or the query's BUFFER_OVERFLOW otherwise) and the query's output.
  void query_path_info_async(const Tree& tree, const CreateRequest& create,
                             const QueryInfoRequest& query,
                             std::function<void(NtStatus, const Bytes& output)> done);

  // ---- break notifications (MS-SMB2 3.2.5.19): they answer no request, so each one the
  // server sends goes to this handler, inside poll(), decoded by kind. Without a handler
  // they are dropped.
  struct Break {
    OplockBreakKind kind = OplockBreakKind::UNKNOWN;
    OplockBreak oplock;            // kind OPLOCK
    LeaseBreakNotification lease;  // kind LEASE_NOTIFICATION
  };
  void on_break(std::function<void(const Break&)> handler) { break_handler_ = std::move(handler); }

  // ---- raw access for hostile-input tests
  // Builds the message `call` describes with a header (message id and credits from the
  // window), signed or encrypted as the session requires, and returns it without the
  // 4-byte transport framing; nothing is sent and no completion is registered.
  Bytes build(const Call& call);
  // Wraps whatever `message` holds in a transform header under the key of `session_id`
  // (which must encrypt): the forged messages of tests. Throws Error without such a key.
  Bytes encrypt_message(std::uint64_t session_id, ByteSpan message);
  // Sends `message` as one framed message (or, with `framed`, exactly these bytes).
  void send_raw(ByteSpan message, bool framed = false);
  // The next whole message from the server, as received (still encrypted if it was),
  // bypassing completions. Its credit grant is counted. Empty optional on timeout;
  // Error when the server closed the connection.
  std::optional<Bytes> receive_raw(int timeout_ms);
  // True while the TCP connection is up (as far as this side knows).
  bool connected() const { return fd_ >= 0; }
  void disconnect();

 private:
  struct Session;
  struct Pending {
    Callback done;
    Command command = Command::ECHO;
    std::uint64_t session_id = 0;
    std::uint16_t charge = 0;
    std::uint16_t extra = 0;
    std::uint64_t async_id = 0;
  };
  struct Waiting {
    Call call;
    Bytes payload;
    Callback done;
    // A compound: its elements (payloads folded into the bodies) instead of `call`.
    std::vector<Call> compound;
    std::vector<Callback> compound_done;
  };
  struct Outgoing {
    Bytes buffer;
    std::size_t begin = 0;  // first byte to send
  };

  Connection(int fd, const Options& options);
  std::uint16_t charge_of(const Call& call) const;
  // Encodes header + body + payload into an Outgoing, signing or encrypting.
  Outgoing encode_request(const Call& call, const CreditWindow::Spend& spend, std::uint16_t charge);
  void send_now(Call& call, ByteSpan payload, Callback done);
  std::uint16_t compound_charge(const std::vector<Call>& calls) const;
  void send_compound_now(std::vector<Call>& calls, std::vector<Callback>& done);
  void drain_waiting();
  void queue(Outgoing out);
  bool flush_output();
  bool read_input();
  void handle_message(MutableByteSpan message);
  void handle_element(ByteSpan element, bool encrypted);
  [[noreturn]] void fail_all(NtStatus status, const std::string& why);
  Session* find_session(std::uint64_t id);
  bool has_frame() const;
  MutableByteSpan take_frame();

  int fd_ = -1;
  Options options_;
  CreditWindow credits_;
  std::uint16_t dialect_ = 0;
  bool multi_credit_ = false;
  NegotiateResponse negotiate_response_;
  std::optional<crypto::Cipher> cipher_;
  crypto::SigningAlgorithm signing_algorithm_ = crypto::SigningAlgorithm::HMAC_SHA256;
  crypto::PreauthHash preauth_;                    // Connection.PreauthIntegrityHashValue (3.1.1)
  crypto::PreauthHash* preauth_target_ = nullptr;  // session being set up
  crypto::Signer* binding_signer_ = nullptr;       // session being bound to
  std::map<std::uint64_t, std::unique_ptr<Session>> sessions_;

  std::unordered_map<std::uint64_t, Pending> pending_;  // by message id
  std::deque<Waiting> waiting_;                         // no credits yet
  std::deque<Outgoing> output_;
  std::size_t output_sent_ = 0;  // bytes of output_.front() already written
  Bytes input_;
  std::size_t input_begin_ = 0;
  std::size_t input_end_ = 0;
  std::string failure_;
  bool dispatching_ = false;  // inside a callback: blocking calls are refused
  bool read_some(bool* drained = nullptr);
  std::uint64_t signature_failures_ = 0;
  std::function<void(const Break&)> break_handler_;
  void handle_break(const Header& h, ByteSpan element);

 public:
  // Responses dropped because their signature was wrong or missing ([MS-SMB2] 3.2.5.1.3).
  std::uint64_t signature_failures() const { return signature_failures_; }
};

// [MS-FSCC] 2.4.37.2 FileRenameInformation in its SMB2 form, and 2.4.11.
Bytes encode_rename_information(std::string_view new_name, bool replace_if_exists);
Bytes encode_disposition_information(bool delete_pending);
// The names of a QUERY_DIRECTORY output buffer of FileNamesInformation (class 12,
// [MS-FSCC] 2.4.33), following NextEntryOffset; false when malformed.
bool parse_names_information(ByteSpan output, std::vector<std::string>& names);

}  // namespace smb::client
