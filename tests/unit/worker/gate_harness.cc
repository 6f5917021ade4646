#include "gate_harness.hh"

#include <doctest/doctest.h>

#include <poll.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fcntl.h>

#include <algorithm>
#include <array>
#include <stdexcept>

#include "smbd/auth/authenticator.hh"
#include "smbd/conf/config.hh"
#include "smbd/conf/users.hh"
#include "smbd/crypto/session_keys.hh"
#include "smbd/master/control.hh"
#include "smbd/proto/create.hh"
#include "smbd/proto/negotiate.hh"
#include "smbd/proto/session_setup.hh"
#include "smbd/proto/tree_connect.hh"

namespace smb::server::test {

// ------------------------------------------------------------------ the server

TestServer::TestServer(const ServerOptions& options) {
  std::string tmpl = (std::filesystem::temp_directory_path() / "gate_test.XXXXXX").string();
  if (::mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp");
  base_ = tmpl;
  share_path_ = base_ / "share";
  std::filesystem::create_directory(share_path_);

  std::string text = "[global]\n  netbios name = GATETEST\n" + options.global +
                     "\n[share]\n  path = " + share_path_.string() + "\n  read only = no\n" +
                     options.share + "\n";
  conf::LoadResult loaded = conf::parse_config(text, "gate_test.conf");
  if (!loaded.ok()) throw std::runtime_error("test configuration does not parse");
  auto config = std::make_shared<ServerConfig>();
  config->conf = std::move(loaded.config);
  conf::UserDb users;
  std::string error;
  // The user acts as the account running the test (docs/security.md): one that exists,
  // and may use the temporary share.
  if (!users.add(kUser, ::getuid(), kPassword, error)) throw std::runtime_error(error);
  config->users = std::make_shared<const conf::UserDb>(std::move(users));
  config->server_guid[0] = 0x5a;
  if (options.host_table) {
    config->open_segment = hostwide::OpenSegment::create(64, error);
    if (!config->open_segment) throw std::runtime_error(error);
  }

  int pair[2];
  if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) != 0)
    throw std::runtime_error("socketpair");
  master_end_ = UniqueFd(pair[0]);
  ::fcntl(master_end_.get(), F_SETFL, O_NONBLOCK);
  worker_ = std::make_unique<Worker>(config, UniqueFd(pair[1]), nullptr);
  worker_->start();
}

TestServer::~TestServer() {
  // Every connection goes first (a worker told to stop closes the ones it still has),
  // then the worker is told to stop and its loop runs out.
  for (auto& peer : peers_)
    if (!peer.closed()) peer.reset();
  run_until([&] {
    return std::all_of(peers_.begin(), peers_.end(),
                       [](const LoopbackPeer& p) { return p.closed(); });
  });
  ControlMessage shutdown;
  shutdown.type = ControlType::SHUTDOWN;
  send_control(master_end_.get(), shutdown);
  run_until([&] { return uv_loop_alive(worker_->loop()) == 0; });
  worker_.reset();
  std::error_code ec;
  std::filesystem::remove_all(base_, ec);
}

LoopbackPeer TestServer::connect() {
  auto [transport, peer] =
      LoopbackTransport::create(worker_->loop(), worker_->config().max_message_size());
  worker_->adopt(std::move(transport), {});
  peers_.push_back(peer);
  return peer;
}

bool TestServer::run_until(const std::function<bool()>& done, std::chrono::milliseconds limit) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  uv_loop_t* loop = worker_->loop();
  for (;;) {
    answer_control();
    uv_run(loop, UV_RUN_NOWAIT);
    answer_control();
    if (done()) return true;
    auto now = std::chrono::steady_clock::now();
    if (now >= deadline) return false;
    // Sleep until the loop or the control socket has something, or the loop's next timer.
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now).count() + 1;
    int timeout = uv_backend_timeout(loop);
    if (timeout < 0 || timeout > left) timeout = static_cast<int>(left);
    pollfd fds[2] = {{uv_backend_fd(loop), POLLIN, 0}, {master_end_.get(), POLLIN, 0}};
    ::poll(fds, 2, timeout);
  }
}

// The master's side of what a worker asks (smbd/master/control.hh): the client is
// granted, sessions of other workers do not exist. A release is left unanswered so
// that the worker stays for the test's next connection.
void TestServer::answer_control() {
  for (;;) {
    UniqueFd fd;
    auto message = receive_control(master_end_.get(), fd);
    if (!message) return;
    ControlMessage answer;
    switch (message->type) {
      case ControlType::CLAIM_CLIENT:
        answer.type = ControlType::CLAIM_GRANTED;
        answer.guid = message->guid;
        send_control(master_end_.get(), answer);
        break;
      case ControlType::SESSION_QUERY:
        answer.type = ControlType::SESSION_FACTS;
        answer.payload = message->payload;
        send_control(master_end_.get(), answer);
        break;
      case ControlType::LOGON_FAILED:  // one failure from the address so far
        if (message->payload.size() < 8) break;
        answer.type = ControlType::LOGON_FAILURES;
        answer.payload.assign(message->payload.begin(), message->payload.begin() + 8);
        ByteWriter(answer.payload).u32(1);
        send_control(master_end_.get(), answer);
        break;
      default:
        break;
    }
  }
}

// ------------------------------------------------------------------ the client

TestClient::TestClient(TestServer& server) : server_(server), peer_(server.connect()) {}

Bytes TestClient::build(const Element& e) {
  Header h;
  h.command = e.command;
  h.credit_charge = e.credit_charge;
  h.channel_sequence = e.channel_sequence;
  h.credit_request_response = e.credit_request;
  h.flags = e.flags;
  h.session_id = e.session_id;
  h.tree_id = e.tree_id;
  h.message_id = next_message_id_;
  // MS-SMB2 3.2.4.1.5: a request takes CreditCharge ids (one without multi-credit);
  // a CANCEL takes none, it names the request it cancels.
  if (e.command != Command::CANCEL)
    next_message_id_ += dialect_ == 0x0202 ? 1 : std::max<std::uint16_t>(e.credit_charge, 1);
  Bytes out;
  ByteWriter w(out);
  encode(h, w);
  out.insert(out.end(), e.body.begin(), e.body.end());
  if (e.sign && signer_) signer_->sign_message(out);
  return out;
}

Bytes TestClient::compound(const std::vector<Bytes>& elements) {
  Bytes out;
  for (std::size_t i = 0; i < elements.size(); ++i) {
    std::size_t start = out.size();
    out.insert(out.end(), elements[i].begin(), elements[i].end());
    if (i + 1 < elements.size()) {
      while (out.size() % 8 != 0) out.push_back(0);
      store_le32(&out[start + kHeaderNextCommand], static_cast<std::uint32_t>(out.size() - start));
    }
  }
  sign_elements(out);
  return out;
}

void TestClient::sign_elements(MutableByteSpan message) {
  if (!signer_) return;
  std::size_t at = 0;
  while (at + kSmb2HeaderSize <= message.size()) {
    std::uint32_t next = load_le32(&message[at + kHeaderNextCommand]);
    std::size_t size = next == 0 ? message.size() - at : next;
    if (at + size > message.size()) return;
    MutableByteSpan element = message.subspan(at, size);
    if ((load_le32(&element[16]) & kFlagSigned) != 0) signer_->sign_message(element);
    if (next == 0) return;
    at += next;
  }
}

std::vector<Reply> TestClient::parse(Bytes message) {
  last_encrypted_ = false;
  if (message.size() >= 4 && message[0] == 0xFD) {
    last_encrypted_ = true;
    Bytes plain;
    if (!decryptor_ || decryptor_->decrypt(message, plain) != NtStatus::SUCCESS) return {};
    message = std::move(plain);
  }
  std::vector<ByteSpan> parts;
  if (split_compound(message, parts) != NtStatus::SUCCESS) return {};
  std::vector<Reply> out;
  for (ByteSpan part : parts) {
    Reply r;
    decode(part, r.header);
    r.pdu.assign(part.begin(), part.end());
    out.push_back(std::move(r));
  }
  return out;
}

bool TestClient::signature_valid(ByteSpan element) {
  return signer_.has_value() && signer_->verify(std::array<ByteSpan, 1>{element});
}

std::optional<Bytes> TestClient::receive_raw() {
  std::optional<Bytes> message;
  server_.run_until([&] {
    message = peer_.receive_message();
    return message.has_value() || peer_.closed();
  });
  return message;
}

std::vector<Reply> TestClient::receive() {
  std::optional<Bytes> message = receive_raw();
  if (!message) return {};
  return parse(std::move(*message));
}

std::vector<Reply> TestClient::exchange(ByteSpan message, std::uint64_t encrypt_for) {
  if (encrypt_for != 0 && encryptor_) {
    std::array<ByteSpan, 1> parts{message};
    peer_.send_message(encryptor_->encrypt(encrypt_for, parts));
  } else {
    peer_.send_message(message);
  }
  return receive();
}

Reply TestClient::call(const Element& element) {
  auto replies = exchange(build(element), element.encrypt ? element.session_id : 0);
  if (replies.size() != 1) throw std::runtime_error("no single answer");
  return replies.front();
}

NtStatus TestClient::negotiate(std::uint16_t dialect, std::uint32_t capabilities) {
  NegotiateRequest q;
  q.security_mode = kNegotiateSigningEnabled;
  q.capabilities = capabilities;
  q.client_guid[0] = 0xc1;
  q.dialects = {dialect};
  Element e;
  e.command = Command::NEGOTIATE;
  e.body = encode_body(q);
  Reply r = call(e);
  NegotiateResponse p;
  if (r.status() != NtStatus::SUCCESS || decode(r.pdu, p) != NtStatus::SUCCESS) return r.status();
  dialect_ = p.dialect_revision;
  negotiate_token_ = p.security_buffer;
  return NtStatus::SUCCESS;
}

std::uint64_t TestClient::session_setup(const std::string& user, const std::string& password) {
  auth::ClientCredentials credentials;
  credentials.user = user;
  credentials.password = password;
  auth::ClientAuthenticator authenticator(credentials);
  auth::AuthStep step = authenticator.step(negotiate_token_);
  std::uint64_t session_id = 0;
  while (step.status == NtStatus::MORE_PROCESSING_REQUIRED) {
    SessionSetupRequest q;
    q.security_mode = kSessionSigningEnabled;
    q.security_buffer = step.output_token;
    Element e;
    e.command = Command::SESSION_SETUP;
    e.body = encode_body(q);
    e.session_id = session_id;
    Reply r = call(e);
    SessionSetupResponse p;
    if ((r.status() != NtStatus::SUCCESS && r.status() != NtStatus::MORE_PROCESSING_REQUIRED) ||
        decode(r.pdu, p) != NtStatus::SUCCESS)
      return 0;
    session_id = r.header.session_id;
    step = authenticator.step(p.security_buffer);
    if (r.status() == NtStatus::SUCCESS) break;
  }
  if (step.status != NtStatus::SUCCESS) return 0;
  if (!step.anonymous && !step.session_key.empty()) {
    crypto::SessionKeys keys =
        crypto::derive_session_keys(dialect_, crypto::Role::Client, step.session_key);
    signer_.emplace(dialect_ >= 0x0300 ? crypto::SigningAlgorithm::AES_CMAC
                                       : crypto::SigningAlgorithm::HMAC_SHA256,
                    keys.signing_key);
    if (dialect_ >= 0x0300) {
      encryptor_.emplace(crypto::Cipher::AES_128_CCM, keys.encrypt_key);
      decryptor_.emplace(crypto::Cipher::AES_128_CCM, keys.decrypt_key);
    }
  }
  return session_id;
}

std::uint32_t TestClient::tree_connect(std::uint64_t session_id, const std::string& share) {
  TreeConnectRequest q;
  q.path = "\\\\GATETEST\\" + share;
  Element e;
  e.command = Command::TREE_CONNECT;
  e.body = encode_body(q);
  e.session_id = session_id;
  e.sign = true;
  Reply r = call(e);
  return r.status() == NtStatus::SUCCESS ? r.header.tree_id : 0;
}

// ------------------------------------------------------------------ logged on

Setup::Setup(const ServerOptions& options, std::uint16_t dialect, const std::string& share,
             const std::string& user, std::uint32_t capabilities)
    : server(options), client(server) {
  REQUIRE(client.negotiate(dialect, capabilities) == NtStatus::SUCCESS);
  session = client.session_setup(user, user.empty() ? "" : kPassword);
  REQUIRE(session != 0);
  if (share.empty()) return;
  tree = client.tree_connect(session, share);
  REQUIRE(tree != 0);
}

Element Setup::element(Command command, Bytes body) const {
  Element e;
  e.command = command;
  e.body = std::move(body);
  e.session_id = session;
  e.tree_id = tree;
  e.sign = true;
  return e;
}

FileId Setup::open(const std::string& name, std::uint32_t options, CreateDisposition disposition) {
  CreateRequest q;
  q.desired_access = kGenericRead | kGenericWrite;
  q.share_access = 7;
  q.create_disposition = disposition;
  q.create_options = options;
  q.name = name;
  Reply r = call(Command::CREATE, q);
  REQUIRE(r.status() == NtStatus::SUCCESS);
  CreateResponse p;
  REQUIRE(decode(r.pdu, p) == NtStatus::SUCCESS);
  return p.file_id;
}

}  // namespace smb::server::test
