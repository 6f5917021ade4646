// The processes of an SMB Direct end-to-end test, shared by the tests of this directory:
// a real smbd (master and workers) with one share, a real rdmaproxy, and connections of
// the library's SMB Direct client to them.
//
// The software fabric on 127.0.0.1 by default. The environment selects another:
//   SMBDIRECT_FABRIC=verbs    the proxy and the client use rdma-core verbs
//   SMBDIRECT_ADDRESS=IP      the address the proxy listens on and the client connects to
//                             (verbs: an address of an RDMA device, e.g. soft-RoCE's NIC)
//   SMBDIRECT_RDMA_MIB=N      size of the bulk RDMA channel transfers (default 1024)
//   SMBDIRECT_KEEP=1          keep each server's directory (configuration, share, logs)
// SMBD_BIN, SMBD_PASSWD_BIN and RDMAPROXY_BIN name other binaries to test than the ones
// built here.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "smbd/client/connection.hh"
#include "smbd/client/rdma_client.hh"

namespace smbdirect_test {

bool verbs_fabric();
std::string rdma_address();
std::uint64_t rdma_transfer_bytes();

// Polls `done` until it holds or `limit` passes; the result of the last poll. Tests wait
// for a condition this way, never for a stretch of time.
template <typename Pred>
bool wait_until(Pred done, std::chrono::milliseconds limit = std::chrono::seconds(10)) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!done()) {
    if (std::chrono::steady_clock::now() >= deadline) return done();
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return true;
}

// How a stopped process ended.
struct Ended {
  int status = 0;       // waitpid status
  bool killed = false;  // did not exit within 5 s of SIGTERM: SIGKILL
};
// SIGTERM, then SIGKILL if it does not go within 5 s; sets `pid` to -1.
Ended stop(pid_t& pid);
// What a stopped server process did wrong: ended by a signal other than the SIGTERM it
// was stopped with, with a non-zero code, or not within 5 s; "" when nothing.
std::string ending_problem(const char* what, const Ended& e);
// True once the server side of the TCP connection between server port `server_port` and
// client port `client_port` on 127.0.0.1 is closed: it is no longer ESTABLISHED or
// CLOSE_WAIT in /proc/net/tcp.
bool server_closed(std::uint16_t server_port, std::uint16_t client_port);
std::string read_file(const std::filesystem::path& path);

// smbd on a free TCP port of 127.0.0.1 with the shares [data] (writable, base/share),
// [ro] (read only, base/share-ro), [sealed] (base/share again, encryption required) and
// IPC$, one user, and rdmaproxy on a free port of rdma_address(); all removed with the
// object.
struct Server {
  std::filesystem::path base;
  std::uint16_t port = 0;
  std::uint16_t rdma_port = 0;
  pid_t smbd = -1;
  pid_t proxy = -1;
  std::string user = "rdmauser";
  std::string password = "Rdma-pass-1";
  // Signals the test sends to workers itself: a worker ending by one is no crash.
  std::set<int> expected_signals;

  Server();
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;
  std::string conf() const;
  std::string socket_path() const;
  void add_user();
  void start_smbd();
  void start_proxy();
  smb::auth::ClientCredentials credentials() const;
  // Crashes the logs tell of: the master's "worker N killed by signal S" for a signal the
  // test did not send, and sanitizer reports of smbd or the proxy.
  std::vector<std::string> log_problems() const;
};

// An SMB Direct connection with a session and a tree connect to `share`.
struct Session {
  std::unique_ptr<smb::client::RdmaClient> rdma;
  smb::client::Tree tree;
};
Session open_rdma(const Server& s, smb::client::Options options = {},
                  const std::string& share = "data");

// Creates (or truncates) `name` for reading and writing.
smb::FileId create_file(smb::client::Connection& c, const smb::client::Tree& t,
                        const std::string& name);

}  // namespace smbdirect_test
