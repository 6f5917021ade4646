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
#include <cstring>
#include <fstream>
#include <regex>
#include <vector>

namespace smbdirect_test {

using namespace smb;
using namespace std::chrono_literals;
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

Ended stop(pid_t& pid) {
  Ended e;
  if (pid <= 0) return e;
  ::kill(pid, SIGTERM);
  bool exited = wait_until([&] { return ::waitpid(pid, &e.status, WNOHANG) == pid; }, 5s);
  if (!exited) {
    e.killed = true;
    ::kill(pid, SIGKILL);
    ::waitpid(pid, &e.status, 0);
  }
  pid = -1;
  return e;
}

std::string ending_problem(const char* what, const Ended& e) {
  if (e.killed) return std::string(what) + " did not stop within 5 s of SIGTERM";
  if (WIFSIGNALED(e.status) && WTERMSIG(e.status) != SIGTERM)
    return std::string(what) + " ended by signal " + std::to_string(WTERMSIG(e.status));
  if (WIFEXITED(e.status) && WEXITSTATUS(e.status) != 0)
    return std::string(what) + " exited with code " + std::to_string(WEXITSTATUS(e.status));
  return "";
}

bool server_closed(std::uint16_t server_port, std::uint16_t client_port) {
  std::ifstream in("/proc/net/tcp");
  std::string line;
  std::getline(in, line);  // header
  char local[64], remote[64];
  unsigned state = 0;
  while (std::getline(in, line)) {
    if (std::sscanf(line.c_str(), " %*d: %63s %63s %x", local, remote, &state) != 3) continue;
    const char* lp = std::strchr(local, ':');
    const char* rp = std::strchr(remote, ':');
    if (lp == nullptr || rp == nullptr) continue;
    if (std::strtoul(lp + 1, nullptr, 16) != server_port ||
        std::strtoul(rp + 1, nullptr, 16) != client_port)
      continue;
    if (state == 0x01 || state == 0x08) return false;  // TCP_ESTABLISHED, TCP_CLOSE_WAIT
  }
  return true;
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
  for (const char* d : {"share", "share-ro", "lock", "log", "private"})
    fs::create_directories(base / d);
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
      << "map to guest = never\nlog level = 3\n"
      // The test-only controls: break_delivery_test makes a channel act as if its client
      // acknowledged nothing.
      << "smbd:FSCTL_SMBTORTURE = yes\n\n"
      << "[data]\npath = " << (base / "share").string() << "\nread only = no\n\n"
      << "[ro]\npath = " << (base / "share-ro").string() << "\nread only = yes\n\n"
      << "[sealed]\npath = " << (base / "share").string()
      << "\nread only = no\nsmb encrypt = required\n";
  add_user();
  start_smbd();
  start_proxy();
}

Server::~Server() {
  std::vector<std::string> problems;
  for (const auto& p :
       {ending_problem("rdmaproxy", stop(proxy)), ending_problem("smbd", stop(smbd))})
    if (!p.empty()) problems.push_back(p);
  for (auto& p : log_problems()) problems.push_back(std::move(p));
  // Every test fails when a server process crashed while it ran, whatever it checked.
  std::string text;
  for (const auto& p : problems) text += "\n  " + p;
  CHECK_MESSAGE(problems.empty(),
                "server processes crashed (logs in " << base.string() << "):" << text);
  std::error_code ec;
  if (std::getenv("SMBDIRECT_KEEP") == nullptr && problems.empty()) fs::remove_all(base, ec);
}

std::vector<std::string> Server::log_problems() const {
  static const std::regex killed(R"(worker (\d+) killed by signal (\d+))");
  static const std::regex sanitizer(
      R"(ERROR: (AddressSanitizer|LeakSanitizer|ThreadSanitizer)|WARNING: ThreadSanitizer|SUMMARY: UndefinedBehaviorSanitizer|: runtime error: )");
  std::vector<std::string> out;
  for (const char* name : {"log/smbd.log", "log/smbd.out", "log/rdmaproxy.out"}) {
    std::string text = read_file(base / name);
    for (std::sregex_iterator m(text.begin(), text.end(), killed), end; m != end; ++m)
      if (!expected_signals.count(std::stoi((*m)[2].str())))
        out.push_back(std::string(name) + ": " + m->str());
    for (std::sregex_iterator m(text.begin(), text.end(), sanitizer), end; m != end; ++m) {
      auto from = text.rfind('\n', static_cast<std::size_t>(m->position())) + 1;
      out.push_back(std::string(name) + ": " + text.substr(from, text.find('\n', from) - from));
    }
  }
  return out;
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
  wait_until([&] { return port_open(port) && fs::exists(socket_path()); });
  REQUIRE(port_open(port));
  REQUIRE(fs::exists(socket_path()));
}

void Server::start_proxy() {
  // Its output is kept (a restarted proxy appends), so that the health check at the end
  // sees a sanitizer report of the proxy too.
  const fs::path out_path = base / "log/rdmaproxy.out";
  const std::size_t before = read_file(out_path).size();
  int out = ::open(out_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  REQUIRE(out >= 0);
  proxy = spawn({env(RDMAPROXY_BIN), "-s", conf(), "--fabric", verbs_fabric() ? "verbs" : "soft",
                 "--listen", rdma_address(), "--port", "0"},
                out);
  ::close(out);
  // First line: "rdmaproxy listening on ADDRESS:PORT (FABRIC fabric), ..."
  std::string line;
  wait_until([&] {
    std::string text = read_file(out_path).substr(before);
    line = text.substr(0, text.find('\n'));
    return text.find('\n') != std::string::npos || ::waitpid(proxy, nullptr, WNOHANG) != 0;
  });
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

Session open_rdma(const Server& s, client::Options options, const std::string& share) {
  Session out;
  client::RdmaOptions rdma;
  rdma.fabric = verbs_fabric() ? client::FabricKind::verbs : client::FabricKind::soft;
  out.rdma = client::RdmaClient::connect(rdma_address(), s.rdma_port, options, rdma);
  std::uint64_t sid = out.rdma->smb().session_setup(s.credentials());
  out.tree = out.rdma->smb().tree_connect(sid, "\\\\127.0.0.1\\" + share);
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
