// One channel of a client (MS-SMB2 3.3.1.7 Connection): negotiate state, the credit
// window, and the path of every message: transport → decrypt → split compound →
// common checks from the dispatch table → handler → sign/encrypt → transport.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <vector>

#include "smbd/worker/uv.hh"

#include "smbd/base/buffer.hh"
#include "smbd/base/bytes.hh"
#include "smbd/base/ntstatus.hh"
#include "smbd/crypto/encryption.hh"
#include "smbd/crypto/preauth.hh"
#include "smbd/crypto/signing.hh"
#include "smbd/proto/header.hh"
#include "smbd/worker/credits.hh"
#include "smbd/worker/server_state.hh"
#include "smbd/worker/transport/transport.hh"

namespace smb::server {

class Worker;
struct Request;
class ReadMemory;
using RequestPtr = std::shared_ptr<Request>;

// What a handler answers: a status, the response body (after the 64-byte header) and
// an optional payload sent from its own buffer (read data).
struct Response {
  NtStatus status = NtStatus::SUCCESS;
  Bytes body;
  ByteSpan payload;
  std::shared_ptr<const void> keep;
  // The payload's buffer belongs to this response alone (read data): encryption may
  // overwrite it in place.
  bool payload_private = false;
  // Set by handlers that return an error with a specific error body (none: the generic
  // SMB2 ERROR response is built).
  bool has_body = false;
  // Disconnect after sending (a protocol violation that leaves the stream unusable).
  bool disconnect = false;
  // The open a successful CREATE made: related operations after it use it.
  std::optional<FileId> created;
  // A response to SESSION_SETUP names the session it created; one to TREE_CONNECT the
  // tree.
  std::uint64_t session_id_override = 0;
  std::uint32_t tree_id_override = 0;
  // Sign even though the request was not signed (the final SESSION_SETUP of 3.1.1).
  bool force_sign = false;
  // The message goes with remote invalidation of this token (SMB2_CHANNEL_RDMA_V1_INVALIDATE,
  // MS-SMB2 3.3.5.12, 3.3.5.13); the transport that moved the data by RDMA sets it.
  std::optional<std::uint32_t> invalidate_token;
  // Runs once the response is on its way (state the response still needed can go).
  std::function<void()> after_send;
  // Sees the element as it is sent (header + body, signed where it is signed): the
  // preauth integrity hash of NEGOTIATE and SESSION_SETUP (MS-SMB2 3.3.5.4, 3.3.5.5).
  std::function<void(ByteSpan element)> after_encode;
};

// Why a pending request stops waiting before it could complete (async.hh).
enum class AsyncEnd { cancelled, open_closed, tree_gone, session_gone, connection_lost };
using AsyncEndFn = std::function<void(AsyncEnd reason)>;

// The answer of a request that waited and was ended (MS-SMB2 3.3.5.16): CANCELLED for a
// CANCEL or a lost connection; `handle_gone` when its open, tree or session went, which
// each command answers in its own way.
inline NtStatus status_for(AsyncEnd reason, NtStatus handle_gone) {
  return reason == AsyncEnd::cancelled || reason == AsyncEnd::connection_lost
             ? NtStatus::CANCELLED
             : handle_gone;
}

// What a pending request is known by, to end the waits of a session, tree or open.
struct PendingKey {
  std::uint64_t message_id = 0;
  std::uint64_t async_id = 0;  // 0: waits without an interim response
  std::uint64_t session_id = 0;
  std::uint32_t tree_id = 0;
  FileId file_id{};
  bool has_open = false;
};

struct NegotiatedState {
  bool done = false;
  std::uint16_t dialect = 0;
  std::uint32_t client_capabilities = 0;
  std::uint32_t server_capabilities = 0;
  std::uint16_t client_security_mode = 0;
  std::uint16_t server_security_mode = 0;
  std::array<std::uint8_t, 16> client_guid{};
  std::vector<std::uint16_t> client_dialects;
  std::optional<crypto::Cipher> cipher;
  crypto::SigningAlgorithm signing_algorithm = crypto::SigningAlgorithm::HMAC_SHA256;
  crypto::PreauthHash preauth;  // connection preauth integrity hash (3.1.1)
  bool smb1_negotiated = false;  // answered an SMB1 NEGOTIATE with the wildcard dialect
};

class Connection {
 public:
  Connection(Worker& worker, std::uint64_t id, std::unique_ptr<Transport> transport);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Starts reading; `initial` is a message already read (a passed connection's NEGOTIATE).
  void start(Bytes initial);
  void shutdown();

  std::uint64_t id() const { return id_; }
  // A session became valid on this connection: full message sizes apply from now on,
  // and a user's or guest's session (`user_session`; not an anonymous one) ends the
  // setup deadline.
  void authenticated(bool user_session);
  Worker& worker() { return worker_; }
  const Worker& worker() const { return worker_; }
  NegotiatedState& negotiated() { return negotiated_; }
  const std::string& peer() const { return transport_->peer_address(); }
  bool is_rdma() const { return transport_->is_rdma(); }
  // How READ and WRITE data moves on this connection (inline, or by RDMA).
  Transport& transport() { return *transport_; }
  std::size_t max_read_size() const;
  std::size_t max_write_size() const;
  std::size_t max_transact_size() const;
  // Read data that fits in one response on this connection: over SMB Direct a response
  // must not exceed the client's MaxFragmentedRecvSize, so inline READs are shortened.
  std::size_t max_inline_read() const;

  // The READ data this connection holds, bounded (read_memory.hh, read_memory.cc).
  ReadMemory& read_memory();

  // Zero bytes every READ response of this connection carries between its fixed part and
  // its data; set only by a test FSCTL (fsctl_smbtorture.cc), 0 otherwise.
  std::uint8_t read_response_padding() const { return read_response_padding_; }
  void set_read_response_padding(std::uint8_t bytes) { read_response_padding_ = bytes; }

  // Sends an unsolicited message (an oplock break), encrypted when its session is.
  void send_notification(Bytes message, std::uint64_t session_id);

  // ---- whether what was sent reached the client (break_delivery.hh)
  // The position in the outgoing stream after everything sent so far.
  std::uint64_t sent_mark() const { return transport_->bytes_queued(); }
  // How far the client has acknowledged the outgoing stream at transport level; nothing
  // at all once FSCTL_SMBTORTURE_FORCE_UNACKED_TIMEOUT asked this channel to act as if
  // its client acknowledged nothing more (a test of how breaks move to other channels).
  std::uint64_t acknowledged_mark() const {
    return force_unacknowledged_ ? 0 : transport_->bytes_acknowledged();
  }
  std::chrono::milliseconds retransmission_timeout() const {
    return transport_->retransmission_timeout();
  }
  void force_unacknowledged() { force_unacknowledged_ = true; }
  // Ends the connection: it failed (`reason` is logged).
  void drop(const char* reason) { close(reason); }

  // Gives the socket up to the client's owner worker (after its NEGOTIATE was read).
  void hand_off(Bytes negotiate);

  // MS-SMB2 3.3.5.16: cancels the request a CANCEL names (smb2_cancel.cc).
  void cancel(const Header& request);

  // Makes a request wait (async.hh: go_async); nothing when the connection is closed.
  std::optional<std::uint64_t> go_async(const RequestPtr& request, AsyncEndFn on_end);
  // Ends the waits of the pending requests `which` picks, for `reason`.
  void end_pending(const std::function<bool(const PendingKey&)>& which, AsyncEnd reason);
  std::size_t pending_count() const { return pending_.size(); }

  // Counts a failed logon on this connection and returns how long its answer waits
  // (logon_delay.hh): by the larger of this connection's failures and its address's,
  // and never before the answers to earlier failures of this connection.
  std::chrono::milliseconds pace_failed_logon(unsigned address_failures);

 private:
  friend struct Request;
  struct Message;
  struct Answer;
  struct Gate;  // one element through the common checks (connection.cc)

  void on_message(Buffer message);
  // Decrypts `message` in place; false when it does not authenticate.
  static bool decrypt(crypto::Decryptor& decryptor, Message& message);
  // Decrypts `message` with `decryptor` on a pool thread; it is admitted after the
  // messages before it.
  void decrypt_on_pool(const std::shared_ptr<Message>& message,
                       std::shared_ptr<crypto::Decryptor> decryptor);
  void admit_prepared();
  // Splits a ready message into its elements and starts serving them.
  void admit(const std::shared_ptr<Message>& message);
  void on_closed(const char* reason);
  void handle_smb1(ByteSpan message);
  void process_next(const std::shared_ptr<Message>& message);
  void gate(const std::shared_ptr<Message>& message);
  void finish_element(const std::shared_ptr<Message>& message, Response response);
  // Decides how `answer` (of element `index`) is signed and encrypted.
  void protect(Message& message, std::size_t index, Answer& answer);
  void send_responses(const std::shared_ptr<Message>& message);
  // Encodes, protects and sends the answers of `message` not sent yet; `may_defer`: a
  // large message may be protected and sent from the pool, after other answers.
  void transmit(const std::shared_ptr<Message>& message, bool may_defer);
  void close(const char* reason);
  void arm_idle_timer();
  void start_setup_deadline();

  Worker& worker_;
  std::uint64_t id_;
  std::unique_ptr<Transport> transport_;
  NegotiatedState negotiated_;
  CreditWindow credits_;
  uv_timer_t* idle_timer_ = nullptr;
  uv_timer_t* setup_timer_ = nullptr;  // runs from the start until a user session exists
  bool closed_ = false;
  bool force_unacknowledged_ = false;
  bool authenticated_ = false;  // a session was set up on this connection
  std::uint8_t read_response_padding_ = 0;
  unsigned failed_logons_ = 0;
  std::chrono::steady_clock::time_point last_failure_answer_{};
  std::size_t in_flight_ = 0;
  // Messages not admitted yet, in the order they came; the first `preparing_` of them
  // at most are being decrypted on the pool.
  std::deque<std::shared_ptr<Message>> incoming_;
  std::size_t preparing_ = 0;
  static constexpr std::size_t kMaxPreparing = 4;
  std::shared_ptr<ReadMemory> read_memory_;
  struct Pending {
    PendingKey key;
    AsyncEndFn on_end;
  };
  std::map<std::uint64_t, Pending> pending_;  // waiting requests, by MessageId
  std::uint64_t next_async_id_ = 1;
};

}  // namespace smb::server
