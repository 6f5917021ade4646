#include "tests/integration/smbdirect/harness.hh"

#include <arpa/inet.h>
#include <doctest/doctest.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <vector>

namespace smbdirect_test {

using namespace smb;
namespace fs = std::filesystem;

namespace {

std::string binary(const char* name, const char* built) {
  const char* v = std::getenv(name);
  return v != nullptr ? v : built;
}
#define env(NAME) binary(#NAME, NAME)

std::uint16_t free_port() {
  int s = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(s, reinterpret_cast<sockaddr*>(&sa), sizeof sa);
  socklen_t len = sizeof sa;
  ::getsockname(s, reinterpret_cast<sockaddr*>(&sa), &len);
  ::close(s);
  return ntohs(sa.sin_port);
}

bool port_open(std::uint16_t port) {
  int s = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(port);
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bool ok = ::connect(s, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0;
  ::close(s);
  return ok;
}

// fork + exec with stdin from `in_fd` (or /dev/null) and stdout/stderr to `out_fd`.
pid_t spawn(const std::vector<std::string>& argv, int out_fd, int in_fd = -1) {
  pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    int devnull = ::open("/dev/null", O_RDONLY);
    ::dup2(in_fd >= 0 ? in_fd : devnull, 0);
    ::dup2(out_fd, 1);
    ::dup2(out_fd, 2);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    ::execv(args[0], args.data());
    ::_exit(127);
  }
  return pid;
}

}  // namespace

bool verbs_fabric() {
  const char* v = std::getenv("SMBDIRECT_FABRIC");
  return v != nullptr && std::string(v) == "verbs";
}

std::string rdma_address() {
  const char* v = std::getenv("SMBDIRECT_ADDRESS");
  return v != nullptr && *v != '\0' ? v : "127.0.0.1";
}

std::uint64_t rdma_transfer_bytes() {
  const char* v = std::getenv("SMBDIRECT_RDMA_MIB");
  std::uint64_t mib = v != nullptr ? std::strtoull(v, nullptr, 10) : 0;
  return (mib != 0 ? mib : 1024) << 20;
}

void stop(pid_t& pid) {
  if (pid <= 0) return;
  ::kill(pid, SIGTERM);
  for (int i = 0; i < 100; ++i) {
    if (::waitpid(pid, nullptr, WNOHANG) == pid) {
      pid = -1;
      return;
    }
    ::usleep(50000);
  }
  ::kill(pid, SIGKILL);
  ::waitpid(pid, nullptr, 0);
  pid = -1;
}

std::string read_file(const fs::path& path) {
  std::string out;
  if (FILE* f = std::fopen(path.c_str(), "rb")) {
    char buf[4096];
    std::size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) out.append(buf, n);
    std::fclose(f);
  }
  return out;
}

Server::Server() {
  // A peer that went away must show as an error, not kill the test (as with TCP).
  ::signal(SIGPIPE, SIG_IGN);
  char tmpl[] = "/tmp/smbdirect-it-XXXXXX";
  REQUIRE(::mkdtemp(tmpl) != nullptr);
  base = tmpl;
  for (const char* d : {"share", "lock", "log", "private"}) fs::create_directories(base / d);
  port = free_port();
  std::ofstream(base / "smb.conf")
      << "[global]\n"
      << "smb ports = " << port << "\n"
      << "interfaces = 127.0.0.1"
      << (rdma_address() != "127.0.0.1" ? " " + rdma_address() : std::string()) << "\n"
      << "bind interfaces only = yes\n"
      << "smb passwd file = " << (base / "private/smbpasswd").string() << "\n"
      << "log file = " << (base / "log/smbd.log").string() << "\n"
      << "lock directory = " << (base / "lock").string() << "\n"
      << "rdma port = 5445\nrdma fabric = " << (verbs_fabric() ? "verbs" : "soft") << "\n"
      << "map to guest = never\nlog level = 3\n\n"
      << "[data]\npath = " << (base / "share").string() << "\nread only = no\n";
  add_user();
  start_smbd();
  start_proxy();
}

Server::~Server() {
  stop(proxy);
  stop(smbd);
  std::error_code ec;
  if (std::getenv("SMBDIRECT_KEEP") == nullptr) fs::remove_all(base, ec);
}

std::string Server::conf() const { return (base / "smb.conf").string(); }

std::string Server::socket_path() const { return (base / "lock/rdmaproxy.sock").string(); }

void Server::add_user() {
  int in[2];
  REQUIRE(::pipe(in) == 0);
  std::string input = password + "\n" + password + "\n";
  REQUIRE(::write(in[1], input.data(), input.size()) == static_cast<ssize_t>(input.size()));
  ::close(in[1]);
  int log = ::open((base / "log/passwd.log").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  pid_t pid = spawn({env(SMBD_PASSWD_BIN), "-c", conf(), "-s", "-a", user}, log, in[0]);
  ::close(in[0]);
  ::close(log);
  int status = 0;
  ::waitpid(pid, &status, 0);
  REQUIRE(WIFEXITED(status));
  REQUIRE(WEXITSTATUS(status) == 0);
}

void Server::start_smbd() {
  int log = ::open((base / "log/smbd.out").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  smbd = spawn({env(SMBD_BIN), "-s", conf(), "-F", "-i"}, log);
  ::close(log);
  for (int i = 0; i < 100 && !(port_open(port) && fs::exists(socket_path())); ++i) ::usleep(50000);
  REQUIRE(port_open(port));
  REQUIRE(fs::exists(socket_path()));
}

void Server::start_proxy() {
  int out[2];
  REQUIRE(::pipe(out) == 0);
  proxy = spawn({env(RDMAPROXY_BIN), "-s", conf(), "--fabric", verbs_fabric() ? "verbs" : "soft",
                 "--listen", rdma_address(), "--port", "0"},
                out[1]);
  ::close(out[1]);
  // First line: "rdmaproxy listening on ADDRESS:PORT (FABRIC fabric), ..."
  std::string line;
  pollfd p{out[0], POLLIN, 0};
  char c;
  while (line.find('\n') == std::string::npos && ::poll(&p, 1, 5000) == 1 &&
         ::read(out[0], &c, 1) == 1)
    line.push_back(c);
  ::close(out[0]);  // later output goes nowhere (the proxy ignores SIGPIPE)
  std::string listening = "listening on " + rdma_address() + ":";
  auto at = line.find(listening);
  REQUIRE_MESSAGE(at != std::string::npos, "rdmaproxy said: " << line);
  rdma_port = static_cast<std::uint16_t>(std::atoi(line.c_str() + at + listening.size()));
  REQUIRE(rdma_port != 0);
}

auth::ClientCredentials Server::credentials() const {
  auth::ClientCredentials c;
  c.user = user;
  c.password = password;
  return c;
}

Session open_rdma(const Server& s, client::Options options) {
  Session out;
  client::RdmaOptions rdma;
  rdma.fabric = verbs_fabric() ? client::FabricKind::verbs : client::FabricKind::soft;
  out.rdma = client::RdmaClient::connect(rdma_address(), s.rdma_port, options, rdma);
  std::uint64_t sid = out.rdma->smb().session_setup(s.credentials());
  out.tree = out.rdma->smb().tree_connect(sid, "\\\\127.0.0.1\\data");
  return out;
}

FileId create_file(client::Connection& c, const client::Tree& t, const std::string& name) {
  FileId f;
  NtStatus st = c.open(t, name, client::access::GENERIC_READ | client::access::GENERIC_WRITE,
                       CreateDisposition::FILE_OVERWRITE_IF, 0, f);
  REQUIRE(st == NtStatus::SUCCESS);
  return f;
}

}  // namespace smbdirect_test
