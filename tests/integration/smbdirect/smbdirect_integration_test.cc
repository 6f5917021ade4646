// SMB2 over SMB Direct, end to end on the software fabric: smbd (master and workers),
// rdmaproxy and the library's SMB Direct client, as separate processes. Covers the
// channel hand-off, NEGOTIATE/SESSION_SETUP/CREATE/READ/WRITE through the proxy, READ
// and WRITE through RDMA channels (1 GiB each way, SHA-256 compared), send-with-
// invalidate, and the proxy dying and coming back while TCP clients carry on.
#include <doctest/doctest.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "client/connection.hh"
#include "client/rdma_client.hh"
#include "proto/read.hh"

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

struct Sha256 {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  Sha256() { EVP_DigestInit_ex(ctx, EVP_sha256(), nullptr); }
  ~Sha256() { EVP_MD_CTX_free(ctx); }
  void update(const std::uint8_t* p, std::size_t n) { EVP_DigestUpdate(ctx, p, n); }
  std::array<std::uint8_t, 32> final() {
    std::array<std::uint8_t, 32> out{};
    unsigned len = 0;
    EVP_DigestFinal_ex(ctx, out.data(), &len);
    return out;
  }
};

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

struct Server {
  fs::path base;
  std::uint16_t port = 0;
  std::uint16_t rdma_port = 0;
  pid_t smbd = -1;
  pid_t proxy = -1;
  std::string user = "rdmauser";
  std::string password = "Rdma-pass-1";

  Server() {
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
        << "interfaces = 127.0.0.1\nbind interfaces only = yes\n"
        << "smb passwd file = " << (base / "private/smbpasswd").string() << "\n"
        << "log file = " << (base / "log/smbd.log").string() << "\n"
        << "lock directory = " << (base / "lock").string() << "\n"
        << "rdma port = 5445\nrdma fabric = soft\n"
        << "map to guest = never\n\n"
        << "[data]\npath = " << (base / "share").string() << "\nread only = no\n";
    add_user();
    start_smbd();
    start_proxy();
  }
  ~Server() {
    stop(proxy);
    stop(smbd);
    std::error_code ec;
    fs::remove_all(base, ec);
  }
  std::string conf() const { return (base / "smb.conf").string(); }
  std::string socket_path() const { return (base / "lock/rdmaproxy.sock").string(); }

  void add_user() {
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

  void start_smbd() {
    int log = ::open((base / "log/smbd.out").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    smbd = spawn({env(SMBD_BIN), "-s", conf(), "-F", "-i"}, log);
    ::close(log);
    for (int i = 0; i < 100 && !(port_open(port) && fs::exists(socket_path())); ++i)
      ::usleep(50000);
    REQUIRE(port_open(port));
    REQUIRE(fs::exists(socket_path()));
  }

  void start_proxy() {
    int out[2];
    REQUIRE(::pipe(out) == 0);
    proxy = spawn({env(RDMAPROXY_BIN), "-s", conf(), "--fabric", "soft", "--port", "0"}, out[1]);
    ::close(out[1]);
    // First line: "rdmaproxy listening on 127.0.0.1:PORT (soft fabric), ..."
    std::string line;
    pollfd p{out[0], POLLIN, 0};
    char c;
    while (line.find('\n') == std::string::npos && ::poll(&p, 1, 5000) == 1 &&
           ::read(out[0], &c, 1) == 1)
      line.push_back(c);
    ::close(out[0]);  // later output goes nowhere (the proxy ignores SIGPIPE)
    auto at = line.find("127.0.0.1:");
    REQUIRE_MESSAGE(at != std::string::npos, "rdmaproxy said: " << line);
    rdma_port = static_cast<std::uint16_t>(std::atoi(line.c_str() + at + 10));
    REQUIRE(rdma_port != 0);
  }

  auth::ClientCredentials credentials() const {
    auth::ClientCredentials c;
    c.user = user;
    c.password = password;
    return c;
  }
};

struct Session {
  std::unique_ptr<client::RdmaClient> rdma;
  client::Tree tree;
};

Session open_rdma(const Server& s, client::Options options = {}) {
  Session out;
  out.rdma = client::RdmaClient::connect("127.0.0.1", s.rdma_port, options);
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

}  // namespace

TEST_CASE("SMB2 over SMB Direct: negotiate, session, create, inline read and write") {
  Server server;
  Session s = open_rdma(server);
  auto& c = s.rdma->smb();
  CHECK(c.dialect() == 0x0311);
  CHECK(s.rdma->negotiated().max_read_write_size == 1u << 20);
  FileId f = create_file(c, s.tree, "inline.txt");
  Bytes text(3000);
  for (std::size_t i = 0; i < text.size(); ++i) text[i] = static_cast<std::uint8_t>('a' + i % 26);
  std::uint32_t n = 0;
  REQUIRE(c.write(s.tree, f, 0, text, &n) == NtStatus::SUCCESS);
  CHECK(n == text.size());
  Bytes back;
  REQUIRE(c.read(s.tree, f, 0, 4096, back) == NtStatus::SUCCESS);
  CHECK(back == text);
  CHECK(c.close(s.tree, f) == NtStatus::SUCCESS);
  // The file really is on disk, written through the worker.
  std::string disk = read_file(server.base / "share/inline.txt");
  CHECK(disk == std::string(text.begin(), text.end()));
}

TEST_CASE("RDMA channel: 1 GiB written and read back, SHA-256 compared") {
  Server server;
  Session s = open_rdma(server);
  auto& c = s.rdma->smb();
  FileId f = create_file(c, s.tree, "big.bin");

  constexpr std::size_t kChunk = 1u << 20;
  constexpr std::size_t kDepth = 8;
  constexpr std::uint64_t kTotal = std::uint64_t{1} << 30;
  Bytes memory(kChunk * kDepth);
  std::string error;
  auto buffer = s.rdma->register_buffer(memory, error);
  REQUIRE_MESSAGE(buffer, error);

  // Write: each chunk is a pseudo-random block derived from its index.
  Sha256 written;
  auto fill = [&](std::size_t slot, std::uint64_t index) {
    std::mt19937_64 rng(index * 7919 + 17);
    auto* p = reinterpret_cast<std::uint64_t*>(memory.data() + slot * kChunk);
    for (std::size_t i = 0; i < kChunk / 8; ++i) p[i] = rng();
  };
  std::uint64_t next = 0, done = 0, failures = 0;
  std::vector<bool> busy(kDepth, false);
  auto t0 = std::chrono::steady_clock::now();
  // Writes are issued in order and hashed when issued (the hash covers the file order).
  while (done < kTotal / kChunk) {
    for (std::size_t slot = 0; slot < kDepth && next < kTotal / kChunk; ++slot) {
      if (busy[slot]) continue;
      fill(slot, next);
      written.update(memory.data() + slot * kChunk, kChunk);
      busy[slot] = true;
      s.rdma->write_async(s.tree, f, next * kChunk, kChunk, *buffer, slot * kChunk, false,
                          [&, slot](NtStatus st, std::uint32_t count) {
                            if (st != NtStatus::SUCCESS || count != kChunk) ++failures;
                            busy[slot] = false;
                            ++done;
                          });
      ++next;
    }
    c.poll(1000);
  }
  double write_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  REQUIRE(failures == 0);
  CHECK(fs::file_size(server.base / "share/big.bin") == kTotal);

  // Read back in order with the same depth; hash each chunk in file order.
  Sha256 read_back;
  std::vector<std::uint64_t> slot_index(kDepth, 0);
  std::vector<bool> ready(kDepth, false);
  next = 0;
  done = 0;
  std::uint64_t hashed = 0;
  std::fill(busy.begin(), busy.end(), false);
  t0 = std::chrono::steady_clock::now();
  while (hashed < kTotal / kChunk) {
    for (std::size_t slot = 0; slot < kDepth && next < kTotal / kChunk; ++slot) {
      if (busy[slot]) continue;
      busy[slot] = true;
      ready[slot] = false;
      slot_index[slot] = next;
      s.rdma->read_async(s.tree, f, next * kChunk, kChunk, *buffer, slot * kChunk, false,
                         [&, slot](NtStatus st, std::uint32_t count) {
                           if (st != NtStatus::SUCCESS || count != kChunk) ++failures;
                           ready[slot] = true;
                         });
      ++next;
    }
    c.poll(1000);
    REQUIRE(failures == 0);
    // Hash completed chunks in file order, then free their slots.
    bool progress = true;
    while (progress) {
      progress = false;
      for (std::size_t slot = 0; slot < kDepth; ++slot) {
        if (busy[slot] && ready[slot] && slot_index[slot] == hashed) {
          read_back.update(memory.data() + slot * kChunk, kChunk);
          busy[slot] = false;
          ++hashed;
          progress = true;
        }
      }
    }
  }
  double read_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  CHECK(written.final() == read_back.final());
  MESSAGE("1 GiB over RDMA channels (soft fabric, 1 MiB x 8): write "
          << 1024.0 / write_s << " MiB/s, read " << 1024.0 / read_s << " MiB/s");
  CHECK(c.close(s.tree, f) == NtStatus::SUCCESS);
}

TEST_CASE("RDMA_V1_INVALIDATE: the response invalidates the client's registration") {
  Server server;
  Session s = open_rdma(server);
  auto& c = s.rdma->smb();
  FileId f = create_file(c, s.tree, "inv.bin");
  Bytes data(256 * 1024);
  for (std::size_t i = 0; i < data.size(); ++i) data[i] = static_cast<std::uint8_t>(i * 31 + 7);
  std::string error;
  {
    auto out = s.rdma->register_buffer(data, error);
    REQUIRE(out);
    std::uint32_t n = 0;
    REQUIRE(s.rdma->write(s.tree, f, 4096, static_cast<std::uint32_t>(data.size()), *out, 0, true,
                          n) == NtStatus::SUCCESS);
    CHECK(n == data.size());
    CHECK_FALSE(out->valid());
  }
  Bytes back(data.size(), 0);
  {
    auto in = s.rdma->register_buffer(back, error);
    REQUIRE(in);
    std::uint32_t n = 0;
    REQUIRE(s.rdma->read(s.tree, f, 4096, static_cast<std::uint32_t>(back.size()), *in, 0, true,
                         n) == NtStatus::SUCCESS);
    CHECK(n == back.size());
    CHECK_FALSE(in->valid());
  }
  CHECK(back == data);
  // A short read at the end of the file moves only what there is.
  Bytes tail(8192, 0);
  auto t = s.rdma->register_buffer(tail, error);
  REQUIRE(t);
  std::uint32_t n = 0;
  REQUIRE(s.rdma->read(s.tree, f, 4096 + data.size() - 100, 8192, *t, 0, false, n) ==
          NtStatus::SUCCESS);
  CHECK(n == 100);
  CHECK(std::equal(tail.begin(), tail.begin() + 100, data.end() - 100));
  CHECK(t->valid());
  // Past the end: END_OF_FILE.
  CHECK(s.rdma->read(s.tree, f, 1u << 30, 4096, *t, 0, false, n) == NtStatus::END_OF_FILE);
  // More than MaxReadWriteSize, or a buffer smaller than Length: INVALID_PARAMETER.
  Bytes big(2u << 20);
  auto b = s.rdma->register_buffer(big, error);
  REQUIRE(b);
  CHECK(s.rdma->read(s.tree, f, 0, 2u << 20, *b, 0, false, n) == NtStatus::INVALID_PARAMETER);
  CHECK(c.close(s.tree, f) == NtStatus::SUCCESS);
}

TEST_CASE("RDMA channel info over TCP is refused, and the proxy dying spares TCP clients") {
  Server server;
  client::Connection::connect("127.0.0.1", server.port);  // smbd answers on TCP
  auto tcp = client::Connection::connect("127.0.0.1", server.port);
  std::uint64_t sid = tcp->session_setup(server.credentials());
  client::Tree tt = tcp->tree_connect(sid, "\\\\127.0.0.1\\data");
  FileId tf = create_file(*tcp, tt, "tcp.txt");
  Bytes hello{'h', 'i'};
  REQUIRE(tcp->write(tt, tf, 0, hello) == NtStatus::SUCCESS);
  {
    // MS-SMB2 3.3.5.12: an RDMA channel on a connection that is not RDMA is refused.
    ReadRequest q;
    q.length = 2;
    q.file_id = tf;
    q.channel = Channel::RDMA_V1;
    q.descriptors.push_back({0, 1, 4096});
    client::Call call;
    call.command = Command::READ;
    call.session_id = tt.session_id;
    call.tree_id = tt.tree_id;
    call.body = encode_body(q);
    CHECK(tcp->call(std::move(call)).status() == NtStatus::INVALID_PARAMETER);
  }

  Session s = open_rdma(server);
  FileId f = create_file(s.rdma->smb(), s.tree, "r.bin");
  Bytes mem(65536, 0x5a);
  std::string error;
  auto buf = s.rdma->register_buffer(mem, error);
  REQUIRE(buf);
  std::uint32_t n = 0;
  REQUIRE(s.rdma->write(s.tree, f, 0, 65536, *buf, 0, false, n) == NtStatus::SUCCESS);

  // Kill the proxy outright: the RDMA client's connection fails cleanly ...
  ::kill(server.proxy, SIGKILL);
  ::waitpid(server.proxy, nullptr, 0);
  server.proxy = -1;
  bool failed = false;
  try {
    NtStatus st = s.rdma->read(s.tree, f, 0, 65536, *buf, 0, false, n);
    failed = st != NtStatus::SUCCESS;
  } catch (const client::Error&) {
    failed = true;
  }
  CHECK(failed);
  // ... the TCP client carries on ...
  Bytes back;
  REQUIRE(tcp->read(tt, tf, 0, 100, back) == NtStatus::SUCCESS);
  CHECK(back == hello);
  CHECK(tcp->echo() == NtStatus::SUCCESS);
  s.rdma.reset();

  // ... and a restarted proxy serves new connections.
  server.start_proxy();
  Session again = open_rdma(server);
  FileId g;
  REQUIRE(again.rdma->smb().open(again.tree, "r.bin", client::access::GENERIC_READ,
                                 CreateDisposition::FILE_OPEN, 0, g) == NtStatus::SUCCESS);
  Bytes into(65536, 0);
  auto ib = again.rdma->register_buffer(into, error);
  REQUIRE(ib);
  REQUIRE(again.rdma->read(again.tree, g, 0, 65536, *ib, 0, false, n) == NtStatus::SUCCESS);
  CHECK(into == mem);
  CHECK(tcp->close(tt, tf) == NtStatus::SUCCESS);
}
