// A worker in the test's own process, its loop driven by the test, with a stand-in for
// the master on the control socket; clients reach it over the loopback transport and
// speak SMB2 with the project's codec. No process is forked and no socket is listened on.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "smbd/base/bytes.hh"
#include "smbd/base/ntstatus.hh"
#include "smbd/base/unique_fd.hh"
#include "smbd/base/wire.hh"
#include "smbd/crypto/encryption.hh"
#include "smbd/crypto/signing.hh"
#include "smbd/proto/file_id.hh"
#include "smbd/proto/header.hh"
#include "smbd/worker/transport/loopback.hh"
#include "smbd/worker/worker.hh"

namespace smb::server::test {

inline constexpr char kUser[] = "alice";
inline constexpr char kPassword[] = "wonderland";

struct ServerOptions {
  std::string global;  // extra [global] lines
  std::string share;   // extra lines of [share]
  bool host_table = false;  // a host-wide open file table (and so a doorbell), as smbd has
};

class TestServer {
 public:
  explicit TestServer(const ServerOptions& options = {});
  ~TestServer();
  TestServer(const TestServer&) = delete;
  TestServer& operator=(const TestServer&) = delete;

  Worker& worker() { return *worker_; }
  const std::filesystem::path& share_path() const { return share_path_; }

  // A new connection over the loopback transport; the test holds its far end.
  LoopbackPeer connect();
  // Runs the loop (and answers the worker's control messages) until `done()` holds;
  // false when it does not within `limit`.
  bool run_until(const std::function<bool()>& done,
                 std::chrono::milliseconds limit = std::chrono::seconds(20));

 private:
  void answer_control();

  std::filesystem::path base_;
  std::filesystem::path share_path_;
  UniqueFd master_end_;
  std::unique_ptr<Worker> worker_;
  std::vector<LoopbackPeer> peers_;
};

// One element of a response.
struct Reply {
  Header header;
  Bytes pdu;  // header and body
  NtStatus status() const { return header.status; }
};

// What a request element is made of; the client fills in MessageId and credits.
struct Element {
  Command command = Command::ECHO;
  Bytes body;  // encoded as if after a header (encode_body)
  std::uint64_t session_id = 0;
  std::uint32_t tree_id = 0;
  std::uint32_t flags = 0;
  std::uint16_t credit_charge = 1;
  std::uint16_t credit_request = 64;
  std::uint16_t channel_sequence = 0;
  bool sign = false;     // with the session's signing key
  bool encrypt = false;  // sent in a transform header for the session (3.x)
};

// The client side of one loopback connection: NEGOTIATE, SESSION_SETUP (NTLMSSP in
// SPNEGO, as the project's client does it), and requests built element by element so
// that a test can put anything in a header or body.
class TestClient {
 public:
  explicit TestClient(TestServer& server);

  LoopbackPeer& peer() { return peer_; }
  TestServer& server() { return server_; }

  // Offers one dialect; `capabilities` as in the request (SMB2_GLOBAL_CAP_ENCRYPTION for
  // an encrypting 3.0 session).
  NtStatus negotiate(std::uint16_t dialect, std::uint32_t capabilities = 0);
  // Authenticates `user` (empty: anonymously); the session id, or 0 on failure.
  std::uint64_t session_setup(const std::string& user = kUser,
                              const std::string& password = kPassword);
  // Connects to a share of the worker ("IPC$" or "share"); the tree id, or 0.
  std::uint32_t tree_connect(std::uint64_t session_id, const std::string& share);

  // One request element with the next MessageId(s); signed when asked.
  Bytes build(const Element& element);
  // Elements joined into one compound message, each 8-byte aligned (MS-SMB2 3.2.4.1.4),
  // the signed ones signed again over their padding and NextCommand.
  Bytes compound(const std::vector<Bytes>& elements);
  // Signs again every element of `message` that has SMB2_FLAGS_SIGNED set, over the
  // element and the padding after it (MS-SMB2 3.1.4.1).
  void sign_elements(MutableByteSpan message);
  // Sends a message (encrypted for `encrypt_for` when not 0) and runs the server until
  // its answer has come; the answer's elements (decrypted when the server encrypted it).
  // Empty when the connection closed or nothing came.
  std::vector<Reply> exchange(ByteSpan message, std::uint64_t encrypt_for = 0);
  Reply call(const Element& element);
  // The next message from the server, as its elements, once one has come.
  std::vector<Reply> receive();
  // The same, as the bytes that came (after the Direct TCP prefix).
  std::optional<Bytes> receive_raw();
  std::vector<Reply> parse(Bytes message);

  bool last_encrypted() const { return last_encrypted_; }
  // Whether a response element carries a valid signature of the session's key.
  bool signature_valid(ByteSpan element);
  std::uint16_t dialect() const { return dialect_; }
  std::uint64_t next_message_id() const { return next_message_id_; }

 private:
  TestServer& server_;
  LoopbackPeer peer_;
  std::uint16_t dialect_ = 0;
  std::uint64_t next_message_id_ = 0;
  std::optional<crypto::Signer> signer_;
  std::optional<crypto::Encryptor> encryptor_;
  std::optional<crypto::Decryptor> decryptor_;
  Bytes negotiate_token_;  // the server's SPNEGO hint
  bool last_encrypted_ = false;
};

inline constexpr std::uint32_t kGenericRead = 0x80000000;
inline constexpr std::uint32_t kGenericWrite = 0x40000000;
inline constexpr std::uint64_t kAllOnes = 0xFFFFFFFFFFFFFFFFull;

// A client logged on (as `user`, or anonymously when it is empty), with a tree connect
// to `share` unless that is empty.
struct Setup {
  TestServer server;
  TestClient client;
  std::uint64_t session = 0;
  std::uint32_t tree = 0;

  explicit Setup(const ServerOptions& options = {}, std::uint16_t dialect = 0x0210,
                 const std::string& share = "share", const std::string& user = kUser,
                 std::uint32_t capabilities = 0);

  // An element for the session and tree, signed when the session has a key.
  Element element(Command command, Bytes body) const;
  template <typename Body>
  Reply call(Command command, const Body& body, std::uint16_t credit_charge = 1) {
    Element e = element(command, encode_body(body));
    e.credit_charge = credit_charge;
    return client.call(e);
  }
  // Opens (or creates) `name` for reading and writing; fails the test if it cannot.
  FileId open(const std::string& name, std::uint32_t options = 0,
              CreateDisposition disposition = CreateDisposition::FILE_OPEN_IF);
};

// Field offsets in the 64-byte header (MS-SMB2 2.2.1.2).
inline constexpr std::size_t kHeaderNextCommand = 20;

}  // namespace smb::server::test
