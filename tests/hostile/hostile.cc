// Hostile clients against a running smbd: one subcommand per case. Every request is built
// with the project's own codec (smb_client, smb_proto) and, where the case needs it,
// mutated byte by byte before it goes out through Connection::send_raw.
//
// Usage: smb_hostile CASE --port P --user U --password PW --share S --share-path DIR
//                         --base DIR --master PID [--arg key=value ...]
// Exit code 0: every check held; 1: at least one failed (each failure is printed as
// "FAIL: ..."); 2: usage or set-up error. `run.py` in this directory starts the server with
// the configuration a case needs and checks the process tree around it.
#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <functional>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "smbd/auth/authenticator.hh"
#include "smbd/client/connection.hh"
#include "smbd/proto/cancel.hh"
#include "smbd/proto/close.hh"
#include "smbd/proto/create.hh"
#include "smbd/proto/echo.hh"
#include "smbd/proto/header.hh"
#include "smbd/proto/ioctl.hh"
#include "smbd/proto/logoff.hh"
#include "smbd/proto/negotiate.hh"
#include "smbd/proto/query_directory.hh"
#include "smbd/proto/query_info.hh"
#include "smbd/proto/read.hh"
#include "smbd/proto/session_setup.hh"
#include "smbd/proto/set_info.hh"
#include "smbd/proto/tree_connect.hh"
#include "smbd/proto/tree_disconnect.hh"
#include "smbd/proto/write.hh"

using namespace smb;
using smb::client::Call;
using smb::client::Connection;
using smb::client::Tree;
namespace acc = smb::client::access;
using Clock = std::chrono::steady_clock;

namespace {

// ------------------------------------------------------------------ options, checks

struct Opts {
  std::string host = "127.0.0.1";
  std::uint16_t port = 0;
  std::string user, password, share = "share", share_path, base;
  pid_t master = 0;
  std::map<std::string, std::string> args;
  std::string arg(const std::string& k, const std::string& d = "") const {
    auto it = args.find(k);
    return it == args.end() ? d : it->second;
  }
  long num(const std::string& k, long d) const {
    auto it = args.find(k);
    return it == args.end() ? d : std::stol(it->second);
  }
};

int g_failures = 0;
int g_checks = 0;

void say(const char* fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  std::vfprintf(stdout, fmt, ap);
  va_end(ap);
  std::fputc('\n', stdout);
  std::fflush(stdout);
}

bool check(bool ok, const char* fmt, ...) {
  ++g_checks;
  char buf[1024];
  va_list ap;
  va_start(ap, fmt);
  std::vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  if (!ok) {
    ++g_failures;
    std::printf("FAIL: %s\n", buf);
  } else {
    std::printf("ok:   %s\n", buf);
  }
  std::fflush(stdout);
  return ok;
}

std::string st(NtStatus s) { return std::string(nt_status_name(s)); }

// ------------------------------------------------------------------ processes

struct ProcStat {
  pid_t pid = 0, ppid = 0, sid = 0;
};

std::vector<ProcStat> all_processes() {
  std::vector<ProcStat> out;
  DIR* d = ::opendir("/proc");
  if (d == nullptr) return out;
  while (dirent* e = ::readdir(d)) {
    if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
    std::ifstream f(std::string("/proc/") + e->d_name + "/stat");
    std::string line;
    if (!std::getline(f, line)) continue;
    auto close = line.rfind(')');
    if (close == std::string::npos) continue;
    std::istringstream rest(line.substr(close + 2));
    char state;
    long ppid, pgrp, sid;
    rest >> state >> ppid >> pgrp >> sid;
    if (state == 'Z') continue;
    out.push_back({static_cast<pid_t>(std::atol(e->d_name)), static_cast<pid_t>(ppid),
                   static_cast<pid_t>(sid)});
  }
  ::closedir(d);
  return out;
}

std::set<pid_t> children_of(pid_t parent) {
  std::set<pid_t> out;
  for (const auto& p : all_processes())
    if (p.ppid == parent) out.insert(p.pid);
  return out;
}

// Targets of the process's open descriptors.
std::vector<std::string> open_files(pid_t pid) {
  std::vector<std::string> out;
  std::string dir = "/proc/" + std::to_string(pid) + "/fd";
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return out;
  while (dirent* e = ::readdir(d)) {
    if (e->d_name[0] == '.') continue;
    char target[4096];
    ssize_t n = ::readlink((dir + "/" + e->d_name).c_str(), target, sizeof target - 1);
    if (n > 0) out.emplace_back(target, static_cast<std::size_t>(n));
  }
  ::closedir(d);
  return out;
}

// Processes of the server (children of the master) holding `path` open.
std::vector<pid_t> holders_of(pid_t master, const std::string& path) {
  std::vector<pid_t> out;
  for (pid_t child : children_of(master))
    for (const auto& f : open_files(child))
      if (f == path || f == path + " (deleted)") out.push_back(child);
  return out;
}

long rss_kib(pid_t pid) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(f, line))
    if (line.rfind("VmRSS:", 0) == 0) return std::atol(line.c_str() + 6);
  return -1;
}

bool process_alive(pid_t pid) { return ::kill(pid, 0) == 0; }

// Polls `done` until it holds or `limit` passes; the result of the last poll. The cases
// wait for conditions this way: a deadline only ends a wait that would otherwise hang.
template <typename Pred>
bool wait_for(Pred done, std::chrono::milliseconds limit) {
  const auto deadline = Clock::now() + limit;
  while (!done()) {
    if (Clock::now() >= deadline) return done();
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return true;
}

// The system call the main thread of `pid` sleeps in (/proc/PID/syscall), -1 when it
// runs or is gone.
long sleeping_in(pid_t pid) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/syscall");
  long number = -1;
  if (!(f >> number)) return -1;
  return number;
}

// A worker's event loop waits for its next event: it has finished with everything it was
// given so far.
bool waiting_for_events(pid_t pid) {
  long n = sleeping_in(pid);
  return n == SYS_epoll_wait || n == SYS_epoll_pwait
#ifdef SYS_epoll_pwait2
         || n == SYS_epoll_pwait2
#endif
      ;
}

// Bytes the server has not yet read from the TCP connection 127.0.0.1:client_port ->
// :server_port (rx_queue of the server's socket in /proc/net/tcp); -1 when there is no
// such socket.
long server_unread(std::uint16_t server_port, std::uint16_t client_port) {
  std::ifstream in("/proc/net/tcp");
  std::string line;
  std::getline(in, line);
  while (std::getline(in, line)) {
    unsigned lport = 0, rport = 0, state = 0;
    unsigned long tx = 0, rx = 0;
    if (std::sscanf(line.c_str(), " %*d: %*x:%x %*x:%x %x %lx:%lx", &lport, &rport, &state, &tx,
                    &rx) != 5)
      continue;
    if (lport == server_port && rport == client_port) return static_cast<long>(rx);
  }
  return -1;
}

std::uint16_t local_port(int fd) {
  sockaddr_in sa{};
  socklen_t len = sizeof sa;
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &len) != 0) return 0;
  return ntohs(sa.sin_port);
}

// ------------------------------------------------------------------ clients

struct Client {
  std::unique_ptr<Connection> c;
  std::uint64_t sid = 0;
  Tree tree;
};

client::Options default_options() {
  client::Options o;
  o.timeout = std::chrono::milliseconds(15000);
  return o;
}

Client login(const Opts& o, client::Options options = default_options(), std::string share = "",
             std::string user = "", std::string password = "", bool use_defaults = true) {
  Client cl;
  cl.c = Connection::connect(o.host, o.port, options);
  auth::ClientCredentials cred;
  cred.user = use_defaults && user.empty() ? o.user : user;
  cred.password = use_defaults && password.empty() ? o.password : password;
  cl.sid = cl.c->session_setup(cred);
  cl.tree = cl.c->tree_connect(cl.sid, "\\\\" + o.host + "\\" + (share.empty() ? o.share : share));
  return cl;
}

std::string unc(const Opts& o, const std::string& share) { return "\\\\" + o.host + "\\" + share; }

// A file in the share, opened read/write (created or replaced).
NtStatus open_rw(Client& cl, const std::string& name, FileId& id,
                 CreateDisposition d = CreateDisposition::FILE_OVERWRITE_IF) {
  return cl.c->open(cl.tree, name, acc::GENERIC_READ | acc::GENERIC_WRITE | acc::DELETE, d, 0, id);
}

Bytes pattern(std::size_t n, std::uint32_t seed) {
  Bytes b(n);
  std::mt19937 r(seed);
  for (auto& x : b) x = static_cast<std::uint8_t>(r());
  return b;
}

// The server keeps serving: a fresh connection logs on, writes, reads back and closes.
bool alive(const Opts& o, const char* after) {
  try {
    Client cl = login(o);
    FileId id;
    std::string name = "alive-" + std::to_string(::getpid()) + ".bin";
    NtStatus s = open_rw(cl, name, id);
    if (s != NtStatus::SUCCESS) return check(false, "after %s: alive open: %s", after, st(s).c_str());
    Bytes data = pattern(100000, 7);
    s = cl.c->write(cl.tree, id, 0, data);
    Bytes back;
    NtStatus r = cl.c->read(cl.tree, id, 0, 100000, back);
    cl.c->set_delete_on_close(cl.tree, id, true);
    cl.c->close(cl.tree, id);
    return check(s == NtStatus::SUCCESS && r == NtStatus::SUCCESS && back == data,
                 "after %s: a new client is served (write %s, read %s)", after, st(s).c_str(),
                 st(r).c_str());
  } catch (const std::exception& e) {
    return check(false, "after %s: a new client is served: %s", after, e.what());
  }
}

// ------------------------------------------------------------------ raw messages

// Header field offsets (MS-SMB2 2.2.1.2).
constexpr std::size_t H_CREDIT_CHARGE = 6, H_COMMAND = 12, H_CREDIT_REQUEST = 14, H_FLAGS = 16,
                      H_NEXT = 20, H_MESSAGE_ID = 24, H_TREE_ID = 36, H_SESSION_ID = 40,
                      H_SIGNATURE = 48;

struct Raw {
  bool closed = false;     // the server closed the connection
  bool timed_out = false;  // neither an answer nor a close
  bool encrypted = false;  // the answer came in a transform header
  std::vector<Header> headers;
  std::vector<Bytes> elements;
  NtStatus status() const { return headers.empty() ? NtStatus::CONNECTION_DISCONNECTED : headers[0].status; }
  std::string describe() const {
    if (closed) return "connection closed";
    if (timed_out) return "no answer";
    if (encrypted) return "encrypted answer";
    std::string s;
    for (const auto& h : headers) s += (s.empty() ? "" : ",") + st(h.status);
    return s;
  }
};

Raw receive(Connection& c, int timeout_ms) {
  Raw r;
  try {
    for (;;) {
      auto m = c.receive_raw(timeout_ms);
      if (!m) {
        r.timed_out = true;
        return r;
      }
      if (m->size() >= 4 && (*m)[0] == 0xFD) {
        r.encrypted = true;
        return r;
      }
      std::vector<ByteSpan> parts;
      if (split_compound(*m, parts) != NtStatus::SUCCESS) {
        r.closed = true;  // treat garbage as the end
        return r;
      }
      bool interim = false;
      for (auto p : parts) {
        Header h;
        decode(p, h);
        if (h.is_async() && h.status == NtStatus::PENDING) {
          interim = true;
          continue;
        }
        r.headers.push_back(h);
        r.elements.emplace_back(p.begin(), p.end());
      }
      if (!interim || !r.headers.empty()) return r;
    }
  } catch (const client::Error&) {
    r.closed = true;
    return r;
  }
}

Raw exchange(Connection& c, ByteSpan message, int timeout_ms = 5000, bool framed = false) {
  try {
    c.send_raw(message, framed);
  } catch (const client::Error&) {
    Raw r;
    r.closed = true;
    return r;
  }
  return receive(c, timeout_ms);
}

// The server refused: an error status, or it dropped the connection. Silence fails.
bool refused(const Raw& r, const char* what) {
  bool ok = r.closed || r.encrypted || (!r.headers.empty() && nt_error(r.headers[0].status));
  return check(ok, "%s -> %s", what, r.describe().c_str());
}

template <typename Body>
Call make_call(Command cmd, const Tree& t, const Body& body) {
  Call call;
  call.command = cmd;
  call.session_id = t.session_id;
  call.tree_id = t.tree_id;
  call.tree_encrypt = t.encrypt;
  call.body = encode_body(body);
  return call;
}

// A message for (session, tree) that the client neither signs nor encrypts: it is built
// for session 0 and the ids are written in afterwards.
Bytes plain_message(Connection& c, Call call, std::uint64_t session_id, std::uint32_t tree_id) {
  call.session_id = 0;
  call.tree_encrypt = false;
  Bytes m = c.build(call);
  store_le64(&m[H_SESSION_ID], session_id);
  store_le32(&m[H_TREE_ID], tree_id);
  return m;
}

CreateRequest create_request(const std::string& name, CreateDisposition d,
                             std::uint32_t access = acc::GENERIC_READ | acc::GENERIC_WRITE,
                             std::uint32_t options = 0) {
  CreateRequest q;
  q.desired_access = access;
  q.share_access = 7;
  q.create_disposition = d;
  q.create_options = options;
  q.name = name;
  return q;
}

// Joins elements into one compound message (MS-SMB2 3.2.4.1.4): 8-byte aligned,
// NextCommand set on all but the last.
Bytes compound(const std::vector<Bytes>& elements) {
  Bytes out;
  for (std::size_t i = 0; i < elements.size(); ++i) {
    std::size_t start = out.size();
    out.insert(out.end(), elements[i].begin(), elements[i].end());
    if (i + 1 < elements.size()) {
      while (out.size() % 8 != 0) out.push_back(0);
      store_le32(&out[start + H_NEXT], static_cast<std::uint32_t>(out.size() - start));
    }
  }
  return out;
}

bool file_exists(const std::string& p) {
  struct stat sb {};
  return ::lstat(p.c_str(), &sb) == 0;
}

std::string read_local(const std::string& p) {
  std::ifstream f(p, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

void write_local(const std::string& p, const std::string& data) {
  std::ofstream f(p, std::ios::binary | std::ios::trunc);
  f << data;
}

// ================================================================== cases

// A well-behaved client on one connection: write, read back, compare, until stdin closes.
// Every request must be answered within the client's timeout (15 s) or the victim fails;
// worst_ms, the slowest operation, is reported for information.
int case_victim(const Opts& o) {
  Client cl;
  try {
    cl = login(o);
  } catch (const std::exception& e) {
    say("victim: cannot log on: %s", e.what());
    return 1;
  }
  std::string name = "victim-" + std::to_string(::getpid()) + ".bin";
  FileId id;
  NtStatus s = open_rw(cl, name, id);
  if (s != NtStatus::SUCCESS) {
    say("victim: open: %s", st(s).c_str());
    return 1;
  }
  long ops = 0;
  bool ready = false;
  double worst_ms = 0;
  std::uint32_t seed = 1;
  try {
    for (;;) {
      // Standard input: a line asks how many operations are done so far (the driver
      // waits for the count to grow), end of file says stop.
      pollfd p{0, POLLIN, 0};
      if (::poll(&p, 1, 0) > 0) {
        char line[64];
        if (std::fgets(line, sizeof line, stdin) == nullptr) break;
        say("victim ops=%ld", ops);
      }
      auto t0 = Clock::now();
      Bytes data = pattern(65536, seed++);
      std::uint64_t off = (seed % 16) * 65536ull;
      std::uint32_t count = 0;
      s = cl.c->write(cl.tree, id, off, data, &count);
      if (s != NtStatus::SUCCESS || count != data.size()) {
        say("victim: FAIL write %s count %u after %ld ops", st(s).c_str(), count, ops);
        return 1;
      }
      Bytes back;
      s = cl.c->read(cl.tree, id, off, 65536, back);
      if (s != NtStatus::SUCCESS || back != data) {
        say("victim: FAIL read back %s after %ld ops", st(s).c_str(), ops);
        return 1;
      }
      double ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
      worst_ms = std::max(worst_ms, ms);
      ++ops;
      if (!ready) say("READY");  // served once: the case may start
      ready = true;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    cl.c->set_delete_on_close(cl.tree, id, true);
    cl.c->close(cl.tree, id);
  } catch (const std::exception& e) {
    say("victim: FAIL %s after %ld ops", e.what(), ops);
    return 1;
  }
  say("victim ops=%ld worst_ms=%.0f", ops, worst_ms);
  return 0;
}

// ids of another session, another tree, another client.
int case_foreign_ids(const Opts& o) {
  Client a = login(o);
  FileId fa;
  check(open_rw(a, "foreign-a.bin", fa) == NtStatus::SUCCESS, "session A opens a file");
  Bytes secret = pattern(4096, 99);
  a.c->write(a.tree, fa, 0, secret);

  // A second session on the same connection, same user.
  auth::ClientCredentials cred{o.user, "", o.password, std::nullopt, ""};
  std::uint64_t s2 = a.c->session_setup(cred);
  Tree t2 = a.c->tree_connect(s2, unc(o, o.share));

  // Session 2 names session A's tree.
  Tree mixed{s2, a.tree.tree_id, 0, 0, false};
  if (a.tree.tree_id != t2.tree_id) {
    ReadRequest rq;
    rq.length = 4096;
    rq.file_id = fa;
    Raw r = exchange(*a.c, a.c->build(make_call(Command::READ, mixed, rq)));
    refused(r, "session 2 with session A's tree id");
  }
  // Session 2 with its own tree and session A's file id.
  {
    ReadRequest rq;
    rq.length = 4096;
    rq.file_id = fa;
    Raw r = exchange(*a.c, a.c->build(make_call(Command::READ, t2, rq)));
    check(r.status() == NtStatus::FILE_CLOSED, "session 2 reads session A's file id -> %s",
          r.describe().c_str());
    CloseRequest cq;
    cq.file_id = fa;
    r = exchange(*a.c, a.c->build(make_call(Command::CLOSE, t2, cq)));
    check(r.status() == NtStatus::FILE_CLOSED, "session 2 closes session A's file id -> %s",
          r.describe().c_str());
    Bytes back;
    check(a.c->read(a.tree, fa, 0, 4096, back) == NtStatus::SUCCESS && back == secret,
          "session A's open survives");
  }
  // Unknown session id, tree id and file id.
  {
    Tree bogus{0x123456789ull, a.tree.tree_id, 0, 0, false};
    Raw r = exchange(*a.c, plain_message(*a.c, make_call(Command::ECHO, bogus, EchoRequest{}), bogus.session_id, 0));
    check(r.status() == NtStatus::SUCCESS || r.status() == NtStatus::USER_SESSION_DELETED,
          "ECHO with an unknown session id -> %s", r.describe().c_str());
    CreateRequest cq = create_request("foreign-x", CreateDisposition::FILE_OPEN_IF);
    r = exchange(*a.c, plain_message(*a.c, make_call(Command::CREATE, bogus, cq), bogus.session_id,
                                     a.tree.tree_id));
    check(r.status() == NtStatus::USER_SESSION_DELETED, "CREATE with an unknown session id -> %s",
          r.describe().c_str());
    Tree badtree{a.sid, 0x7777, 0, 0, false};
    r = exchange(*a.c, a.c->build(make_call(Command::CREATE, badtree, cq)));
    check(r.status() == NtStatus::NETWORK_NAME_DELETED, "CREATE with an unknown tree id -> %s",
          r.describe().c_str());
    ReadRequest rq;
    rq.length = 10;
    rq.file_id = FileId{fa.persistent ^ 1, fa.volatile_};
    r = exchange(*a.c, a.c->build(make_call(Command::READ, a.tree, rq)));
    check(r.status() == NtStatus::FILE_CLOSED, "READ with a wrong persistent file id -> %s",
          r.describe().c_str());
    rq.file_id = FileId{fa.persistent, fa.volatile_ + 1000};
    r = exchange(*a.c, a.c->build(make_call(Command::READ, a.tree, rq)));
    check(r.status() == NtStatus::FILE_CLOSED, "READ with an unknown volatile file id -> %s",
          r.describe().c_str());
  }
  // Another client (another worker): its ids mean nothing here.
  {
    Client b = login(o);
    FileId fb;
    open_rw(b, "foreign-b.bin", fb);
    b.c->write(b.tree, fb, 0, secret);
    ReadRequest rq;
    rq.length = 4096;
    rq.file_id = fb;
    Raw r = exchange(*a.c, plain_message(*a.c, make_call(Command::READ, b.tree, rq), b.sid,
                                         b.tree.tree_id));
    check(r.status() == NtStatus::USER_SESSION_DELETED,
          "client A uses client B's session/tree/file ids -> %s", r.describe().c_str());
    r = exchange(*a.c, plain_message(*a.c, make_call(Command::LOGOFF, b.tree, LogoffRequest{}),
                                     b.sid, 0));
    check(r.status() == NtStatus::USER_SESSION_DELETED, "client A logs off client B's session -> %s",
          r.describe().c_str());
    check(b.c->echo() == NtStatus::SUCCESS, "client B is still served");
    b.c->set_delete_on_close(b.tree, fb, true);
    b.c->close(b.tree, fb);
  }
  a.c->set_delete_on_close(a.tree, fa, true);
  a.c->close(a.tree, fa);
  alive(o, "foreign ids");
  return 0;
}

// A second connection that names another client's ClientGuid is served by that client's
// worker; without binding (SESSION_SETUP with the binding flag and a signature) it must
// not be able to use that client's session (MS-SMB2 3.3.5.2.9).
int case_channel_hijack(const Opts& o) {
  client::Options bo = default_options();
  for (std::size_t i = 0; i < bo.client_guid.size(); ++i)
    bo.client_guid[i] = static_cast<std::uint8_t>(0xA0 + i);
  Client b = login(o, bo);
  FileId fb;
  check(open_rw(b, "hijack-victim.bin", fb) == NtStatus::SUCCESS, "victim opens a file");
  Bytes secret = pattern(4096, 1234);
  b.c->write(b.tree, fb, 0, secret);

  auto hostile = Connection::connect(o.host, o.port, bo);  // same ClientGuid, no session
  ReadRequest rq;
  rq.length = 4096;
  rq.file_id = fb;
  Raw r = exchange(*hostile, plain_message(*hostile, make_call(Command::READ, b.tree, rq), b.sid,
                                           b.tree.tree_id));
  bool leaked = false;
  if (!r.headers.empty() && r.status() == NtStatus::SUCCESS) {
    ReadResponse resp;
    if (decode(r.elements[0], resp) == NtStatus::SUCCESS)
      leaked = Bytes(resp.data.begin(), resp.data.end()) == secret;
  }
  check(!leaked && r.status() != NtStatus::SUCCESS,
        "unbound connection with the victim's ClientGuid reads the victim's open "
        "(session 0x%llx) -> %s%s",
        static_cast<unsigned long long>(b.sid), r.describe().c_str(),
        leaked ? " and got the victim's data" : "");
  CreateRequest cq = create_request("hijack-created", CreateDisposition::FILE_CREATE);
  r = exchange(*hostile, plain_message(*hostile, make_call(Command::CREATE, b.tree, cq), b.sid,
                                       b.tree.tree_id));
  check(r.status() != NtStatus::SUCCESS && !file_exists(o.share_path + "/hijack-created"),
        "unbound connection creates a file in the victim's tree -> %s", r.describe().c_str());
  r = exchange(*hostile, plain_message(*hostile, make_call(Command::LOGOFF, b.tree, LogoffRequest{}),
                                       b.sid, 0));
  check(r.status() != NtStatus::SUCCESS, "unbound connection logs the victim off -> %s",
        r.describe().c_str());
  hostile.reset();
  try {
    Bytes back;
    NtStatus s = b.c->read(b.tree, fb, 0, 4096, back);
    check(s == NtStatus::SUCCESS && back == secret, "victim's session still works: %s", st(s).c_str());
    b.c->set_delete_on_close(b.tree, fb, true);
    b.c->close(b.tree, fb);
  } catch (const std::exception& e) {
    check(false, "victim's session still works: %s", e.what());
  }
  ::unlink((o.share_path + "/hijack-created").c_str());
  alive(o, "channel hijack");
  return 0;
}

// Session binding abused: forged and unsigned binding requests, a wrong password,
// more channels than a session takes, and a connection of another client.
int case_bind_abuse(const Opts& o) {
  client::Options bo = default_options();
  for (std::size_t i = 0; i < bo.client_guid.size(); ++i)
    bo.client_guid[i] = static_cast<std::uint8_t>(0xB0 + i);
  Client b = login(o, bo);
  FileId fb;
  check(open_rw(b, "bind-victim.bin", fb) == NtStatus::SUCCESS, "victim opens a file");
  Bytes secret = pattern(4096, 4321);
  b.c->write(b.tree, fb, 0, secret);
  auth::ClientCredentials cred{o.user, "", o.password, std::nullopt, ""};

  // Forged: the binding flag with a signature the attacker cannot compute.
  auto hostile = Connection::connect(o.host, o.port, bo);
  SessionSetupRequest q;
  q.flags = kSessionSetupFlagBinding;
  q.security_mode = kSessionSigningEnabled;
  q.security_buffer = Bytes(16, 0x41);
  Bytes forged = plain_message(*hostile, make_call(Command::SESSION_SETUP, Tree{}, q), b.sid, 0);
  store_le32(&forged[H_FLAGS], load_le32(&forged[H_FLAGS]) | kFlagSigned);
  for (std::size_t i = 48; i < 64; ++i) forged[i] = static_cast<std::uint8_t>(i * 7);
  Raw r = exchange(*hostile, forged);
  check(!r.headers.empty() && r.status() == NtStatus::ACCESS_DENIED,
        "binding with a forged signature -> %s (want ACCESS_DENIED)", r.describe().c_str());
  r = exchange(*hostile, plain_message(*hostile, make_call(Command::SESSION_SETUP, Tree{}, q),
                                       b.sid, 0));
  check(!r.headers.empty() && r.status() == NtStatus::INVALID_PARAMETER,
        "unsigned binding -> %s (want INVALID_PARAMETER)", r.describe().c_str());
  // The forged channel did not become one: it cannot read the victim's file.
  ReadRequest rq;
  rq.length = 4096;
  rq.file_id = fb;
  r = exchange(*hostile, plain_message(*hostile, make_call(Command::READ, b.tree, rq), b.sid,
                                       b.tree.tree_id));
  refused(r, "read through the refused channel");
  hostile.reset();

  auto wrong = Connection::connect(o.host, o.port, bo);
  auth::ClientCredentials bad = cred;
  bad.password = "wrong-" + o.password;
  try {
    wrong->bind_session(*b.c, b.sid, bad);
    check(false, "binding with a wrong password succeeded");
  } catch (const client::Error& e) {
    check(e.status() == NtStatus::LOGON_FAILURE, "binding with a wrong password -> %s",
          st(e.status()).c_str());
  }
  wrong.reset();

  // 32 channels per session: the victim's own and 31 more; the next is refused.
  std::vector<std::unique_ptr<Connection>> channels;
  for (int i = 0; i < 31; ++i) {
    channels.push_back(Connection::connect(o.host, o.port, bo));
    channels.back()->bind_session(*b.c, b.sid, cred);
  }
  auto extra = Connection::connect(o.host, o.port, bo);
  try {
    extra->bind_session(*b.c, b.sid, cred);
    check(false, "a 33rd channel was bound");
  } catch (const client::Error& e) {
    check(e.status() == NtStatus::INSUFFICIENT_RESOURCES, "33rd channel -> %s",
          st(e.status()).c_str());
  }
  Bytes via_last;
  NtStatus s = channels.back()->read(b.tree, fb, 0, 4096, via_last);
  check(s == NtStatus::SUCCESS && via_last == secret, "read through the 32nd channel: %s",
        st(s).c_str());
  channels.clear();
  extra.reset();

  // Another client (another ClientGUID) is refused.
  auto stranger = Connection::connect(o.host, o.port, default_options());
  try {
    stranger->bind_session(*b.c, b.sid, cred);
    check(false, "a connection of another client bound to the session");
  } catch (const client::Error& e) {
    check(e.status() == NtStatus::REQUEST_NOT_ACCEPTED, "binding from another client -> %s",
          st(e.status()).c_str());
  }
  stranger.reset();

  try {
    Bytes back;
    s = b.c->read(b.tree, fb, 0, 4096, back);
    check(s == NtStatus::SUCCESS && back == secret, "victim's session still works: %s",
          st(s).c_str());
    b.c->set_delete_on_close(b.tree, fb, true);
    b.c->close(b.tree, fb);
  } catch (const std::exception& e) {
    check(false, "victim's session still works: %s", e.what());
  }
  alive(o, "bind abuse");
  return 0;
}

// Requests before NEGOTIATE and before SESSION_SETUP.
int case_before_negotiate(const Opts& o) {
  struct Pre {
    const char* what;
    Command command;
    Bytes body;
  };
  SessionSetupRequest ss;
  ss.security_buffer = Bytes{0x60, 0x00};
  TreeConnectRequest tc;
  tc.path = unc(o, o.share);
  std::vector<Pre> pre{
      {"SESSION_SETUP before NEGOTIATE", Command::SESSION_SETUP, encode_body(ss)},
      {"TREE_CONNECT before NEGOTIATE", Command::TREE_CONNECT, encode_body(tc)},
      {"ECHO before NEGOTIATE", Command::ECHO, encode_body(EchoRequest{})},
      {"CREATE before NEGOTIATE", Command::CREATE,
       encode_body(create_request("x", CreateDisposition::FILE_OPEN_IF))},
  };
  for (auto& p : pre) {
    auto c = Connection::open(o.host, o.port, default_options());
    Call call;
    call.command = p.command;
    call.body = p.body;
    Raw r = exchange(*c, c->build(call));
    refused(r, p.what);
  }
  // After NEGOTIATE, without a session.
  {
    auto c = Connection::connect(o.host, o.port, default_options());
    Tree none{};
    Raw r = exchange(*c, c->build(make_call(Command::TREE_CONNECT, none, tc)));
    check(r.status() == NtStatus::USER_SESSION_DELETED, "TREE_CONNECT without a session -> %s",
          r.describe().c_str());
    r = exchange(*c, c->build(make_call(Command::CREATE, none,
                                        create_request("nosession", CreateDisposition::FILE_CREATE))));
    check(r.status() == NtStatus::USER_SESSION_DELETED, "CREATE without a session -> %s",
          r.describe().c_str());
    check(!file_exists(o.share_path + "/nosession"), "no file was created without a session");
    Tree ghost{0x4242ull, 0, 0, 0, false};
    r = exchange(*c, c->build(make_call(Command::SESSION_SETUP, ghost, ss)));
    check(r.status() == NtStatus::USER_SESSION_DELETED,
          "SESSION_SETUP continuing an unknown session -> %s", r.describe().c_str());
    r = exchange(*c, c->build(make_call(Command::LOGOFF, none, LogoffRequest{})));
    check(r.status() == NtStatus::USER_SESSION_DELETED, "LOGOFF without a session -> %s",
          r.describe().c_str());
    check(c->echo() == NtStatus::SUCCESS, "the connection still answers ECHO");
    NegotiateRequest nq;
    nq.dialects = {0x0202, 0x0210, 0x0300};
    nq.security_mode = 1;
    Call again;
    again.command = Command::NEGOTIATE;
    again.body = encode_body(nq);
    r = exchange(*c, c->build(again));
    refused(r, "a second NEGOTIATE on the connection");
  }
  // A session whose set-up is in progress cannot be used.
  {
    auto c = Connection::connect(o.host, o.port, default_options());
    Tree none{};
    SessionSetupRequest first;
    // An NTLMSSP NEGOTIATE_MESSAGE, raw (the server accepts raw NTLMSSP as well as SPNEGO).
    const char ntlm[] = "NTLMSSP";
    first.security_buffer.assign(ntlm, ntlm + 8);
    Bytes flags{0x01, 0, 0, 0, 0x97, 0x82, 0x08, 0xe2};
    first.security_buffer.insert(first.security_buffer.end(), flags.begin(), flags.end());
    first.security_buffer.resize(40, 0);
    Raw r = exchange(*c, c->build(make_call(Command::SESSION_SETUP, none, first)));
    if (r.status() == NtStatus::MORE_PROCESSING_REQUIRED) {
      std::uint64_t half = r.headers[0].session_id;
      Tree t{half, 0, 0, 0, false};
      r = exchange(*c, c->build(make_call(Command::TREE_CONNECT, t, tc)));
      check(r.status() == NtStatus::USER_SESSION_DELETED || nt_error(r.status()),
            "TREE_CONNECT on a half set-up session -> %s", r.describe().c_str());
      check(r.status() != NtStatus::SUCCESS, "half set-up session grants no tree");
    } else {
      say("note: raw NTLMSSP negotiate answered %s; half-session check skipped",
          r.describe().c_str());
    }
  }
  alive(o, "requests before negotiate");
  return 0;
}

// Malformed PDUs: each gets an error or a disconnect; the server keeps serving.
int case_bad_input(const Opts& o) {
  struct Mut {
    const char* what;
    std::function<Bytes(Client&, FileId&)> make;
    bool framed = false;
  };
  auto writecall = [](Client& cl, FileId& f, std::size_t n) {
    WriteRequest wq;
    wq.file_id = f;
    Call call = make_call(Command::WRITE, cl.tree, wq);
    call.payload = ByteSpan();
    Bytes body = call.body;
    // Encode with data: DataOffset 0x70, Length n.
    Bytes data(n, 0x5A);
    wq.data_length = static_cast<std::uint32_t>(n);
    call.body = encode_body(wq);
    call.body.insert(call.body.end(), data.begin(), data.end());
    return cl.c->build(call);
  };
  std::vector<Mut> cases{
      {"frame of length 0", [](Client&, FileId&) { return Bytes{0, 0, 0, 0}; }, true},
      {"frame length 16 MiB - 1 (beyond the message limit)",
       [](Client&, FileId&) {
         Bytes b{0, 0xFF, 0xFF, 0xFF};
         b.resize(4 + 4096, 0);
         return b;
       },
       true},
      {"frame with a non-zero first byte",
       [](Client& cl, FileId&) {
         Bytes m = cl.c->build(make_call(Command::ECHO, cl.tree, EchoRequest{}));
         Bytes b{0x81, 0, static_cast<std::uint8_t>(m.size() >> 8), static_cast<std::uint8_t>(m.size())};
         b.insert(b.end(), m.begin(), m.end());
         return b;
       },
       true},
      {"message shorter than a header",
       [](Client&, FileId&) { return Bytes{0xFE, 'S', 'M', 'B', 64, 0, 0, 0, 0, 0}; }},
      {"header StructureSize 63",
       [](Client& cl, FileId&) {
         Bytes m = cl.c->build(make_call(Command::ECHO, cl.tree, EchoRequest{}));
         m[4] = 63;
         return m;
       }},
      {"unknown ProtocolId 0xFC (compression)",
       [](Client& cl, FileId&) {
         Bytes m = cl.c->build(make_call(Command::ECHO, cl.tree, EchoRequest{}));
         m[0] = 0xFC;
         return m;
       }},
      {"transform header for an unknown session",
       [](Client&, FileId&) {
         Bytes b(52 + 80, 0x11);
         b[0] = 0xFD, b[1] = 'S', b[2] = 'M', b[3] = 'B';
         store_le32(&b[36], 80);
         store_le16(&b[42], 1);
         return b;
       }},
      {"SMB1 message that is not a NEGOTIATE",
       [](Client&, FileId&) {
         Bytes b(40, 0);
         b[0] = 0xFF, b[1] = 'S', b[2] = 'M', b[3] = 'B', b[4] = 0x2E;
         return b;
       }},
      {"unknown command 0x0013",
       [](Client& cl, FileId&) {
         Bytes m = cl.c->build(make_call(Command::ECHO, cl.tree, EchoRequest{}));
         store_le16(&m[H_COMMAND], 0x13);
         return m;
       }},
      {"unknown command 0xFFFF",
       [](Client& cl, FileId&) {
         Bytes m = cl.c->build(make_call(Command::ECHO, cl.tree, EchoRequest{}));
         store_le16(&m[H_COMMAND], 0xFFFF);
         return m;
       }},
      {"ECHO with StructureSize 5",
       [](Client& cl, FileId&) {
         Bytes m = cl.c->build(make_call(Command::ECHO, cl.tree, EchoRequest{}));
         m[64] = 5;
         return m;
       }},
      {"ECHO with the body cut off",
       [](Client& cl, FileId&) {
         Bytes m = cl.c->build(make_call(Command::ECHO, cl.tree, EchoRequest{}));
         m.resize(65);
         return m;
       }},
      {"CREATE truncated after 10 body bytes",
       [](Client& cl, FileId&) {
         Bytes m = cl.c->build(make_call(Command::CREATE, cl.tree,
                                         create_request("trunc", CreateDisposition::FILE_OPEN_IF)));
         m.resize(74);
         return m;
       }},
      {"CREATE NameOffset beyond the message",
       [](Client& cl, FileId&) {
         Bytes m = cl.c->build(make_call(Command::CREATE, cl.tree,
                                         create_request("name", CreateDisposition::FILE_OPEN_IF)));
         store_le16(&m[108], 0xFFF0);
         return m;
       }},
      {"CREATE NameLength beyond the message",
       [](Client& cl, FileId&) {
         Bytes m = cl.c->build(make_call(Command::CREATE, cl.tree,
                                         create_request("name", CreateDisposition::FILE_OPEN_IF)));
         store_le16(&m[110], 0xFFFE);
         return m;
       }},
      {"CREATE NameOffset inside the header",
       [](Client& cl, FileId&) {
         Bytes m = cl.c->build(make_call(Command::CREATE, cl.tree,
                                         create_request("name", CreateDisposition::FILE_OPEN_IF)));
         store_le16(&m[108], 8);
         return m;
       }},
      {"CREATE odd NameLength",
       [](Client& cl, FileId&) {
         Bytes m = cl.c->build(make_call(Command::CREATE, cl.tree,
                                         create_request("name", CreateDisposition::FILE_OPEN_IF)));
         store_le16(&m[110], 7);
         return m;
       }},
      {"CREATE CreateContextsOffset/Length beyond the message",
       [](Client& cl, FileId&) {
         Bytes m = cl.c->build(make_call(Command::CREATE, cl.tree,
                                         create_request("name", CreateDisposition::FILE_OPEN_IF)));
         store_le32(&m[112], 0x78);
         store_le32(&m[116], 0x7FFFFFF0);
         return m;
       }},
      {"CREATE CreateContextsOffset 0xFFFFFFF8",
       [](Client& cl, FileId&) {
         Bytes m = cl.c->build(make_call(Command::CREATE, cl.tree,
                                         create_request("name", CreateDisposition::FILE_OPEN_IF)));
         store_le32(&m[112], 0xFFFFFFF8);
         store_le32(&m[116], 16);
         return m;
       }},
      {"WRITE DataOffset+Length beyond the message",
       [writecall](Client& cl, FileId& f) {
         Bytes m = writecall(cl, f, 100);
         store_le32(&m[68], 1000000);
         return m;
       }},
      {"WRITE DataOffset 0xFFFF",
       [writecall](Client& cl, FileId& f) {
         Bytes m = writecall(cl, f, 100);
         store_le16(&m[66], 0xFFFF);
         return m;
       }},
      {"WRITE Length 0xFFFFFFFF",
       [writecall](Client& cl, FileId& f) {
         Bytes m = writecall(cl, f, 100);
         store_le32(&m[68], 0xFFFFFFFF);
         return m;
       }},
      {"WRITE at offset 2^63",
       [writecall](Client& cl, FileId& f) {
         Bytes m = writecall(cl, f, 100);
         store_le64(&m[72], 0x8000000000000000ull);
         return m;
       }},
      {"READ with StructureSize 48",
       [](Client& cl, FileId& f) {
         ReadRequest rq;
         rq.length = 100;
         rq.file_id = f;
         Bytes m = cl.c->build(make_call(Command::READ, cl.tree, rq));
         m[64] = 48;
         return m;
       }},
      {"READ at offset 2^64-1",
       [](Client& cl, FileId& f) {
         ReadRequest rq;
         rq.length = 100;
         rq.offset = ~0ull;
         rq.file_id = f;
         return cl.c->build(make_call(Command::READ, cl.tree, rq));
       }},
      {"QUERY_INFO InputBufferOffset/Length beyond the message",
       [](Client& cl, FileId& f) {
         QueryInfoRequest q;
         q.file_info_class = 4;
         q.output_buffer_length = 4096;
         q.file_id = f;
         Bytes m = cl.c->build(make_call(Command::QUERY_INFO, cl.tree, q));
         store_le16(&m[72], 0x68);
         store_le32(&m[76], 0x10000);
         return m;
       }},
      {"SET_INFO BufferOffset/Length beyond the message",
       [](Client& cl, FileId& f) {
         SetInfoRequest q;
         q.file_info_class = 20;  // FileEndOfFileInformation
         q.buffer = Bytes(8, 0);
         q.file_id = f;
         Bytes m = cl.c->build(make_call(Command::SET_INFO, cl.tree, q));
         store_le32(&m[68], 0x7FFFFFFF);
         return m;
       }},
      {"SET_INFO EndOfFile buffer of 1 byte",
       [](Client& cl, FileId& f) {
         SetInfoRequest q;
         q.file_info_class = 20;
         q.buffer = Bytes(1, 0);
         q.file_id = f;
         return cl.c->build(make_call(Command::SET_INFO, cl.tree, q));
       }},
      {"QUERY_DIRECTORY FileNameOffset beyond the message",
       [](Client& cl, FileId&) {
         QueryDirectoryRequest q;
         q.file_information_class = 3;
         q.file_name = "*";
         q.output_buffer_length = 65536;
         q.file_id = FileId{~0ull, ~0ull};
         Bytes m = cl.c->build(make_call(Command::QUERY_DIRECTORY, cl.tree, q));
         store_le16(&m[88], 0xFFF0);
         return m;
       }},
      {"IOCTL InputOffset/Count beyond the message",
       [](Client& cl, FileId&) {
         IoctlRequest q;
         q.ctl_code = 0x00140204;  // FSCTL_VALIDATE_NEGOTIATE_INFO
         q.file_id = FileId{~0ull, ~0ull};
         q.input = Bytes(24, 0);
         q.max_output_response = 1024;
         Bytes m = cl.c->build(make_call(Command::IOCTL, cl.tree, q));
         store_le32(&m[92], 0x10000000);
         return m;
       }},
      {"IOCTL VALIDATE_NEGOTIATE_INFO with DialectCount 0xFFFF",
       [](Client& cl, FileId&) {
         IoctlRequest q;
         q.ctl_code = 0x00140204;
         q.file_id = FileId{~0ull, ~0ull};
         q.input = Bytes(24 + 2, 0);
         store_le16(&q.input[22], 0xFFFF);
         q.max_output_response = 1024;
         return cl.c->build(make_call(Command::IOCTL, cl.tree, q));
       }},
      {"TREE_CONNECT PathOffset/Length beyond the message",
       [](Client& cl, FileId&) {
         TreeConnectRequest q;
         q.path = "\\\\x\\share";
         Tree t{cl.sid, 0, 0, 0, false};
         Bytes m = cl.c->build(make_call(Command::TREE_CONNECT, t, q));
         store_le16(&m[70], 0xFFFE);
         return m;
       }},
      {"SESSION_SETUP SecurityBufferOffset beyond the message",
       [](Client& cl, FileId&) {
         SessionSetupRequest q;
         q.security_buffer = Bytes(16, 0x60);
         Tree t{};
         Bytes m = cl.c->build(make_call(Command::SESSION_SETUP, t, q));
         store_le16(&m[76], 0xFFF0);
         return m;
       }},
      {"SESSION_SETUP with a garbage security blob",
       [](Client& cl, FileId&) {
         SessionSetupRequest q;
         q.security_buffer = pattern(300, 5);
         Tree t{};
         return cl.c->build(make_call(Command::SESSION_SETUP, t, q));
       }},
      {"compound NextCommand beyond the message",
       [](Client& cl, FileId&) {
         Bytes a = cl.c->build(make_call(Command::ECHO, cl.tree, EchoRequest{}));
         Bytes b = cl.c->build(make_call(Command::ECHO, cl.tree, EchoRequest{}));
         Bytes m = compound({a, b});
         store_le32(&m[H_NEXT], 0x10000);
         return m;
       }},
      {"compound NextCommand not 8-byte aligned",
       [](Client& cl, FileId&) {
         Bytes a = cl.c->build(make_call(Command::ECHO, cl.tree, EchoRequest{}));
         Bytes b = cl.c->build(make_call(Command::ECHO, cl.tree, EchoRequest{}));
         Bytes m = compound({a, b});
         store_le32(&m[H_NEXT], load_le32(&m[H_NEXT]) - 4);
         return m;
       }},
      {"compound NextCommand smaller than a header",
       [](Client& cl, FileId&) {
         Bytes a = cl.c->build(make_call(Command::ECHO, cl.tree, EchoRequest{}));
         Bytes b = cl.c->build(make_call(Command::ECHO, cl.tree, EchoRequest{}));
         Bytes m = compound({a, b});
         store_le32(&m[H_NEXT], 8);
         return m;
       }},
      {"compound first element flagged RELATED",
       [](Client& cl, FileId&) {
         Call c1 = make_call(Command::CREATE, cl.tree, create_request("rel0", CreateDisposition::FILE_OPEN_IF));
         c1.extra_flags = kFlagRelatedOperations;
         return cl.c->build(c1);
       }},
      {"compound of 200 ECHOs with one credit",
       [](Client& cl, FileId&) {
         std::vector<Bytes> v;
         for (int i = 0; i < 200; ++i) {
           Bytes e = cl.c->build(make_call(Command::ECHO, cl.tree, EchoRequest{}));
           store_le64(&e[H_MESSAGE_ID], load_le64(&e[H_MESSAGE_ID]) + 100000);
           v.push_back(e);
         }
         return compound(v);
       }},
  };
  for (auto& m : cases) {
    Client cl;
    FileId f;
    try {
      cl = login(o);
      open_rw(cl, "bad-input.bin", f);
    } catch (const std::exception& e) {
      check(false, "log on before '%s': %s", m.what, e.what());
      continue;
    }
    Bytes message = m.make(cl, f);
    Raw r = exchange(*cl.c, message, 5000, m.framed);
    bool ok = r.closed || r.encrypted ||
              (!r.headers.empty() &&
               std::all_of(r.headers.begin(), r.headers.end(),
                           [](const Header& h) { return nt_error(h.status); }));
    check(ok, "%s -> %s", m.what, r.describe().c_str());
    if (!r.closed) {
      // Either the connection is still usable or it is closed; it must not hang.
      try {
        NtStatus s = cl.c->echo();
        check(s == NtStatus::SUCCESS, "%s: the connection still answers ECHO (%s)", m.what,
              st(s).c_str());
      } catch (const std::exception& e) {
        say("note: %s: connection unusable afterwards (%s)", m.what, e.what());
      }
    }
  }
  // NEGOTIATE variants on fresh connections.
  auto negotiate_case = [&](const char* what, std::function<void(Bytes&)> mutate) {
    auto c = Connection::open(o.host, o.port, default_options());
    NegotiateRequest nq;
    nq.dialects = {0x0202, 0x0210, 0x0300, 0x0302};
    nq.security_mode = 1;
    nq.client_guid[0] = 1;
    Call call;
    call.command = Command::NEGOTIATE;
    call.body = encode_body(nq);
    Bytes m = c->build(call);
    mutate(m);
    Raw r = exchange(*c, m);
    bool ok = r.closed || (!r.headers.empty() && nt_error(r.status()));
    check(ok, "%s -> %s", what, r.describe().c_str());
  };
  negotiate_case("NEGOTIATE DialectCount 0", [](Bytes& m) { store_le16(&m[66], 0); });
  negotiate_case("NEGOTIATE DialectCount 0xFFFF", [](Bytes& m) { store_le16(&m[66], 0xFFFF); });
  negotiate_case("NEGOTIATE without dialects (truncated)", [](Bytes& m) { m.resize(100); });
  negotiate_case("NEGOTIATE offering only unknown dialects", [](Bytes& m) {
    for (std::size_t i = 100; i + 1 < m.size(); i += 2) store_le16(&m[i], 0x0999);
  });
  // 3.1.1 with a context offset and count pointing outside.
  {
    auto c = Connection::open(o.host, o.port, default_options());
    NegotiateRequest nq;
    nq.dialects = {0x0311};
    nq.security_mode = 1;
    nq.client_guid[0] = 2;
    Call call;
    call.command = Command::NEGOTIATE;
    call.body = encode_body(nq);
    Bytes m = c->build(call);
    store_le32(&m[92], 0xFFFFFFF0);
    store_le16(&m[96], 0xFFFF);
    Raw r = exchange(*c, m);
    check(r.closed || (!r.headers.empty() && nt_error(r.status())),
          "NEGOTIATE 3.1.1 with NegotiateContextOffset outside -> %s", r.describe().c_str());
  }
  alive(o, "malformed PDUs");
  return 0;
}

// LOGOFF and TREE_DISCONNECT in the middle of a compound: what follows must not run on
// the session or tree being torn down, and nothing it opened may stay open.
int case_compound_teardown(const Opts& o) {
  struct Variant {
    const char* what;
    Command teardown;
    NtStatus expected;
  };
  for (Variant v : {Variant{"LOGOFF", Command::LOGOFF, NtStatus::USER_SESSION_DELETED},
                    Variant{"TREE_DISCONNECT", Command::TREE_DISCONNECT, NtStatus::NETWORK_NAME_DELETED}}) {
    Client cl = login(o);
    std::string name = std::string("after-") + (v.teardown == Command::LOGOFF ? "logoff" : "tdis");
    Bytes first = v.teardown == Command::LOGOFF
                      ? cl.c->build(make_call(Command::LOGOFF, cl.tree, LogoffRequest{}))
                      : cl.c->build(make_call(Command::TREE_DISCONNECT, cl.tree, TreeDisconnectRequest{}));
    Tree related{~0ull, 0xFFFFFFFFu, 0, 0, false};
    Call c2 = make_call(Command::CREATE, related,
                        create_request(name, CreateDisposition::FILE_OPEN_IF));
    c2.extra_flags = kFlagRelatedOperations;
    Bytes second = cl.c->build(c2);
    // And an unrelated CREATE naming the session and tree explicitly.
    Bytes third = cl.c->build(make_call(Command::CREATE, cl.tree,
                                        create_request(name + "-2", CreateDisposition::FILE_OPEN_IF)));
    Raw r = exchange(*cl.c, compound({first, second, third}));
    check(r.headers.size() == 3, "%s compound answered for every element (%s)", v.what,
          r.describe().c_str());
    if (r.headers.size() == 3) {
      check(r.headers[0].status == NtStatus::SUCCESS, "%s itself succeeds", v.what);
      check(r.headers[1].status == v.expected,
            "related CREATE after %s in the compound -> %s (expected %s)", v.what,
            st(r.headers[1].status).c_str(), st(v.expected).c_str());
      check(r.headers[2].status == v.expected,
            "CREATE naming the old ids after %s in the compound -> %s (expected %s)", v.what,
            st(r.headers[2].status).c_str(), st(v.expected).c_str());
    }
    for (const std::string& n : {name, name + "-2"}) {
      const std::string path = o.share_path + "/" + n;
      bool released = wait_for([&] { return holders_of(o.master, path).empty(); },
                               std::chrono::seconds(10));
      check(released, "no server process holds %s open after the %s compound (%zu do)",
            n.c_str(), v.what, holders_of(o.master, path).size());
    }
    // The connection itself stays usable.
    try {
      auth::ClientCredentials cred{o.user, "", o.password, std::nullopt, ""};
      std::uint64_t s = cl.c->session_setup(cred);
      Tree t = cl.c->tree_connect(s, unc(o, o.share));
      check(cl.c->echo() == NtStatus::SUCCESS && t.tree_id != 0,
            "a new session on the same connection works after the %s compound", v.what);
    } catch (const std::exception& e) {
      check(false, "a new session after the %s compound: %s", v.what, e.what());
    }
    ::unlink((o.share_path + "/" + name).c_str());
    ::unlink((o.share_path + "/" + name + "-2").c_str());
  }
  alive(o, "teardown in a compound");
  return 0;
}

// LOGOFF / TREE_DISCONNECT / disconnect while writes are outstanding.
int case_teardown_with_io(const Opts& o) {
  for (int variant = 0; variant < 3; ++variant) {
    const char* what = variant == 0 ? "LOGOFF" : variant == 1 ? "TREE_DISCONNECT" : "disconnect";
    Client cl = login(o);
    std::string name = std::string("io-") + what + ".bin";
    FileId f;
    open_rw(cl, name, f);
    Bytes data = pattern(1 << 20, 3);
    int completed = 0, submitted = 0;
    std::map<std::string, int> statuses;
    for (int i = 0; i < 48; ++i) {
      ++submitted;
      cl.c->write_async(cl.tree, f, static_cast<std::uint64_t>(i) << 20, data,
                        [&](NtStatus s, std::uint32_t) {
                          ++completed;
                          statuses[st(s)]++;
                        });
    }
    // Let some writes reach the server, then tear down with the rest outstanding.
    cl.c->poll(20);
    bool teardown_done = false;
    NtStatus teardown_status = NtStatus::SUCCESS;
    if (variant == 2) {
      cl.c->disconnect();
      teardown_done = true;
    } else {
      Call call = variant == 0 ? make_call(Command::LOGOFF, cl.tree, LogoffRequest{})
                               : make_call(Command::TREE_DISCONNECT, cl.tree, TreeDisconnectRequest{});
      cl.c->submit(std::move(call), [&](const client::Response& r) {
        teardown_status = r.status();
        teardown_done = true;
      });
      try {
        cl.c->wait_until([&] { return teardown_done && completed == submitted; });
      } catch (const std::exception& e) {
        check(false, "%s with writes outstanding: every request completes (%d/%d): %s", what,
              completed, submitted, e.what());
      }
      std::string summary;
      for (auto& [k, n] : statuses) summary += k + "x" + std::to_string(n) + " ";
      check(teardown_done && completed == submitted,
            "%s with writes outstanding: %s %s; writes %s", what,
            teardown_done ? "answered" : "unanswered", st(teardown_status).c_str(), summary.c_str());
      check(teardown_status == NtStatus::SUCCESS, "%s succeeds with I/O in flight", what);
      check(cl.c->echo() == NtStatus::SUCCESS, "the connection answers after %s", what);
    }
    // Nothing holds the file once the I/O drained.
    const std::string path = o.share_path + "/" + name;
    bool released = wait_for([&] { return holders_of(o.master, path).empty(); },
                             std::chrono::seconds(10));
    check(released, "no server process holds %s after %s with I/O in flight", name.c_str(), what);
    ::unlink((o.share_path + "/" + name).c_str());
  }
  alive(o, "teardown with outstanding I/O");
  return 0;
}

// Credits: huge requests, ids outside the window, charges beyond what was granted.
int case_credits(const Opts& o) {
  const long max_credits = o.num("max_credits", 8192);
  {
    Client cl = login(o);
    std::uint64_t granted = 0;
    for (int i = 0; i < 40; ++i) {
      Bytes m = cl.c->build(make_call(Command::ECHO, cl.tree, EchoRequest{}));
      store_le16(&m[H_CREDIT_REQUEST], 0xFFFF);
      Raw r = exchange(*cl.c, m);
      if (r.headers.empty()) {
        check(false, "ECHO asking for 65535 credits -> %s", r.describe().c_str());
        break;
      }
      granted += r.headers[0].credit_request_response;
    }
    long held = static_cast<long>(cl.c->credits().available() + cl.c->credits().in_flight());
    check(held <= max_credits, "asking for 65535 credits 40 times: the client holds %ld (limit %ld)",
          held, max_credits);
    // Spend them all at once: 'held' ECHOs are legal and all must be answered.
    std::size_t n = static_cast<std::size_t>(std::min<long>(held, 2000));
    int answered = 0;
    for (std::size_t i = 0; i < n; ++i)
      cl.c->echo_async([&](NtStatus s) { answered += s == NtStatus::SUCCESS; });
    try {
      cl.c->wait_until([&] { return cl.c->outstanding() == 0; });
    } catch (const std::exception& e) {
      say("note: %s", e.what());
    }
    check(answered == static_cast<int>(n), "%zu ECHOs using every credit held: %d answered", n,
          answered);
    // Asking for none, again and again: the server never leaves the client without one.
    bool starved = false;
    for (int i = 0; i < 50 && !starved; ++i) {
      Bytes m = cl.c->build(make_call(Command::ECHO, cl.tree, EchoRequest{}));
      store_le16(&m[H_CREDIT_REQUEST], 0);
      Raw r = exchange(*cl.c, m);
      if (r.headers.empty()) starved = true;
    }
    check(!starved && cl.c->echo() == NtStatus::SUCCESS,
          "requests asking for 0 credits: the client keeps at least one");
  }
  struct Bad {
    const char* what;
    std::function<void(Client&, Bytes&)> mutate;
  };
  std::vector<Bad> bad{
      {"message id far beyond the window",
       [](Client&, Bytes& m) { store_le64(&m[H_MESSAGE_ID], load_le64(&m[H_MESSAGE_ID]) + 1000000); }},
      {"message id reused (0, the NEGOTIATE's)", [](Client&, Bytes& m) { store_le64(&m[H_MESSAGE_ID], 0); }},
      {"message id 0xFFFFFFFFFFFFFFFF", [](Client&, Bytes& m) { store_le64(&m[H_MESSAGE_ID], ~0ull); }},
      {"CreditCharge 0xFFFF", [](Client&, Bytes& m) { store_le16(&m[H_CREDIT_CHARGE], 0xFFFF); }},
  };
  for (auto& b : bad) {
    Client cl = login(o);
    Bytes m = cl.c->build(make_call(Command::ECHO, cl.tree, EchoRequest{}));
    b.mutate(cl, m);
    Raw r = exchange(*cl.c, m);
    refused(r, b.what);
  }
  // A READ charging 1 credit for 1 MiB (MS-SMB2 3.3.5.2.5).
  {
    Client cl = login(o);
    FileId f;
    open_rw(cl, "credits.bin", f);
    cl.c->write(cl.tree, f, 0, pattern(1 << 20, 1));
    ReadRequest rq;
    rq.length = 1 << 20;
    rq.file_id = f;
    Bytes m = cl.c->build(make_call(Command::READ, cl.tree, rq));
    store_le16(&m[H_CREDIT_CHARGE], 1);
    Raw r = exchange(*cl.c, m);
    refused(r, "READ of 1 MiB charging one credit");
  }
  alive(o, "credit abuse");
  return 0;
}

// A client that sends READs and never reads the answers: the server must not buffer
// without bound.
int case_read_flood(const Opts& o) {
  const long max_credits = o.num("max_credits", 512);
  const long limit_mib = o.num("rss_limit_mib", 256);
  auto before = children_of(o.master);
  client::Options opt = default_options();
  opt.target_credits = static_cast<std::uint32_t>(max_credits);
  opt.timeout = std::chrono::milliseconds(3000);
  Client cl = login(o, opt);
  pid_t worker = 0;
  for (pid_t p : children_of(o.master))
    if (!before.count(p)) worker = p;
  FileId f;
  open_rw(cl, "flood.bin", f);
  cl.c->write(cl.tree, f, 0, pattern(1 << 20, 9));
  for (int i = 0; i < 20 && cl.c->credits().available() < static_cast<std::uint32_t>(max_credits) - 16; ++i)
    cl.c->echo();
  std::uint64_t id = cl.c->credits().next_message_id();
  std::uint32_t avail = cl.c->credits().available();
  ReadRequest rq;
  rq.length = 1 << 20;
  rq.file_id = f;
  Bytes tmpl = cl.c->build(make_call(Command::READ, cl.tree, rq));
  long rss0 = rss_kib(worker), peak = rss0;
  std::uint64_t sent_mib = 0;
  bool backpressure = false, closed = false;
  // The flood ends when the server pushes back or closes, or once it has been asked for
  // four times the memory limit in READs: as much work on a slow machine as on a fast
  // one. The deadline only ends a flood that makes no headway.
  const std::uint64_t budget_mib = static_cast<std::uint64_t>(limit_mib) * 4;
  auto deadline = Clock::now() + std::chrono::seconds(o.num("seconds", 120));
  while (Clock::now() < deadline && !backpressure && !closed && sent_mib < budget_mib) {
    for (std::uint32_t k = 0; k + 16 <= avail; k += 16) {
      Bytes m = tmpl;
      store_le64(&m[H_MESSAGE_ID], id);
      store_le16(&m[H_CREDIT_CHARGE], 16);
      store_le16(&m[H_CREDIT_REQUEST], 16);
      id += 16;
      try {
        cl.c->send_raw(m);
        ++sent_mib;
      } catch (const client::Error& e) {
        if (e.status() == NtStatus::CANCELLED) backpressure = true;
        else closed = true;
        break;
      }
    }
    // Gives the worker time to take in what was sent before its memory is sampled.
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    long r = rss_kib(worker);
    if (r < 0) {
      closed = true;
      break;
    }
    peak = std::max(peak, r);
    if (peak > limit_mib * 2048) break;  // far past the limit: stop before hurting the host
  }
  const bool ended = backpressure || closed || sent_mib >= budget_mib || peak > limit_mib * 2048;
  say("read flood: %llu MiB requested, worker %d RSS %ld -> peak %ld KiB, %s",
      static_cast<unsigned long long>(sent_mib), worker, rss0, peak,
      backpressure ? "server stopped reading (back-pressure)"
      : closed     ? "connection closed"
      : ended      ? "the whole flood was sent"
                   : "deadline");
  check(ended, "the flood ran to its end (back-pressure, a close or %llu MiB of READs sent)",
        static_cast<unsigned long long>(budget_mib));
  check(peak - rss0 < limit_mib * 1024,
        "a client that never reads its answers: worker memory grows by %ld MiB (limit %ld MiB; "
        "%llu MiB of READs sent)",
        (peak - rss0) / 1024, limit_mib, static_cast<unsigned long long>(sent_mib));
  cl.c->disconnect();
  alive(o, "read flood");
  return 0;
}

// Output buffer lengths far beyond the negotiated limits.
int case_huge_output(const Opts& o) {
  Client cl = login(o);
  FileId f;
  open_rw(cl, "huge.bin", f);
  cl.c->write(cl.tree, f, 0, pattern(1000, 2));
  {
    QueryInfoRequest q;
    q.file_info_class = 18;  // FileAllInformation
    q.output_buffer_length = 0xFFFFFFFF;
    q.file_id = f;
    Raw r = exchange(*cl.c, cl.c->build(make_call(Command::QUERY_INFO, cl.tree, q)));
    refused(r, "QUERY_INFO OutputBufferLength 0xFFFFFFFF");
  }
  {
    FileId d;
    cl.c->open(cl.tree, "", acc::GENERIC_READ, CreateDisposition::FILE_OPEN, 1, d);
    QueryDirectoryRequest q;
    q.file_information_class = 37;
    q.file_name = "*";
    q.output_buffer_length = 0xFFFFFFFF;
    q.file_id = d;
    Raw r = exchange(*cl.c, cl.c->build(make_call(Command::QUERY_DIRECTORY, cl.tree, q)));
    refused(r, "QUERY_DIRECTORY OutputBufferLength 0xFFFFFFFF");
    cl.c->close(cl.tree, d);
  }
  {
    IoctlRequest q;
    q.ctl_code = 0x00140204;
    q.file_id = FileId{~0ull, ~0ull};
    q.input = Bytes(24 + 2, 0);
    q.max_output_response = 0xFFFFFFFF;
    Raw r = exchange(*cl.c, cl.c->build(make_call(Command::IOCTL, cl.tree, q)));
    refused(r, "IOCTL MaxOutputResponse 0xFFFFFFFF");
  }
  {
    ReadRequest rq;
    rq.length = 0xFFFFFFFF;
    rq.file_id = f;
    Raw r = exchange(*cl.c, cl.c->build(make_call(Command::READ, cl.tree, rq)));
    refused(r, "READ Length 0xFFFFFFFF");
  }
  try {
    check(cl.c->echo() == NtStatus::SUCCESS, "the connection still answers");
  } catch (const std::exception& e) {
    check(false, "the connection still answers: %s", e.what());
  }
  alive(o, "huge output lengths");
  return 0;
}

// Connection attempts in a burst; max connections holds and nothing is left behind.
int case_conn_burst(const Opts& o) {
  const long total = o.num("count", 10000);
  const int threads = 8;
  std::atomic<long> next{0}, accepted{0}, refused_n{0}, failed{0};
  auto deadline = Clock::now() + std::chrono::seconds(o.num("seconds", 120));
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&] {
      sockaddr_in sa{};
      sa.sin_family = AF_INET;
      sa.sin_port = htons(o.port);
      ::inet_pton(AF_INET, o.host.c_str(), &sa.sin_addr);
      while (next++ < total && Clock::now() < deadline) {
        int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) {
          ++failed;
          ::close(fd);
          continue;
        }
        // A refused connection is closed at once by the master; an accepted one waits.
        pollfd p{fd, POLLIN, 0};
        char c;
        if (::poll(&p, 1, 50) > 0 && ::recv(fd, &c, 1, MSG_DONTWAIT) <= 0) ++refused_n;
        else ++accepted;
        linger l{1, 0};  // RST: no TIME_WAIT pile-up on the client side
        ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
        ::close(fd);
      }
    });
  }
  for (auto& t : pool) t.join();
  long attempts = accepted + refused_n + failed;
  say("burst: %ld attempts (%ld not closed within 50 ms, %ld closed at once), %ld connect failures",
      attempts, accepted.load(), refused_n.load(), failed.load());
  check(attempts >= total, "%ld of %ld connection attempts made in time", attempts, total);
  check(failed == 0, "no connect() failed (%ld did)", failed.load());
  alive(o, "connection burst");
  return 0;
}

// Many idle connections: at most `max connections` get a worker; the setup timeout ends
// them.
int case_idle_conns(const Opts& o) {
  const long count = o.num("count", 1000);
  const long maxc = o.num("max_connections", 100);
  const long setup = o.num("setup_timeout", 3);
  std::vector<int> fds;
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(o.port);
  ::inet_pton(AF_INET, o.host.c_str(), &sa.sin_addr);
  auto t0 = Clock::now();
  for (long i = 0; i < count; ++i) {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0) fds.push_back(fd);
    else ::close(fd);
  }
  check(static_cast<long>(fds.size()) == count, "%zu of %ld connects succeeded", fds.size(), count);
  // Every connection ends: refused at once or closed by the setup timeout.
  std::vector<bool> done(fds.size(), false);
  std::size_t left = fds.size();
  double last_close = 0;
  auto poll_closed = [&] {
    for (std::size_t i = 0; i < fds.size(); ++i) {
      if (done[i]) continue;
      char c;
      ssize_t n = ::recv(fds[i], &c, 1, MSG_DONTWAIT);
      if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)) {
        done[i] = true;
        --left;
        last_close = std::chrono::duration<double>(Clock::now() - t0).count();
      }
    }
  };
  // The master has dealt with the whole burst once each connection is either refused
  // (closed) or has a worker; the well-behaved client's worker is the one more. The setup
  // timeout is long enough (run.py) that no served connection has ended yet: the count of
  // workers then is the number the master let in.
  long workers = 0;
  bool settled = wait_for(
      [&] {
        poll_closed();
        workers = static_cast<long>(children_of(o.master).size());
        return static_cast<long>(fds.size() - left) + workers - 1 >= count;
      },
      std::chrono::seconds(setup));
  say("idle: %zu connections, %ld closed at once (refused), %ld workers", fds.size(),
      static_cast<long>(fds.size() - left), workers);
  check(settled, "the master took or refused every connection of the burst");
  check(workers <= maxc, "%ld workers for %ld idle connections (max connections %ld)", workers,
        count, maxc);
  // The deadline only ends the wait when the server never closes some connection.
  bool all_closed = wait_for(
      [&] {
        poll_closed();
        return left == 0;
      },
      std::chrono::seconds(setup + 120));
  check(all_closed, "every idle connection was closed by the server (%zu still open; the last "
        "close after %.1fs)", left, last_close);
  for (int fd : fds) ::close(fd);
  alive(o, "idle connections");
  return 0;
}

// Connections that stop after NEGOTIATE or after SESSION_SETUP are closed by the
// timeouts.
int case_idle_timeouts(const Opts& o) {
  const long setup = o.num("setup_timeout", 3);
  const long idle = o.num("idle_timeout", 0);
  // Whether the server has closed `c`; a closed connection stays closed. (receive_raw
  // reads what is there, the end of the stream included, only when some of its timeout is
  // left once it looks.)
  auto closed = [](Connection& c) {
    if (!c.connected()) return true;
    try {
      (void)c.receive_raw(10);
      return !c.connected();
    } catch (const client::Error&) {
      return true;
    }
  };
  // Opened together: a connection that stops after NEGOTIATE, one that stops after
  // NEGOTIATE and an ECHO (still no session), one that keeps sending ECHOs without a
  // session, one with an anonymous session that keeps sending ECHOs, and, with an idle
  // timeout longer than the setup timeout, an idle session.
  const auto opened = Clock::now();
  auto negotiated = Connection::connect(o.host, o.port, default_options());
  auto echoed = Connection::connect(o.host, o.port, default_options());
  echoed->echo();
  auto pinging = Connection::connect(o.host, o.port, default_options());
  auto anonymous = Connection::connect(o.host, o.port, default_options());
  anonymous->session_setup(auth::ClientCredentials{});
  std::optional<Client> session;
  if (idle > 0) session = login(o);
  bool negotiated_closed = false, echoed_closed = false, session_closed = false;
  bool pinging_closed = false, anonymous_closed = false;
  double pinging_after = 0, anonymous_after = 0;
  auto last_ping = Clock::now();
  // An ECHO every 500 ms on the connections that keep talking; a failed ECHO is a close.
  auto keep_talking = [&](Connection& c, bool& was_closed, double& after) {
    if (was_closed) return;
    bool gone = closed(c);
    if (!gone) {
      try {
        gone = c.echo() != NtStatus::SUCCESS;
      } catch (const client::Error&) {
        gone = true;
      }
    }
    if (gone) {
      was_closed = true;
      after = std::chrono::duration<double>(Clock::now() - opened).count();
    }
  };
  auto poll = [&] {
    negotiated_closed = negotiated_closed || closed(*negotiated);
    echoed_closed = echoed_closed || closed(*echoed);
    if (session) session_closed = session_closed || closed(*session->c);
    if (Clock::now() - last_ping >= std::chrono::milliseconds(500)) {
      last_ping = Clock::now();
      keep_talking(*pinging, pinging_closed, pinging_after);
      keep_talking(*anonymous, anonymous_closed, anonymous_after);
    }
  };
  // The deadlines only end waits for a close that never comes.
  wait_for(
      [&] {
        poll();
        return negotiated_closed && echoed_closed && pinging_closed && anonymous_closed;
      },
      std::chrono::seconds(setup + 30));
  check(negotiated_closed, "a connection that stops after NEGOTIATE is closed (setup timeout "
        "%lds%s)", setup, idle ? "" : ", idle timeout unset");
  check(echoed_closed, "a connection that stops after NEGOTIATE and one ECHO, without a "
        "session, is closed (setup timeout %lds%s)", setup, idle ? "" : ", idle timeout unset");
  // Measured from the connect: the setup timeout, and a margin for the checks' pace.
  const double bound = static_cast<double>(setup) + 5;
  check(pinging_closed && pinging_after <= bound,
        "a connection sending an ECHO every 500 ms without a session is closed by the setup "
        "timeout (%s after %.1fs; bound %.0fs)",
        pinging_closed ? "closed" : "still open", pinging_after, bound);
  check(anonymous_closed && anonymous_after <= bound,
        "an anonymous session sending an ECHO every 500 ms is closed by the setup timeout (%s "
        "after %.1fs; bound %.0fs)",
        anonymous_closed ? "closed" : "still open", anonymous_after, bound);
  if (session) {
    // The session must outlive the setup timeout: it ends by the idle timeout alone.
    check(!session_closed, "an idle session is still open when the setup timeout (%lds) has "
          "closed the connections without one (idle timeout %lds)", setup, idle);
    wait_for(
        [&] {
          poll();
          return session_closed;
        },
        std::chrono::seconds(idle + 30));
    check(session_closed, "an idle session is closed by the idle timeout (%lds)", idle);
  }
  alive(o, "idle timeouts");
  return 0;
}

// One byte per second.
int case_slow_client(const Opts& o) {
  const long setup = o.num("setup_timeout", 3);
  const long idle = o.num("idle_timeout", 4);
  auto trickle = [&](Connection& c, const Bytes& m, long limit_s, const char* what) {
    Bytes framed{0, static_cast<std::uint8_t>(m.size() >> 16), static_cast<std::uint8_t>(m.size() >> 8),
                 static_cast<std::uint8_t>(m.size())};
    framed.insert(framed.end(), m.begin(), m.end());
    auto t0 = Clock::now();
    std::size_t sent = 0;
    bool closed = false;
    while (sent < framed.size()) {
      try {
        c.send_raw(ByteSpan(&framed[sent], 1), true);
        ++sent;
        auto r = c.receive_raw(1000);
        if (r) break;  // answered: the message was complete
      } catch (const client::Error&) {
        closed = true;
        break;
      }
      // Only ends a trickle the server never cuts off; the message takes far longer.
      if (std::chrono::duration<double>(Clock::now() - t0).count() > limit_s + 30) break;
    }
    double t = std::chrono::duration<double>(Clock::now() - t0).count();
    // The server must close the connection before the message is complete: at one byte
    // per second the message takes much longer than the timeout.
    check(closed && sent < framed.size(),
          "%s at one byte per second is cut off: %s after %.1fs having sent %zu of %zu bytes "
          "(timeout %lds)",
          what, closed ? "closed" : "not closed", t, sent, framed.size(), limit_s);
  };
  {
    auto c = Connection::open(o.host, o.port, default_options());
    NegotiateRequest nq;
    nq.dialects = {0x0202, 0x0210, 0x0300, 0x0302};
    nq.security_mode = 1;
    Call call;
    call.command = Command::NEGOTIATE;
    call.body = encode_body(nq);
    trickle(*c, c->build(call), setup, "NEGOTIATE");
  }
  {
    Client cl = login(o);
    FileId f;
    open_rw(cl, "slow.bin", f);
    cl.c->close(cl.tree, f);
    Bytes m = cl.c->build(make_call(Command::CREATE, cl.tree,
                                    create_request("slow.bin", CreateDisposition::FILE_OPEN)));
    trickle(*cl.c, m, idle, "CREATE in a session");
  }
  // Announcing an 8 MiB message and sending nothing more must not commit 8 MiB: compare
  // workers that got such a prefix with workers that got a 100-byte one.
  {
    auto group_rss = [&](std::uint8_t b1, std::uint8_t b2, std::uint8_t b3) {
      auto before = children_of(o.master);
      sockaddr_in sa{};
      sa.sin_family = AF_INET;
      sa.sin_port = htons(o.port);
      ::inet_pton(AF_INET, o.host.c_str(), &sa.sin_addr);
      std::vector<int> fds;
      for (int i = 0; i < 4; ++i) {
        int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) {
          check(false, "connect for the length-prefix test: %s", std::strerror(errno));
          ::close(fd);
          continue;
        }
        const std::uint8_t prefix[4] = {0, b1, b2, b3};
        if (::send(fd, prefix, sizeof prefix, MSG_NOSIGNAL) != 4) check(false, "send the prefix");
        fds.push_back(fd);
      }
      // Measured once the server has read each prefix (nothing left unread on its side of
      // the connection, or the connection gone) and every new worker has gone back to
      // waiting for events, so whatever reading the prefix made it allocate is in its RSS.
      auto new_workers = [&] {
        std::vector<pid_t> out;
        for (pid_t p : children_of(o.master))
          if (!before.count(p)) out.push_back(p);
        return out;
      };
      bool settled = wait_for(
          [&] {
            for (int fd : fds)
              if (server_unread(o.port, local_port(fd)) > 0) return false;
            auto workers = new_workers();
            return std::all_of(workers.begin(), workers.end(), waiting_for_events);
          },
          std::chrono::seconds(30));
      check(settled, "the server read the 4 length prefixes and its workers wait for more");
      long worst = 0;
      for (pid_t p : new_workers()) worst = std::max(worst, rss_kib(p));
      for (int fd : fds) ::close(fd);
      return worst;
    };
    long small = group_rss(0, 0, 100);
    long large = group_rss(0x80, 0, 0);
    say("RSS of a worker after a 4-byte prefix announcing 100 B: %ld KiB, 8 MiB: %ld KiB", small,
        large);
    check(large - small < 2048,
          "a 4-byte length prefix announcing 8 MiB commits %ld KiB more than one announcing "
          "100 bytes (limit 2048 KiB)",
          large - small);
  }
  alive(o, "slow clients");
  return 0;
}

// server signing = mandatory: unsigned or badly signed requests are refused and do nothing.
int case_signing_required(const Opts& o) {
  client::Options opt = default_options();
  opt.sign = true;
  Client cl = login(o, opt);
  check(cl.c->session_signs(cl.sid), "the session signs");
  FileId f;
  check(open_rw(cl, "signed.bin", f) == NtStatus::SUCCESS, "signed CREATE works");
  Bytes data = pattern(4096, 11);
  cl.c->write(cl.tree, f, 0, data);

  CreateRequest cq = create_request("unsigned-created", CreateDisposition::FILE_CREATE);
  Raw r = exchange(*cl.c, plain_message(*cl.c, make_call(Command::CREATE, cl.tree, cq), cl.sid,
                                        cl.tree.tree_id));
  check(r.status() == NtStatus::ACCESS_DENIED || r.closed, "unsigned CREATE -> %s",
        r.describe().c_str());
  check(!file_exists(o.share_path + "/unsigned-created"), "the unsigned CREATE created nothing");

  WriteRequest wq;
  wq.file_id = f;
  Bytes junk(4096, 0xEE);
  wq.data_length = static_cast<std::uint32_t>(junk.size());
  Call wc = make_call(Command::WRITE, cl.tree, wq);
  wc.body.insert(wc.body.end(), junk.begin(), junk.end());
  r = exchange(*cl.c, plain_message(*cl.c, wc, cl.sid, cl.tree.tree_id));
  check(r.status() == NtStatus::ACCESS_DENIED || r.closed, "unsigned WRITE -> %s", r.describe().c_str());

  ReadRequest rq;
  rq.length = 4096;
  rq.file_id = f;
  r = exchange(*cl.c, plain_message(*cl.c, make_call(Command::READ, cl.tree, rq), cl.sid,
                                    cl.tree.tree_id));
  check(r.status() == NtStatus::ACCESS_DENIED || r.closed, "unsigned READ -> %s", r.describe().c_str());

  // Signed, then one byte of the body changed.
  Bytes m = cl.c->build(make_call(Command::READ, cl.tree, rq));
  m[m.size() - 1] ^= 0x01;
  r = exchange(*cl.c, m);
  check(r.status() == NtStatus::ACCESS_DENIED || r.closed, "READ with a bad signature -> %s",
        r.describe().c_str());
  // Signed, signature zeroed, flag kept.
  m = cl.c->build(make_call(Command::CREATE, cl.tree, cq));
  std::memset(&m[H_SIGNATURE], 0, 16);
  r = exchange(*cl.c, m);
  check(r.status() == NtStatus::ACCESS_DENIED || r.closed, "CREATE with a zero signature -> %s",
        r.describe().c_str());
  check(!file_exists(o.share_path + "/unsigned-created"), "the badly signed CREATE created nothing");
  // Unsigned LOGOFF and TREE_DISCONNECT do not end the session.
  r = exchange(*cl.c, plain_message(*cl.c, make_call(Command::TREE_DISCONNECT, cl.tree,
                                                     TreeDisconnectRequest{}),
                                    cl.sid, cl.tree.tree_id));
  check(r.status() == NtStatus::ACCESS_DENIED || r.closed, "unsigned TREE_DISCONNECT -> %s",
        r.describe().c_str());
  r = exchange(*cl.c, plain_message(*cl.c, make_call(Command::LOGOFF, cl.tree, LogoffRequest{}),
                                    cl.sid, 0));
  check(r.status() == NtStatus::ACCESS_DENIED || r.closed, "unsigned LOGOFF -> %s", r.describe().c_str());
  if (cl.c->connected()) {
    Bytes back;
    NtStatus s = cl.c->read(cl.tree, f, 0, 4096, back);
    check(s == NtStatus::SUCCESS && back == data, "the session and its data are intact: %s",
          st(s).c_str());
    cl.c->set_delete_on_close(cl.tree, f, true);
    cl.c->close(cl.tree, f);
  }
  // A client that does not ask for signing still gets signed sessions.
  {
    Client plain = login(o);
    check(plain.c->session_signs(plain.sid), "a client not asking for signing signs anyway");
  }
  alive(o, "unsigned requests");
  return 0;
}

// smb encrypt = required: plain requests are refused and do nothing.
int case_encryption_required(const Opts& o) {
  Client cl = login(o);
  check(cl.c->session_encrypts(cl.sid), "the session encrypts");
  FileId f;
  check(open_rw(cl, "enc.bin", f) == NtStatus::SUCCESS, "encrypted CREATE works");
  Bytes data = pattern(4096, 21);
  cl.c->write(cl.tree, f, 0, data);

  CreateRequest cq = create_request("plain-created", CreateDisposition::FILE_CREATE);
  Raw r = exchange(*cl.c, plain_message(*cl.c, make_call(Command::CREATE, cl.tree, cq), cl.sid,
                                        cl.tree.tree_id));
  check(r.closed || r.encrypted || r.status() == NtStatus::ACCESS_DENIED, "plain CREATE -> %s",
        r.describe().c_str());
  // The answer, or the close, comes once the worker has dealt with the request.
  check(!file_exists(o.share_path + "/plain-created"), "the plain CREATE created nothing");

  WriteRequest wq;
  wq.file_id = f;
  Bytes junk(4096, 0xEE);
  wq.data_length = static_cast<std::uint32_t>(junk.size());
  Call wc = make_call(Command::WRITE, cl.tree, wq);
  wc.body.insert(wc.body.end(), junk.begin(), junk.end());
  if (cl.c->connected()) {
    r = exchange(*cl.c, plain_message(*cl.c, wc, cl.sid, cl.tree.tree_id));
    check(r.closed || r.encrypted || r.status() == NtStatus::ACCESS_DENIED, "plain WRITE -> %s",
          r.describe().c_str());
  }
  ReadRequest rq;
  rq.length = 4096;
  rq.file_id = f;
  if (cl.c->connected()) {
    r = exchange(*cl.c, plain_message(*cl.c, make_call(Command::READ, cl.tree, rq), cl.sid,
                                      cl.tree.tree_id));
    bool leaked = false;
    if (!r.headers.empty() && r.status() == NtStatus::SUCCESS) leaked = true;
    check(!leaked, "plain READ is not answered in the clear -> %s", r.describe().c_str());
  }
  if (cl.c->connected()) {
    TreeConnectRequest tq;
    tq.path = unc(o, o.share);
    r = exchange(*cl.c, plain_message(*cl.c, make_call(Command::TREE_CONNECT, cl.tree, tq), cl.sid, 0));
    check(r.closed || r.encrypted || r.status() == NtStatus::ACCESS_DENIED,
          "plain TREE_CONNECT -> %s", r.describe().c_str());
  }
  if (cl.c->connected()) {
    r = exchange(*cl.c, plain_message(*cl.c, make_call(Command::LOGOFF, cl.tree, LogoffRequest{}),
                                      cl.sid, 0));
    check(r.closed || r.encrypted || r.status() == NtStatus::ACCESS_DENIED, "plain LOGOFF -> %s",
          r.describe().c_str());
  }
  // A transform header naming the session, with garbage inside.
  {
    Client c2 = login(o);
    Bytes b(52 + 80, 0x33);
    b[0] = 0xFD, b[1] = 'S', b[2] = 'M', b[3] = 'B';
    store_le32(&b[36], 80);
    store_le16(&b[42], 1);
    store_le64(&b[44], c2.sid);
    r = exchange(*c2.c, b);
    refused(r, "transform header for the session with a forged tag");
  }
  try {
    Client again = login(o);
    FileId g;
    NtStatus s = again.c->open(again.tree, "enc.bin", acc::GENERIC_READ, CreateDisposition::FILE_OPEN, 0, g);
    Bytes back;
    if (s == NtStatus::SUCCESS) s = again.c->read(again.tree, g, 0, 4096, back);
    check(s == NtStatus::SUCCESS && back == data, "the file is unchanged by the plain WRITE: %s",
          st(s).c_str());
  } catch (const std::exception& e) {
    check(false, "reading back: %s", e.what());
  }
  // A client limited to SMB 2.1 cannot encrypt and gets no session.
  {
    client::Options old = default_options();
    old.max_dialect = 0x0210;
    try {
      Client c21 = login(o, old);
      check(false, "an SMB 2.1 client got a session and tree on an encrypt-required server");
    } catch (const client::Error& e) {
      check(e.status() == NtStatus::ACCESS_DENIED, "an SMB 2.1 client is refused: %s",
            st(e.status()).c_str());
    }
  }
  ::unlink((o.share_path + "/enc.bin").c_str());
  alive(o, "plain requests");
  return 0;
}

// Guests and users on shares they may not use.
int case_guest(const Opts& o) {
  auto try_tree = [&](const std::string& user, const std::string& pw, const std::string& share,
                      NtStatus expected, const char* what) {
    try {
      auto c = Connection::connect(o.host, o.port, default_options());
      auth::ClientCredentials cred;
      cred.user = user;
      cred.password = pw;
      std::uint64_t sid = c->session_setup(cred);
      Tree t = c->tree_connect(sid, unc(o, share));
      check(expected == NtStatus::SUCCESS, "%s: tree connect to [%s] succeeded (flags 0x%x)", what,
            share.c_str(), c->session_flags(sid));
      if (expected == NtStatus::SUCCESS && share != "IPC$") {
        FileId f;
        NtStatus s = c->open(t, "guest-probe", acc::GENERIC_READ, CreateDisposition::FILE_OPEN_IF, 0, f);
        say("note: %s: open on [%s] -> %s", what, share.c_str(), st(s).c_str());
      }
    } catch (const client::Error& e) {
      check(e.status() == expected, "%s: [%s] -> %s (expected %s)", what, share.c_str(),
            st(e.status()).c_str(), st(expected).c_str());
    }
  };
  std::string guest_share = o.arg("guest_share", "public");
  std::string restricted = o.arg("restricted_share", "restricted");
  try_tree("nosuchuser", "whatever", o.share, NtStatus::ACCESS_DENIED, "unknown user mapped to guest");
  try_tree("nosuchuser", "whatever", guest_share, NtStatus::SUCCESS, "unknown user mapped to guest");
  try_tree("", "", o.share, NtStatus::ACCESS_DENIED, "anonymous");
  try_tree(o.user, "wrong-password", o.share, NtStatus::LOGON_FAILURE, "known user, wrong password");
  try_tree(o.user, o.password, restricted, NtStatus::ACCESS_DENIED, "user not in valid users");
  try_tree("nosuchuser", "x", restricted, NtStatus::ACCESS_DENIED, "guest on a valid-users share");
  try_tree(o.user, o.password, "nosuchshare", NtStatus::BAD_NETWORK_NAME, "unknown share");
  try_tree(o.user, o.password, std::string(200, 'x'), NtStatus::BAD_NETWORK_NAME, "200-character share name");
  // A guest session cannot use a tree id of its own on the other share either.
  alive(o, "guest attempts");
  return 0;
}

// Paths that leave the share: .., absolute, symlinks, and a symlink swapped in while
// requests run.
int case_path_escape(const Opts& o) {
  std::string outside = o.base + "/outside";
  ::mkdir(outside.c_str(), 0777);
  write_local(outside + "/secret", "OUTSIDE-SECRET");
  std::string sp = o.share_path;
  ::mkdir((sp + "/inside").c_str(), 0777);
  write_local(sp + "/inside/secret", "INSIDE");
  ::symlink(outside.c_str(), (sp + "/abs_link").c_str());
  ::symlink("../outside", (sp + "/rel_link").c_str());
  ::symlink((outside + "/secret").c_str(), (sp + "/file_link").c_str());
  ::symlink("/etc", (sp + "/etc_link").c_str());
  ::symlink("loop_link", (sp + "/loop_link").c_str());

  Client cl = login(o);
  auto try_open = [&](const std::string& name, CreateDisposition d, std::uint32_t options = 0) {
    FileId f;
    NtStatus s = cl.c->open(cl.tree, name, acc::GENERIC_READ, d, options, f);
    std::string content;
    if (s == NtStatus::SUCCESS) {
      Bytes b;
      if (cl.c->read(cl.tree, f, 0, 64, b) == NtStatus::SUCCESS) content.assign(b.begin(), b.end());
      std::vector<std::string> names;
      if (options & 1) cl.c->list_directory(cl.tree, name, names);
      for (auto& n : names) content += "|" + n;
      cl.c->close(cl.tree, f);
    }
    bool escaped = content.find("OUTSIDE") != std::string::npos ||
                   content.find("secret") != std::string::npos ||
                   content.find("passwd") != std::string::npos;
    check(!escaped && s != NtStatus::SUCCESS, "open '%s' -> %s%s", name.c_str(), st(s).c_str(),
          escaped ? " and read outside the share" : "");
  };
  for (const char* n : {"..\\outside\\secret", "inside\\..\\..\\outside\\secret", "..",
                        "inside\\..\\..", "..\\..\\..\\..\\etc\\passwd", "C:\\etc\\passwd",
                        "\\\\?\\C:\\etc\\passwd", "../outside/secret", "inside/../../outside/secret",
                        "abs_link\\secret", "rel_link\\secret", "file_link", "etc_link\\passwd",
                        "loop_link", "loop_link\\x", "inside\\..\\abs_link\\secret",
                        "..\\share\\..\\outside\\secret"})
    try_open(n, CreateDisposition::FILE_OPEN);
  for (const char* n : {"abs_link", "rel_link", "etc_link"})
    try_open(n, CreateDisposition::FILE_OPEN, 1);
  {
    FileId f;
    NtStatus s = cl.c->open(cl.tree, "\\etc\\passwd", acc::GENERIC_READ, CreateDisposition::FILE_OPEN, 0, f);
    check(s != NtStatus::SUCCESS, "open '\\etc\\passwd' (leading backslash) -> %s", st(s).c_str());
  }
  // Creating through an escape.
  for (const char* n : {"..\\outside\\created1", "abs_link\\created2", "rel_link\\created3",
                        "inside\\..\\..\\outside\\created4"}) {
    FileId f;
    NtStatus s = cl.c->open(cl.tree, n, acc::GENERIC_READ | acc::GENERIC_WRITE,
                            CreateDisposition::FILE_CREATE, 0, f);
    if (s == NtStatus::SUCCESS) cl.c->close(cl.tree, f);
    check(s != NtStatus::SUCCESS, "create '%s' -> %s", n, st(s).c_str());
  }
  std::vector<std::string> leaked;
  for (const char* n : {"created1", "created2", "created3", "created4"})
    if (file_exists(outside + "/" + n)) leaked.push_back(n);
  check(leaked.empty(), "no file appeared outside the share (%zu did)", leaked.size());
  // Renaming into an escape.
  {
    FileId f;
    cl.c->open(cl.tree, "inside\\movable", acc::GENERIC_READ | acc::GENERIC_WRITE | acc::DELETE,
               CreateDisposition::FILE_OVERWRITE_IF, 0, f);
    for (const char* n : {"..\\outside\\moved", "abs_link\\moved", "\\..\\outside\\moved"}) {
      NtStatus s = cl.c->rename(cl.tree, f, n, true);
      check(s != NtStatus::SUCCESS, "rename to '%s' -> %s", n, st(s).c_str());
    }
    cl.c->close(cl.tree, f);
    check(!file_exists(outside + "/moved"), "no file was moved out of the share");
  }
  check(read_local(outside + "/secret") == "OUTSIDE-SECRET", "the outside file is unchanged");

  // The swap race: share/swap alternates between a directory and a symlink to outside.
  std::string swap = sp + "/swap", alt = sp + "/swap_alt";
  ::mkdir(swap.c_str(), 0777);
  write_local(swap + "/secret", "INSIDE");
  ::symlink(outside.c_str(), alt.c_str());
  std::atomic<bool> stop{false};
  std::atomic<long> swaps{0};
  std::thread swapper([&] {
    while (!stop) {
      if (::renameat2(AT_FDCWD, swap.c_str(), AT_FDCWD, alt.c_str(), RENAME_EXCHANGE) == 0) ++swaps;
    }
  });
  long opens = 0, escapes = 0, creates_out = 0, attempts = 0;
  // A fixed number of attempts, as many on a slow machine as on a fast one; the deadline
  // only ends a race that makes no headway.
  const long race_attempts = o.num("race_attempts", 2000);
  auto end = Clock::now() + std::chrono::seconds(300);
  while (attempts < race_attempts && Clock::now() < end) {
    ++attempts;
    FileId f;
    NtStatus s = cl.c->open(cl.tree, "swap\\secret", acc::GENERIC_READ | acc::GENERIC_WRITE,
                            CreateDisposition::FILE_OPEN, 0, f);
    if (s == NtStatus::SUCCESS) {
      ++opens;
      Bytes b;
      cl.c->read(cl.tree, f, 0, 64, b);
      if (std::string(b.begin(), b.end()).find("OUTSIDE") != std::string::npos) ++escapes;
      cl.c->close(cl.tree, f);
    }
    std::string created = "swap\\race-" + std::to_string(attempts);
    s = cl.c->open(cl.tree, created, acc::GENERIC_WRITE, CreateDisposition::FILE_CREATE, 0, f);
    if (s == NtStatus::SUCCESS) cl.c->close(cl.tree, f);
  }
  stop = true;
  swapper.join();
  DIR* d = ::opendir(outside.c_str());
  while (dirent* e = d ? ::readdir(d) : nullptr)
    if (std::strncmp(e->d_name, "race-", 5) == 0) ++creates_out;
  if (d) ::closedir(d);
  say("swap race: %ld attempts, %ld swaps, %ld opens of swap\\secret", attempts, swaps.load(), opens);
  check(escapes == 0, "symlink swapped during opens: %ld of %ld opens read the outside file",
        escapes, opens);
  check(creates_out == 0, "symlink swapped during creates: %ld files created outside the share",
        creates_out);
  check(attempts >= race_attempts, "the race ran %ld of %ld attempts", attempts, race_attempts);
  check(opens > 0, "the race ran (some opens of the real directory succeeded)");
  alive(o, "path escapes");
  return 0;
}

// SIGKILL of the worker of a writing client.
int case_kill_worker(const Opts& o) {
  client::Options opt = default_options();
  for (std::size_t i = 0; i < opt.client_guid.size(); ++i) opt.client_guid[i] = static_cast<std::uint8_t>(0x50 + i);
  auto before = children_of(o.master);
  Client a = login(o, opt);
  std::set<pid_t> mine;
  for (pid_t p : children_of(o.master))
    if (!before.count(p)) mine.insert(p);
  check(mine.size() == 1, "one new worker for the client (%zu)", mine.size());
  if (mine.size() != 1) return 1;
  pid_t worker = *mine.begin();
  FileId f;
  open_rw(a, "killed.bin", f);
  Bytes data = pattern(1 << 20, 5);
  int done = 0;
  for (int i = 0; i < 32; ++i)
    a.c->write_async(a.tree, f, static_cast<std::uint64_t>(i) << 20, data,
                     [&](NtStatus, std::uint32_t) { ++done; });
  a.c->poll(30);
  ::kill(worker, SIGKILL);
  bool failed = false;
  try {
    a.c->wait_until([&] { return a.c->outstanding() == 0; });
    a.c->echo();
  } catch (const std::exception&) {
    failed = true;
  }
  check(failed, "the killed worker's client sees its connection fail");
  check(wait_for([&] { return !children_of(o.master).count(worker); }, std::chrono::seconds(10)),
        "the master reaped the killed worker");
  // The same client (ClientGuid) comes back and is served.
  try {
    Client again = login(o, opt);
    FileId g;
    NtStatus s = open_rw(again, "killed.bin", g);
    if (s == NtStatus::SUCCESS) s = again.c->write(again.tree, g, 0, data);
    Bytes back;
    if (s == NtStatus::SUCCESS) s = again.c->read(again.tree, g, 0, 1 << 20, back);
    check(s == NtStatus::SUCCESS && back == data, "the client reconnects with the same ClientGuid: %s",
          st(s).c_str());
    again.c->set_delete_on_close(again.tree, g, true);
    again.c->close(again.tree, g);
  } catch (const std::exception& e) {
    check(false, "the client reconnects with the same ClientGuid: %s", e.what());
  }
  alive(o, "SIGKILL of a worker");
  return 0;
}

// SIGKILL of the master: the workers finish their clients and then exit.

// The state letter of /proc/PID/stat ('R', 'S', 'Z', ...), 0 when there is no such process.
char process_state(pid_t pid) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(f, line) || line.rfind(')') == std::string::npos) return 0;
  return line[line.rfind(')') + 2];
}

// How many times the main thread of `pid` went to sleep (voluntary_ctxt_switches).
long voluntary_switches(pid_t pid) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(f, line))
    if (line.rfind("voluntary_ctxt_switches:", 0) == 0) return std::atol(line.c_str() + 24);
  return -1;
}

long cpu_ticks(pid_t pid) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(f, line)) return -1;
  std::istringstream rest(line.substr(line.rfind(')') + 2));
  std::string field;
  long utime = 0, stime = 0;
  for (int i = 3; i <= 15 && rest >> field; ++i) {
    if (i == 14) utime = std::atol(field.c_str());
    if (i == 15) stime = std::atol(field.c_str());
  }
  return utime + stime;
}

int case_kill_master(const Opts& o) {
  auto before = children_of(o.master);
  Client a = login(o);
  pid_t worker = 0;
  for (pid_t p : children_of(o.master))
    if (!before.count(p)) worker = p;
  check(worker != 0, "found the client's worker");
  FileId f;
  open_rw(a, "master-killed.bin", f);
  Bytes data = pattern(1 << 20, 8);
  a.c->write(a.tree, f, 0, data);
  pid_t sid = o.master;  // the server runs in a session of its own
  // The worker is idle, waiting for events; note how often it has slept so far.
  check(wait_for([&] { return waiting_for_events(worker); }, std::chrono::seconds(10)),
        "the client's worker waits for events before the master is killed");
  const long woken_before = voluntary_switches(worker);
  ::kill(o.master, SIGKILL);
  // The master is dead once it is a zombie (run.py reaps it); the worker then wakes up for
  // the end of its control socket and goes back to waiting.
  check(wait_for([&] { return process_state(o.master) == 'Z' || process_state(o.master) == 0; },
                 std::chrono::seconds(10)),
        "the master is dead");
  check(wait_for(
            [&] { return voluntary_switches(worker) > woken_before && waiting_for_events(worker); },
            std::chrono::seconds(10)),
        "the worker noticed its master's death and waits for events again");
  // An idle worker whose master is gone waits for its client; it must not spin. This is
  // a CPU budget over an observation window, not a wall-clock measurement: a correct
  // worker uses none of it however loaded the machine is.
  long t0 = cpu_ticks(worker);
  std::this_thread::sleep_for(std::chrono::seconds(2));
  long t1 = cpu_ticks(worker);
  long hz = ::sysconf(_SC_CLK_TCK);
  check(t0 >= 0 && t1 - t0 < hz / 10,
        "an idle worker without its master uses %.2fs of CPU in 2s (limit 0.1s)",
        static_cast<double>(t1 - t0) / static_cast<double>(hz));
  try {
    for (int i = 0; i < 10; ++i) {
      NtStatus s = a.c->write(a.tree, f, static_cast<std::uint64_t>(i) << 20, data);
      Bytes back;
      if (s == NtStatus::SUCCESS) s = a.c->read(a.tree, f, static_cast<std::uint64_t>(i) << 20, 1 << 20, back);
      if (s != NtStatus::SUCCESS || back != data) {
        check(false, "a client of a worker whose master died is still served: %s", st(s).c_str());
        break;
      }
    }
    check(true, "a client of a worker whose master died is still served");
    a.c->set_delete_on_close(a.tree, f, true);
    a.c->close(a.tree, f);
  } catch (const std::exception& e) {
    check(false, "a client of a worker whose master died is still served: %s", e.what());
  }
  a.c->disconnect();
  (void)sid;
  // An orphaned worker is reaped by init, so gone or a zombie both mean it exited.
  check(wait_for([&] { return process_state(worker) == 0 || process_state(worker) == 'Z'; },
                 std::chrono::seconds(10)),
        "the worker exits once its client is gone (the rest of the server's processes are "
        "checked by run.py once the well-behaved client leaves)");
  return 0;
}

// ENOSPC: DISK_FULL, no partial write acknowledged, space comes back.
int case_disk_full(const Opts& o) {
  std::string share = o.arg("small_share", "small");
  Client cl = login(o, default_options(), share);
  FileId f;
  check(open_rw(cl, "fill.bin", f) == NtStatus::SUCCESS, "open on the small share");
  std::uint64_t acknowledged = 0;
  NtStatus last = NtStatus::SUCCESS;
  bool short_ack = false;
  std::map<std::uint64_t, std::uint32_t> seeds;
  for (std::uint32_t i = 0; i < 200; ++i) {
    Bytes chunk = pattern(65536 + 1000, 100 + i);  // not block-aligned
    std::uint32_t count = 0;
    last = cl.c->write(cl.tree, f, acknowledged, chunk, &count);
    if (last != NtStatus::SUCCESS) break;
    if (count != chunk.size()) short_ack = true;
    seeds[acknowledged] = 100 + i;
    acknowledged += count;
  }
  check(last == NtStatus::DISK_FULL, "writing until the file system is full ends with %s "
        "(expected DISK_FULL) after %llu bytes", st(last).c_str(),
        static_cast<unsigned long long>(acknowledged));
  check(!short_ack, "no WRITE acknowledged fewer bytes than it carried");
  bool same = true;
  for (auto [off, seed] : seeds) {
    Bytes back;
    cl.c->read(cl.tree, f, off, 65536 + 1000, back);
    if (back != pattern(65536 + 1000, seed)) same = false;
  }
  check(same, "every acknowledged byte reads back as written");
  FileId g;
  NtStatus s = open_rw(cl, "fill2.bin", g);
  if (s == NtStatus::SUCCESS) {
    Bytes chunk = pattern(65536, 1);
    s = cl.c->write(cl.tree, g, 0, chunk);
    check(s == NtStatus::DISK_FULL, "a write to a second file on the full file system -> %s",
          st(s).c_str());
    cl.c->set_delete_on_close(cl.tree, g, true);
    cl.c->close(cl.tree, g);
  }
  {
    SetInfoRequest q;
    q.file_info_class = 20;  // FileEndOfFileInformation: sparse on tmpfs, should work
    q.buffer = Bytes(8, 0);
    store_le64(q.buffer.data(), 1ull << 40);
    q.file_id = f;
    s = cl.c->set_info(cl.tree, q);
    say("note: EndOfFile 1 TiB on the full file system -> %s", st(s).c_str());
    q.file_info_class = 19;  // FileAllocationInformation: must reserve
    s = cl.c->set_info(cl.tree, q);
    check(s == NtStatus::DISK_FULL || nt_error(s), "AllocationSize 1 TiB -> %s", st(s).c_str());
  }
  cl.c->set_delete_on_close(cl.tree, f, true);
  cl.c->close(cl.tree, f);
  FileId h;
  s = open_rw(cl, "after.bin", h);
  if (s == NtStatus::SUCCESS) s = cl.c->write(cl.tree, h, 0, pattern(65536, 2));
  check(s == NtStatus::SUCCESS, "space is back after delete: %s", st(s).c_str());
  if (s == NtStatus::SUCCESS) {
    cl.c->set_delete_on_close(cl.tree, h, true);
    cl.c->close(cl.tree, h);
  }
  alive(o, "disk full");
  return 0;
}

// A share on a read-only file system that the configuration calls writable.
int case_read_only_fs(const Opts& o) {
  std::string share = o.arg("ro_share", "rofs");
  Client cl = login(o, default_options(), share);
  FileId f;
  NtStatus s = cl.c->open(cl.tree, "existing.txt", acc::GENERIC_READ, CreateDisposition::FILE_OPEN, 0, f);
  check(s == NtStatus::SUCCESS, "read-only open of an existing file: %s", st(s).c_str());
  Bytes b;
  if (s == NtStatus::SUCCESS) {
    s = cl.c->read(cl.tree, f, 0, 100, b);
    check(s == NtStatus::SUCCESS && std::string(b.begin(), b.end()) == "READ-ONLY",
          "reading it: %s", st(s).c_str());
    cl.c->close(cl.tree, f);
  }
  auto refused_write = [](NtStatus x) {
    return x == NtStatus::MEDIA_WRITE_PROTECTED || x == NtStatus::ACCESS_DENIED;
  };
  s = cl.c->open(cl.tree, "new.txt", acc::GENERIC_READ | acc::GENERIC_WRITE, CreateDisposition::FILE_CREATE, 0, f);
  check(refused_write(s), "create on a read-only file system -> %s", st(s).c_str());
  s = cl.c->open(cl.tree, "existing.txt", acc::GENERIC_READ | acc::GENERIC_WRITE, CreateDisposition::FILE_OPEN, 0, f);
  check(refused_write(s), "open for writing -> %s", st(s).c_str());
  s = cl.c->open(cl.tree, "existing.txt", acc::GENERIC_READ | acc::GENERIC_WRITE, CreateDisposition::FILE_OVERWRITE_IF, 0, f);
  check(refused_write(s), "overwrite -> %s", st(s).c_str());
  s = cl.c->open(cl.tree, "newdir", acc::GENERIC_READ, CreateDisposition::FILE_CREATE, 1, f);
  check(refused_write(s), "mkdir -> %s", st(s).c_str());
  s = cl.c->open(cl.tree, "existing.txt", acc::GENERIC_READ | acc::DELETE, CreateDisposition::FILE_OPEN, 0, f);
  if (s == NtStatus::SUCCESS) {
    NtStatus r = cl.c->rename(cl.tree, f, "renamed.txt", false);
    check(r != NtStatus::SUCCESS, "rename -> %s", st(r).c_str());
    NtStatus d = cl.c->set_delete_on_close(cl.tree, f, true);
    NtStatus c = cl.c->close(cl.tree, f);
    say("note: delete-on-close -> %s, close -> %s", st(d).c_str(), st(c).c_str());
  } else {
    check(refused_write(s), "open for delete -> %s", st(s).c_str());
  }
  check(file_exists(o.arg("ro_path") + "/existing.txt"), "the file is still there");
  check(cl.c->echo() == NtStatus::SUCCESS, "the connection still answers");
  alive(o, "read-only file system");
  return 0;
}

// Chains far longer than any client sends, after an anonymous logon: one message holding
// 20,000 CANCELs, then one holding 10,000 ECHOs. The worker must take them without a
// stack frame per element and serve none of them (a chain is at most 64 elements long,
// smbd/worker/dispatch.hh): no answer for the CANCELs (CANCEL has none), INVALID_PARAMETER
// for every ECHO. Then the same client, on the connections it has and on a new one, is
// still served by its worker.
int case_compound_depth(const Opts& o) {
  client::Options options = default_options();
  options.client_guid = {0xcd, 0xe9, 0x7a, 0x11};  // every connection here is one client
  options.target_credits = 12000;
  options.timeout = std::chrono::milliseconds(60000);
  auto anonymous = [&](std::unique_ptr<Connection>& c) {
    c = Connection::connect(o.host, o.port, options);
    return c->session_setup(auth::ClientCredentials{});
  };
  std::unique_ptr<Connection> keeper;
  std::unique_ptr<Connection> c;
  Tree t{};
  try {
    anonymous(keeper);
    t.session_id = anonymous(c);
  } catch (const std::exception& e) {
    check(false, "anonymous logon: %s", e.what());
    return 0;
  }

  // 20,000 CANCELs (they take no credits and name no request in flight).
  Bytes cancel = c->build(make_call(Command::CANCEL, t, CancelRequest{}));
  Bytes cancels = compound(std::vector<Bytes>(20000, cancel));
  Bytes echo = c->build(make_call(Command::ECHO, t, EchoRequest{}));
  std::uint64_t echo_id = load_le64(&echo[H_MESSAGE_ID]);
  try {
    c->send_raw(cancels);
  } catch (const client::Error& e) {
    check(false, "sending 20,000 CANCELs: %s", e.what());
  }
  Raw r = exchange(*c, echo, 60000);
  bool echo_first = !r.headers.empty() && r.headers[0].command == Command::ECHO &&
                    r.headers[0].message_id == echo_id && r.headers.size() == 1;
  check(echo_first && r.status() == NtStatus::SUCCESS,
        "20,000 CANCELs in one message: nothing answered, the ECHO after them is (%s)",
        r.describe().c_str());

  // 10,000 ECHOs, each with a credit of its own.
  if (c->credits().available() < 10000 && !r.closed) c->echo();
  check(c->credits().available() >= 10000, "the client holds %u credits for 10,000 ECHOs",
        c->credits().available());
  std::vector<Bytes> echoes;
  for (int i = 0; i < 10000; ++i)
    echoes.push_back(c->build(make_call(Command::ECHO, t, EchoRequest{})));
  Raw e = exchange(*c, compound(echoes), 60000);
  std::size_t refused_count = static_cast<std::size_t>(
      std::count_if(e.headers.begin(), e.headers.end(),
                    [](const Header& h) { return h.status == NtStatus::INVALID_PARAMETER; }));
  check(e.headers.size() == 10000 && refused_count == 10000,
        "10,000 ECHOs in one message: %zu answers, %zu INVALID_PARAMETER (%s)", e.headers.size(),
        refused_count,
        e.closed      ? "connection closed"
        : e.timed_out ? "no answer"
                      : "answered");

  // The worker lives: both connections answer, and a new one of the same client too.
  try {
    check(c->echo() == NtStatus::SUCCESS, "the connection that sent them still answers ECHO");
    check(keeper->echo() == NtStatus::SUCCESS, "the client's other connection still answers ECHO");
    std::unique_ptr<Connection> again;
    anonymous(again);
    check(again->echo() == NtStatus::SUCCESS, "a new connection of the same client is served");
  } catch (const std::exception& ex) {
    check(false, "the client is served after the long chains: %s", ex.what());
  }
  alive(o, "chains of 20,000 CANCELs and 10,000 ECHOs");
  return 0;
}

}  // namespace

// QUERY_DIRECTORY requests pipelined on one directory handle, each restarting the scan
// (MS-SMB2 2.2.33 RESTART_SCANS): they reach the worker as separate messages back to back,
// so they are in flight together. The worker must stay up and answer each one with the
// start of the listing, in order, as a lone query does.
int case_dir_pipeline(const Opts& o) {
  const int entries = static_cast<int>(o.num("entries", 5000));
  const int queries = static_cast<int>(o.num("queries", 32));
  const std::string dir_name = "pipeline-" + std::to_string(::getpid());
  const std::string dir_path = o.share_path + "/" + dir_name;
  if (::mkdir(dir_path.c_str(), 0755) != 0) {
    say("cannot create %s: %s", dir_path.c_str(), std::strerror(errno));
    return 2;
  }
  std::vector<std::string> expected{".", ".."};
  for (int i = 0; i < entries; ++i) {
    char name[32];
    std::snprintf(name, sizeof name, "entry-%05d", i);
    write_local(dir_path + "/" + name, "");
    expected.emplace_back(name);
  }

  auto before = children_of(o.master);
  Client cl = login(o);
  pid_t worker = 0;
  for (pid_t p : children_of(o.master))
    if (!before.count(p)) worker = p;
  // Enough credits for every query at once.
  for (int i = 0; i < 40 && cl.c->credits().available() < static_cast<std::uint32_t>(queries) + 8;
       ++i)
    cl.c->echo();
  FileId dir;
  NtStatus s = cl.c->open(cl.tree, dir_name, acc::FILE_LIST_DIRECTORY | acc::SYNCHRONIZE,
                          CreateDisposition::FILE_OPEN, kFileDirectoryFile, dir);
  if (!check(s == NtStatus::SUCCESS, "open the directory: %s", st(s).c_str())) return 1;

  QueryDirectoryRequest q;
  q.file_information_class = 12;  // FileNamesInformation ([MS-FSCC] 2.4.28)
  q.flags = kRestartScans;
  q.file_id = dir;
  q.file_name = "*";
  q.output_buffer_length = 65536;  // about half of the entries per answer

  struct Answer {
    bool done = false;
    NtStatus status = NtStatus::SUCCESS;
    Bytes output;
  };
  std::vector<Answer> answers(static_cast<std::size_t>(queries));
  bool connection_lost = false;
  try {
    for (auto& a : answers)
      cl.c->query_directory_async(cl.tree, q, [&a](NtStatus st_, const Bytes& out) {
        a.status = st_;
        a.output = out;
        a.done = true;
      });
    cl.c->wait_until([&]() {
      return std::all_of(answers.begin(), answers.end(), [](const Answer& a) { return a.done; });
    });
  } catch (const client::Error& e) {
    connection_lost = true;
    say("pipelined queries: %s", e.what());
  }
  check(!connection_lost, "%d pipelined QUERY_DIRECTORY requests with RESTART_SCANS: all answered",
        queries);
  check(worker != 0 && process_alive(worker), "the worker (pid %d) is alive", worker);

  int correct = 0;
  for (std::size_t i = 0; i < answers.size(); ++i) {
    const Answer& a = answers[i];
    std::vector<std::string> names;
    const bool parsed =
        a.done && a.status == NtStatus::SUCCESS && client::parse_names_information(a.output, names);
    // The start of the listing: a prefix of it in order, more than a handful of entries
    // and not all of them (the buffer holds about half).
    const bool prefix = parsed && names.size() > 100 && names.size() < expected.size() &&
                        std::equal(names.begin(), names.end(), expected.begin());
    if (prefix) {
      ++correct;
    } else {
      check(false, "answer %zu: %s, %zu names, first '%s'", i,
            a.done ? st(a.status).c_str() : "none", names.size(),
            names.empty() ? "" : names.front().c_str());
    }
  }
  check(correct == queries, "%d of %d answers are the start of the listing in order", correct,
        queries);

  if (!connection_lost) {
    // The handle goes on from where the last query left off, to the end of the listing.
    std::vector<std::string> rest;
    QueryDirectoryRequest more = q;
    more.flags = 0;
    for (;;) {
      Bytes out;
      s = cl.c->query_directory(cl.tree, more, out);
      if (s != NtStatus::SUCCESS) break;
      client::parse_names_information(out, rest);
    }
    std::vector<std::string> first;
    client::parse_names_information(answers.back().output, first);
    check(s == NtStatus::NO_MORE_FILES && first.size() + rest.size() == expected.size() &&
              std::equal(rest.begin(), rest.end(), expected.begin() + first.size()),
          "the same handle continues to the end: %s, %zu + %zu of %zu names", st(s).c_str(),
          first.size(), rest.size(), expected.size());
    // Search patterns on a fresh handle: one longer than a file name component is refused
    // (MS-FSA 2.1.5.6.3), and the longest that would make a backtracking matcher try every
    // split of every name is answered.
    std::string backtracking;
    for (int i = 0; i < 127; ++i) backtracking += "*e";
    backtracking += "x";
    struct {
      std::string pattern;
      NtStatus expected;
    } patterns[] = {{std::string(32767, '*'), NtStatus::OBJECT_NAME_INVALID},
                    {std::string(256, 'e'), NtStatus::OBJECT_NAME_INVALID},
                    {"entry:*", NtStatus::OBJECT_NAME_INVALID},
                    {backtracking, NtStatus::NO_SUCH_FILE},
                    {"entry-0499?", NtStatus::SUCCESS}};
    for (const auto& p : patterns) {
      FileId fresh;
      s = cl.c->open(cl.tree, dir_name, acc::FILE_LIST_DIRECTORY | acc::SYNCHRONIZE,
                     CreateDisposition::FILE_OPEN, kFileDirectoryFile, fresh);
      QueryDirectoryRequest pq = q;
      pq.file_id = fresh;
      pq.file_name = p.pattern;
      Bytes out;
      NtStatus got = s == NtStatus::SUCCESS ? cl.c->query_directory(cl.tree, pq, out) : s;
      std::vector<std::string> names;
      client::parse_names_information(out, names);
      check(got == p.expected && (got != NtStatus::SUCCESS || names.size() == 10),
            "pattern of %zu characters '%.12s...': %s (%zu names)", p.pattern.size(),
            p.pattern.c_str(), st(got).c_str(), names.size());
      cl.c->close(cl.tree, fresh);
    }
    try {
      check(cl.c->close(cl.tree, dir) == NtStatus::SUCCESS, "close the directory");
      check(cl.c->echo() == NtStatus::SUCCESS, "the connection still answers");
    } catch (const std::exception& e) {
      check(false, "the connection still answers: %s", e.what());
    }
  }
  cl.c->disconnect();
  alive(o, "pipelined directory queries");
  for (int i = 0; i < entries; ++i) {
    char name[32];
    std::snprintf(name, sizeof name, "entry-%05d", i);
    ::unlink((dir_path + "/" + name).c_str());
  }
  ::rmdir(dir_path.c_str());
  return 0;
}

// ------------------------------------------------------------------ authentication

// One SESSION_SETUP exchange driven message by message, unsigned: `session_id` 0 starts a
// new session (the id the server gives comes back in it), another id re-authenticates or
// continues that session. The final status, or CONNECTION_DISCONNECTED.
NtStatus raw_logon(Connection& c, const auth::ClientCredentials& cred, std::uint64_t& session_id,
                   int timeout_ms = 30000) {
  auth::ClientAuthenticator authenticator(cred);
  auth::AuthStep step = authenticator.step(c.negotiate_response().security_buffer);
  for (int leg = 0; leg < 4; ++leg) {
    if (step.status != NtStatus::MORE_PROCESSING_REQUIRED) return step.status;
    SessionSetupRequest q;
    q.security_mode = kSessionSigningEnabled;
    q.security_buffer = step.output_token;
    Raw r =
        exchange(c, plain_message(c, make_call(Command::SESSION_SETUP, Tree{}, q), session_id, 0),
                 timeout_ms);
    if (r.headers.empty()) return NtStatus::CONNECTION_DISCONNECTED;
    if (r.status() != NtStatus::MORE_PROCESSING_REQUIRED) return r.status();
    session_id = r.headers[0].session_id;
    SessionSetupResponse p;
    if (decode(r.elements[0], p) != NtStatus::SUCCESS) return NtStatus::INVALID_NETWORK_RESPONSE;
    step = authenticator.step(p.security_buffer);
  }
  return NtStatus::INVALID_NETWORK_RESPONSE;
}

auth::ClientCredentials credentials(const std::string& user, const std::string& password) {
  auth::ClientCredentials cred;
  cred.user = user;
  cred.password = password;
  return cred;
}

// The first leg of a SESSION_SETUP (an NTLMSSP NEGOTIATE) naming `session_id`.
Raw first_leg(Connection& c, const auth::ClientCredentials& cred, std::uint64_t session_id) {
  auth::ClientAuthenticator authenticator(cred);
  auth::AuthStep step = authenticator.step(c.negotiate_response().security_buffer);
  SessionSetupRequest q;
  q.security_mode = kSessionSigningEnabled;
  q.security_buffer = step.output_token;
  return exchange(c, plain_message(c, make_call(Command::SESSION_SETUP, Tree{}, q), session_id, 0),
                  30000);
}

// Failed second legs of SESSION_SETUP leave nothing behind: the session they were
// setting up is gone (its id is USER_SESSION_DELETED), and the connection still logs on.
int case_failed_second_leg(const Opts& o) {
  const long attempts = o.num("attempts", 12);
  auto c = Connection::connect(o.host, o.port, default_options());
  auto bad = credentials(o.user, "wrong-" + o.password);
  std::vector<std::uint64_t> dead;
  int failed = 0;
  for (long i = 0; i < attempts; ++i) {
    std::uint64_t sid = 0;
    NtStatus s = raw_logon(*c, bad, sid);
    if (s == NtStatus::LOGON_FAILURE && sid != 0) {
      ++failed;
      dead.push_back(sid);
    } else {
      check(false, "attempt %ld with a wrong password -> %s (session 0x%llx)", i, st(s).c_str(),
            static_cast<unsigned long long>(sid));
    }
  }
  check(failed == attempts, "%d of %ld second legs with a wrong password failed with LOGON_FAILURE",
        failed, attempts);
  int deleted = 0;
  std::string others;
  for (std::uint64_t sid : dead) {
    Raw r = first_leg(*c, credentials(o.user, o.password), sid);
    if (r.status() == NtStatus::USER_SESSION_DELETED)
      ++deleted;
    else
      others += r.describe() + " ";
  }
  check(deleted == static_cast<int>(dead.size()),
        "a SESSION_SETUP on the id of a failed exchange -> USER_SESSION_DELETED (%d of %zu; "
        "others: %s)",
        deleted, dead.size(), others.c_str());
  std::uint64_t good = 0;
  NtStatus s = raw_logon(*c, credentials(o.user, o.password), good);
  check(s == NtStatus::SUCCESS, "the connection still logs on after the failures: %s",
        st(s).c_str());
  alive(o, "failed second legs");
  return 0;
}

// A failed re-authentication ends the session as LOGOFF does: its opens are closed and a
// delete-on-close file goes.
int case_failed_reauth(const Opts& o) {
  client::Options same = default_options();
  for (std::size_t i = 0; i < same.client_guid.size(); ++i)
    same.client_guid[i] = static_cast<std::uint8_t>(0xA0 + i);
  Client a = login(o, same);
  const std::string name = "reauth-doc.bin";
  const std::string path = o.share_path + "/" + name;
  ::unlink(path.c_str());
  CreateRequest q =
      create_request(name, CreateDisposition::FILE_CREATE,
                     acc::GENERIC_READ | acc::GENERIC_WRITE | acc::DELETE, kFileDeleteOnClose);
  q.share_access = 0;
  CreateResponse created;
  NtStatus s = a.c->create(a.tree, q, created);
  check(s == NtStatus::SUCCESS && file_exists(path),
        "an exclusive open with delete-on-close creates the file: %s", st(s).c_str());
  std::uint64_t sid = a.sid;
  s = raw_logon(*a.c, credentials(o.user, "wrong-" + o.password), sid);
  check(s == NtStatus::LOGON_FAILURE, "re-authentication with a wrong password -> %s",
        st(s).c_str());
  bool gone = wait_for([&] { return !file_exists(path); }, std::chrono::seconds(10));
  check(gone,
        "the delete-on-close file is deleted once the failed re-authentication ended "
        "the session");
  bool released =
      wait_for([&] { return holders_of(o.master, path).empty(); }, std::chrono::seconds(10));
  check(released, "no server process holds the file after the failed re-authentication");
  // Another connection of the same client (the same worker, where share modes apply)
  // opens the name exclusively.
  try {
    Client b = login(o, same);
    CreateRequest again =
        create_request(name, CreateDisposition::FILE_OPEN_IF,
                       acc::GENERIC_READ | acc::GENERIC_WRITE | acc::DELETE, kFileDeleteOnClose);
    again.share_access = 0;
    CreateResponse r;
    s = b.c->create(b.tree, again, r);
    check(s == NtStatus::SUCCESS, "another connection opens the name exclusively: %s",
          st(s).c_str());
    if (s == NtStatus::SUCCESS) b.c->close(b.tree, r.file_id);
  } catch (const std::exception& e) {
    check(false, "another connection opens the name exclusively: %s", e.what());
  }
  ::unlink(path.c_str());
  alive(o, "failed re-authentication");
  return 0;
}

// Wrong passwords are answered later and later, from one connection or from many; a good
// client logs on promptly meanwhile.
int case_logon_rate(const Opts& o) {
  const long attempts = o.num("attempts", 10);
  const double free_attempts = static_cast<double>(o.num("free_attempts", 3));
  const double min_delay_ms = static_cast<double>(o.num("min_delay_ms", 500));
  auto bad = credentials(o.user, "wrong-" + o.password);
  auto timed_failures = [&](bool new_connection_each, double& total_s,
                            std::atomic<long>* attempted) {
    std::unique_ptr<Connection> c;
    int failed = 0;
    auto t0 = Clock::now();
    for (long i = 0; i < attempts; ++i) {
      if (!c || new_connection_each) c = Connection::connect(o.host, o.port, default_options());
      std::uint64_t sid = 0;
      if (raw_logon(*c, bad, sid, 60000) == NtStatus::LOGON_FAILURE) ++failed;
      if (attempted != nullptr) ++*attempted;
    }
    total_s = std::chrono::duration<double>(Clock::now() - t0).count();
    return failed;
  };
  // The attacker runs in a thread; once it is past its free attempts a good client logs
  // on from the same address, and is not held up.
  double one_conn_s = 0;
  std::atomic<long> attempted{0};
  std::atomic<bool> attacking{true};
  int failed = 0;
  std::thread attacker([&] {
    failed = timed_failures(false, one_conn_s, &attempted);
    attacking = false;
  });
  wait_for([&] { return attempted.load() > free_attempts || !attacking.load(); },
           std::chrono::seconds(60));
  double good_s = -1;
  bool good_during_attack = attacking.load();
  try {
    auto t0 = Clock::now();
    Client good = login(o);
    good_s = std::chrono::duration<double>(Clock::now() - t0).count();
  } catch (const std::exception& e) {
    check(false, "a good client logs on during the attack: %s", e.what());
  }
  attacker.join();
  check(failed == attempts, "%d of %ld wrong passwords on one connection refused", failed,
        attempts);
  double floor_s = (static_cast<double>(attempts) - free_attempts) * min_delay_ms / 1000.0 * 0.8;
  check(one_conn_s >= floor_s,
        "%ld wrong passwords on one connection took %.1fs (at least %.1fs: delayed after the "
        "first %.0f)",
        attempts, one_conn_s, floor_s, free_attempts);
  check(good_s >= 0 && good_s < 5.0, "a good client logged on in %.2fs%s", good_s,
        good_during_attack ? " while the attack ran" : "");
  // A new connection (and worker) for every attempt: the source address is counted.
  double many_conn_s = 0;
  failed = timed_failures(true, many_conn_s, nullptr);
  check(failed == attempts, "%d of %ld wrong passwords on new connections refused", failed,
        attempts);
  check(many_conn_s >= floor_s,
        "%ld wrong passwords, each on a new connection, took %.1fs (at least %.1fs)", attempts,
        many_conn_s, floor_s);
  alive(o, "wrong passwords");
  return 0;
}

// A response to an encrypted request is encrypted, also when the session went away
// (LOGOFF) while the request ran.
int case_reply_after_logoff(const Opts& o) {
  const long rounds = o.num("rounds", 20);
  const std::uint32_t size = 4u << 20;
  const std::string name = "after-logoff.bin";
  {
    Client w = login(o);
    FileId f;
    open_rw(w, name, f);
    Bytes data = pattern(size, 77);
    for (std::uint32_t off = 0; off < size; off += 1u << 20)
      w.c->write(w.tree, f, off, ByteSpan(data).subspan(off, 1u << 20));
    w.c->close(w.tree, f);
  }
  client::Options enc = default_options();
  enc.encrypt = true;
  int plaintext = 0, encrypted_frames = 0, closed = 0;
  for (long round = 0; round < rounds; ++round) {
    Client cl = login(o, enc);
    if (!cl.c->session_encrypts(cl.sid)) {
      check(false, "the session encrypts");
      break;
    }
    FileId f;
    NtStatus s = cl.c->open(cl.tree, name, acc::GENERIC_READ, CreateDisposition::FILE_OPEN, 0, f);
    if (s != NtStatus::SUCCESS) {
      check(false, "open %s: %s", name.c_str(), st(s).c_str());
      break;
    }
    ReadRequest rq;
    rq.length = size;
    rq.file_id = f;
    Call read = make_call(Command::READ, cl.tree, rq);
    read.response_payload = size;
    Call logoff = make_call(Command::LOGOFF, cl.tree, LogoffRequest{});
    logoff.tree_id = 0;
    Bytes m1 = cl.c->build(read);
    Bytes m2 = cl.c->build(logoff);
    cl.c->send_raw(m1);
    cl.c->send_raw(m2);
    int answers = 0;
    while (answers < 2) {
      std::optional<Bytes> m;
      try {
        m = cl.c->receive_raw(10000);
      } catch (const client::Error&) {
        ++closed;
        break;
      }
      if (!m) break;
      ++answers;
      if (m->size() >= 4 && (*m)[0] == 0xFD) {
        ++encrypted_frames;
      } else {
        ++plaintext;
        Header h;
        if (m->size() >= 64 && decode(*m, h) == NtStatus::SUCCESS)
          say("plaintext answer in round %ld: %s %s", round, command_name(h.command),
              st(h.status).c_str());
      }
    }
  }
  check(plaintext == 0,
        "no answer to an encrypted READ or LOGOFF went out in the clear "
        "(%d plaintext, %d encrypted, %d connections closed, %ld rounds)",
        plaintext, encrypted_frames, closed, rounds);

  // Signed: SMB 2.1 sessions (no encryption) that sign every request.
  client::Options sign = default_options();
  sign.max_dialect = 0x0210;
  sign.sign = true;
  int unsigned_answers = 0, signed_answers = 0, read_after_logoff = 0;
  for (long round = 0; round < rounds; ++round) {
    Client cl = login(o, sign);
    FileId f;
    NtStatus s = cl.c->open(cl.tree, name, acc::GENERIC_READ, CreateDisposition::FILE_OPEN, 0, f);
    if (s != NtStatus::SUCCESS) {
      check(false, "open %s (SMB 2.1, signed): %s", name.c_str(), st(s).c_str());
      break;
    }
    ReadRequest rq;
    rq.length = 1u << 20;  // the most SMB 2.1 reads at once here
    rq.file_id = f;
    Call read = make_call(Command::READ, cl.tree, rq);
    read.response_payload = rq.length;
    Call logoff = make_call(Command::LOGOFF, cl.tree, LogoffRequest{});
    logoff.tree_id = 0;
    Bytes m1 = cl.c->build(read);
    Bytes m2 = cl.c->build(logoff);
    cl.c->send_raw(m1);
    cl.c->send_raw(m2);
    Raw r = receive(*cl.c, 10000);
    Raw r2 = receive(*cl.c, 10000);
    if (!r.headers.empty() && r.headers[0].command == Command::LOGOFF) ++read_after_logoff;
    for (const Raw* x : {&r, &r2})
      for (const auto& h : x->headers) {
        if ((h.flags & kFlagSigned) != 0) {
          ++signed_answers;
        } else {
          ++unsigned_answers;
          say("unsigned answer in round %ld: %s %s", round, command_name(h.command),
              st(h.status).c_str());
        }
      }
  }
  check(unsigned_answers == 0,
        "every answer to a signed READ or LOGOFF is signed (%d unsigned, %d signed, %ld rounds; "
        "in %d the READ was answered after the LOGOFF)",
        unsigned_answers, signed_answers, rounds, read_after_logoff);
  ::unlink((o.share_path + "/" + name).c_str());
  alive(o, "reads outliving their session");
  return 0;
}

// The SessionId of the transform header must be that of every message inside: a key of
// one session cannot carry requests of another.
int case_transform_session(const Opts& o) {
  client::Options enc = default_options();
  enc.encrypt = true;
  Client a = login(o, enc);
  std::uint64_t sid_b = a.c->session_setup(credentials(o.user, o.password));
  Tree tree_b = a.c->tree_connect(sid_b, unc(o, o.share));
  const std::string name = "transform-b.bin";
  FileId fb;
  NtStatus s = a.c->open(tree_b, name, acc::GENERIC_READ | acc::GENERIC_WRITE,
                         CreateDisposition::FILE_OVERWRITE_IF, 0, fb);
  Bytes secret = pattern(4096, 5);
  if (s == NtStatus::SUCCESS) s = a.c->write(tree_b, fb, 0, secret);
  check(s == NtStatus::SUCCESS, "session B writes its file: %s", st(s).c_str());

  // Session B's WRITE, encrypted under session A's key and transform SessionId.
  auto forged_write = [&](Connection& c) {
    WriteRequest wq;
    wq.file_id = fb;
    Bytes junk(4096, 0xEE);
    wq.data_length = static_cast<std::uint32_t>(junk.size());
    Call wc = make_call(Command::WRITE, tree_b, wq);
    wc.body.insert(wc.body.end(), junk.begin(), junk.end());
    return plain_message(c, wc, sid_b, tree_b.tree_id);
  };
  Raw r = exchange(*a.c, a.c->encrypt_message(a.sid, forged_write(*a.c)));
  check(r.closed || (!r.headers.empty() && nt_error(r.status())),
        "a WRITE of session B inside session A's transform header -> %s", r.describe().c_str());

  // The same as the second element of a compound whose first element is A's own.
  Client a2 = login(o, enc);
  std::uint64_t sid_b2 = a2.c->session_setup(credentials(o.user, o.password));
  Tree tree_b2 = a2.c->tree_connect(sid_b2, unc(o, o.share));
  FileId fb2;
  s = a2.c->open(tree_b2, name, acc::GENERIC_READ | acc::GENERIC_WRITE,
                 CreateDisposition::FILE_OPEN, 0, fb2);
  check(s == NtStatus::SUCCESS, "a second connection's session B opens the file: %s",
        st(s).c_str());
  Bytes echo = plain_message(*a2.c, make_call(Command::ECHO, a2.tree, EchoRequest{}), a2.sid, 0);
  ReadRequest rq;
  rq.length = 4096;
  rq.file_id = fb2;
  Bytes read_b =
      plain_message(*a2.c, make_call(Command::READ, tree_b2, rq), sid_b2, tree_b2.tree_id);
  r = exchange(*a2.c, a2.c->encrypt_message(a2.sid, compound({echo, read_b})));
  bool leaked = false;
  for (std::size_t i = 0; i < r.headers.size(); ++i)
    if (r.headers[i].command == Command::READ && r.headers[i].status == NtStatus::SUCCESS)
      leaked = true;
  check(!leaked && (r.closed || (r.headers.size() == 2 && nt_error(r.headers[1].status))),
        "a compound of A's ECHO and B's READ under A's transform header -> %s",
        r.describe().c_str());

  // B's file is as B wrote it.
  try {
    Client c = login(o);
    FileId f;
    Bytes back;
    s = c.c->open(c.tree, name, acc::GENERIC_READ, CreateDisposition::FILE_OPEN, 0, f);
    if (s == NtStatus::SUCCESS) s = c.c->read(c.tree, f, 0, 4096, back);
    check(s == NtStatus::SUCCESS && back == secret, "the forged WRITE changed nothing: %s",
          st(s).c_str());
  } catch (const std::exception& e) {
    check(false, "reading back: %s", e.what());
  }
  ::unlink((o.share_path + "/" + name).c_str());
  alive(o, "forged transform headers");
  return 0;
}

// An account with no password (smbpasswd flag N) cannot log on unless the configuration
// allows null passwords.
int case_null_password(const Opts& o) {
  const std::string user = o.arg("nopw_user", "smbnopw");
  auto c = Connection::connect(o.host, o.port, default_options());
  auth::ClientCredentials zero;
  zero.user = user;
  zero.nt_hash = std::array<std::uint8_t, 16>{};
  std::uint64_t sid = 0;
  NtStatus s = raw_logon(*c, zero, sid);
  check(s == NtStatus::LOGON_FAILURE,
        "'%s' (no password) with an all-zero NT hash -> %s (null passwords = no)", user.c_str(),
        st(s).c_str());
  sid = 0;
  s = raw_logon(*c, credentials(user, ""), sid);
  check(s == NtStatus::LOGON_FAILURE, "'%s' with an empty password -> %s", user.c_str(),
        st(s).c_str());
  sid = 0;
  s = raw_logon(*c, credentials(o.user, o.password), sid);
  check(s == NtStatus::SUCCESS, "a user with a password still logs on: %s", st(s).c_str());
  alive(o, "null passwords");
  return 0;
}

// Bounds on what one client may hold (docs/security.md, "Resource limits"): the opens and
// tree connects of a session, the sessions of a connection, and requests in flight. Past
// each bound the server answers STATUS_INSUFFICIENT_RESOURCES (MS-SMB2 3.3.5.5.1, 3.3.5.7,
// 3.3.5.9) and goes on serving, and a place given back can be taken again.
int case_resource_limits(const Opts& o) {
  const long max_opens = o.num("max_opens", 300);
  const long max_trees = o.num("max_trees", 24);
  const long max_sessions = o.num("max_sessions", 12);
  const long rss_limit_mib = o.num("rss_limit_mib", 256);
  auto before = children_of(o.master);
  client::Options opt = default_options();
  opt.target_credits = 2048;
  Client cl = login(o, opt);
  pid_t worker = 0;
  for (pid_t p : children_of(o.master))
    if (!before.count(p)) worker = p;
  const long rss0 = rss_kib(worker);
  long peak = rss0;
  auto sample = [&]() { peak = std::max(peak, rss_kib(worker)); };
  const std::string name = "limits-" + std::to_string(::getpid()) + ".bin";
  const auth::ClientCredentials cred{o.user, "", o.password, std::nullopt, ""};

  // Opens: more CREATEs than the bound, all in flight at once.
  const long asked = max_opens + 100;
  std::vector<FileId> opened;
  long refused_n = 0, other = 0, answered = 0;
  NtStatus other_status = NtStatus::SUCCESS;
  CreateRequest cq = create_request(name, CreateDisposition::FILE_OPEN_IF);
  try {
    for (long i = 0; i < asked; ++i)
      cl.c->create_async(cl.tree, cq, [&](NtStatus s, const CreateResponse& r) {
        ++answered;
        if (s == NtStatus::SUCCESS) {
          opened.push_back(r.file_id);
        } else if (s == NtStatus::INSUFFICIENT_RESOURCES) {
          ++refused_n;
        } else {
          ++other;
          other_status = s;
        }
      });
    cl.c->wait_until([&] { return answered == asked; });
  } catch (const std::exception& e) {
    check(false, "%ld CREATEs in flight: %s", asked, e.what());
    return 1;
  }
  sample();
  check(
      static_cast<long>(opened.size()) == max_opens && refused_n == asked - max_opens && other == 0,
      "%ld CREATEs in flight on one session (bound %ld): %zu opened, %ld "
      "INSUFFICIENT_RESOURCES, %ld other (%s)",
      asked, max_opens, opened.size(), refused_n, other, st(other_status).c_str());
  {
    FileId again;
    NtStatus over =
        cl.c->open(cl.tree, name, acc::GENERIC_READ, CreateDisposition::FILE_OPEN, 0, again);
    if (over == NtStatus::SUCCESS) opened.push_back(again);
    NtStatus closed = opened.empty() ? NtStatus::SUCCESS : cl.c->close(cl.tree, opened.back());
    if (!opened.empty()) opened.pop_back();
    NtStatus reopened =
        cl.c->open(cl.tree, name, acc::GENERIC_READ, CreateDisposition::FILE_OPEN, 0, again);
    if (reopened == NtStatus::SUCCESS) opened.push_back(again);
    check(over == NtStatus::INSUFFICIENT_RESOURCES && closed == NtStatus::SUCCESS &&
              reopened == NtStatus::SUCCESS,
          "at the bound: CREATE -> %s; after a CLOSE (%s) the place is free again: CREATE -> %s",
          st(over).c_str(), st(closed).c_str(), st(reopened).c_str());
  }
  // The bound is a session's: another session of the connection opens its own files.
  std::uint64_t second = 0;
  try {
    second = cl.c->session_setup(cred);
    Tree t2 = cl.c->tree_connect(second, unc(o, o.share));
    FileId f2;
    NtStatus s = cl.c->open(t2, name, acc::GENERIC_READ, CreateDisposition::FILE_OPEN, 0, f2);
    check(s == NtStatus::SUCCESS, "a second session of the connection opens the file: %s",
          st(s).c_str());
    if (s == NtStatus::SUCCESS) cl.c->close(t2, f2);
    cl.c->tree_disconnect(t2);
  } catch (const std::exception& e) {
    check(false, "a second session of the connection opens the file: %s", e.what());
  }

  // Tree connects of one session (the first one counts).
  {
    std::vector<Tree> trees;
    NtStatus refusal = NtStatus::SUCCESS;
    for (long i = 0; i < max_trees + 5; ++i) {
      try {
        trees.push_back(cl.c->tree_connect(cl.sid, unc(o, o.share)));
      } catch (const client::Error& e) {
        refusal = e.status();
        break;
      }
    }
    sample();
    check(static_cast<long>(trees.size()) + 1 == max_trees &&
              refusal == NtStatus::INSUFFICIENT_RESOURCES,
          "tree connects on one session (bound %ld): %zu more than the first, then %s", max_trees,
          trees.size(), st(refusal).c_str());
    NtStatus again = NtStatus::UNSUCCESSFUL;
    if (!trees.empty() && cl.c->tree_disconnect(trees.back()) == NtStatus::SUCCESS) {
      trees.pop_back();
      try {
        trees.push_back(cl.c->tree_connect(cl.sid, unc(o, o.share)));
        again = NtStatus::SUCCESS;
      } catch (const client::Error& e) {
        again = e.status();
      }
    }
    check(again == NtStatus::SUCCESS, "after a TREE_DISCONNECT a tree connect succeeds again: %s",
          st(again).c_str());
    for (const Tree& t : trees) cl.c->tree_disconnect(t);
  }

  // Sessions of one connection (the two above count).
  {
    std::vector<std::uint64_t> sessions;
    NtStatus refusal = NtStatus::SUCCESS;
    for (long i = 0; i < max_sessions + 5; ++i) {
      try {
        sessions.push_back(cl.c->session_setup(cred));
      } catch (const client::Error& e) {
        refusal = e.status();
        break;
      }
    }
    sample();
    check(static_cast<long>(sessions.size()) + 2 == max_sessions &&
              refusal == NtStatus::INSUFFICIENT_RESOURCES,
          "sessions on one connection (bound %ld): %zu more than the two, then %s", max_sessions,
          sessions.size(), st(refusal).c_str());
    NtStatus again = NtStatus::UNSUCCESSFUL;
    if (!sessions.empty() && cl.c->logoff(sessions.back()) == NtStatus::SUCCESS) {
      sessions.pop_back();
      try {
        sessions.push_back(cl.c->session_setup(cred));
        again = NtStatus::SUCCESS;
      } catch (const client::Error& e) {
        again = e.status();
      }
    }
    check(again == NtStatus::SUCCESS, "after a LOGOFF a session can be set up again: %s",
          st(again).c_str());
    for (std::uint64_t s : sessions) cl.c->logoff(s);
  }

  long closed_ok = 0;
  for (const FileId& f : opened) closed_ok += cl.c->close(cl.tree, f) == NtStatus::SUCCESS;
  check(closed_ok == static_cast<long>(opened.size()), "the %zu opens close", opened.size());
  // Requests in flight: every credit spent on QUERY_DIRECTORY requests of one directory
  // handle, which wait for each other on the worker's loop (one at a time per open). Each
  // is answered; none is lost.
  {
    FileId dir;
    NtStatus s = cl.c->open(cl.tree, "", acc::FILE_LIST_DIRECTORY | acc::SYNCHRONIZE,
                            CreateDisposition::FILE_OPEN, kFileDirectoryFile, dir);
    QueryDirectoryRequest q;
    q.file_information_class = 12;  // FileNamesInformation
    q.flags = kRestartScans;
    q.file_id = dir;
    q.file_name = "*";
    q.output_buffer_length = 65536;
    const long queries = std::max<long>(1, static_cast<long>(cl.c->credits().available()) - 8);
    long done = 0, good = 0;
    try {
      for (long i = 0; i < queries; ++i)
        cl.c->query_directory_async(cl.tree, q, [&](NtStatus st_, const Bytes&) {
          ++done;
          good += st_ == NtStatus::SUCCESS;
        });
      cl.c->wait_until([&] { return done == queries; });
    } catch (const std::exception& e) {
      say("queries in flight: %s", e.what());
    }
    sample();
    check(s == NtStatus::SUCCESS && good == queries,
          "%ld QUERY_DIRECTORY requests in flight on one handle: %ld answered, %ld SUCCESS",
          queries, done, good);
    if (s == NtStatus::SUCCESS) cl.c->close(cl.tree, dir);
  }

  check(worker != 0 && process_alive(worker), "the worker (pid %d) is alive", worker);
  say("worker %d RSS %ld -> peak %ld KiB", worker, rss0, peak);
  check(peak - rss0 < rss_limit_mib * 1024, "worker memory grows by %ld MiB (limit %ld MiB)",
        (peak - rss0) / 1024, rss_limit_mib);
  try {
    check(cl.c->echo() == NtStatus::SUCCESS, "the connection still answers");
  } catch (const std::exception& e) {
    check(false, "the connection still answers: %s", e.what());
  }
  ::unlink((o.share_path + "/" + name).c_str());
  alive(o, "resource limits");
  return 0;
}

// The READ data a connection holds is bounded (`max read memory per connection`). A
// compound of many of the largest READs asks for the data of all of them in one response:
// one READ's worth is served and the others are refused, instead of the worker holding
// them all (and a response too large for the Direct TCP framing). READs of separate
// messages beyond the bound wait for their turn and are all served.
int case_read_memory(const Opts& o) {
  const long rss_limit_mib = o.num("rss_limit_mib", 200);
  const long max_credits = o.num("max_credits", 4096);
  auto before = children_of(o.master);
  client::Options opt = default_options();
  opt.target_credits = static_cast<std::uint32_t>(max_credits);
  opt.timeout = std::chrono::milliseconds(60000);
  opt.client_guid = {0x7e, 0xad, 0x3e, 0x30};  // both connections below: one worker
  Client cl = login(o, opt);
  pid_t worker = 0;
  for (pid_t p : children_of(o.master))
    if (!before.count(p)) worker = p;
  const std::uint32_t size = cl.c->max_read_size();
  const std::string name = "readmem-" + std::to_string(::getpid()) + ".bin";
  FileId f;
  NtStatus s = open_rw(cl, name, f);
  Bytes data = pattern(size, 77);
  std::uint32_t written = 0;
  if (s == NtStatus::SUCCESS) s = cl.c->write(cl.tree, f, 0, data, &written);
  if (!check(s == NtStatus::SUCCESS && written == size, "a file of %u bytes (MaxReadSize): %s",
             size, st(s).c_str()))
    return 1;
  for (int i = 0;
       i < 40 && cl.c->credits().available() + 16 < static_cast<std::uint32_t>(max_credits); ++i)
    cl.c->echo();
  const std::uint32_t charge = (size + 65535) / 65536;
  const long reads = std::min<long>(64, cl.c->credits().available() / charge - 1);
  const long rss0 = rss_kib(worker);
  long peak = rss0;

  // One message: `reads` READs of MaxReadSize each.
  {
    ReadRequest rq;
    rq.length = size;
    rq.file_id = f;
    std::vector<Bytes> elements;
    for (long i = 0; i < reads; ++i) {
      Call call = make_call(Command::READ, cl.tree, rq);
      call.response_payload = size;
      elements.push_back(cl.c->build(call));
    }
    Raw r = exchange(*cl.c, compound(elements), 60000);
    peak = std::max(peak, rss_kib(worker));
    long served = 0, refused_n = 0, wrong = 0;
    for (std::size_t i = 0; i < r.headers.size(); ++i) {
      if (r.headers[i].status == NtStatus::SUCCESS) {
        ReadResponse resp;
        bool same = decode(r.elements[i], resp) == NtStatus::SUCCESS &&
                    Bytes(resp.data.begin(), resp.data.end()) == data;
        ++(same ? served : wrong);
      } else if (r.headers[i].status == NtStatus::INSUFFICIENT_RESOURCES) {
        ++refused_n;
      } else {
        ++wrong;
      }
    }
    check(static_cast<long>(r.headers.size()) == reads && served == 1 && refused_n == reads - 1 &&
              wrong == 0,
          "a compound of %ld READs of %u bytes: %zu answers (%s), %ld with the file's data, %ld "
          "INSUFFICIENT_RESOURCES, %ld other",
          reads, size, r.headers.size(),
          r.closed      ? "connection closed"
          : r.timed_out ? "no answer"
                        : "answered",
          served, refused_n, wrong);
    if (r.closed || r.timed_out) {
      check(worker != 0 && process_alive(worker), "the worker (pid %d) is alive", worker);
      alive(o, "a compound of large READs");
      return 0;
    }
  }

  // Separate messages: as many READs of MaxReadSize as the credits allow, all sent before
  // any answer is read. Those beyond the bound wait; every one is served.
  // (On a connection of its own: the one above spent its credits on raw messages.)
  {
    Client fl = login(o, opt);
    FileId ff;
    NtStatus fs = fl.c->open(fl.tree, name, acc::GENERIC_READ, CreateDisposition::FILE_OPEN, 0, ff);
    for (int i = 0;
         i < 40 && fl.c->credits().available() + 16 < static_cast<std::uint32_t>(max_credits); ++i)
      fl.c->echo();
    const long flood = std::min<long>(64, fl.c->credits().available() / charge - 1);
    long done = 0, good = 0;
    try {
      for (long i = 0; i < flood && fs == NtStatus::SUCCESS; ++i)
        fl.c->read_async(fl.tree, ff, 0, size, [&](NtStatus st_, ByteSpan got) {
          ++done;
          good += st_ == NtStatus::SUCCESS && Bytes(got.begin(), got.end()) == data;
        });
      fl.c->wait_until([&] {
        peak = std::max(peak, rss_kib(worker));
        return done == flood;
      });
    } catch (const std::exception& e) {
      say("READs in flight: %s", e.what());
    }
    check(fs == NtStatus::SUCCESS && flood > 8 && done == flood && good == flood,
          "%ld READs of %u bytes in flight at once: %ld answered, %ld with the file's data", flood,
          size, done, good);
    if (fs == NtStatus::SUCCESS) fl.c->close(fl.tree, ff);
  }
  check(worker != 0 && process_alive(worker), "the worker (pid %d) is alive", worker);
  say("worker %d RSS %ld -> peak %ld KiB", worker, rss0, peak);
  check(peak - rss0 < rss_limit_mib * 1024, "worker memory grows by %ld MiB (limit %ld MiB)",
        (peak - rss0) / 1024, rss_limit_mib);
  cl.c->set_delete_on_close(cl.tree, f, true);
  cl.c->close(cl.tree, f);
  alive(o, "large READs");
  return 0;
}

// Another client names a live client's ClientGuid at NEGOTIATE, and so is served by that
// client's worker (the master routes by ClientGuid, as Samba does). It logs on as a user of
// its own and misbehaves there: it floods opens, sends a compound of the largest READs,
// sends malformed messages, and uses the first client's SessionId, TreeId and FileId. The
// first client's connection and open must survive all of it: it keeps reading and writing
// throughout, and afterwards reads its file back byte for byte.
int case_guid_claim(const Opts& o) {
  const long max_opens = o.num("max_opens", 1000);
  const long rss_limit_mib = o.num("rss_limit_mib", 256);
  client::Options vo = default_options();
  for (std::size_t i = 0; i < vo.client_guid.size(); ++i)
    vo.client_guid[i] = static_cast<std::uint8_t>(0x5C + i);
  auto before = children_of(o.master);
  Client victim = login(o, vo);
  pid_t worker = 0;
  for (pid_t p : children_of(o.master))
    if (!before.count(p)) worker = p;
  const std::string vname = "claimed-" + std::to_string(::getpid()) + ".bin";
  FileId vf;
  NtStatus s = open_rw(victim, vname, vf);
  const Bytes content = pattern(1 << 20, 4242);
  std::uint32_t written = 0;
  if (s == NtStatus::SUCCESS) s = victim.c->write(victim.tree, vf, 0, content, &written);
  if (!check(s == NtStatus::SUCCESS && written == content.size(),
             "the first client writes 1 MiB to its open: %s", st(s).c_str()))
    return 1;
  const long rss0 = rss_kib(worker);
  long peak = rss0;

  // The first client works on throughout, beyond the 1 MiB it checks at the end.
  std::atomic<bool> stop{false};
  std::atomic<long> victim_ops{0};
  std::string victim_error;
  std::thread worker_thread([&]() {
    try {
      std::uint32_t seed = 1;
      while (!stop.load()) {
        Bytes block = pattern(65536, seed++);
        std::uint64_t off = (1u << 20) + (seed % 8) * 65536ull;
        std::uint32_t count = 0;
        NtStatus w = victim.c->write(victim.tree, vf, off, block, &count);
        Bytes back;
        NtStatus r = victim.c->read(victim.tree, vf, off, 65536, back);
        if (w != NtStatus::SUCCESS || r != NtStatus::SUCCESS || back != block) {
          victim_error = "write " + st(w) + ", read " + st(r) +
                         (back == block ? "" : ", data differs") + " after " +
                         std::to_string(victim_ops.load()) + " operations";
          return;
        }
        ++victim_ops;
      }
    } catch (const std::exception& e) {
      victim_error = e.what();
    }
  });

  client::Options ho = vo;  // the same ClientGuid
  ho.target_credits = 8192;
  ho.timeout = std::chrono::milliseconds(60000);
  try {
    Client hostile = login(o, ho);
    // The connection first reaches a worker of its own, which passes it on and ends.
    const bool one_worker = wait_for(
        [&] {
          auto now = children_of(o.master);
          return now.count(worker) != 0 && now.size() == before.size() + 1;
        },
        std::chrono::milliseconds(20000));
    check(one_worker, "the claiming client is served by the first client's worker (pid %d)",
          worker);

    // The first client's ids, from the claiming client's connection.
    {
      ReadRequest rq;
      rq.length = 4096;
      rq.file_id = vf;
      Raw r =
          exchange(*hostile.c, plain_message(*hostile.c, make_call(Command::READ, victim.tree, rq),
                                             victim.sid, victim.tree.tree_id));
      check(r.status() == NtStatus::USER_SESSION_DELETED,
            "READ with the first client's SessionId, TreeId and FileId -> %s",
            r.describe().c_str());
      r = exchange(*hostile.c, hostile.c->build(make_call(Command::READ, hostile.tree, rq)));
      check(r.status() == NtStatus::FILE_CLOSED,
            "READ of the first client's FileId in the claiming client's own session -> %s",
            r.describe().c_str());
      CloseRequest cq;
      cq.file_id = vf;
      r = exchange(*hostile.c, hostile.c->build(make_call(Command::CLOSE, hostile.tree, cq)));
      check(r.status() == NtStatus::FILE_CLOSED,
            "CLOSE of the first client's FileId in the claiming client's own session -> %s",
            r.describe().c_str());
      r = exchange(
          *hostile.c,
          plain_message(*hostile.c, make_call(Command::LOGOFF, victim.tree, LogoffRequest{}),
                        victim.sid, 0));
      check(r.status() == NtStatus::USER_SESSION_DELETED,
            "LOGOFF of the first client's session -> %s", r.describe().c_str());
      r = exchange(*hostile.c, plain_message(*hostile.c,
                                             make_call(Command::TREE_DISCONNECT, victim.tree,
                                                       TreeDisconnectRequest{}),
                                             victim.sid, victim.tree.tree_id));
      check(r.status() == NtStatus::USER_SESSION_DELETED,
            "TREE_DISCONNECT of the first client's tree -> %s", r.describe().c_str());
    }

    // A compound of the largest READs, as many as the credits pay for.
    {
      FileId hf;
      NtStatus hs = open_rw(hostile, "claim-big.bin", hf);
      const std::uint32_t size = hostile.c->max_read_size();
      if (hs == NtStatus::SUCCESS) hs = hostile.c->write(hostile.tree, hf, 0, pattern(size, 5));
      for (int i = 0; i < 40 && hostile.c->credits().available() + 16 < 8192; ++i)
        hostile.c->echo();
      const std::uint32_t charge = (size + 65535) / 65536;
      const long reads = std::min<long>(64, hostile.c->credits().available() / charge - 1);
      ReadRequest rq;
      rq.length = size;
      rq.file_id = hf;
      std::vector<Bytes> elements;
      for (long i = 0; i < reads; ++i) {
        Call call = make_call(Command::READ, hostile.tree, rq);
        call.response_payload = size;
        elements.push_back(hostile.c->build(call));
      }
      Raw r = exchange(*hostile.c, compound(elements), 60000);
      peak = std::max(peak, rss_kib(worker));
      long served =
          static_cast<long>(std::count_if(r.headers.begin(), r.headers.end(), [](const Header& h) {
            return h.status == NtStatus::SUCCESS;
          }));
      check(hs == NtStatus::SUCCESS && static_cast<long>(r.headers.size()) == reads && served == 1,
            "a compound of %ld READs of %u bytes: %zu answers (%s), %ld served", reads, size,
            r.headers.size(), r.describe().substr(0, 60).c_str(), served);
      if (hs == NtStatus::SUCCESS) hostile.c->close(hostile.tree, hf);
    }

    // A flood of opens past the bound of a session.
    {
      const long asked = max_opens + 200;
      long answered = 0, opened = 0, refused_n = 0;
      std::vector<FileId> ids;
      CreateRequest cq = create_request("claim-flood.bin", CreateDisposition::FILE_OPEN_IF);
      for (long i = 0; i < asked; ++i)
        hostile.c->create_async(hostile.tree, cq, [&](NtStatus st_, const CreateResponse& r) {
          ++answered;
          if (st_ == NtStatus::SUCCESS) {
            ++opened;
            ids.push_back(r.file_id);
          } else if (st_ == NtStatus::INSUFFICIENT_RESOURCES) {
            ++refused_n;
          }
        });
      hostile.c->wait_until([&] {
        peak = std::max(peak, rss_kib(worker));
        return answered == asked;
      });
      check(opened == max_opens && refused_n == asked - max_opens,
            "%ld CREATEs in flight: %ld opened (bound %ld), %ld INSUFFICIENT_RESOURCES", asked,
            opened, max_opens, refused_n);
    }
    hostile.c->disconnect();
  } catch (const std::exception& e) {
    check(false, "the claiming client's attack ran: %s", e.what());
  }

  // Malformed input on more connections with the same ClientGuid: each is closed.
  for (int i = 0; i < 5; ++i) {
    try {
      Client bad = login(o, vo);
      Bytes m = bad.c->build(make_call(Command::ECHO, bad.tree, EchoRequest{}));
      store_le32(&m[H_NEXT], 0xFFFFFFF0u);  // NextCommand beyond the message
      Raw r = exchange(*bad.c, m);
      refused(r, "a compound whose NextCommand points beyond the message");
      Bytes frame{0, 0xFF, 0xFF, 0xFF, 0xFE, 'S', 'M', 'B'};  // announces 16 MiB, sends 4 bytes
      bad.c->send_raw(frame, true);
    } catch (const std::exception& e) {
      say("malformed input: %s", e.what());
    }
  }

  stop = true;
  worker_thread.join();
  check(victim_error.empty(),
        "the first client was served throughout the attack (%ld operations)%s%s", victim_ops.load(),
        victim_error.empty() ? "" : ": ", victim_error.c_str());
  check(worker != 0 && process_alive(worker), "the worker (pid %d) is alive", worker);
  say("worker %d RSS %ld -> peak %ld KiB", worker, rss0, peak);
  check(peak - rss0 < rss_limit_mib * 1024, "worker memory grows by %ld MiB (limit %ld MiB)",
        (peak - rss0) / 1024, rss_limit_mib);
  try {
    Bytes back;
    s = victim.c->read(victim.tree, vf, 0, 1 << 20, back);
    check(s == NtStatus::SUCCESS && back == content,
          "the first client reads its 1 MiB back byte for byte through its open: %s%s",
          st(s).c_str(), s == NtStatus::SUCCESS && back != content ? " (data differs)" : "");
    FileId other;
    NtStatus opened = victim.c->open(victim.tree, vname, acc::GENERIC_READ,
                                     CreateDisposition::FILE_OPEN, 0, other);
    check(opened == NtStatus::SUCCESS, "the first client opens its file again: %s",
          st(opened).c_str());
    if (opened == NtStatus::SUCCESS) victim.c->close(victim.tree, other);
    victim.c->set_delete_on_close(victim.tree, vf, true);
    victim.c->close(victim.tree, vf);
  } catch (const std::exception& e) {
    check(false, "the first client's connection survives: %s", e.what());
  }
  ::unlink((o.share_path + "/claim-flood.bin").c_str());
  ::unlink((o.share_path + "/claim-big.bin").c_str());
  alive(o, "a claimed ClientGuid");
  return 0;
}

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s CASE --port P ...\n", argv[0]);
    return 2;
  }
  std::string name = argv[1];
  // The server acts as its users (docs/security.md): the files and directories a case
  // prepares get the modes it asks for, so that they are the server's user's to use.
  ::umask(0);
  Opts o;
  for (int i = 2; i + 1 < argc; i += 2) {
    std::string k = argv[i], v = argv[i + 1];
    if (k == "--host") o.host = v;
    else if (k == "--port") o.port = static_cast<std::uint16_t>(std::stoi(v));
    else if (k == "--user") o.user = v;
    else if (k == "--password") o.password = v;
    else if (k == "--share") o.share = v;
    else if (k == "--share-path") o.share_path = v;
    else if (k == "--base") o.base = v;
    else if (k == "--master") o.master = static_cast<pid_t>(std::stoi(v));
    else if (k == "--arg") {
      auto eq = v.find('=');
      o.args[v.substr(0, eq)] = eq == std::string::npos ? "" : v.substr(eq + 1);
    } else {
      std::fprintf(stderr, "unknown option %s\n", k.c_str());
      return 2;
    }
  }
  ::signal(SIGPIPE, SIG_IGN);
  static const std::map<std::string, int (*)(const Opts&)> cases{
      {"victim", case_victim},
      {"foreign-ids", case_foreign_ids},
      {"channel-hijack", case_channel_hijack},
      {"bind-abuse", case_bind_abuse},
      {"before-negotiate", case_before_negotiate},
      {"bad-input", case_bad_input},
      {"compound-teardown", case_compound_teardown},
      {"teardown-with-io", case_teardown_with_io},
      {"credits", case_credits},
      {"read-flood", case_read_flood},
      {"huge-output", case_huge_output},
      {"conn-burst", case_conn_burst},
      {"idle-conns", case_idle_conns},
      {"idle-timeouts", case_idle_timeouts},
      {"slow-client", case_slow_client},
      {"signing-required", case_signing_required},
      {"encryption-required", case_encryption_required},
      {"guest", case_guest},
      {"path-escape", case_path_escape},
      {"kill-worker", case_kill_worker},
      {"kill-master", case_kill_master},
      {"disk-full", case_disk_full},
      {"read-only-fs", case_read_only_fs},
      {"compound-depth", case_compound_depth},
      {"dir-pipeline", case_dir_pipeline},
      {"failed-second-leg", case_failed_second_leg},
      {"failed-reauth", case_failed_reauth},
      {"logon-rate", case_logon_rate},
      {"reply-after-logoff", case_reply_after_logoff},
      {"transform-session", case_transform_session},
      {"null-password", case_null_password},
      {"resource-limits", case_resource_limits},
      {"read-memory", case_read_memory},
      {"guid-claim", case_guid_claim},
  };
  auto it = cases.find(name);
  if (it == cases.end()) {
    std::fprintf(stderr, "unknown case %s\n", name.c_str());
    return 2;
  }
  int rc;
  try {
    rc = it->second(o);
  } catch (const std::exception& e) {
    std::printf("FAIL: %s: unexpected exception: %s\n", name.c_str(), e.what());
    return 1;
  }
  if (name == "victim") return rc;
  std::printf("%s: %d checks, %d failed\n", name.c_str(), g_checks, g_failures);
  return g_failures == 0 && rc == 0 ? 0 : 1;
}
