#include "smbd/worker/connection.hh"

#include <algorithm>
#include <climits>
#include <cstring>
#include <tuple>

#include "smbd/conf/log.hh"
#include "smbd/proto/error.hh"
#include "smbd/proto/negotiate.hh"
#include "smbd/proto/session_setup.hh"
#include "smbd/worker/async.hh"
#include "smbd/worker/blocking.hh"
#include "smbd/worker/dispatch.hh"
#include "smbd/worker/logon_delay.hh"
#include "smbd/worker/negotiate_policy.hh"
#include "smbd/worker/request.hh"
#include "smbd/worker/worker.hh"

namespace smb::server {

namespace {

constexpr std::uint64_t kRelatedId = 0xFFFFFFFFFFFFFFFFull;

bool is_protocol(ByteSpan message, std::uint8_t first) {
  return message.size() >= 4 && message[0] == first && message[1] == 'S' && message[2] == 'M' &&
         message[3] == 'B';
}

// The signer of a session's answers on `connection_id`: the channel's key, or for a
// binding exchange that has not made the connection a channel yet Session.SigningKey
// (MS-SMB2 3.3.4.1.1).
std::shared_ptr<crypto::Signer> answer_signer(const Session& session, std::uint64_t connection_id,
                                              bool binding) {
  if (auto channel = session.channels.find(connection_id); channel != session.channels.end())
    return channel->second.signer;
  return binding ? session.session_signer : nullptr;
}

// The key a session or its share demands answers be encrypted with (MS-SMB2 3.3.4.1.4):
// a session's NEGOTIATE and SESSION_SETUP answers go unencrypted unless the request came
// encrypted (re-authentication).
std::shared_ptr<crypto::Encryptor> demanded_encryptor(const Session& session, std::uint32_t tree_id,
                                                      const CommandSpec* spec) {
  if (session.encryptor == nullptr) return nullptr;
  bool exempt = spec != nullptr && spec->encryption == EncryptionRule::exempt;
  if (exempt) return nullptr;
  bool share_requires = false;
  if (auto t = session.trees.find(tree_id); t != session.trees.end())
    share_requires = t->second.encrypt_required;
  return session.encrypt_data || share_requires ? session.encryptor : nullptr;
}

// What an answer will be protected with, taken when its request is admitted: the
// session may be gone when the answer is ready.
struct AnswerProtection {
  std::shared_ptr<crypto::Signer> signer;
  bool signing_required = false;
  std::shared_ptr<crypto::Encryptor> encryptor;  // the session or share demands it
  // The session a related operation ran under (inherited, 3.3.5.2.7.2); 0: none.
  std::uint64_t related_session_id = 0;
};

AnswerProtection protection_of(const Session* session, std::uint64_t connection_id,
                               std::uint32_t tree_id, const CommandSpec& spec, bool binding) {
  AnswerProtection p;
  if (session == nullptr || session->state != Session::State::VALID || session->anonymous ||
      session->guest)
    return p;
  p.signer = answer_signer(*session, connection_id, binding);
  p.signing_required = session->signing_required;
  p.encryptor = demanded_encryptor(*session, tree_id, &spec);
  return p;
}

// Messages at least this large are encrypted and decrypted on a pool thread, which frees
// the loop for other connections and requests; smaller ones are cheaper to protect here
// than to hand over. Signing and checking signatures stay on the loop whatever the size:
// measured with bench/ab.py (seq-read-signed, seq-write-signed, AES-GMAC), handing them
// to the pool cost more server CPU per GiB than it took off the loop, the data then
// crossing between cores once more.
constexpr std::size_t kCryptoOnPoolBytes = 128 * 1024;

// One outgoing message on its way to being signed and encrypted: the encoded elements in
// `head`, the last element's payload (read data) sent from its own buffer, the key of
// each element and of the whole message. Signing an element and encrypting the message
// depend on nothing else, so it is done on whichever thread holds it.
struct Sealing {
  Bytes head;
  ByteSpan payload;
  // The payload's buffer is this message's alone (read data): it is encrypted where it
  // lies instead of being copied.
  bool payload_private = false;
  std::shared_ptr<const void> keep;
  std::optional<std::uint32_t> invalidate_token;
  std::vector<std::pair<std::size_t, std::size_t>> element_ranges;
  std::vector<std::shared_ptr<crypto::Signer>> signers;  // per element; null: unsigned
  std::shared_ptr<crypto::Encryptor> encryptor;          // null: sent in the clear
  std::uint64_t encrypt_session = 0;

  // Signs each element (the padding of all but the last is covered).
  void sign() {
    for (std::size_t i = 0; i < element_ranges.size(); ++i) {
      crypto::Signer* signer = signers[i].get();
      if (signer == nullptr) continue;
      auto [from, to] = element_ranges[i];
      MutableByteSpan element(head.data() + from, to - from);
      bool last = i + 1 == element_ranges.size();
      std::array<ByteSpan, 2> parts{ByteSpan(element), last ? payload : ByteSpan()};
      std::uint8_t signature[crypto::kSignatureSize];
      signer->sign(parts, signature);
      std::memcpy(element.data() + crypto::kSignatureOffset, signature, sizeof signature);
    }
  }

  // The frame as it goes out, encrypted under `encryptor` when it is set: the transform
  // header and the encrypted elements in the frame's head, and a private payload
  // encrypted in place behind them (MS-SMB2 3.1.4.3); any other payload is copied in.
  Frame encrypt() {
    Frame frame;
    frame.invalidate_token = invalidate_token;
    if (encryptor == nullptr) {
      frame.head = std::move(head);
      frame.payload = payload;
      frame.keep = std::move(keep);
      return frame;
    }
    bool separate = payload_private && !payload.empty();
    std::size_t inline_payload = separate ? 0 : payload.size();
    frame.head.resize(crypto::kTransformHeaderSize + head.size() + inline_payload);
    std::uint8_t* at = frame.head.data() + crypto::kTransformHeaderSize;
    std::memcpy(at, head.data(), head.size());
    if (inline_payload != 0) std::memcpy(at + head.size(), payload.data(), inline_payload);
    MutableByteSpan body(at, head.size() + inline_payload);
    crypto::TransformHeaderBytes transform(frame.head.data(), crypto::kTransformHeaderSize);
    if (separate) {
      MutableByteSpan data(const_cast<std::uint8_t*>(payload.data()), payload.size());
      const MutableByteSpan parts[] = {body, data};
      encryptor->encrypt_in_place(encrypt_session, parts, transform);
      frame.payload = payload;
      frame.keep = std::move(keep);
    } else {
      const MutableByteSpan parts[] = {body};
      encryptor->encrypt_in_place(encrypt_session, parts, transform);
    }
    return frame;
  }
};

}  // namespace

// The answer of one element, and what protects it.
struct Connection::Answer {
  Header request;
  const CommandSpec* spec = nullptr;  // null for a command code outside the table
  Response response;
  std::shared_ptr<crypto::Signer> signer;        // signs the answer when set
  std::shared_ptr<crypto::Encryptor> encryptor;  // encrypts the message when set
  std::uint64_t key_session = 0;                 // the session of that key
  std::uint64_t async_id = 0;                    // answers an async request (async.hh)
  bool interim = false;                          // the interim answer of one
};

// The message being served and the responses gathered for its elements.
struct Connection::Message {
  std::shared_ptr<Buffer> bytes;
  bool encrypted = false;
  MutableByteSpan plain;  // encrypted: the SMB2 message, decrypted in `bytes`
  // Decrypted (on a pool thread for a large message): the messages of a connection are
  // admitted in the order they came.
  bool prepared = false;
  // The key of the session the message came encrypted under: its answers are encrypted
  // with it, whatever became of the session meanwhile, or not sent (MS-SMB2 3.3.4.1.4).
  std::shared_ptr<crypto::Encryptor> encryptor;
  std::vector<ByteSpan> elements;
  std::size_t next = 0;  // the element the gate takes next
  std::uint64_t transform_session_id = 0;
  // How each element's answer is protected, as its session said when the request was
  // admitted: the answer of a request that outlives its session (LOGOFF, a lost channel)
  // is still signed or encrypted as its request was.
  std::vector<AnswerProtection> protection;
  std::vector<Answer> done;
  // Related operations inherit these from the previous element (MS-SMB2 3.3.5.2.7.2):
  // the session and tree connect it used, nothing when it named none that could be
  // used, and the open it used or made (all ones: none; an unrelated element starts
  // afresh).
  std::optional<std::uint64_t> last_session_id;
  std::optional<std::uint32_t> last_tree_id;
  FileId last_file_id{kRelatedId, kRelatedId};
  NtStatus create_error = NtStatus::SUCCESS;  // a failed CREATE fails related ops after it
  // process_next() is running the elements; answered, or given up with its connection.
  bool running = false;
  bool finished = false;
  // Answers before this one have gone out (with the interim answer of an element that
  // went async, async.hh); that element answers with `async_id`.
  std::size_t sent = 0;
  std::size_t async_index = SIZE_MAX;
  std::uint64_t async_id = 0;
};

namespace {

// What an element's completion needs to know, in one allocation per request: whether it
// ran already, and the open whose channel sequence the request counts against.
struct Completion {
  bool done = false;
  std::optional<std::pair<FileId, std::uint16_t>> counted;
};

}  // namespace

// One element on its way through the common checks of MS-SMB2 3.3.5.2, each step ruled
// by the element's row of the dispatch table. A step answers SUCCESS to go on, or the
// status the element is failed with.
struct Connection::Gate {
  Connection& connection;
  Message& message;
  std::size_t index;
  const CommandSpec& spec;
  Request& request;
  Completion& completion;
  bool related = false;  // inherits ids from the element before (3.3.5.2.7.2)
  bool inherited_session = false;   // related, and there was a session to inherit
  bool no_tree_to_inherit = false;  // related, and the element before used no tree connect
  bool binding = false;  // a SESSION_SETUP binding this connection to a session (3.3.5.5.2)
  bool connection_only = false;  // no session, tree or open (dispatch.hh: ConnectionOnly)

  NtStatus admit() {
    connection_only = spec.connection_only != nullptr &&
                      spec.connection_only(message.elements[index], connection.worker_.config());
    for (auto step : {&Gate::check_chain, &Gate::check_structure_size, &Gate::resolve_related,
                      &Gate::resolve_session, &Gate::verify_signature_and_encryption,
                      &Gate::resolve_tree, &Gate::resolve_open, &Gate::check_credit_charge}) {
      NtStatus status = (this->*step)();
      if (status != NtStatus::SUCCESS) return status;
    }
    return NtStatus::SUCCESS;
  }

  // A chain longer than the limit is not served (dispatch.hh).
  NtStatus check_chain() {
    return message.elements.size() > kMaxCompoundElements ? NtStatus::INVALID_PARAMETER
                                                          : NtStatus::SUCCESS;
  }

  // MS-SMB2 3.3.5.2.6: StructureSize as the command defines it.
  NtStatus check_structure_size() {
    ByteSpan pdu = message.elements[index];
    if (spec.structure_size == 0) return NtStatus::SUCCESS;
    if (pdu.size() < kSmb2HeaderSize + 2 || load_le16(&pdu[kSmb2HeaderSize]) != spec.structure_size)
      return NtStatus::INVALID_PARAMETER;
    return NtStatus::SUCCESS;
  }

  // MS-SMB2 3.3.5.2.7.2: a related operation uses the SessionId, TreeId and FileId the
  // element before it used or made, whatever its own header says. One that needs a
  // session or tree connect when the element before used none (it failed to, or it is
  // the first of the chain) fails with STATUS_INVALID_PARAMETER, which then passes on
  // down the chain; a failed CREATE fails the related operations after it with its
  // status. An unrelated element inherits nothing: an all-ones FileId names no open.
  NtStatus resolve_related() {
    Header& h = request.header;
    related = (h.flags & kFlagRelatedOperations) != 0;
    if (!related) {
      message.last_file_id = FileId{kRelatedId, kRelatedId};
      return NtStatus::SUCCESS;
    }
    // MS-SMB2 3.3.5.2.7.2 <259>: the first element of a chain cannot be related.
    if (index == 0) {
      message.last_session_id.reset();
      message.last_tree_id.reset();
      return NtStatus::INVALID_PARAMETER;
    }
    if (spec.session != SessionRule::none) {
      if (!message.last_session_id) return NtStatus::INVALID_PARAMETER;
      h.session_id = *message.last_session_id;
      inherited_session = true;
    }
    // Checked once the session is known: a session that went away (a LOGOFF before)
    // answers for itself first.
    if (spec.needs_tree) {
      no_tree_to_inherit = !message.last_tree_id;
      if (message.last_tree_id) h.tree_id = *message.last_tree_id;
    }
    return nt_error(message.create_error) ? message.create_error : NtStatus::SUCCESS;
  }

  // MS-SMB2 3.3.5.2.9: a session is used only on its own channels (the connection that
  // is setting it up counts as one); another connection of the same client that names
  // it has not bound to it.
  NtStatus resolve_session() {
    NtStatus status = find_session();
    // What a related operation after this one inherits (3.3.5.2.7.2).
    if (spec.session != SessionRule::none) {
      if (request.session != nullptr)
        message.last_session_id = request.header.session_id;
      else
        message.last_session_id.reset();
    }
    return status;
  }

  NtStatus find_session() {
    const Header& h = request.header;
    ByteSpan pdu = message.elements[index];
    ClientState& client = connection.worker_.client();
    Session* session = nullptr;
    if (connection_only) return NtStatus::SUCCESS;
    switch (spec.session) {
      case SessionRule::none:
        break;
      case SessionRule::optional:
        session = client.session(h.session_id);
        if (session != nullptr &&
            (session->logged_off || session->channels.count(connection.id_) == 0))
          session = nullptr;
        break;
      case SessionRule::setup:
        binding = pdu.size() > kSmb2HeaderSize + 2 &&
                  (pdu[kSmb2HeaderSize + 2] & kSessionSetupFlagBinding) != 0;
        if (h.session_id == 0) break;
        [[fallthrough]];
      case SessionRule::required: {
        session = client.session(h.session_id);
        bool on_channel =
            session != nullptr && (session->channels.count(connection.id_) != 0 || binding ||
                                   (session->state == Session::State::IN_PROGRESS &&
                                    session->bound_connection == connection.id_));
        // A binding request for a session this worker does not hold is answered after
        // asking where it lives (smb2_session_setup.cc).
        bool elsewhere = session == nullptr && binding;
        if (!elsewhere && (session == nullptr || session->logged_off || !on_channel))
          return NtStatus::USER_SESSION_DELETED;
        if (session != nullptr && session->state == Session::State::VALID && session->expires_at &&
            std::chrono::steady_clock::now() >= *session->expires_at)
          session->state = Session::State::EXPIRED;
        if (spec.session == SessionRule::required && session->state != Session::State::VALID) {
          if (session->state != Session::State::EXPIRED) return NtStatus::USER_SESSION_DELETED;
          // MS-SMB2 3.3.5.2.9: an expired session may still let go of what it holds.
          bool lets_go = h.command == Command::LOGOFF || h.command == Command::CLOSE ||
                         h.command == Command::LOCK;
          if (!lets_go) return NtStatus::NETWORK_SESSION_EXPIRED;
        }
        break;
      }
    }
    request.session = session;
    return NtStatus::SUCCESS;
  }

  // MS-SMB2 3.3.5.2.4 (signing) and 3.3.5.2.9 (encryption) of a request on a valid
  // session; an encrypted request was authenticated by its decryption.
  NtStatus verify_signature_and_encryption() {
    const Header& h = request.header;
    Session* session = request.session;
    if (session == nullptr || session->state == Session::State::IN_PROGRESS || message.encrypted)
      return NtStatus::SUCCESS;
    auto channel = session->channels.find(connection.id_);
    crypto::Signer* signer =
        channel != session->channels.end() ? channel->second.signer.get() : nullptr;
    // MS-SMB2 3.3.5.2.4: a binding request is signed with Session.SigningKey.
    if (channel == session->channels.end() && binding) signer = session->session_signer.get();
    if ((h.flags & kFlagSigned) != 0) {
      if (signer == nullptr || !signer->verify(std::array<ByteSpan, 1>{message.elements[index]})) {
        log::notice(connection.peer().c_str(), "bad signature on %s", command_name(h.command));
        return NtStatus::ACCESS_DENIED;
      }
    } else if (session->signing_required && !binding && !spec.signing_exempt) {
      return NtStatus::ACCESS_DENIED;
    }
    if (session->encrypt_data && spec.encryption == EncryptionRule::required)
      return NtStatus::ACCESS_DENIED;
    return NtStatus::SUCCESS;
  }

  // MS-SMB2 3.3.5.2.11: the tree connect, and its share's demand for encryption.
  NtStatus resolve_tree() {
    if (!spec.needs_tree || connection_only) return NtStatus::SUCCESS;
    if (no_tree_to_inherit) return NtStatus::INVALID_PARAMETER;
    auto tree = request.session->trees.find(request.header.tree_id);
    if (tree == request.session->trees.end()) {
      message.last_tree_id.reset();
      return NtStatus::NETWORK_NAME_DELETED;
    }
    request.tree = &tree->second;
    message.last_tree_id = request.header.tree_id;
    if (tree->second.encrypt_required && !message.encrypted &&
        spec.encryption == EncryptionRule::required)
      return NtStatus::ACCESS_DENIED;
    return NtStatus::SUCCESS;
  }

  // The open the FileId names (all ones in a related operation: the previous element's),
  // and its channel sequence (MS-SMB2 3.3.5.2.10).
  NtStatus resolve_open() {
    if (spec.file_id_offset < 0 || connection_only) return NtStatus::SUCCESS;
    ByteSpan pdu = message.elements[index];
    const Header& h = request.header;
    std::size_t at = kSmb2HeaderSize + static_cast<std::size_t>(spec.file_id_offset);
    if (!in_bounds(at, 16, pdu.size())) return NtStatus::INVALID_PARAMETER;
    FileId id{load_le64(&pdu[at]), load_le64(&pdu[at + 8])};
    bool all_ones = id.persistent == kRelatedId && id.volatile_ == kRelatedId;
    FileIdUse use = spec.file_id_rule != nullptr ? spec.file_id_rule(pdu) : FileIdUse::open;
    switch (use) {
      case FileIdUse::ignored:
        return NtStatus::SUCCESS;
      case FileIdUse::none:
        // MS-SMB2 3.3.5.15: checked before, and instead of, any lookup of an open.
        if (!all_ones) return NtStatus::INVALID_PARAMETER;
        request.file_id = id;
        return NtStatus::SUCCESS;
      case FileIdUse::open:
      case FileIdUse::open_or_none:
        break;
    }
    if (related && all_ones) id = message.last_file_id;
    bool none = use == FileIdUse::open_or_none && all_ones && !related;
    Open* open = none ? nullptr : connection.worker_.client().open(id);
    if (!none &&
        (open == nullptr || open->session_id != request.session->id || open->tree_id != h.tree_id))
      return NtStatus::FILE_CLOSED;
    request.open = open;
    request.file_id = id;
    if (open != nullptr) message.last_file_id = id;
    if (open == nullptr || connection.negotiated_.dialect < 0x0300) return NtStatus::SUCCESS;
    bool replay = (h.flags & kFlagReplayOperation) != 0;
    switch (admit_channel_sequence(*open, h.channel_sequence, replay, spec.modifies)) {
      case SequenceCheck::refused:
        return NtStatus::FILE_NOT_AVAILABLE;
      case SequenceCheck::counted:
        completion.counted = std::make_pair(id, h.channel_sequence);
        break;
      case SequenceCheck::passed:
        break;
    }
    return NtStatus::SUCCESS;
  }

  // MS-SMB2 3.3.5.2.5: CreditCharge covers the payload the body names; Windows fails an
  // undercharged request with STATUS_INVALID_PARAMETER.
  NtStatus check_credit_charge() {
    if (spec.payload_size == nullptr) return NtStatus::SUCCESS;
    std::optional<std::uint64_t> payload = spec.payload_size(message.elements[index]);
    if (!payload || !credit_charge_covers(connection.negotiated_.dialect,
                                          request.header.credit_charge, *payload))
      return NtStatus::INVALID_PARAMETER;
    return NtStatus::SUCCESS;
  }
};

Connection::Connection(Worker& worker, std::uint64_t id, std::unique_ptr<Transport> transport)
    : worker_(worker),
      id_(id),
      transport_(std::move(transport)),
      credits_(worker.config().conf.global.max_credits) {}

Connection::~Connection() {
  for (uv_timer_t** timer : {&idle_timer_, &setup_timer_}) {
    if (*timer == nullptr) continue;
    uv_close(reinterpret_cast<uv_handle_t*>(*timer),
             [](uv_handle_t* h) { delete reinterpret_cast<uv_timer_t*>(h); });
    *timer = nullptr;
  }
  if (transport_) transport_->close();
}

// Before a session exists only NEGOTIATE and SESSION_SETUP arrive; both are small.
constexpr std::size_t kMaxMessageBeforeAuthentication = 64 * 1024;

void Connection::authenticated(bool user_session) {
  // A user's (or guest's) session ends the setup deadline; an anonymous one does not:
  // it proves nothing about the client, and would let any client stay for good.
  if (user_session && setup_timer_ != nullptr) uv_timer_stop(setup_timer_);
  if (authenticated_) return;
  authenticated_ = true;
  transport_->set_max_message(worker_.config().max_message_size());
}

void Connection::start(Bytes initial) {
  transport_->set_max_message(kMaxMessageBeforeAuthentication);
  Transport::Events events;
  events.on_message = [this](Buffer m) { on_message(std::move(m)); };
  events.on_closed = [this](const char* reason) { on_closed(reason); };
  transport_->start(std::move(events));
  start_setup_deadline();
  arm_idle_timer();
  if (!initial.empty()) on_message(Buffer(std::move(initial)));
}

// From the start, the client has `connection setup timeout` seconds to set up a user
// session, however many messages it sends meanwhile: half-open, silent and chatty
// connections without one must not pile up.
void Connection::start_setup_deadline() {
  unsigned seconds = worker_.config().conf.global.connection_setup_timeout_seconds();
  if (seconds == 0) return;
  setup_timer_ = new uv_timer_t();
  uv_timer_init(worker_.loop(), setup_timer_);
  setup_timer_->data = this;
  uv_timer_start(
      setup_timer_,
      [](uv_timer_t* t) {
        static_cast<Connection*>(t->data)->close("no user session within the setup timeout");
      },
      static_cast<std::uint64_t>(seconds) * 1000, 0);
}

void Connection::arm_idle_timer() {
  // Before a session, the setup deadline bounds the connection as well.
  unsigned seconds = worker_.config().conf.global.idle_timeout_seconds();
  if (seconds == 0) return;
  if (idle_timer_ == nullptr) {
    idle_timer_ = new uv_timer_t();
    uv_timer_init(worker_.loop(), idle_timer_);
    idle_timer_->data = this;
  }
  uv_timer_start(
      idle_timer_,
      [](uv_timer_t* t) {
        auto* self = static_cast<Connection*>(t->data);
        if (self->in_flight_ == 0) self->close("idle timeout");
      },
      static_cast<std::uint64_t>(seconds) * 1000, 0);
}

std::chrono::milliseconds Connection::pace_failed_logon(unsigned address_failures) {
  if (failed_logons_ < UINT_MAX) ++failed_logons_;
  auto delay = failed_logon_delay(std::max(failed_logons_, address_failures));
  auto now = std::chrono::steady_clock::now();
  auto due = std::max(now, last_failure_answer_) + delay;
  last_failure_answer_ = due;
  return std::chrono::ceil<std::chrono::milliseconds>(due - now);
}

void Connection::shutdown() { close(nullptr); }

void Connection::close(const char* reason) {
  if (closed_) return;
  closed_ = true;
  if (reason != nullptr) log::info(peer().c_str(), "disconnecting: %s", reason);
  transport_->close();
  if (idle_timer_ != nullptr) uv_timer_stop(idle_timer_);
  if (setup_timer_ != nullptr) uv_timer_stop(setup_timer_);
  worker_.connection_closed(id_);
}

void Connection::on_closed(const char* reason) {
  if (closed_) return;
  log::info(peer().c_str(), "connection closed: %s", reason);
  closed_ = true;
  if (idle_timer_ != nullptr) uv_timer_stop(idle_timer_);
  if (setup_timer_ != nullptr) uv_timer_stop(setup_timer_);
  worker_.connection_closed(id_);
}

void Connection::hand_off(Bytes negotiate) {
  HandOff passed = transport_->hand_off(std::move(negotiate));
  if (!passed.socket) {
    close("cannot pass this connection to its client's worker");
    return;
  }
  worker_.hand_off(negotiated_.client_guid, std::move(passed.socket), std::move(passed.payload),
                   passed.rdma);
  closed_ = true;
  worker_.connection_closed(id_);
}

// The transport may bound one READ or WRITE (over SMB Direct the proxy's MaxReadWriteSize,
// [MS-SMBD] 3.1.1.1), and the connection then offers no more.
std::size_t Connection::max_read_size() const {
  return std::min<std::size_t>(worker_.config().conf.global.smb2_max_read,
                               transport_->max_read_write_size());
}
std::size_t Connection::max_write_size() const {
  return std::min<std::size_t>(worker_.config().conf.global.smb2_max_write,
                               transport_->max_read_write_size());
}
std::size_t Connection::max_inline_read() const {
  // The response must fit one message the client takes; besides the data it holds the
  // SMB2 header, READ response, transform header and compound padding.
  constexpr std::size_t kOverhead = 64 + 16 + 52 + 8;
  std::size_t message = transport_->max_send_message();
  return std::min(max_read_size(), message > kOverhead ? message - kOverhead : 0);
}

std::size_t Connection::max_transact_size() const {
  return worker_.config().conf.global.smb2_max_trans;
}

void Connection::on_message(Buffer bytes) {
  if (closed_) return;
  arm_idle_timer();
  auto message = std::make_shared<Message>();
  message->bytes = std::make_shared<Buffer>(std::move(bytes));
  ByteSpan view(*message->bytes);

  if (is_protocol(view, 0xFF)) {
    handle_smb1(view);
    return;
  }
  if (is_protocol(view, 0xFD)) {
    // MS-SMB2 3.3.5.2.1: decrypt with the session the transform header names.
    auto session_id = crypto::transform_session_id(view);
    Session* session = session_id ? worker_.client().session(*session_id) : nullptr;
    if (!negotiated_.done || session == nullptr || session->decryptor == nullptr) {
      close("encrypted message for an unknown session");
      return;
    }
    message->encrypted = true;
    message->encryptor = session->encryptor;
    message->transform_session_id = *session_id;
    message->last_session_id = *session_id;
    // Decrypted where it lies (the plaintext follows the transform header): on a pool
    // thread when it is large (a WRITE's data), and the messages after it wait for it.
    if (view.size() >= kCryptoOnPoolBytes) {
      decrypt_on_pool(message, session->decryptor);
      return;
    }
    if (!decrypt(*session->decryptor, *message)) {
      close("message failed to decrypt");
      return;
    }
  }
  message->prepared = true;
  incoming_.push_back(std::move(message));
  admit_prepared();
}

bool Connection::decrypt(crypto::Decryptor& decryptor, Message& message) {
  MutableByteSpan plain;
  if (decryptor.decrypt_in_place(*message.bytes, plain) != NtStatus::SUCCESS) return false;
  message.plain = plain;
  return true;
}

void Connection::decrypt_on_pool(const std::shared_ptr<Message>& message,
                                 std::shared_ptr<crypto::Decryptor> decryptor) {
  incoming_.push_back(message);
  // A client cannot have more than a few large messages waiting here: reading stops
  // until one of them is ready.
  if (++preparing_ >= kMaxPreparing) transport_->pause();
  Worker& worker = worker_;
  std::uint64_t id = id_;
  auto ok = std::make_shared<bool>(false);
  auto work = [message, decryptor, ok]() { *ok = decrypt(*decryptor, *message); };
  auto then = [&worker, id, message, ok]() {
    Connection* c = worker.connection(id);
    if (c == nullptr || c->closed_) return;
    if (c->preparing_-- == kMaxPreparing) c->transport_->resume();
    if (!*ok) {
      c->close("message failed to decrypt");
      return;
    }
    message->prepared = true;
    c->admit_prepared();
  };
  auto failed = [&worker, id](NtStatus) {
    if (Connection* c = worker.connection(id)) c->close("cannot decrypt a message");
  };
  run_blocking(worker_.loop(), serving_identity(), std::move(work), std::move(then),
               std::move(failed));
}

// Takes the messages that arrived, in their order, as far as they are ready.
void Connection::admit_prepared() {
  while (!closed_ && !incoming_.empty() && incoming_.front()->prepared) {
    std::shared_ptr<Message> message = std::move(incoming_.front());
    incoming_.pop_front();
    admit(message);
  }
}

void Connection::admit(const std::shared_ptr<Message>& message) {
  ByteSpan view = message->encrypted ? ByteSpan(message->plain) : ByteSpan(*message->bytes);
  if (message->encrypted && !is_protocol(view, 0xFE)) {
    close("decrypted message is not SMB2");
    return;
  }
  if (!is_protocol(view, 0xFE)) {
    close("not an SMB2 message");
    return;
  }
  if (split_compound(view, message->elements) != NtStatus::SUCCESS || message->elements.empty()) {
    close("malformed compound chain");
    return;
  }
  // MS-SMB2 3.3.5.2.1.1, 3.3.5.2.9: a session's key carries only that session's
  // requests; every element names the transform header's session (a related one may
  // inherit it). Anything else is a forgery by a holder of one session's key.
  if (message->encrypted) {
    for (ByteSpan element : message->elements) {
      std::uint64_t inner = load_le64(&element[40]);
      bool related = (load_le32(&element[16]) & kFlagRelatedOperations) != 0;
      if (inner != message->transform_session_id && !(related && inner == kRelatedId)) {
        close("encrypted message for another session than its transform header's");
        return;
      }
    }
  }
  message->protection.resize(message->elements.size());
  ++in_flight_;
  process_next(message);
}

void Connection::handle_smb1(ByteSpan message) {
  // MS-SMB2 3.3.5.3: only a first SMB1 NEGOTIATE offering SMB2 is answered.
  std::vector<std::string> dialects;
  if (negotiated_.done || negotiated_.smb1_negotiated ||
      !decode_smb1_negotiate(message, dialects)) {
    close("SMB1 is not served");
    return;
  }
  bool wildcard = std::find(dialects.begin(), dialects.end(), "SMB 2.???") != dialects.end();
  bool smb2002 = std::find(dialects.begin(), dialects.end(), "SMB 2.002") != dialects.end();
  if (!wildcard && !smb2002) {
    close("SMB1 client does not offer SMB2");
    return;
  }
  negotiated_.smb1_negotiated = true;
  // MS-SMB2 3.3.5.3.1: the SMB1 NEGOTIATE took MessageId 0 and its answer grants one
  // credit, so the SMB2 NEGOTIATE that follows comes with MessageId 1.
  credits_.consume(0, 1);
  credits_.grant(1);
  Bytes response = build_smb1_negotiate_response(*this, wildcard ? 0x02FF : 0x0202);
  if (!wildcard) negotiated_.done = true;  // SMB 2.002 only: negotiated now
  Frame frame;
  frame.head = std::move(response);
  transport_->send(std::move(frame));
}

// Runs the elements of a message in order. An element answered at once (from inside
// gate(): errors, ECHO, CANCEL) lets the loop go on with the next; one that waits (file
// I/O) ends the loop, and its answer calls in here again. However long the chain, no
// element takes stack.
void Connection::process_next(const std::shared_ptr<Message>& message) {
  if (message->running || message->finished) return;
  message->running = true;
  while (!closed_ && !message->finished && message->next < message->elements.size() &&
         message->done.size() == message->next)
    gate(message);
  message->running = false;
  if (message->finished) return;
  if (closed_) {
    // Given up: the connection closed under it.
    message->finished = true;
    if (in_flight_ > 0) --in_flight_;
    return;
  }
  if (message->done.size() == message->elements.size()) send_responses(message);
}

// Takes the next element through the common checks and on to its handler; every rule
// comes from the dispatch table.
void Connection::gate(const std::shared_ptr<Message>& message) {
  std::size_t index = message->next++;
  ByteSpan pdu = message->elements[index];

  auto request = std::make_shared<Request>(worker_);
  request->connection_id = id_;
  request->pdu = pdu;
  request->message = message->bytes;
  request->encrypted = message->encrypted;
  request->served = message;
  request->index = index;
  if (decode(pdu, request->header) != NtStatus::SUCCESS) {
    close("malformed SMB2 header");
    return;
  }
  const Header& h = request->header;
  std::uint64_t connection_id = id_;
  Worker& worker = worker_;
  auto completion = std::make_shared<Completion>();
  std::uint64_t message_id = request->header.message_id;
  request->complete = [&worker, connection_id, message, completion, message_id](Response response) {
    // A request completes once; a second answer would desynchronise the compound.
    if (completion->done) {
      log::error(nullptr, "internal error: a request was answered twice");
      return;
    }
    completion->done = true;
    if (completion->counted) {
      if (Open* open = worker.client().open(completion->counted->first))
        release_channel_sequence(*open, completion->counted->second);
    }
    Connection* c = worker.connection(connection_id);
    if (c == nullptr) return;
    c->pending_.erase(message_id);
    c->finish_element(message, std::move(response));
  };

  const CommandSpec* spec = find_command(static_cast<std::uint16_t>(h.command));
  // MS-SMB2 3.3.5.2: a connection starts with NEGOTIATE.
  if (!negotiated_.done && (spec == nullptr || !spec->negotiates)) {
    close("request before NEGOTIATE");
    return;
  }
  // MS-SMB2 3.3.5.2.3: the MessageId (and the CreditCharge - 1 after it) must lie in the
  // command sequence window; a connection that breaks it is closed.
  if (spec == nullptr || spec->sequenced) {
    std::uint16_t charge = negotiated_.dialect == 0x0202 ? 1 : h.credit_charge;
    if (!credits_.consume(h.message_id, charge)) {
      close("message id outside the credit window");
      return;
    }
  }
  if (spec == nullptr) {
    request->reply(NtStatus::INVALID_PARAMETER);
    return;
  }
  Gate checks{*this, *message, index, *spec, *request, *completion};
  NtStatus admitted = checks.admit();
  message->protection[index] =
      protection_of(request->session, id_, h.tree_id, *spec, checks.binding);
  // The answer of a related operation is signed with the key of the session it
  // inherited, even when it failed after (the error of a CREATE before it).
  if (checks.inherited_session) message->protection[index].related_session_id = h.session_id;
  if (NtStatus status = admitted; status != NtStatus::SUCCESS) {
    request->reply(status);
    return;
  }
  // The handler, and every job it starts, runs as the request's user (docs/security.md).
  Serving serving(identity_for(request->session, request->tree), *request);
  if (!serving.ok()) {
    request->reply(NtStatus::ACCESS_DENIED);
    return;
  }
  spec->handler(request);
}

void Connection::finish_element(const std::shared_ptr<Message>& message, Response response) {
  if (message->finished) return;
  std::size_t index = message->done.size();
  ByteSpan pdu = message->elements[index];
  Header request;
  decode(pdu, request);
  const CommandSpec* spec = find_command(static_cast<std::uint16_t>(request.command));
  if (log::enabled(5))
    log::debug(5, peer().c_str(), "%s mid %llu -> %s", command_name(request.command),
               static_cast<unsigned long long>(request.message_id),
               std::string(nt_status_name(response.status)).c_str());
  if (spec != nullptr && spec->opens_for_chain) {
    if (response.created) message->last_file_id = *response.created;
    message->create_error = nt_error(response.status) ? response.status : NtStatus::SUCCESS;
  }
  // A SESSION_SETUP or TREE_CONNECT hands the id it made to the related operations
  // after it (3.3.5.2.7.2).
  if (!nt_error(response.status)) {
    if (response.session_id_override != 0) message->last_session_id = response.session_id_override;
    if (response.tree_id_override != 0) message->last_tree_id = response.tree_id_override;
  }

  Answer done{request, spec, std::move(response), nullptr, nullptr, 0};
  protect(*message, index, done);
  if (index == message->async_index) done.async_id = message->async_id;
  bool disconnect = done.response.disconnect;
  message->done.push_back(std::move(done));
  if (disconnect) {
    send_responses(message);
    close("protocol violation");
    return;
  }
  process_next(message);
}

void Connection::protect(Message& m, std::size_t index, Answer& done) {
  Message* message = &m;
  const Header& request = done.request;
  const CommandSpec* spec = done.spec;
  // Sign when the request was signed, or the session requires it (MS-SMB2 3.3.4.1.1);
  // encrypt when the request came encrypted, or the session or share demands it. The
  // session as it is now decides (a SESSION_SETUP may just have made it valid or bound
  // this channel); one that went away while the request ran leaves the decision taken
  // when the request was admitted.
  const AnswerProtection& admitted = message->protection[index];
  // A SESSION_SETUP that completes in one round trip (Kerberos) answers for the session it
  // created, which its request could not name yet.
  bool related = (request.flags & kFlagRelatedOperations) != 0;
  std::uint64_t session_id = done.response.session_id_override != 0
                                 ? done.response.session_id_override
                             : related ? admitted.related_session_id
                                       : request.session_id;
  Session* session = worker_.client().session(session_id);
  bool signed_request = (request.flags & kFlagSigned) != 0;
  if (message->encrypted) {
    done.encryptor = message->encryptor;
    done.key_session = message->transform_session_id;
  } else if (session != nullptr) {
    // An expired session still has its keys.
    bool keyed = session->state != Session::State::IN_PROGRESS && !session->anonymous &&
                 !session->guest;
    if (keyed && (signed_request || session->signing_required || done.response.force_sign)) {
      bool binding = spec != nullptr && spec->session == SessionRule::setup;
      done.signer = answer_signer(*session, id_, binding);
      if (done.signer == nullptr) done.signer = admitted.signer;
    }
    done.encryptor = demanded_encryptor(*session, request.tree_id, spec);
    done.key_session = session_id;
  } else {
    if (signed_request || admitted.signing_required) done.signer = admitted.signer;
    done.encryptor = admitted.encryptor;
    done.key_session = session_id;
  }
}

void Connection::send_notification(Bytes message, std::uint64_t session_id) {
  if (closed_) return;
  Frame frame;
  Session* s = worker_.client().session(session_id);
  if (s != nullptr && s->encryptor != nullptr && s->encrypt_data) {
    std::array<ByteSpan, 1> parts{ByteSpan(message)};
    frame.head = s->encryptor->encrypt(session_id, parts);
  } else {
    frame.head = std::move(message);
  }
  transport_->send(std::move(frame));
}

void Connection::send_responses(const std::shared_ptr<Message>& message) {
  if (message->finished) return;
  message->finished = true;
  if (in_flight_ > 0) --in_flight_;
  if (closed_) return;
  transmit(message, true);
}

void Connection::transmit(const std::shared_ptr<Message>& message, bool may_defer) {
  Sealing sealing;
  Bytes& head = sealing.head;
  ByteWriter w(head);
  // Elements whose final bytes someone needs: index, start, end (without padding).
  std::vector<std::tuple<std::size_t, std::size_t, std::size_t>> encoded;
  std::size_t previous_start = 0;
  std::size_t answers = 0;
  bool any = false;
  bool after_send = false;

  for (std::size_t i = message->sent; i < message->done.size(); ++i) {
    auto& d = message->done[i];
    if (d.spec != nullptr && !d.spec->answered) continue;
    ++answers;
    if (any) {
      // MS-SMB2 3.3.4.1.3: each element starts 8-byte aligned; NextCommand links them.
      w.align(8);
      w.patch_u32(previous_start + 20, static_cast<std::uint32_t>(head.size() - previous_start));
      sealing.element_ranges.back().second = head.size();
    }
    std::size_t start = head.size();
    previous_start = start;
    Header h;
    h.command = d.request.command;
    h.status = d.response.status;
    // The answer to a signed request keeps the flag even when no key can sign it (the
    // session is gone or lives in another worker), as Windows does: clients check for
    // the flag and then take such error statuses unverified.
    bool keep_signed_flag = (d.request.flags & kFlagSigned) != 0 && nt_error(d.response.status);
    h.flags = kFlagServerToRedir | (d.request.flags & kFlagRelatedOperations) |
              (d.signer != nullptr || keep_signed_flag ? kFlagSigned : 0) |
              (d.async_id != 0 ? kFlagAsyncCommand : 0);
    h.async_id = d.async_id;
    h.message_id = d.request.message_id;
    h.process_id = d.request.process_id;
    h.tree_id = d.request.tree_id;
    h.session_id = d.request.session_id;
    h.credit_charge = d.request.credit_charge;
    // MS-SMB2 3.3.4.2: the interim answer of an async request grants its credits; the
    // final answer grants none.
    bool final_async = d.async_id != 0 && !d.interim;
    h.credit_request_response =
        final_async ? 0
                    : credits_.grant(std::max<std::uint16_t>(d.request.credit_request_response, 1));
    if (d.response.session_id_override != 0) h.session_id = d.response.session_id_override;
    if (d.response.tree_id_override != 0) h.tree_id = d.response.tree_id_override;
    encode(h, w);
    if (d.response.has_body) {
      w.bytes(d.response.body);
    } else {
      encode(ErrorResponse{}, w);
    }
    // [MS-SMBD] 3.1.4.1: a message invalidates one token; a client whose other tokens
    // in the same compound stay valid invalidates them itself.
    if (!sealing.invalidate_token) sealing.invalidate_token = d.response.invalidate_token;
    if (!d.response.payload.empty()) {
      if (i + 1 == message->done.size()) {
        sealing.payload = d.response.payload;
        sealing.payload_private = d.response.payload_private;
        sealing.keep = d.response.keep;
      } else {
        w.bytes(d.response.payload);
      }
    }
    sealing.element_ranges.emplace_back(start, head.size());
    sealing.signers.push_back(d.signer);
    if (d.response.after_encode) encoded.emplace_back(i, start, head.size());
    after_send = after_send || d.response.after_send || d.response.disconnect;
    any = true;
  }
  if (!any) return;
  // MS-SMB2 3.3.4.1.3: the last of compounded responses is padded to 8 bytes as well,
  // whether it was answered at once or after file I/O on the pool. The padding follows
  // the payload, which then goes inline (a READ ending a compound: the copy is rare), and
  // the signature covers it as it covers the padding of the others. A response sent
  // alone (a lone request, the final answer of one that went async) is not padded.
  if (answers > 1 && (head.size() + sealing.payload.size()) % 8 != 0) {
    if (!sealing.payload.empty()) {
      w.bytes(sealing.payload);
      sealing.payload = ByteSpan();
      sealing.payload_private = false;
      sealing.keep.reset();
    }
    w.align(8);
    sealing.element_ranges.back().second = head.size();
  }

  // Encrypted with the first key an element asks for (the one its request came under
  // when the message was encrypted), under the SessionId of that key's session.
  for (std::size_t i = message->sent; i < message->done.size(); ++i) {
    const auto& d = message->done[i];
    if (d.encryptor == nullptr) continue;
    sealing.encryptor = d.encryptor;
    sealing.encrypt_session = d.key_session;
    break;
  }
  if (sealing.encryptor == nullptr && message->encrypted) {
    // No key to answer an encrypted message with: it is not answered in the clear.
    log::error(peer().c_str(), "internal error: no key for the answer to an encrypted message");
    return;
  }

  // A large encrypted message is signed and encrypted on the pool and sent from there
  // when nothing waits for its bytes or its sending (the preauth hash, after_send);
  // answers to other requests may go out before it meanwhile (MS-SMB2 3.3.4.1: responses
  // are matched to requests by MessageId, not by order).
  if (may_defer && sealing.encryptor != nullptr && encoded.empty() && !after_send &&
      head.size() + sealing.payload.size() >= kCryptoOnPoolBytes) {
    auto job = std::make_shared<Sealing>(std::move(sealing));
    auto frame = std::make_shared<Frame>();
    Worker& worker = worker_;
    std::uint64_t id = id_;
    auto send = [&worker, id, frame]() {
      Connection* c = worker.connection(id);
      if (c == nullptr || c->closed_) return;
      c->transport_->send(std::move(*frame));
    };
    auto failed = [&worker, id](NtStatus) {
      if (Connection* c = worker.connection(id)) c->close("cannot protect an answer");
    };
    run_blocking(
        worker_.loop(), serving_identity(),
        [job, frame]() {
          job->sign();
          *frame = job->encrypt();
        },
        std::move(send), std::move(failed));
    return;
  }

  sealing.sign();
  // The preauth integrity hash takes a response as sent, signature included.
  for (auto [index, from, to] : encoded)
    message->done[index].response.after_encode(ByteSpan(head).subspan(from, to - from));
  transport_->send(sealing.encrypt());
  for (std::size_t i = message->sent; i < message->done.size(); ++i) {
    auto& d = message->done[i];
    if (d.response.after_send) d.response.after_send();
    if (d.response.disconnect) close("protocol violation");
  }
}

}  // namespace smb::server

namespace smb::server {

// MS-SMB2 3.3.4.2 (async.hh).
bool Request::last_in_message() const {
  return served == nullptr || index + 1 == served->elements.size();
}

std::optional<std::uint64_t> Connection::go_async(const RequestPtr& request, AsyncEndFn on_end) {
  if (closed_ || request->served == nullptr || pending_.size() >= kMaxPendingPerConnection)
    return std::nullopt;
  const std::shared_ptr<Message>& message = request->served;
  const Header& h = request->header;
  Pending pending;
  pending.key.message_id = h.message_id;
  pending.key.session_id = h.session_id;
  pending.key.tree_id = h.tree_id;
  pending.key.has_open = request->open != nullptr;
  pending.key.file_id = request->file_id;
  pending.on_end = std::move(on_end);
  bool last = request->index + 1 == message->elements.size();
  // Only the element being served can go async, once: its answer is the next to come.
  if (last && message->async_index == SIZE_MAX && message->done.size() == request->index) {
    std::uint64_t async_id = next_async_id_++;
    message->async_index = request->index;
    message->async_id = async_id;
    pending.key.async_id = async_id;
    // The interim answer, protected as the final one will be, goes out now with the
    // answers of the elements before it.
    Answer interim;
    interim.request = h;
    interim.spec = find_command(static_cast<std::uint16_t>(h.command));
    interim.response.status = NtStatus::PENDING;
    interim.async_id = async_id;
    interim.interim = true;
    protect(*message, request->index, interim);
    message->done.push_back(std::move(interim));
    transmit(message, false);
    message->done.pop_back();
    message->sent = request->index;
  }
  std::uint64_t id = pending.key.async_id;
  pending_[h.message_id] = std::move(pending);
  return id;
}

void Connection::end_pending(const std::function<bool(const PendingKey&)>& which, AsyncEnd reason) {
  std::vector<AsyncEndFn> ended;
  for (auto it = pending_.begin(); it != pending_.end();) {
    if (which(it->second.key)) {
      ended.push_back(std::move(it->second.on_end));
      it = pending_.erase(it);
    } else {
      ++it;
    }
  }
  // Out of the list before they run: each completes its request, which looks it up.
  for (AsyncEndFn& fn : ended)
    if (fn) fn(reason);
}

// MS-SMB2 3.3.5.16: by AsyncId when the CANCEL is async, else by MessageId. A CANCEL
// naming nothing that waits is dropped (a request it names may have completed already).
void Connection::cancel(const Header& request) {
  if (request.is_async()) {
    end_pending(
        [&](const PendingKey& k) { return k.async_id != 0 && k.async_id == request.async_id; },
        AsyncEnd::cancelled);
  } else {
    end_pending([&](const PendingKey& k) { return k.message_id == request.message_id; },
                AsyncEnd::cancelled);
  }
}

}  // namespace smb::server
