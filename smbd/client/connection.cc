#include "smbd/client/connection.hh"

#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/rand.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <fcntl.h>
#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <utility>

#include "smbd/auth/authenticator.hh"
#include "smbd/crypto/session_keys.hh"
#include "smbd/proto/close.hh"
#include "smbd/proto/echo.hh"
#include "smbd/proto/flush.hh"
#include "smbd/proto/logoff.hh"
#include "smbd/proto/read.hh"
#include "smbd/proto/session_setup.hh"
#include "smbd/proto/tree_connect.hh"
#include "smbd/proto/tree_disconnect.hh"
#include "smbd/proto/write.hh"

namespace smb::client {

namespace {

constexpr std::size_t kFraming = 4;  // MS-SMB2 2.1: Direct TCP transport header
constexpr std::size_t kReserve = kFraming + crypto::kTransformHeaderSize;
constexpr std::size_t kMaxFrame = 0x00FFFFFF;  // 24-bit StreamProtocolLength
constexpr std::uint64_t kUnsolicitedMessageId = 0xFFFFFFFFFFFFFFFFull;  // 3.2.5.19.1
constexpr std::array<std::uint16_t, 5> kKnownDialects{0x0202, 0x0210, 0x0300, 0x0302, 0x0311};

std::string errno_text(const char* what) { return std::string(what) + ": " + std::strerror(errno); }

std::string status_text(NtStatus s) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "0x%08X", static_cast<unsigned>(s));
  return buf;
}

void random_bytes(MutableByteSpan out) {
  if (RAND_bytes(out.data(), static_cast<int>(out.size())) != 1)
    throw Error(NtStatus::INTERNAL_ERROR, "RAND_bytes failed");
}

void store_framing(std::uint8_t* p, std::size_t length) {
  p[0] = 0;
  p[1] = static_cast<std::uint8_t>(length >> 16);
  p[2] = static_cast<std::uint8_t>(length >> 8);
  p[3] = static_cast<std::uint8_t>(length);
}

}  // namespace

struct Connection::Session {
  std::uint64_t id = 0;
  std::uint16_t flags = 0;
  bool established = false;
  bool sign = false;
  bool encrypt = false;
  crypto::PreauthHash preauth;
  std::optional<crypto::Signer> signer;  // Channel.SigningKey of this connection
  std::optional<crypto::Encryptor> encryptor;
  std::optional<crypto::Decryptor> decryptor;
  // Session.SigningKey with its algorithm (it signs a binding exchange on another
  // connection) and the session's encryption keys, shared by all its channels.
  crypto::SigningAlgorithm session_signing_algorithm = crypto::SigningAlgorithm::HMAC_SHA256;
  Bytes session_signing_key;
  Bytes encrypt_key;
  Bytes decrypt_key;
};

// ---------------------------------------------------------------- set-up

Connection::Connection(int fd, const Options& options)
    : fd_(fd), options_(options), credits_(options.target_credits), input_(1 << 20) {}

Connection::~Connection() { disconnect(); }

void Connection::disconnect() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

std::unique_ptr<Connection> Connection::open(const std::string& host, std::uint16_t port,
                                             const Options& options) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* list = nullptr;
  std::string service = std::to_string(port);
  if (int rc = getaddrinfo(host.c_str(), service.c_str(), &hints, &list); rc != 0)
    throw Error(NtStatus::BAD_NETWORK_NAME, host + ": " + gai_strerror(rc));
  int fd = -1;
  std::string why = "no address";
  for (addrinfo* a = list; a != nullptr; a = a->ai_next) {
    fd = ::socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
    if (fd < 0) continue;
    if (::connect(fd, a->ai_addr, a->ai_addrlen) == 0) break;
    why = errno_text("connect");
    ::close(fd);
    fd = -1;
  }
  freeaddrinfo(list);
  if (fd < 0) throw Error(NtStatus::CONNECTION_DISCONNECTED, host + ":" + service + ": " + why);
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
  return std::unique_ptr<Connection>(new Connection(fd, options));
}

std::unique_ptr<Connection> Connection::adopt(int fd, const Options& options) {
  ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
  return std::unique_ptr<Connection>(new Connection(fd, options));
}

std::unique_ptr<Connection> Connection::connect(const std::string& host, std::uint16_t port,
                                                const Options& options) {
  auto c = open(host, port, options);
  c->negotiate();
  return c;
}

// MS-SMB2 3.2.4.2.2.2: the SMB2 NEGOTIATE request, with the 3.1.1 contexts of 2.2.3.1.
void Connection::negotiate() {
  NegotiateRequest q;
  q.security_mode = kNegotiateSigningEnabled | (options_.sign ? kNegotiateSigningRequired : 0);
  for (std::uint16_t d : kKnownDialects)
    if (d >= options_.min_dialect && d <= options_.max_dialect) q.dialects.push_back(d);
  if (q.dialects.empty()) throw Error(NtStatus::INVALID_PARAMETER, "no dialect in the range");
  q.capabilities = kGlobalCapLargeMtu;
  if (options_.max_dialect >= 0x0300) q.capabilities |= kGlobalCapEncryption;
  q.client_guid = options_.client_guid;
  if (q.client_guid == Guid{}) random_bytes(q.client_guid);
  if (q.offers(Dialect::SMB3_1_1)) {
    PreauthIntegrityCapabilities pre;
    pre.hash_algorithms = {HashAlgorithm::SHA_512};
    pre.salt.resize(32);
    random_bytes(pre.salt);
    q.contexts.push_back(to_context(pre));
    if (!options_.ciphers.empty()) {
      EncryptionCapabilities enc;
      for (crypto::Cipher c : options_.ciphers)
        enc.ciphers.push_back(static_cast<CipherId>(static_cast<std::uint16_t>(c)));
      q.contexts.push_back(to_context(enc));
    }
    if (!options_.signing_algorithms.empty()) {
      SigningCapabilities sig;
      for (crypto::SigningAlgorithm a : options_.signing_algorithms)
        sig.signing_algorithms.push_back(
            static_cast<SigningAlgorithmId>(static_cast<std::uint16_t>(a)));
      q.contexts.push_back(to_context(sig));
    }
  }
  Call c;
  c.command = Command::NEGOTIATE;
  c.body = encode_body(q);
  Reply r = call(std::move(c));
  if (r.status() != NtStatus::SUCCESS)
    throw Error(r.status(), "NEGOTIATE failed: " + status_text(r.status()));
  NegotiateResponse p;
  if (decode(r.pdu, p) != NtStatus::SUCCESS)
    throw Error(NtStatus::INVALID_NETWORK_RESPONSE, "malformed NEGOTIATE response");
  // MS-SMB2 3.2.5.2: the dialect must be one that was offered.
  if (std::find(q.dialects.begin(), q.dialects.end(), p.dialect_revision) == q.dialects.end())
    throw Error(NtStatus::INVALID_NETWORK_RESPONSE,
                "server chose dialect " + std::to_string(p.dialect_revision) + " not offered");
  dialect_ = p.dialect_revision;
  negotiate_response_ = p;
  multi_credit_ = dialect_ >= 0x0210 && (p.capabilities & kGlobalCapLargeMtu) != 0;
  if (dialect_ == 0x0311) {
    preauth_.update(r.pdu);
    const NegotiateContext* pre =
        find_context(p.contexts, NegotiateContextType::SMB2_PREAUTH_INTEGRITY_CAPABILITIES);
    PreauthIntegrityCapabilities pc;
    if (pre == nullptr || decode_context(pre->data, pc) != NtStatus::SUCCESS ||
        pc.hash_algorithms.size() != 1 || pc.hash_algorithms[0] != HashAlgorithm::SHA_512)
      throw Error(NtStatus::INVALID_NETWORK_RESPONSE, "no SHA-512 preauth context");
    signing_algorithm_ = crypto::SigningAlgorithm::AES_CMAC;
    if (const NegotiateContext* sig =
            find_context(p.contexts, NegotiateContextType::SMB2_SIGNING_CAPABILITIES)) {
      SigningCapabilities sc;
      if (decode_context(sig->data, sc) != NtStatus::SUCCESS || sc.signing_algorithms.size() != 1)
        throw Error(NtStatus::INVALID_NETWORK_RESPONSE, "malformed signing context");
      signing_algorithm_ = static_cast<crypto::SigningAlgorithm>(
          static_cast<std::uint16_t>(sc.signing_algorithms[0]));
    }
    if (const NegotiateContext* enc =
            find_context(p.contexts, NegotiateContextType::SMB2_ENCRYPTION_CAPABILITIES)) {
      EncryptionCapabilities ec;
      if (decode_context(enc->data, ec) != NtStatus::SUCCESS || ec.ciphers.size() != 1)
        throw Error(NtStatus::INVALID_NETWORK_RESPONSE, "malformed encryption context");
      auto cipher = static_cast<crypto::Cipher>(static_cast<std::uint16_t>(ec.ciphers[0]));
      // MS-SMB2 3.2.5.2: Cipher 0 means the server supports none of those offered.
      if (crypto::is_known(cipher)) cipher_ = cipher;
    }
  } else if (dialect_ >= 0x0300) {
    signing_algorithm_ = crypto::SigningAlgorithm::AES_CMAC;
    if ((p.capabilities & kGlobalCapEncryption) != 0) cipher_ = crypto::Cipher::AES_128_CCM;
  } else {
    signing_algorithm_ = crypto::SigningAlgorithm::HMAC_SHA256;
  }
}

// ---------------------------------------------------------------- sessions and trees

Connection::Session* Connection::find_session(std::uint64_t id) {
  auto it = sessions_.find(id);
  return it == sessions_.end() ? nullptr : it->second.get();
}

bool Connection::session_encrypts(std::uint64_t session_id) const {
  auto it = sessions_.find(session_id);
  return it != sessions_.end() && it->second->encrypt;
}
bool Connection::session_signs(std::uint64_t session_id) const {
  auto it = sessions_.find(session_id);
  return it != sessions_.end() && it->second->sign;
}
std::uint16_t Connection::session_flags(std::uint64_t session_id) const {
  auto it = sessions_.find(session_id);
  return it == sessions_.end() ? 0 : it->second->flags;
}

// MS-SMB2 3.2.4.2.3 / 3.2.5.3: authenticate, derive the keys, check the final signature.
std::uint64_t Connection::session_setup(const auth::ClientCredentials& credentials,
                                        const SessionOptions& session_options) {
  if (dialect_ == 0) throw Error(NtStatus::INVALID_PARAMETER, "SESSION_SETUP before NEGOTIATE");
  auto session = std::make_unique<Session>();
  session->preauth = preauth_;  // 3.2.5.3.1: Session.PreauthIntegrityHashValue
  struct Guard {
    crypto::PreauthHash*& target;
    ~Guard() { target = nullptr; }
  } guard{preauth_target_};
  if (dialect_ == 0x0311) preauth_target_ = &session->preauth;

  auth::ClientAuthenticator authenticator(credentials);
  auth::AuthStep step = authenticator.step(negotiate_response_.security_buffer);
  std::uint64_t session_id = 0;
  const bool want_sign = options_.sign || session_options.sign ||
                         (negotiate_response_.security_mode & kNegotiateSigningRequired) != 0;
  while (true) {
    if (step.status != NtStatus::MORE_PROCESSING_REQUIRED)
      throw Error(step.status,
                  "authentication failed: " + std::string(auth::auth_failure_name(step.failure)));
    SessionSetupRequest q;
    q.security_mode = kSessionSigningEnabled | (want_sign ? kSessionSigningRequired : 0);
    q.security_buffer = std::move(step.output_token);
    Call c;
    c.command = Command::SESSION_SETUP;
    c.session_id = session_id;
    c.body = encode_body(q);
    Reply r = call(std::move(c));
    SessionSetupResponse p;
    if (r.status() != NtStatus::SUCCESS && r.status() != NtStatus::MORE_PROCESSING_REQUIRED)
      throw Error(r.status(), "SESSION_SETUP failed: " + status_text(r.status()));
    if (decode(r.pdu, p) != NtStatus::SUCCESS)
      throw Error(NtStatus::INVALID_NETWORK_RESPONSE, "malformed SESSION_SETUP response");
    session_id = r.header.session_id;
    if (r.status() == NtStatus::MORE_PROCESSING_REQUIRED) {
      // MS-SMB2 3.2.5.3.1: every response but the final one is folded into the hash.
      if (dialect_ == 0x0311) session->preauth.update(r.pdu);
      step = authenticator.step(p.security_buffer);
      continue;
    }
    step = authenticator.step(p.security_buffer);
    if (step.status != NtStatus::SUCCESS)
      throw Error(step.status,
                  "authentication failed: " + std::string(auth::auth_failure_name(step.failure)));
    session->id = session_id;
    session->flags = p.session_flags;
    const bool keyless = (p.session_flags & (kSessionFlagIsGuest | kSessionFlagIsNull)) != 0 ||
                         step.anonymous || step.session_key.empty();
    if (!keyless) {
      crypto::SessionKeys keys = crypto::derive_session_keys(
          dialect_, crypto::Role::Client, step.session_key,
          cipher_.value_or(crypto::Cipher::AES_128_CCM), session->preauth.bytes());
      session->signer.emplace(signing_algorithm_, keys.signing_key);
      session->session_signing_algorithm = signing_algorithm_;
      session->session_signing_key = keys.signing_key;
      if (dialect_ >= 0x0300 && cipher_) {
        session->encryptor.emplace(*cipher_, keys.encrypt_key);
        session->decryptor.emplace(*cipher_, keys.decrypt_key);
        session->encrypt_key = keys.encrypt_key;
        session->decrypt_key = keys.decrypt_key;
      }
      // MS-SMB2 3.2.5.3.1: for 3.1.1 the final response MUST be signed and verified;
      // before, a signed final response is verified.
      if (!r.was_encrypted) {
        if ((r.header.flags & kFlagSigned) != 0) {
          if (!session->signer->verify_message(r.pdu))
            throw Error(NtStatus::ACCESS_DENIED,
                        "bad signature on the final SESSION_SETUP response");
        } else if (dialect_ == 0x0311) {
          throw Error(NtStatus::ACCESS_DENIED, "final 3.1.1 SESSION_SETUP response not signed");
        }
      }
    }
    session->encrypt = (p.session_flags & kSessionFlagEncryptData) != 0 || options_.encrypt ||
                       session_options.encrypt;
    if (session->encrypt && !session->encryptor)
      throw Error(NtStatus::NOT_SUPPORTED, "encryption asked for but not available");
    session->sign = want_sign && session->signer.has_value();
    session->established = true;
    sessions_[session_id] = std::move(session);
    return session_id;
  }
}

// MS-SMB2 3.2.4.2.3 (binding) and 3.2.5.3.3: authenticate again on this connection,
// signing the exchange with the session's key; the channel key comes from this
// authentication and, for 3.1.1, this connection's preauth hash.
void Connection::bind_session(const Connection& primary, std::uint64_t session_id,
                              const auth::ClientCredentials& credentials) {
  if (dialect_ < 0x0300) throw Error(NtStatus::REQUEST_NOT_ACCEPTED, "binding needs SMB 3.x");
  auto found = primary.sessions_.find(session_id);
  if (found == primary.sessions_.end() || !found->second->established ||
      found->second->session_signing_key.empty())
    throw Error(NtStatus::INVALID_PARAMETER, "no established session with keys to bind to");
  const Session& original = *found->second;
  crypto::Signer binding_signer(original.session_signing_algorithm, original.session_signing_key);

  auto channel = std::make_unique<Session>();
  channel->preauth = preauth_;
  struct Guard {
    crypto::PreauthHash*& target;
    crypto::Signer*& signer;
    ~Guard() {
      target = nullptr;
      signer = nullptr;
    }
  } guard{preauth_target_, binding_signer_};
  if (dialect_ == 0x0311) preauth_target_ = &channel->preauth;
  binding_signer_ = &binding_signer;

  auth::ClientAuthenticator authenticator(credentials);
  auth::AuthStep step = authenticator.step(negotiate_response_.security_buffer);
  while (true) {
    if (step.status != NtStatus::MORE_PROCESSING_REQUIRED)
      throw Error(step.status,
                  "authentication failed: " + std::string(auth::auth_failure_name(step.failure)));
    SessionSetupRequest q;
    q.flags = kSessionSetupFlagBinding;
    q.security_mode = kSessionSigningEnabled | kSessionSigningRequired;
    q.security_buffer = std::move(step.output_token);
    Call c;
    c.command = Command::SESSION_SETUP;
    c.session_id = session_id;
    c.body = encode_body(q);
    Reply r = call(std::move(c));
    if (r.status() != NtStatus::SUCCESS && r.status() != NtStatus::MORE_PROCESSING_REQUIRED)
      throw Error(r.status(), "binding SESSION_SETUP failed: " + status_text(r.status()));
    SessionSetupResponse p;
    if (decode(r.pdu, p) != NtStatus::SUCCESS || r.header.session_id != session_id)
      throw Error(NtStatus::INVALID_NETWORK_RESPONSE, "malformed binding SESSION_SETUP response");
    if (r.status() == NtStatus::MORE_PROCESSING_REQUIRED) {
      if (!binding_signer.verify_message(r.pdu))
        throw Error(NtStatus::ACCESS_DENIED, "bad signature on a binding SESSION_SETUP response");
      if (dialect_ == 0x0311) channel->preauth.update(r.pdu);
      step = authenticator.step(p.security_buffer);
      continue;
    }
    step = authenticator.step(p.security_buffer);
    if (step.status != NtStatus::SUCCESS || step.session_key.empty())
      throw Error(NtStatus::ACCESS_DENIED, "binding authentication did not complete");
    crypto::SessionKeys keys = crypto::derive_session_keys(
        dialect_, crypto::Role::Client, step.session_key,
        cipher_.value_or(crypto::Cipher::AES_128_CCM), channel->preauth.bytes());
    channel->signer.emplace(signing_algorithm_, keys.signing_key);
    if ((r.header.flags & kFlagSigned) == 0 || !channel->signer->verify_message(r.pdu))
      throw Error(NtStatus::ACCESS_DENIED, "final binding response not signed with the channel key");
    channel->id = session_id;
    channel->flags = original.flags;
    channel->session_signing_algorithm = original.session_signing_algorithm;
    channel->session_signing_key = original.session_signing_key;
    channel->encrypt_key = original.encrypt_key;
    channel->decrypt_key = original.decrypt_key;
    if (cipher_ && !original.encrypt_key.empty()) {
      channel->encryptor.emplace(*cipher_, original.encrypt_key);
      channel->decryptor.emplace(*cipher_, original.decrypt_key);
    }
    channel->encrypt = original.encrypt;
    channel->sign = true;
    channel->established = true;
    sessions_[session_id] = std::move(channel);
    return;
  }
}

Tree Connection::tree_connect(std::uint64_t session_id, std::string_view unc_path) {
  TreeConnectRequest q;
  q.path = std::string(unc_path);
  Call c;
  c.command = Command::TREE_CONNECT;
  c.session_id = session_id;
  c.body = encode_body(q);
  Reply r = call(std::move(c));
  if (r.status() != NtStatus::SUCCESS)
    throw Error(r.status(), "TREE_CONNECT " + q.path + " failed: " + status_text(r.status()));
  TreeConnectResponse p;
  if (decode(r.pdu, p) != NtStatus::SUCCESS)
    throw Error(NtStatus::INVALID_NETWORK_RESPONSE, "malformed TREE_CONNECT response");
  Tree t;
  t.session_id = session_id;
  t.tree_id = r.header.tree_id;
  t.share_flags = p.share_flags;
  t.maximal_access = p.maximal_access;
  // MS-SMB2 3.2.5.5: a share with SMB2_SHAREFLAG_ENCRYPT_DATA takes encrypted requests.
  t.encrypt = (p.share_flags & kShareFlagEncryptData) != 0 && dialect_ >= 0x0300;
  if (t.encrypt) {
    Session* s = find_session(session_id);
    if (s == nullptr || !s->encryptor)
      throw Error(NtStatus::ACCESS_DENIED, "share requires encryption the session cannot do");
  }
  return t;
}

NtStatus Connection::tree_disconnect(const Tree& tree) {
  Call c;
  c.command = Command::TREE_DISCONNECT;
  c.session_id = tree.session_id;
  c.tree_id = tree.tree_id;
  c.tree_encrypt = tree.encrypt;
  c.body = encode_body(TreeDisconnectRequest{});
  return call(std::move(c)).status();
}

NtStatus Connection::logoff(std::uint64_t session_id) {
  Call c;
  c.command = Command::LOGOFF;
  c.session_id = session_id;
  c.body = encode_body(LogoffRequest{});
  NtStatus s = call(std::move(c)).status();
  sessions_.erase(session_id);
  return s;
}

// ---------------------------------------------------------------- sending

std::uint16_t Connection::charge_of(const Call& call) const {
  if (!multi_credit_) return 1;
  return CreditWindow::charge_for(call.body.size() + call.payload.size(), call.response_payload);
}

Connection::Outgoing Connection::encode_request(const Call& call, const CreditWindow::Spend& spend,
                                                std::uint16_t charge) {
  Outgoing out;
  out.buffer.reserve(kReserve + kSmb2HeaderSize + call.body.size() + call.payload.size());
  out.buffer.resize(kReserve);
  ByteWriter w(out.buffer);
  Header h;
  // MS-SMB2 3.2.4.1.5: CreditCharge is 0 on a connection without multi-credit support.
  h.credit_charge = multi_credit_ ? charge : 0;
  h.command = call.command;
  h.credit_request_response = spend.credit_request;
  h.flags = call.extra_flags;
  h.message_id = spend.message_id;
  h.process_id = 0xFEFF;
  h.tree_id = call.tree_id;
  h.session_id = call.session_id;
  encode(h, w);
  w.bytes(call.body);
  w.bytes(call.payload);
  MutableByteSpan message(out.buffer.data() + kReserve, out.buffer.size() - kReserve);

  if (call.command == Command::NEGOTIATE && options_.max_dialect >= 0x0311)
    preauth_.update(message);

  Session* s = call.session_id != 0 ? find_session(call.session_id) : nullptr;
  const bool setup = call.command == Command::NEGOTIATE || call.command == Command::SESSION_SETUP;
  // MS-SMB2 3.2.4.1.8: encrypt when the session or the share asks for it.
  if (s != nullptr && !setup && s->encryptor && (s->encrypt || call.tree_encrypt)) {
    std::array<MutableByteSpan, 1> parts{message};
    s->encryptor->encrypt_in_place(
        call.session_id, parts,
        crypto::TransformHeaderBytes(out.buffer.data() + kFraming, crypto::kTransformHeaderSize));
    store_framing(out.buffer.data(), out.buffer.size() - kFraming);
    out.begin = 0;
    return out;
  }
  // MS-SMB2 3.2.4.1.1: sign when the session requires signing; with 3.1.1 a TREE_CONNECT
  // is signed whatever the session's setting.
  const bool must_sign =
      s != nullptr && (s->sign || (dialect_ == 0x0311 && call.command == Command::TREE_CONNECT));
  if (must_sign && s->established && s->signer) s->signer->sign_message(message);
  // A binding exchange is signed with Session.SigningKey (MS-SMB2 3.2.4.1.1).
  if (call.command == Command::SESSION_SETUP && binding_signer_ != nullptr)
    binding_signer_->sign_message(message);
  // The preauth integrity hash takes the request as sent (MS-SMB2 3.2.4.2.3).
  if (call.command == Command::SESSION_SETUP && preauth_target_ != nullptr)
    preauth_target_->update(message);
  store_framing(out.buffer.data() + kReserve - kFraming, message.size());
  out.begin = kReserve - kFraming;
  return out;
}

void Connection::submit(Call call, Callback done) {
  if (fd_ < 0) throw Error(NtStatus::CONNECTION_DISCONNECTED, "not connected: " + failure_);
  if (call.body.size() + call.payload.size() + kSmb2HeaderSize + crypto::kTransformHeaderSize >
      kMaxFrame)
    throw Error(NtStatus::INVALID_PARAMETER, "request larger than a TCP frame");
  std::uint16_t charge = charge_of(call);
  if (waiting_.empty() && credits_.can_spend(charge)) {
    ByteSpan payload = call.payload;
    send_now(call, payload, std::move(done));
    return;
  }
  Waiting w;
  w.payload.assign(call.payload.begin(), call.payload.end());
  w.call = std::move(call);
  w.done = std::move(done);
  waiting_.push_back(std::move(w));
}

void Connection::send_now(Call& call, ByteSpan payload, Callback done) {
  call.payload = payload;
  std::uint16_t charge = charge_of(call);
  CreditWindow::Spend spend = credits_.spend(charge);
  Outgoing out = encode_request(call, spend, charge);
  Pending p;
  p.done = std::move(done);
  p.command = call.command;
  p.session_id = call.session_id;
  p.charge = charge;
  p.extra = spend.extra;
  pending_.emplace(spend.message_id, std::move(p));
  queue(std::move(out));
}

void Connection::drain_waiting() {
  while (!waiting_.empty() && fd_ >= 0) {
    Waiting& w = waiting_.front();
    const bool compound = !w.compound.empty();
    if (!credits_.can_spend(compound ? compound_charge(w.compound) : charge_of(w.call))) break;
    Waiting taken = std::move(w);
    waiting_.pop_front();
    if (compound)
      send_compound_now(taken.compound, taken.compound_done);
    else
      send_now(taken.call, taken.payload, std::move(taken.done));
  }
}

std::uint16_t Connection::compound_charge(const std::vector<Call>& calls) const {
  std::uint32_t total = 0;
  for (const Call& c : calls) total += std::max<std::uint16_t>(charge_of(c), 1);
  return static_cast<std::uint16_t>(std::min<std::uint32_t>(total, 0xFFFF));
}

void Connection::submit_compound(std::vector<Call> calls, std::vector<Callback> done) {
  if (fd_ < 0) throw Error(NtStatus::CONNECTION_DISCONNECTED, "not connected: " + failure_);
  if (calls.empty() || calls.size() != done.size())
    throw Error(NtStatus::INVALID_PARAMETER, "a compound needs one callback per element");
  std::size_t size = crypto::kTransformHeaderSize;
  for (Call& c : calls) {
    c.body.insert(c.body.end(), c.payload.begin(), c.payload.end());
    c.payload = {};
    size += kSmb2HeaderSize + c.body.size() + 7;
  }
  if (size > kMaxFrame) throw Error(NtStatus::INVALID_PARAMETER, "request larger than a TCP frame");
  if (waiting_.empty() && credits_.can_spend(compound_charge(calls))) {
    send_compound_now(calls, done);
    return;
  }
  Waiting w;
  w.compound = std::move(calls);
  w.compound_done = std::move(done);
  waiting_.push_back(std::move(w));
}

void Connection::send_compound_now(std::vector<Call>& calls, std::vector<Callback>& done) {
  Outgoing out;
  out.buffer.resize(kReserve);
  const Call& first = calls.front();
  Session* s = first.session_id != 0 ? find_session(first.session_id) : nullptr;
  // MS-SMB2 3.2.4.1.8: the whole message is encrypted; otherwise 3.2.4.1.4: each
  // element is signed on its own, its padding included.
  const bool encrypt = s != nullptr && s->encryptor && (s->encrypt || first.tree_encrypt);
  const bool sign = !encrypt && s != nullptr && s->sign && s->established && s->signer;
  for (std::size_t i = 0; i < calls.size(); ++i) {
    const Call& call = calls[i];
    const std::uint16_t charge = charge_of(call);
    const CreditWindow::Spend spend = credits_.spend(charge);
    const std::size_t start = out.buffer.size();
    ByteWriter w(out.buffer);
    Header h;
    h.credit_charge = multi_credit_ ? charge : 0;
    h.command = call.command;
    h.credit_request_response = spend.credit_request;
    h.flags = call.extra_flags;
    h.message_id = spend.message_id;
    h.process_id = 0xFEFF;
    h.tree_id = call.tree_id;
    h.session_id = call.session_id;
    encode(h, w);
    w.bytes(call.body);
    if (i + 1 < calls.size()) {
      // MS-SMB2 3.2.4.1.4: each element but the last starts on an 8-byte boundary
      // and NextCommand is the offset of the next one.
      w.align(8, kReserve);
      w.patch_u32(start + 20, static_cast<std::uint32_t>(out.buffer.size() - start));
    }
    if (sign)
      s->signer->sign_message(
          MutableByteSpan(out.buffer.data() + start, out.buffer.size() - start));
    Pending p;
    p.done = std::move(done[i]);
    p.command = call.command;
    p.session_id = call.session_id;
    p.charge = charge;
    p.extra = spend.extra;
    pending_.emplace(spend.message_id, std::move(p));
  }
  MutableByteSpan message(out.buffer.data() + kReserve, out.buffer.size() - kReserve);
  if (encrypt) {
    std::array<MutableByteSpan, 1> parts{message};
    s->encryptor->encrypt_in_place(
        first.session_id, parts,
        crypto::TransformHeaderBytes(out.buffer.data() + kFraming, crypto::kTransformHeaderSize));
    store_framing(out.buffer.data(), out.buffer.size() - kFraming);
    out.begin = 0;
  } else {
    store_framing(out.buffer.data() + kReserve - kFraming, message.size());
    out.begin = kReserve - kFraming;
  }
  queue(std::move(out));
}

void Connection::queue(Outgoing out) {
  output_.push_back(std::move(out));
  flush_output();
}

bool Connection::flush_output() {
  bool wrote = false;
  while (!output_.empty() && fd_ >= 0) {
    std::array<iovec, 64> iov{};
    std::size_t n = 0;
    for (auto it = output_.begin(); it != output_.end() && n < iov.size(); ++it, ++n) {
      std::size_t skip = it->begin + (n == 0 ? output_sent_ : 0);
      iov[n].iov_base = it->buffer.data() + skip;
      iov[n].iov_len = it->buffer.size() - skip;
    }
    ssize_t sent = ::writev(fd_, iov.data(), static_cast<int>(n));
    if (sent < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) break;
      fail_all(NtStatus::CONNECTION_DISCONNECTED, errno_text("send"));
    }
    wrote = true;
    auto left = static_cast<std::size_t>(sent);
    while (left > 0) {
      Outgoing& front = output_.front();
      std::size_t remain = front.buffer.size() - front.begin - output_sent_;
      if (left >= remain) {
        left -= remain;
        output_.pop_front();
        output_sent_ = 0;
      } else {
        output_sent_ += left;
        left = 0;
      }
    }
  }
  return wrote;
}

// ---------------------------------------------------------------- receiving

bool Connection::has_frame() const {
  std::size_t have = input_end_ - input_begin_;
  if (have < kFraming) return false;
  const std::uint8_t* p = input_.data() + input_begin_;
  std::size_t length = (std::size_t{p[1]} << 16) | (std::size_t{p[2]} << 8) | p[3];
  return have >= kFraming + length;
}

MutableByteSpan Connection::take_frame() {
  const std::uint8_t* p = input_.data() + input_begin_;
  std::size_t length = (std::size_t{p[1]} << 16) | (std::size_t{p[2]} << 8) | p[3];
  MutableByteSpan frame(input_.data() + input_begin_ + kFraming, length);
  input_begin_ += kFraming + length;
  return frame;
}

// Reads what the socket has into the input buffer; false when nothing was there.
// `drained` (when given) tells that the read took less than there was room for: the
// socket had nothing more at that moment.
bool Connection::read_some(bool* drained) {
  if (input_begin_ == input_end_) input_begin_ = input_end_ = 0;
  // Room for the frame being received, or at least 64 KiB.
  std::size_t need = 65536;
  std::size_t have = input_end_ - input_begin_;
  if (have >= kFraming) {
    const std::uint8_t* p = input_.data() + input_begin_;
    std::size_t length = (std::size_t{p[1]} << 16) | (std::size_t{p[2]} << 8) | p[3];
    need = std::max(need, kFraming + length - std::min(have, kFraming + length));
  }
  if (input_.size() - input_end_ < need) {
    std::memmove(input_.data(), input_.data() + input_begin_, have);
    input_begin_ = 0;
    input_end_ = have;
    if (input_.size() - input_end_ < need) input_.resize(input_end_ + need + 65536);
  }
  while (true) {
    ssize_t n = ::recv(fd_, input_.data() + input_end_, input_.size() - input_end_, 0);
    if (n > 0) {
      if (drained != nullptr) *drained = static_cast<std::size_t>(n) < input_.size() - input_end_;
      input_end_ += static_cast<std::size_t>(n);
      return true;
    }
    if (n == 0) fail_all(NtStatus::CONNECTION_DISCONNECTED, "server closed the connection");
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return false;
    fail_all(NtStatus::CONNECTION_DISCONNECTED, errno_text("recv"));
  }
}

// Until the socket is drained: a short read ends it without another recv() that would
// only say EAGAIN (poll() is level-triggered and reports what arrives later).
bool Connection::read_input() {
  bool any = false;
  bool drained = false;
  while (fd_ >= 0 && !drained && read_some(&drained)) {
    any = true;
    while (fd_ >= 0 && has_frame()) handle_message(take_frame());
  }
  return any;
}

void Connection::handle_message(MutableByteSpan message) {
  if (message.size() < 4)
    fail_all(NtStatus::INVALID_NETWORK_RESPONSE, "message shorter than a protocol id");
  std::uint32_t protocol = load_le32(message.data());
  bool encrypted = false;
  ByteSpan plain = message;
  if (protocol == kTransformProtocolIdValue) {
    // MS-SMB2 3.2.5.1.1.1: find the session by the transform header and decrypt.
    std::optional<std::uint64_t> sid = crypto::transform_session_id(message);
    Session* s = sid ? find_session(*sid) : nullptr;
    if (s == nullptr || !s->decryptor)
      fail_all(NtStatus::INVALID_NETWORK_RESPONSE, "encrypted message for an unknown session");
    MutableByteSpan opened;
    if (s->decryptor->decrypt_in_place(message, opened) != NtStatus::SUCCESS)
      fail_all(NtStatus::INVALID_NETWORK_RESPONSE, "encrypted message does not authenticate");
    plain = opened;
    encrypted = true;
  } else if (protocol != kSmb2ProtocolIdValue) {
    fail_all(NtStatus::INVALID_NETWORK_RESPONSE, "message is not SMB2");
  }
  std::vector<ByteSpan> elements;
  if (split_compound(plain, elements) != NtStatus::SUCCESS)
    fail_all(NtStatus::INVALID_NETWORK_RESPONSE, "malformed compound response");
  for (ByteSpan e : elements) handle_element(e, encrypted);
  drain_waiting();
}

void Connection::handle_element(ByteSpan element, bool encrypted) {
  Header h;
  if (decode(element, h) != NtStatus::SUCCESS || !h.is_response()) return;
  if (h.message_id == kUnsolicitedMessageId) return handle_break(h, element);
  auto it = pending_.find(h.message_id);
  if (it == pending_.end()) return;  // MS-SMB2 3.2.5.1.2: no such request, discard
  // MS-SMB2 3.2.5.1.5: an interim response grants credits and names the async id.
  const bool interim = h.is_async() && h.status == NtStatus::PENDING;
  credits_.on_response(h.credit_request_response, it->second.charge, it->second.extra, !interim);
  if (interim) {
    it->second.async_id = h.async_id;
    return;
  }
  Response r;
  r.header = h;
  r.pdu = element;
  r.was_signed = (h.flags & kFlagSigned) != 0;
  r.was_encrypted = encrypted;
  // MS-SMB2 3.2.5.1.3: verify signed responses of established sessions; a session that
  // requires signing drops unsigned ones.
  Session* s = find_session(h.session_id != 0 ? h.session_id : it->second.session_id);
  if (!encrypted && s != nullptr && s->established && s->signer) {
    bool bad = r.was_signed ? !s->signer->verify_message(element) : s->sign;
    if (bad) {
      ++signature_failures_;
      r.header.status = NtStatus::ACCESS_DENIED;
      r.pdu = {};
    }
  }
  Callback done = std::move(it->second.done);
  pending_.erase(it);
  dispatching_ = true;
  struct Reset {
    bool& flag;
    ~Reset() { flag = false; }
  } reset{dispatching_};
  if (done) done(r);
}

void Connection::handle_break(const Header& h, ByteSpan element) {
  if (h.command != Command::OPLOCK_BREAK || !break_handler_) return;
  Break b;
  b.kind = oplock_break_kind(element);
  NtStatus s = NtStatus::INVALID_NETWORK_RESPONSE;
  if (b.kind == OplockBreakKind::OPLOCK) s = decode(element, b.oplock);
  if (b.kind == OplockBreakKind::LEASE_NOTIFICATION) s = decode(element, b.lease);
  if (s != NtStatus::SUCCESS) return;  // MS-SMB2 3.2.5.1.2: not understood, discarded
  dispatching_ = true;
  struct Reset {
    bool& flag;
    ~Reset() { flag = false; }
  } reset{dispatching_};
  break_handler_(b);
}

void Connection::fail_all(NtStatus status, const std::string& why) {
  failure_ = why;
  disconnect();
  output_.clear();
  output_sent_ = 0;
  auto pending = std::move(pending_);
  pending_.clear();
  auto waiting = std::move(waiting_);
  waiting_.clear();
  Response r;
  r.header.status = status;
  for (auto& [id, p] : pending) {
    r.header.message_id = id;
    r.header.command = p.command;
    try {
      if (p.done) p.done(r);
    } catch (const Error&) {
      // The callback tried to submit more on a dead connection.
    }
  }
  for (auto& w : waiting) {
    r.header.command = w.call.command;
    try {
      if (w.done) w.done(r);
    } catch (const Error&) {
    }
  }
  throw Error(status, why);
}

bool Connection::poll(int timeout_ms) {
  if (dispatching_) throw std::logic_error("Connection::poll called from a completion callback");
  if (fd_ < 0) throw Error(NtStatus::CONNECTION_DISCONNECTED, "not connected: " + failure_);
  pollfd p{};
  p.fd = fd_;
  p.events = static_cast<short>(POLLIN | (output_.empty() ? 0 : POLLOUT));
  int rc = ::poll(&p, 1, timeout_ms);
  if (rc < 0) {
    if (errno == EINTR) return false;
    fail_all(NtStatus::CONNECTION_DISCONNECTED, errno_text("poll"));
  }
  if (rc == 0) return false;
  bool any = false;
  if ((p.revents & POLLOUT) != 0) any |= flush_output();
  if ((p.revents & (POLLIN | POLLHUP | POLLERR)) != 0) any |= read_input();
  return any;
}

void Connection::wait_until(const std::function<bool()>& done) {
  auto deadline = std::chrono::steady_clock::now() + options_.timeout;
  while (!done()) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) throw Error(NtStatus::CANCELLED, "timed out waiting for the server");
    poll(static_cast<int>(std::min<std::int64_t>(left.count(), 1000)));
  }
}

Reply Connection::call(Call c) {
  std::optional<Reply> reply;
  submit(std::move(c), [&reply](const Response& r) {
    Reply out;
    out.header = r.header;
    out.pdu.assign(r.pdu.begin(), r.pdu.end());
    out.was_signed = r.was_signed;
    out.was_encrypted = r.was_encrypted;
    reply = std::move(out);
  });
  wait_until([&reply] { return reply.has_value(); });
  return std::move(*reply);
}

// ---------------------------------------------------------------- raw access

Bytes Connection::build(const Call& c) {
  std::uint16_t charge = charge_of(c);
  CreditWindow::Spend spend = credits_.spend(charge);
  Outgoing out = encode_request(c, spend, charge);
  // The request is not tracked: its credits come back only through receive_raw.
  credits_.on_response(0, charge, spend.extra, true);
  return Bytes(out.buffer.begin() + static_cast<std::ptrdiff_t>(out.begin + kFraming),
               out.buffer.end());
}

Bytes Connection::encrypt_message(std::uint64_t session_id, ByteSpan message) {
  Session* s = find_session(session_id);
  if (s == nullptr || !s->encryptor)
    throw Error(NtStatus::INVALID_PARAMETER, "the session has no encryption key");
  std::array<ByteSpan, 1> parts{message};
  return s->encryptor->encrypt(session_id, parts);
}

void Connection::send_raw(ByteSpan message, bool framed) {
  if (fd_ < 0) throw Error(NtStatus::CONNECTION_DISCONNECTED, "not connected: " + failure_);
  Outgoing out;
  if (framed) {
    out.buffer.assign(message.begin(), message.end());
  } else {
    out.buffer.resize(kFraming);
    store_framing(out.buffer.data(), message.size());
    out.buffer.insert(out.buffer.end(), message.begin(), message.end());
  }
  queue(std::move(out));
  auto deadline = std::chrono::steady_clock::now() + options_.timeout;
  while (!output_.empty() && fd_ >= 0) {
    if (std::chrono::steady_clock::now() > deadline)
      throw Error(NtStatus::CANCELLED, "timed out sending");
    pollfd p{fd_, POLLOUT, 0};
    ::poll(&p, 1, 100);
    flush_output();
  }
}

std::optional<Bytes> Connection::receive_raw(int timeout_ms) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (true) {
    if (has_frame()) {
      MutableByteSpan f = take_frame();
      Bytes out(f.begin(), f.end());
      Header h;
      if (out.size() >= kSmb2HeaderSize && decode(out, h) == NtStatus::SUCCESS && h.is_response())
        credits_.on_response(h.credit_request_response, 0, 0, false);
      return out;
    }
    if (fd_ < 0) throw Error(NtStatus::CONNECTION_DISCONNECTED, "not connected: " + failure_);
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return std::nullopt;
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) > 0) read_some();
  }
}

}  // namespace smb::client
