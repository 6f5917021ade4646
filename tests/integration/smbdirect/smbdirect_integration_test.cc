// SMB2 over SMB Direct, end to end: smbd (master and workers), rdmaproxy and the
// library's SMB Direct client, as separate processes. Covers the channel hand-off,
// NEGOTIATE/SESSION_SETUP/CREATE/READ/WRITE through the proxy, READ and WRITE through
// RDMA channels (1 GiB each way, SHA-256 compared), send-with-invalidate, and the proxy
// dying and coming back while TCP clients carry on, read-only shares and encryption on
// RDMA channels, and a client withholding its credits. The processes and the environment
// that selects the fabric are harness.hh's.
#include <arpa/inet.h>
#include <doctest/doctest.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/evp.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "smbd/client/connection.hh"
#include "smbd/client/rdma_client.hh"
#include "smbd/proto/ioctl.hh"
#include "smbd/proto/read.hh"
#include "tests/integration/smbdirect/harness.hh"

using namespace smb;
using namespace smbdirect_test;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

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

TEST_CASE("RDMA channel: 1 GiB (SMBDIRECT_RDMA_MIB) written and read back, SHA-256 compared") {
  Server server;
  Session s = open_rdma(server);
  auto& c = s.rdma->smb();
  FileId f = create_file(c, s.tree, "big.bin");

  constexpr std::size_t kChunk = 1u << 20;
  constexpr std::size_t kDepth = 8;
  const std::uint64_t total = rdma_transfer_bytes();
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
  while (done < total / kChunk) {
    for (std::size_t slot = 0; slot < kDepth && next < total / kChunk; ++slot) {
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
  CHECK(fs::file_size(server.base / "share/big.bin") == total);

  // Read back in order with the same depth; hash each chunk in file order.
  Sha256 read_back;
  std::vector<std::uint64_t> slot_index(kDepth, 0);
  std::vector<bool> ready(kDepth, false);
  next = 0;
  done = 0;
  std::uint64_t hashed = 0;
  std::fill(busy.begin(), busy.end(), false);
  t0 = std::chrono::steady_clock::now();
  while (hashed < total / kChunk) {
    for (std::size_t slot = 0; slot < kDepth && next < total / kChunk; ++slot) {
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
  double mib = static_cast<double>(total >> 20);
  std::string fabric = verbs_fabric() ? "verbs" : "soft";
  MESSAGE(mib << " MiB over RDMA channels (" << fabric << " fabric, 1 MiB x 8): write "
              << mib / write_s << " MiB/s, read " << mib / read_s << " MiB/s");
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

// ---- multi-channel: more connections of one client bound to one session

namespace {

// A TCP connection to smbd, negotiated, and the client port it came from (so that the
// test can see when the server has closed its end).
struct Dialed {
  std::unique_ptr<client::Connection> connection;
  std::uint16_t client_port = 0;
};

Dialed dial(std::uint16_t port, const client::Options& options) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  REQUIRE(fd >= 0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(port);
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0);
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  socklen_t len = sizeof sa;
  REQUIRE(::getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &len) == 0);
  Dialed d;
  d.client_port = ntohs(sa.sin_port);
  d.connection = client::Connection::adopt(fd, options);
  d.connection->negotiate();
  return d;
}

client::Options with_guid(std::uint8_t seed) {
  client::Options o;
  for (std::size_t i = 0; i < o.client_guid.size(); ++i)
    o.client_guid[i] = static_cast<std::uint8_t>(seed + i * 13);
  return o;
}

Bytes pattern(std::size_t size, std::uint64_t seed) {
  Bytes out(size);
  std::mt19937_64 rng(seed);
  for (auto& b : out) b = static_cast<std::uint8_t>(rng());
  return out;
}

}  // namespace

TEST_CASE("Multi-channel over TCP: a bound channel shares the session and outlives the first") {
  Server server;
  client::Options options = with_guid(0x31);
  Dialed dialed = dial(server.port, options);
  auto& first = dialed.connection;
  std::uint64_t sid = first->session_setup(server.credentials());
  client::Tree tree = first->tree_connect(sid, "\\\\127.0.0.1\\data");
  FileId f = create_file(*first, tree, "channels.bin");

  auto second = client::Connection::connect("127.0.0.1", server.port, options);
  second->bind_session(*first, sid, server.credentials());

  // The open made on the first channel is written through the second and read back
  // through the first.
  Bytes data = pattern((1u << 20) + 1, 7);
  std::uint32_t written = 0;
  REQUIRE(second->write(tree, f, 0, data, &written) == NtStatus::SUCCESS);
  CHECK(written == data.size());
  Bytes back;
  REQUIRE(first->read(tree, f, 0, static_cast<std::uint32_t>(data.size()), back) ==
          NtStatus::SUCCESS);
  CHECK(back == data);

  // Another password does not bind; a connection of another client (another worker)
  // is told that binding across clients is not served.
  auto wrong = client::Connection::connect("127.0.0.1", server.port, options);
  auth::ClientCredentials bad = server.credentials();
  bad.password = "not-the-password";
  try {
    wrong->bind_session(*first, sid, bad);
    FAIL("binding with a wrong password succeeded");
  } catch (const client::Error& e) {
    CHECK(e.status() == NtStatus::LOGON_FAILURE);
  }
  auto stranger = client::Connection::connect("127.0.0.1", server.port, with_guid(0x77));
  try {
    stranger->bind_session(*first, sid, server.credentials());
    FAIL("a connection of another client bound to the session");
  } catch (const client::Error& e) {
    CHECK(e.status() == NtStatus::REQUEST_NOT_ACCEPTED);
  }

  // The first channel goes; the session, its tree and the open stay on the second.
  first->disconnect();
  // The read below runs after the worker has closed its end of the first channel.
  REQUIRE(wait_until([&] { return server_closed(server.port, dialed.client_port); }));
  Bytes again;
  REQUIRE(second->read(tree, f, 0, static_cast<std::uint32_t>(data.size()), again) ==
          NtStatus::SUCCESS);
  CHECK(again == data);
  CHECK(second->close(tree, f) == NtStatus::SUCCESS);
  CHECK(second->logoff(sid) == NtStatus::SUCCESS);
  CHECK(read_file(server.base / "share/channels.bin") == std::string(data.begin(), data.end()));
}

TEST_CASE("Multi-channel with SMB Direct: an RDMA channel binds to a TCP session") {
  Server server;
  client::Options options = with_guid(0x52);
  Dialed dialed = dial(server.port, options);
  auto& tcp = dialed.connection;
  std::uint64_t sid = tcp->session_setup(server.credentials());
  client::Tree tree = tcp->tree_connect(sid, "\\\\127.0.0.1\\data");
  FileId f = create_file(*tcp, tree, "rdma-channel.bin");

  // The RDMA connection lands in a new worker, which passes it (with the proxy's HELLO)
  // to the worker of its ClientGuid, where the session lives.
  client::RdmaOptions rdma;
  rdma.fabric = verbs_fabric() ? client::FabricKind::verbs : client::FabricKind::soft;
  auto channel = client::RdmaClient::connect(rdma_address(), server.rdma_port, options, rdma);
  channel->smb().bind_session(*tcp, sid, server.credentials());

  constexpr std::uint32_t kChunk = 1u << 20;
  constexpr std::uint32_t kChunks = 16;
  Bytes memory(kChunk);
  std::string error;
  auto buffer = channel->register_buffer(memory, error);
  REQUIRE_MESSAGE(buffer, error);
  Sha256 sent;
  for (std::uint32_t i = 0; i < kChunks; ++i) {
    Bytes block = pattern(kChunk, 100 + i);
    std::copy(block.begin(), block.end(), memory.begin());
    sent.update(memory.data(), kChunk);
    std::uint32_t count = 0;
    REQUIRE(channel->write(tree, f, std::uint64_t{i} * kChunk, kChunk, *buffer, 0, false, count) ==
            NtStatus::SUCCESS);
    REQUIRE(count == kChunk);
  }
  // Read back over TCP and over the RDMA channel; both must match what was written.
  Sha256 over_tcp, over_rdma;
  for (std::uint32_t i = 0; i < kChunks; ++i) {
    Bytes back;
    REQUIRE(tcp->read(tree, f, std::uint64_t{i} * kChunk, kChunk, back) == NtStatus::SUCCESS);
    REQUIRE(back.size() == kChunk);
    over_tcp.update(back.data(), back.size());
    std::uint32_t count = 0;
    REQUIRE(channel->read(tree, f, std::uint64_t{i} * kChunk, kChunk, *buffer, 0, false, count) ==
            NtStatus::SUCCESS);
    REQUIRE(count == kChunk);
    over_rdma.update(memory.data(), kChunk);
  }
  auto expected = sent.final();
  CHECK(over_tcp.final() == expected);
  CHECK(over_rdma.final() == expected);

  // Losing the TCP channel leaves the session to the RDMA one.
  tcp->disconnect();
  // The read below runs after the worker has closed its end of the TCP channel.
  REQUIRE(wait_until([&] { return server_closed(server.port, dialed.client_port); }));
  std::uint32_t count = 0;
  CHECK(channel->read(tree, f, 0, kChunk, *buffer, 0, false, count) == NtStatus::SUCCESS);
  CHECK(channel->smb().close(tree, f) == NtStatus::SUCCESS);
}

namespace {

// FSCTL_QUERY_NETWORK_INTERFACE_INFO over `c`: the entry for the proxy's address
// (127.0.0.1 unless SMBDIRECT_ADDRESS names another).
std::optional<NetworkInterfaceInfo> proxy_interface(client::Connection& c,
                                                    const client::Tree& tree) {
  IoctlRequest q;
  q.ctl_code = FSCTL_QUERY_NETWORK_INTERFACE_INFO;
  q.file_id = FileId{~std::uint64_t{0}, ~std::uint64_t{0}};
  q.max_output_response = 64 * 1024;
  client::Call call;
  call.command = Command::IOCTL;
  call.session_id = tree.session_id;
  call.tree_id = tree.tree_id;
  call.body = encode_body(q);
  client::Reply r = c.call(std::move(call));
  REQUIRE(r.status() == NtStatus::SUCCESS);
  IoctlResponse p;
  REQUIRE(decode(r.pdu, p) == NtStatus::SUCCESS);
  std::vector<NetworkInterfaceInfo> list;
  REQUIRE(decode_network_interfaces(p.output, list) == NtStatus::SUCCESS);
  in_addr want{};
  REQUIRE(::inet_pton(AF_INET, rdma_address().c_str(), &want) == 1);
  for (const auto& i : list)
    if (i.family == kInterNetwork && std::memcmp(i.address.data(), &want, 4) == 0) return i;
  return std::nullopt;
}

}  // namespace

TEST_CASE("Interface list: the proxy's address is RDMA_CAPABLE exactly while the proxy runs") {
  Server server;
  auto tcp = client::Connection::connect("127.0.0.1", server.port);
  std::uint64_t sid = tcp->session_setup(server.credentials());
  client::Tree tree = tcp->tree_connect(sid, "\\\\127.0.0.1\\data");
  auto with_proxy = proxy_interface(*tcp, tree);
  REQUIRE(with_proxy);
  CHECK((with_proxy->capability & kRdmaCapable) != 0);
  CHECK(with_proxy->link_speed > 0);
  stop(server.proxy);
  auto without_proxy = proxy_interface(*tcp, tree);
  REQUIRE(without_proxy);
  CHECK((without_proxy->capability & kRdmaCapable) == 0);
}

// ---- data movement: CPU copies per byte and throughput, RDMA channels against TCP

namespace {

// Bytes a process moved through read(2)/write(2)-family system calls (/proc/PID/io:
// rchar, wchar): file I/O and the stream I/O libuv does with read/writev, so each
// counts one copy the kernel makes for the worker. send/recv-family calls are not
// counted; the worker uses them only for the channel socket, which carries no bulk data
// on RDMA channels (the fabric moves that: DMA on verbs, emulated on the soft fabric).
struct IoCounters {
  std::uint64_t read = 0;
  std::uint64_t written = 0;
  std::uint64_t total() const { return read + written; }
};

IoCounters io_of(pid_t pid) {
  IoCounters c;
  std::ifstream in("/proc/" + std::to_string(pid) + "/io");
  std::string key;
  std::uint64_t value = 0;
  while (in >> key >> value) {
    if (key == "rchar:") c.read = value;
    if (key == "wchar:") c.written = value;
  }
  return c;
}

// The smbd workers: the live children of the master.
std::vector<pid_t> workers_of(pid_t master) {
  std::vector<pid_t> out;
  for (const auto& entry : fs::directory_iterator("/proc")) {
    std::string name = entry.path().filename();
    if (name.empty() || !std::isdigit(static_cast<unsigned char>(name[0]))) continue;
    std::ifstream stat(entry.path() / "stat");
    std::string line;
    std::getline(stat, line);
    auto close_paren = line.rfind(')');
    char state = 0;
    long ppid = 0;
    if (close_paren == std::string::npos ||
        std::sscanf(line.c_str() + close_paren + 1, " %c %ld", &state, &ppid) != 2)
      continue;
    if (ppid == master && state != 'Z') out.push_back(static_cast<pid_t>(std::stol(name)));
  }
  return out;
}

IoCounters workers_io(pid_t master) {
  IoCounters sum;
  for (pid_t worker : workers_of(master)) {
    IoCounters c = io_of(worker);
    sum.read += c.read;
    sum.written += c.written;
  }
  return sum;
}

struct Leg {
  double seconds = 0;
  double worker_copies = 0;  // worker syscall bytes per byte moved
};

std::string describe(const char* what, const Leg& leg, double mib) {
  char text[200];
  std::snprintf(text, sizeof text, "%-18s %8.0f MiB/s   worker copies %.2f B/B", what,
                mib / leg.seconds, leg.worker_copies);
  return text;
}

}  // namespace

TEST_CASE("Data movement: RDMA channels against TCP in the same run (copies per byte, MiB/s)") {
  Server server;
  const std::uint64_t total = rdma_transfer_bytes();
  constexpr std::uint32_t kChunk = 1u << 20;
  constexpr std::size_t kDepth = 8;
  const std::uint64_t chunks = total / kChunk;
  auto block = [](std::uint64_t index, std::uint8_t* out) {
    std::mt19937_64 rng(index * 104729 + 3);
    auto* p = reinterpret_cast<std::uint64_t*>(out);
    for (std::size_t i = 0; i < kChunk / 8; ++i) p[i] = rng();
  };
  std::array<std::uint8_t, 32> expected{};
  {
    Sha256 h;
    Bytes b(kChunk);
    for (std::uint64_t i = 0; i < chunks; ++i) {
      block(i, b.data());
      h.update(b.data(), b.size());
    }
    expected = h.final();
  }
  auto measure = [&](auto&& run) {
    IoCounters w0 = workers_io(server.smbd);
    auto t0 = std::chrono::steady_clock::now();
    run();
    Leg leg;
    leg.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    IoCounters w1 = workers_io(server.smbd);
    leg.worker_copies = static_cast<double>(w1.total() - w0.total()) / static_cast<double>(total);
    return leg;
  };

  // TCP: 1 MiB READ/WRITE, 8 outstanding.
  auto tcp = client::Connection::connect("127.0.0.1", server.port);
  std::uint64_t sid = tcp->session_setup(server.credentials());
  client::Tree tree = tcp->tree_connect(sid, "\\\\127.0.0.1\\data");
  FileId tf = create_file(*tcp, tree, "tcp.bin");
  std::uint64_t failures = 0;
  Leg tcp_write = measure([&] {
    Bytes b(kChunk);
    std::uint64_t next = 0, done = 0;
    while (done < chunks) {
      while (next < chunks && next - done < kDepth) {
        block(next, b.data());
        tcp->write_async(tree, tf, next * kChunk, b, [&](NtStatus st, std::uint32_t n) {
          if (st != NtStatus::SUCCESS || n != kChunk) ++failures;
          ++done;
        });
        ++next;
      }
      tcp->poll(1000);
    }
  });
  REQUIRE(failures == 0);
  Sha256 tcp_back;
  Leg tcp_read = measure([&] {
    std::vector<Bytes> slots(kDepth);
    std::vector<bool> ready(kDepth, false);
    std::uint64_t next = 0, hashed = 0;
    while (hashed < chunks) {
      while (next < chunks && next - hashed < kDepth) {
        std::size_t slot = next % kDepth;
        ready[slot] = false;
        tcp->read_async(tree, tf, next * kChunk, kChunk, [&, slot](NtStatus st, ByteSpan data) {
          if (st != NtStatus::SUCCESS || data.size() != kChunk) ++failures;
          slots[slot].assign(data.begin(), data.end());
          ready[slot] = true;
        });
        ++next;
      }
      tcp->poll(1000);
      while (hashed < next && ready[hashed % kDepth]) {
        tcp_back.update(slots[hashed % kDepth].data(), slots[hashed % kDepth].size());
        ready[hashed % kDepth] = false;
        ++hashed;
      }
    }
  });
  REQUIRE(failures == 0);
  CHECK(tcp_back.final() == expected);

  // SMB Direct: the same transfers through RDMA channels.
  Session s = open_rdma(server);
  auto& c = s.rdma->smb();
  FileId rf = create_file(c, s.tree, "rdma.bin");
  Bytes memory(kChunk * kDepth);
  std::string error;
  auto buffer = s.rdma->register_buffer(memory, error);
  REQUIRE_MESSAGE(buffer, error);
  Leg rdma_write = measure([&] {
    std::vector<bool> busy(kDepth, false);
    std::uint64_t next = 0, done = 0;
    while (done < chunks) {
      for (std::size_t slot = 0; slot < kDepth && next < chunks; ++slot) {
        if (busy[slot]) continue;
        block(next, memory.data() + slot * kChunk);
        busy[slot] = true;
        s.rdma->write_async(s.tree, rf, next * kChunk, kChunk, *buffer, slot * kChunk, false,
                            [&, slot](NtStatus st, std::uint32_t n) {
                              if (st != NtStatus::SUCCESS || n != kChunk) ++failures;
                              busy[slot] = false;
                              ++done;
                            });
        ++next;
      }
      c.poll(1000);
    }
  });
  REQUIRE(failures == 0);
  Sha256 rdma_back;
  Leg rdma_read = measure([&] {
    std::vector<std::uint64_t> index(kDepth, 0);
    std::vector<bool> busy(kDepth, false), ready(kDepth, false);
    std::uint64_t next = 0, hashed = 0;
    while (hashed < chunks) {
      for (std::size_t slot = 0; slot < kDepth && next < chunks; ++slot) {
        if (busy[slot]) continue;
        busy[slot] = true;
        ready[slot] = false;
        index[slot] = next;
        s.rdma->read_async(s.tree, rf, next * kChunk, kChunk, *buffer, slot * kChunk, false,
                           [&, slot](NtStatus st, std::uint32_t n) {
                             if (st != NtStatus::SUCCESS || n != kChunk) ++failures;
                             ready[slot] = true;
                           });
        ++next;
      }
      c.poll(1000);
      for (bool progress = true; progress;) {
        progress = false;
        for (std::size_t slot = 0; slot < kDepth; ++slot) {
          if (busy[slot] && ready[slot] && index[slot] == hashed) {
            rdma_back.update(memory.data() + slot * kChunk, kChunk);
            busy[slot] = false;
            ++hashed;
            progress = true;
          }
        }
      }
    }
  });
  REQUIRE(failures == 0);
  CHECK(rdma_back.final() == expected);

  double mib = static_cast<double>(total >> 20);
  std::string fabric = verbs_fabric() ? "verbs" : "soft";
  MESSAGE(mib << " MiB each way, 1 MiB x 8 outstanding (" << fabric
              << " fabric); copies: bytes through the worker's read/write system calls per "
              << "byte moved\n"
               << describe("TCP write", tcp_write, mib) << "\n"
               << describe("TCP read", tcp_read, mib) << "\n"
               << describe("SMB Direct write", rdma_write, mib) << "\n"
               << describe("SMB Direct read", rdma_read, mib));
  // The point of RDMA channels: the worker's only copy is between the file and the
  // shared slot; over TCP the socket adds another.
  CHECK(rdma_write.worker_copies < tcp_write.worker_copies);
  CHECK(rdma_read.worker_copies < tcp_read.worker_copies);
}

// ---- failures in the middle of RDMA transfers

namespace {

// A file of `chunks` MiB written over TCP, for the RDMA reads below.
void write_file_over_tcp(const Server& server, const std::string& name, std::uint32_t chunks) {
  auto tcp = client::Connection::connect("127.0.0.1", server.port);
  std::uint64_t sid = tcp->session_setup(server.credentials());
  client::Tree tree = tcp->tree_connect(sid, "\\\\127.0.0.1\\data");
  FileId f = create_file(*tcp, tree, name);
  for (std::uint32_t i = 0; i < chunks; ++i)
    REQUIRE(tcp->write(tree, f, std::uint64_t{i} << 20, pattern(1u << 20, i)) == NtStatus::SUCCESS);
  REQUIRE(tcp->close(tree, f) == NtStatus::SUCCESS);
}

// The server still serves SMB Direct: a fresh client reads the file back intact.
void check_still_serving(const Server& server, const std::string& name, std::uint32_t chunks) {
  Session s = open_rdma(server);
  FileId f;
  REQUIRE(s.rdma->smb().open(s.tree, name, client::access::GENERIC_READ,
                             CreateDisposition::FILE_OPEN, 0, f) == NtStatus::SUCCESS);
  Bytes memory(1u << 20);
  std::string error;
  auto buffer = s.rdma->register_buffer(memory, error);
  REQUIRE_MESSAGE(buffer, error);
  for (std::uint32_t i = 0; i < chunks; ++i) {
    std::uint32_t count = 0;
    REQUIRE(s.rdma->read(s.tree, f, std::uint64_t{i} << 20, 1u << 20, *buffer, 0, false, count) ==
            NtStatus::SUCCESS);
    REQUIRE(count == 1u << 20);
    CHECK(memory == pattern(1u << 20, i));
  }
  CHECK(s.rdma->smb().close(s.tree, f) == NtStatus::SUCCESS);
}

}  // namespace

TEST_CASE("A client vanishing with RDMA reads outstanding leaves the server serving") {
  Server server;
  constexpr std::uint32_t kChunks = 16;
  write_file_over_tcp(server, "vanish.bin", kChunks);
  pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    // The client process: 16 RDMA reads in flight, then gone without a word.
    try {
      Session s = open_rdma(server);
      FileId f;
      if (s.rdma->smb().open(s.tree, "vanish.bin", client::access::GENERIC_READ,
                             CreateDisposition::FILE_OPEN, 0, f) != NtStatus::SUCCESS)
        ::_exit(2);
      Bytes memory(std::size_t{kChunks} << 20);
      std::string error;
      auto buffer = s.rdma->register_buffer(memory, error);
      if (!buffer) ::_exit(3);
      for (std::uint32_t i = 0; i < kChunks; ++i)
        s.rdma->read_async(s.tree, f, std::uint64_t{i} << 20, 1u << 20, *buffer,
                           std::size_t{i} << 20, false, [](NtStatus, std::uint32_t) {});
      s.rdma->smb().poll(0);
      ::_exit(0);
    } catch (...) {
      ::_exit(4);
    }
  }
  int status = 0;
  REQUIRE(::waitpid(child, &status, 0) == child);
  REQUIRE(WIFEXITED(status));
  REQUIRE(WEXITSTATUS(status) == 0);
  CHECK(::kill(server.proxy, 0) == 0);
  check_still_serving(server, "vanish.bin", kChunks);
  // The vanished client's worker has gone too.
  CHECK(wait_until([&] { return workers_of(server.smbd).empty(); }));
}

TEST_CASE("A worker killed while the proxy holds its RDMA requests: the client sees an error, "
          "the proxy carries on") {
  Server server;
  constexpr std::uint32_t kChunks = 16;
  write_file_over_tcp(server, "killed.bin", kChunks);
  // The writer's worker has gone, so the one left is the RDMA client's.
  REQUIRE(wait_until([&] { return workers_of(server.smbd).empty(); }));
  server.expected_signals.insert(SIGKILL);
  Session s = open_rdma(server);
  FileId f = create_file(s.rdma->smb(), s.tree, "written.bin");
  auto workers = workers_of(server.smbd);
  REQUIRE(workers.size() == 1);
  Bytes memory(std::size_t{kChunks} << 20);
  std::string error;
  auto buffer = s.rdma->register_buffer(memory, error);
  REQUIRE_MESSAGE(buffer, error);
  std::uint32_t completed = 0, failed = 0;
  for (std::uint32_t i = 0; i < kChunks; ++i)
    s.rdma->write_async(s.tree, f, std::uint64_t{i} << 20, 1u << 20, *buffer,
                        std::size_t{i} << 20, false, [&](NtStatus st, std::uint32_t) {
                          ++completed;
                          if (st != NtStatus::SUCCESS) ++failed;
                        });
  REQUIRE(::kill(workers[0], SIGKILL) == 0);
  // Every request completes (most with an error), none hangs.
  try {
    s.rdma->smb().wait_until([&] { return completed == kChunks; });
  } catch (const client::Error&) {
    // The connection failing completes whatever was outstanding.
  }
  CHECK(completed == kChunks);
  CHECK(failed > 0);
  CHECK(::kill(server.proxy, 0) == 0);
  check_still_serving(server, "killed.bin", kChunks);
}

TEST_CASE("An inline READ larger than the client's SMB Direct message limit comes back short") {
  Server server;
  Session s = open_rdma(server);
  auto& c = s.rdma->smb();
  FileId f = create_file(c, s.tree, "inline-big.bin");
  Bytes data = pattern(c.max_read_size(), 77);
  for (std::size_t at = 0; at < data.size(); at += 60000) {
    std::size_t n = std::min<std::size_t>(60000, data.size() - at);
    REQUIRE(c.write(s.tree, f, at, ByteSpan(data).subspan(at, n)) == NtStatus::SUCCESS);
  }
  // The whole MaxReadSize inline: the answer would not fit one SMB Direct message of
  // the client's (MaxFragmentedRecvSize), so the server returns what fits.
  Bytes back;
  REQUIRE(c.read(s.tree, f, 0, c.max_read_size(), back) == NtStatus::SUCCESS);
  CHECK(back.size() > 0);
  CHECK(back.size() < data.size());
  CHECK(std::equal(back.begin(), back.end(), data.begin()));
  CHECK(s.rdma->connected());
  CHECK(c.close(s.tree, f) == NtStatus::SUCCESS);
}

// ---- access and encryption over RDMA channels

TEST_CASE("read only = yes: a WRITE over an RDMA channel is refused and no data lands") {
  Server server;
  const std::string original = "what the read-only share holds\n";
  std::ofstream(server.base / "share-ro/ro.txt", std::ios::binary) << original;
  Session s = open_rdma(server, {}, "ro");
  auto& c = s.rdma->smb();
  FileId f;
  // The share grants only read access: neither an open for writing nor a new file.
  CHECK(c.open(s.tree, "ro.txt", client::access::GENERIC_READ | client::access::GENERIC_WRITE,
               CreateDisposition::FILE_OPEN, 0, f) == NtStatus::ACCESS_DENIED);
  CHECK(c.open(s.tree, "new.txt", client::access::GENERIC_READ | client::access::GENERIC_WRITE,
               CreateDisposition::FILE_CREATE, 0, f) == NtStatus::ACCESS_DENIED);
  REQUIRE(c.open(s.tree, "ro.txt", client::access::GENERIC_READ, CreateDisposition::FILE_OPEN, 0,
                 f) == NtStatus::SUCCESS);
  Bytes data = pattern(256 * 1024, 99);
  std::string error;
  auto buffer = s.rdma->register_buffer(data, error);
  REQUIRE_MESSAGE(buffer, error);
  std::uint32_t n = 0;
  // Over the file's data, past its end, and with remote invalidation: all refused.
  CHECK(s.rdma->write(s.tree, f, 0, static_cast<std::uint32_t>(data.size()), *buffer, 0, false,
                      n) == NtStatus::ACCESS_DENIED);
  CHECK(s.rdma->write(s.tree, f, original.size(), 4096, *buffer, 0, false, n) ==
        NtStatus::ACCESS_DENIED);
  CHECK(s.rdma->write(s.tree, f, 1u << 20, 4096, *buffer, 4096, true, n) ==
        NtStatus::ACCESS_DENIED);
  CHECK(c.write(s.tree, f, 0, ByteSpan(data).first(4096)) == NtStatus::ACCESS_DENIED);
  CHECK(read_file(server.base / "share-ro/ro.txt") == original);
  CHECK(!fs::exists(server.base / "share-ro/new.txt"));
  // Reading over RDMA still works, byte for byte.
  Bytes back(4096, 0);
  auto in = s.rdma->register_buffer(back, error);
  REQUIRE_MESSAGE(in, error);
  REQUIRE(s.rdma->read(s.tree, f, 0, 4096, *in, 0, false, n) == NtStatus::SUCCESS);
  REQUIRE(n == original.size());
  CHECK(std::string(back.begin(), back.begin() + n) == original);
  CHECK(c.close(s.tree, f) == NtStatus::SUCCESS);
}

TEST_CASE(
    "Encryption: RDMA channels are refused, inline encrypted READ and WRITE work over "
    "SMB Direct") {
  Server server;
  const Bytes secret = pattern(192 * 1024, 4242);
  {
    std::ofstream out(server.base / "share/secret.bin", std::ios::binary);
    out.write(reinterpret_cast<const char*>(secret.data()),
              static_cast<std::streamsize>(secret.size()));
  }
  auto on_disk = [&] { return read_file(server.base / "share/secret.bin"); };
  // The client encrypts its session on [data]; [sealed] demands encryption of its tree.
  for (bool share_demands : {false, true}) {
    CAPTURE(share_demands);
    client::Options options;
    options.encrypt = !share_demands;
    Session s = open_rdma(server, options, share_demands ? "sealed" : "data");
    auto& c = s.rdma->smb();
    FileId f;
    REQUIRE(c.open(s.tree, "secret.bin",
                   client::access::GENERIC_READ | client::access::GENERIC_WRITE,
                   CreateDisposition::FILE_OPEN, 0, f) == NtStatus::SUCCESS);
    const auto size = static_cast<std::uint32_t>(secret.size());
    std::string error;
    Bytes into(size, 0);
    auto in = s.rdma->register_buffer(into, error);
    REQUIRE_MESSAGE(in, error);
    std::uint32_t n = 0;
    CHECK(s.rdma->read(s.tree, f, 0, size, *in, 0, false, n) == NtStatus::ACCESS_DENIED);
    CHECK(s.rdma->read(s.tree, f, 0, size, *in, 0, true, n) == NtStatus::ACCESS_DENIED);
    // Not one byte of the file was written into the client's memory over the fabric.
    CHECK(std::all_of(into.begin(), into.end(), [](std::uint8_t b) { return b == 0; }));
    Bytes other = pattern(size, 17);
    auto out = s.rdma->register_buffer(other, error);
    REQUIRE_MESSAGE(out, error);
    CHECK(s.rdma->write(s.tree, f, 0, size, *out, 0, false, n) == NtStatus::ACCESS_DENIED);
    CHECK(on_disk() == std::string(secret.begin(), secret.end()));

    // Inline, inside encrypted messages: the file's bytes come back exactly, in encrypted
    // responses only.
    Bytes back;
    for (std::uint32_t at = 0; at < size;) {
      ReadRequest q;
      q.length = std::min<std::uint32_t>(60000, size - at);
      q.offset = at;
      q.file_id = f;
      client::Call call;
      call.command = Command::READ;
      call.session_id = s.tree.session_id;
      call.tree_id = s.tree.tree_id;
      call.tree_encrypt = s.tree.encrypt;
      call.body = encode_body(q);
      client::Reply r = c.call(std::move(call));
      REQUIRE(r.status() == NtStatus::SUCCESS);
      CHECK(r.was_encrypted);
      ReadResponse p;
      REQUIRE(decode(r.pdu, p) == NtStatus::SUCCESS);
      REQUIRE(p.data.size() > 0);
      back.insert(back.end(), p.data.begin(), p.data.end());
      at += static_cast<std::uint32_t>(p.data.size());
    }
    CHECK(back == secret);
    // An inline WRITE lands byte for byte; the original goes back the same way.
    for (std::uint32_t at = 0; at < size; at += 60000)
      REQUIRE(c.write(s.tree, f, at,
                      ByteSpan(other).subspan(at, std::min<std::uint32_t>(60000, size - at))) ==
              NtStatus::SUCCESS);
    CHECK(on_disk() == std::string(other.begin(), other.end()));
    for (std::uint32_t at = 0; at < size; at += 60000)
      REQUIRE(c.write(s.tree, f, at,
                      ByteSpan(secret).subspan(at, std::min<std::uint32_t>(60000, size - at))) ==
              NtStatus::SUCCESS);
    CHECK(on_disk() == std::string(secret.begin(), secret.end()));
    CHECK(c.close(s.tree, f) == NtStatus::SUCCESS);
  }
  // Without encryption the same READ over RDMA is served (the refusal is encryption's).
  Session plain = open_rdma(server);
  FileId g;
  REQUIRE(plain.rdma->smb().open(plain.tree, "secret.bin", client::access::GENERIC_READ,
                                 CreateDisposition::FILE_OPEN, 0, g) == NtStatus::SUCCESS);
  Bytes into(secret.size(), 0);
  std::string error;
  auto in = plain.rdma->register_buffer(into, error);
  REQUIRE_MESSAGE(in, error);
  std::uint32_t n = 0;
  REQUIRE(plain.rdma->read(plain.tree, g, 0, static_cast<std::uint32_t>(into.size()), *in, 0, false,
                           n) == NtStatus::SUCCESS);
  CHECK(into == secret);
}

// ---- a client that withholds its SMB Direct credits

namespace {

// A line of /proc/PID/status in KiB (VmRSS, VmHWM), 0 when unreadable.
std::uint64_t status_kib(pid_t pid, const std::string& key) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind(key + ":", 0) == 0)
      return std::strtoull(line.c_str() + key.size() + 1, nullptr, 10);
  return 0;
}

bool logged(const Server& server, const std::string& text) {
  for (const char* name : {"log/smbd.log", "log/smbd.out", "log/rdmaproxy.out"})
    if (read_file(server.base / name).find(text) != std::string::npos) return true;
  return false;
}

// Sets an environment variable for the processes a test starts, and restores it.
struct ScopedEnv {
  std::string name;
  std::optional<std::string> old;
  ScopedEnv(std::string n, const std::string& value) : name(std::move(n)) {
    if (const char* v = std::getenv(name.c_str())) old = v;
    ::setenv(name.c_str(), ((old ? *old + ":" : std::string()) + value).c_str(), 1);
  }
  ~ScopedEnv() {
    if (old)
      ::setenv(name.c_str(), old->c_str(), 1);
    else
      ::unsetenv(name.c_str());
  }
};

}  // namespace

TEST_CASE(
    "A client withholding its SMB Direct credits: proxy and worker stay bounded, others "
    "are served, and it resumes") {
  // Freed memory held back by AddressSanitizer (in a sanitizer build) would count as
  // memory in use: keep its quarantine small for the servers of this test.
  ScopedEnv asan("ASAN_OPTIONS", "quarantine_size_mb=8");
  Server server;
  constexpr std::uint32_t kChunk = 1u << 20;
  write_file_over_tcp(server, "flood.bin", 1);
  const Bytes expected = pattern(kChunk, 0);
  REQUIRE(wait_until([&] { return workers_of(server.smbd).empty(); }));

  client::Options options;
  // Enough SMB2 credits for 200 outstanding 1 MiB READs, and time for their 200 MiB on a
  // slow fabric.
  options.target_credits = 4096;
  options.timeout = std::chrono::minutes(5);
  Session hog = open_rdma(server, options);
  auto& c = hog.rdma->smb();
  FileId f;
  REQUIRE(c.open(hog.tree, "flood.bin", client::access::GENERIC_READ, CreateDisposition::FILE_OPEN,
                 0, f) == NtStatus::SUCCESS);
  for (int i = 0; i < 8 && c.credits().available() < 3300; ++i)
    REQUIRE(c.echo() == NtStatus::SUCCESS);
  REQUIRE(c.credits().available() >= 3300);
  auto workers = workers_of(server.smbd);
  REQUIRE(workers.size() == 1);
  const pid_t worker = workers[0];
  const std::uint64_t proxy_before = status_kib(server.proxy, "VmRSS");
  const std::uint64_t worker_before = status_kib(worker, "VmRSS");
  REQUIRE(proxy_before > 0);
  REQUIRE(worker_before > 0);
  // Bounds on the growth of resident memory: the 32 MiB backlog of each process with
  // room to spare, and well below the 200 MiB of answers the client asks for.
  constexpr std::uint64_t kProxyBoundKib = 64u << 10;
  constexpr std::uint64_t kWorkerBoundKib = 128u << 10;
  auto proxy_growth = [&] { return status_kib(server.proxy, "VmHWM") - proxy_before; };
  auto worker_growth = [&] { return status_kib(worker, "VmHWM") - worker_before; };

  // The client stops taking messages, then asks for 80 MiB of inline READs ...
  hog.rdma->hold_receives(true);
  std::uint32_t answered = 0, wrong = 0;
  auto read_one = [&] {
    c.read_async(hog.tree, f, 0, kChunk, [&](NtStatus st, ByteSpan data) {
      ++answered;
      if (st != NtStatus::SUCCESS || data.empty() ||
          !std::equal(data.begin(), data.end(), expected.begin()))
        ++wrong;
    });
  };
  for (int i = 0; i < 80; ++i) read_one();
  // ... until the proxy stops reading the worker and the worker stops reading requests
  // (or, without those limits, the proxy has taken more than its bound).
  bool both_paused = wait_until(
      [&] {
        return (logged(server, "smbd not read") && logged(server, "reading paused")) ||
               proxy_growth() > kProxyBoundKib;
      },
      std::chrono::seconds(60));
  CHECK(both_paused);
  CHECK(logged(server, "smbd not read"));
  CHECK(logged(server, "reading paused"));
  // 120 MiB more: these stay requests, waiting in the channel to the worker.
  for (int i = 0; i < 120; ++i) read_one();

  // Another client is served meanwhile, through the same proxy (its own worker). Inline
  // I/O only: an RDMA transfer would have the proxy register (on verbs: pin) a data
  // segment, which is not backlog.
  {
    Session other = open_rdma(server);
    auto& oc = other.rdma->smb();
    FileId g = create_file(oc, other.tree, "other.bin");
    Bytes data = pattern(240000, 5);
    for (std::size_t at = 0; at < data.size(); at += 60000)
      REQUIRE(oc.write(other.tree, g, at, ByteSpan(data).subspan(at, 60000)) == NtStatus::SUCCESS);
    Bytes back, part;
    for (std::size_t at = 0; at < data.size(); at += 60000) {
      REQUIRE(oc.read(other.tree, g, at, 60000, part) == NtStatus::SUCCESS);
      back.insert(back.end(), part.begin(), part.end());
    }
    CHECK(back == data);
    CHECK(oc.close(other.tree, g) == NtStatus::SUCCESS);
  }
  MESSAGE("resident memory grown by the stalled client: proxy "
          << proxy_growth() / 1024 << " MiB, worker " << worker_growth() / 1024 << " MiB");
  CHECK(proxy_growth() <= kProxyBoundKib);
  CHECK(worker_growth() <= kWorkerBoundKib);
  CHECK(answered == 0);

  // The client takes its messages again: every READ is answered, byte for byte.
  hog.rdma->hold_receives(false);
  c.wait_until([&] { return answered == 200; });
  CHECK(answered == 200);
  CHECK(wrong == 0);
  CHECK(logged(server, "smbd read again"));
  CHECK(logged(server, "reading resumed"));
  CHECK(c.close(hog.tree, f) == NtStatus::SUCCESS);
}
