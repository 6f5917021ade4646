// READ and WRITE follow the same rules whether their bytes travel inline over TCP or
// through an RDMA channel (SMB2_CHANNEL_RDMA_V1) over SMB Direct: the same edge cases go
// both ways, each on its own file of one server, and the answers (NT status, count,
// data), the files and the opens' positions must be identical. Only how the bytes move
// may differ ([MS-SMB2] 3.3.5.12, 3.3.5.13; [MS-FSA] 2.1.5.3, 2.1.5.4).
#include <doctest/doctest.h>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <sstream>
#include <string>

#include "smbd/client/connection.hh"
#include "smbd/client/rdma_client.hh"
#include "smbd/proto/fscc.hh"
#include "smbd/proto/query_info.hh"
#include "smbd/proto/read.hh"
#include "smbd/proto/write.hh"
#include "smbd/rpc/pdu.hh"
#include "smbd/rpc/srvsvc.hh"
#include "tests/integration/smbdirect/harness.hh"

using namespace smb;
using namespace smbdirect_test;

namespace {

constexpr std::uint64_t kAllOnes = ~std::uint64_t{0};
constexpr std::uint64_t kMaxLongLong = 0x7FFFFFFFFFFFFFFFull;
constexpr std::uint64_t kMaxFileSize = 0xFFFFFFF0000ull;  // MS-FSA 2.1.5.4 MAXFILESIZE
constexpr std::uint32_t kBufferSize = 256 * 1024;

// One READ's or WRITE's answer as the client sees it. `count` is a READ's DataLength
// inline or DataRemaining by RDMA, a WRITE's Count; `data` the bytes a READ returned.
struct Answer {
  NtStatus status = NtStatus::SUCCESS;
  std::uint32_t count = 0;
  Bytes data;
  bool operator==(const Answer&) const = default;
};

std::string describe(const Answer& a) {
  std::ostringstream out;
  out << nt_status_name(a.status) << ", count " << a.count << ", " << a.data.size() << " bytes";
  return out.str();
}

// A READ or WRITE as a test sends it. `credit_charge`, when set, replaces the header's
// CreditCharge the client computed.
struct ReadCase {
  std::uint64_t offset = 0;
  std::uint32_t length = 0;
  std::uint32_t minimum_count = 0;
  std::optional<std::uint16_t> credit_charge;
};
struct WriteCase {
  std::uint64_t offset = 0;
  Bytes data;
  std::optional<std::uint16_t> credit_charge;
};

// One way a READ's or WRITE's bytes travel, on its own connection, session and trees.
class Path {
 public:
  virtual ~Path() = default;
  virtual const char* name() const = 0;
  virtual client::Connection& smb() = 0;
  virtual Answer read(const client::Tree& tree, const FileId& file, const ReadCase& c) = 0;
  virtual Answer write(const client::Tree& tree, const FileId& file, const WriteCase& c) = 0;

  client::Tree data;  // [data]
  client::Tree ipc;   // IPC$

 protected:
  // Sends `call`, with its CreditCharge replaced when asked, and returns the answer.
  client::Reply send(client::Call call, std::optional<std::uint16_t> credit_charge) {
    if (!credit_charge) return smb().call(std::move(call));
    Bytes message = smb().build(call);
    store_le16(&message[6], *credit_charge);  // MS-SMB2 2.2.1.2 CreditCharge
    smb().send_raw(message);
    std::optional<Bytes> answer = smb().receive_raw(30000);
    REQUIRE(answer);
    client::Reply reply;
    REQUIRE(decode(*answer, reply.header) == NtStatus::SUCCESS);
    reply.pdu = std::move(*answer);
    return reply;
  }

  static client::Call call_for(const client::Tree& tree, Command command, Bytes body) {
    client::Call c;
    c.command = command;
    c.session_id = tree.session_id;
    c.tree_id = tree.tree_id;
    c.body = std::move(body);
    return c;
  }

  static bool carries_data(NtStatus s) {
    return s == NtStatus::SUCCESS || s == NtStatus::BUFFER_OVERFLOW;
  }
};

// SMB2_CHANNEL_NONE over TCP: the data in the messages.
class InlinePath final : public Path {
 public:
  explicit InlinePath(const Server& server)
      : connection_(client::Connection::connect("127.0.0.1", server.port)) {
    std::uint64_t sid = connection_->session_setup(server.credentials());
    data = connection_->tree_connect(sid, "\\\\127.0.0.1\\data");
    ipc = connection_->tree_connect(sid, "\\\\127.0.0.1\\IPC$");
  }
  const char* name() const override { return "tcp"; }
  client::Connection& smb() override { return *connection_; }

  Answer read(const client::Tree& tree, const FileId& file, const ReadCase& c) override {
    ReadRequest q;
    q.length = c.length;
    q.offset = c.offset;
    q.file_id = file;
    q.minimum_count = c.minimum_count;
    client::Call call = call_for(tree, Command::READ, encode_body(q));
    call.response_payload = c.length;
    client::Reply r = send(std::move(call), c.credit_charge);
    Answer a{r.status(), 0, {}};
    ReadResponse p;
    if (carries_data(a.status) && decode(r.pdu, p) == NtStatus::SUCCESS) {
      a.count = p.data_length;
      a.data.assign(p.data.begin(), p.data.end());
    }
    return a;
  }

  Answer write(const client::Tree& tree, const FileId& file, const WriteCase& c) override {
    WriteRequest q;
    q.data_length = static_cast<std::uint32_t>(c.data.size());
    q.offset = c.offset;
    q.file_id = file;
    client::Call call = call_for(tree, Command::WRITE, encode_body(q));
    call.payload = c.data;
    client::Reply r = send(std::move(call), c.credit_charge);
    Answer a{r.status(), 0, {}};
    WriteResponse p;
    if (a.status == NtStatus::SUCCESS && decode(r.pdu, p) == NtStatus::SUCCESS) a.count = p.count;
    return a;
  }

 private:
  std::unique_ptr<client::Connection> connection_;
};

// SMB2_CHANNEL_RDMA_V1 over SMB Direct: the data in a buffer the client registered, which
// the server RDMA-writes (READ) or RDMA-reads (WRITE).
class RdmaPath final : public Path {
 public:
  explicit RdmaPath(const Server& server) : memory_(kBufferSize) {
    Session s = open_rdma(server);
    rdma_ = std::move(s.rdma);
    data = s.tree;
    ipc = rdma_->smb().tree_connect(data.session_id, "\\\\127.0.0.1\\IPC$");
    std::string error;
    buffer_ = rdma_->register_buffer(memory_, error);
    REQUIRE_MESSAGE(buffer_, error);
  }
  ~RdmaPath() override {
    buffer_.reset();  // the registration goes before its connection
  }
  const char* name() const override { return "rdma"; }
  client::Connection& smb() override { return rdma_->smb(); }

  Answer read(const client::Tree& tree, const FileId& file, const ReadCase& c) override {
    REQUIRE(c.length <= kBufferSize);
    std::fill(memory_.begin(), memory_.end(), 0xEE);
    ReadRequest q;
    q.length = c.length;
    q.offset = c.offset;
    q.file_id = file;
    q.minimum_count = c.minimum_count;
    q.channel = Channel::RDMA_V1;
    q.descriptors.push_back(buffer_->descriptor(0, c.length));
    client::Call call = call_for(tree, Command::READ, encode_body(q));
    call.response_payload = c.length;  // the credit charge covers the bytes moved by RDMA
    client::Reply r = send(std::move(call), c.credit_charge);
    Answer a{r.status(), 0, {}};
    ReadResponse p;
    if (carries_data(a.status) && decode(r.pdu, p) == NtStatus::SUCCESS) {
      // MS-SMB2 3.3.5.12: the data went to the buffer; the response carries none.
      CHECK(p.data_length == 0);
      a.count = p.data_remaining;
      REQUIRE(a.count <= c.length);
      a.data.assign(memory_.begin(), memory_.begin() + a.count);
    }
    return a;
  }

  Answer write(const client::Tree& tree, const FileId& file, const WriteCase& c) override {
    REQUIRE(c.data.size() <= kBufferSize);
    std::copy(c.data.begin(), c.data.end(), memory_.begin());
    auto length = static_cast<std::uint32_t>(c.data.size());
    WriteRequest q;
    q.data_length = 0;
    q.offset = c.offset;
    q.file_id = file;
    q.channel = Channel::RDMA_V1;
    q.remaining_bytes = length;
    q.descriptors.push_back(buffer_->descriptor(0, length));
    client::Call call = call_for(tree, Command::WRITE, encode_body(q));
    call.response_payload = length;
    client::Reply r = send(std::move(call), c.credit_charge);
    Answer a{r.status(), 0, {}};
    WriteResponse p;
    if (a.status == NtStatus::SUCCESS && decode(r.pdu, p) == NtStatus::SUCCESS) a.count = p.count;
    return a;
  }

 private:
  std::unique_ptr<client::RdmaClient> rdma_;
  Bytes memory_;
  std::unique_ptr<client::RdmaBuffer> buffer_;
};

Bytes pattern(std::size_t size, std::uint8_t seed) {
  Bytes out(size);
  for (std::size_t i = 0; i < size; ++i) out[i] = static_cast<std::uint8_t>(seed + i * 7);
  return out;
}

// One server, and a TCP and an SMB Direct client of it.
struct Fixture {
  Server server;
  InlinePath tcp{server};
  RdmaPath rdma{server};

  // `name` of `path`'s own file in [data].
  static std::string file_name(Path& path, const std::string& name) {
    return std::string(path.name()) + "-" + name;
  }

  // Opens the file `name` of `path` with `access` (created with `content` first, when
  // given, through an open for reading and writing).
  FileId open(Path& path, const std::string& name, std::uint32_t access,
              const std::optional<Bytes>& content = std::nullopt,
              std::uint32_t create_options = 0) {
    std::string file = file_name(path, name);
    if (content) {
      FileId f = create_file(path.smb(), path.data, file);
      if (!content->empty()) {
        std::uint32_t n = 0;
        REQUIRE(path.smb().write(path.data, f, 0, *content, &n) == NtStatus::SUCCESS);
        REQUIRE(n == content->size());
      }
      REQUIRE(path.smb().close(path.data, f) == NtStatus::SUCCESS);
    }
    FileId f;
    REQUIRE(path.smb().open(path.data, file, access, CreateDisposition::FILE_OPEN_IF,
                            create_options, f) == NtStatus::SUCCESS);
    return f;
  }

  // The file's bytes on the server's disk (a file grown past what the tests write is
  // compared by its size only).
  std::string on_disk(Path& path, const std::string& name) {
    std::filesystem::path file = server.base / "share" / file_name(path, name);
    auto size = std::filesystem::file_size(file);
    if (size > kBufferSize) return "a file of " + std::to_string(size) + " bytes";
    return read_file(file);
  }

  // FilePositionInformation ([MS-FSCC] 2.4.35): Open.CurrentByteOffset.
  static std::uint64_t position(Path& path, const FileId& file) {
    QueryInfoRequest q;
    q.info_type = InfoType::SMB2_0_INFO_FILE;
    q.file_info_class = static_cast<std::uint8_t>(fscc::FileInfoClass::FilePositionInformation);
    q.output_buffer_length = 8;
    q.file_id = file;
    Bytes output;
    REQUIRE(path.smb().query_info(path.data, q, output) == NtStatus::SUCCESS);
    fscc::FilePositionInformation p;
    REQUIRE(fscc::decode(output, p) == NtStatus::SUCCESS);
    return p.current_byte_offset;
  }

  // Sends the same READ or WRITE both ways and checks that both answered alike; returns
  // the answer (the TCP one) for the caller's own expectations.
  Answer read(const std::string& what, const FileId& over_tcp, const FileId& over_rdma,
              const ReadCase& c, bool ipc = false) {
    Answer a = tcp.read(ipc ? tcp.ipc : tcp.data, over_tcp, c);
    Answer b = rdma.read(ipc ? rdma.ipc : rdma.data, over_rdma, c);
    CHECK_MESSAGE(a == b,
                  "READ " << what << ": over TCP " << describe(a) << ", over RDMA " << describe(b));
    return a;
  }
  Answer write(const std::string& what, const FileId& over_tcp, const FileId& over_rdma,
               const WriteCase& c, bool ipc = false) {
    Answer a = tcp.write(ipc ? tcp.ipc : tcp.data, over_tcp, c);
    Answer b = rdma.write(ipc ? rdma.ipc : rdma.data, over_rdma, c);
    CHECK_MESSAGE(
        a == b, "WRITE " << what << ": over TCP " << describe(a) << ", over RDMA " << describe(b));
    return a;
  }
};

constexpr std::uint32_t kReadWrite = client::access::GENERIC_READ | client::access::GENERIC_WRITE;
// FILE_APPEND_DATA without FILE_WRITE_DATA: an open that may only add to the end.
constexpr std::uint32_t kAppendOnly =
    client::access::FILE_READ_DATA | client::access::FILE_APPEND_DATA |
    client::access::FILE_READ_ATTRIBUTES | client::access::SYNCHRONIZE;

}  // namespace

TEST_CASE("WRITE at offset all ones: at the end for an append-only open, invalid otherwise") {
  Fixture f;
  Bytes base = pattern(100, 1);
  Bytes more = pattern(10, 99);
  {
    FileId t = f.open(f.tcp, "rw.bin", kReadWrite, base);
    FileId r = f.open(f.rdma, "rw.bin", kReadWrite, base);
    // MS-FSA 2.1.5.4: -1 means "the end" only for an append-only open.
    CHECK(f.write("at all ones, read/write open", t, r, {kAllOnes, more}).status ==
          NtStatus::INVALID_PARAMETER);
    CHECK(f.write("of nothing at all ones, read/write open", t, r, {kAllOnes, {}}).status ==
          NtStatus::INVALID_PARAMETER);
    CHECK(Fixture::position(f.tcp, t) == Fixture::position(f.rdma, r));
  }
  CHECK(f.on_disk(f.tcp, "rw.bin") == std::string(base.begin(), base.end()));
  CHECK(f.on_disk(f.rdma, "rw.bin") == f.on_disk(f.tcp, "rw.bin"));

  FileId t = f.open(f.tcp, "append.bin", kAppendOnly, base);
  FileId r = f.open(f.rdma, "append.bin", kAppendOnly, base);
  Answer a = f.write("at all ones, append-only open", t, r, {kAllOnes, more});
  CHECK(a.status == NtStatus::SUCCESS);
  CHECK(a.count == more.size());
  Bytes appended = base;
  appended.insert(appended.end(), more.begin(), more.end());
  CHECK(f.on_disk(f.tcp, "append.bin") == std::string(appended.begin(), appended.end()));
  CHECK(f.on_disk(f.rdma, "append.bin") == f.on_disk(f.tcp, "append.bin"));
  CHECK(Fixture::position(f.tcp, t) == Fixture::position(f.rdma, r));
}

TEST_CASE("Offset and length past 2^63 and past MAXFILESIZE") {
  Fixture f;
  Bytes base = pattern(100, 2);
  Bytes ten = pattern(10, 3);
  FileId t = f.open(f.tcp, "big.bin", kReadWrite, base);
  FileId r = f.open(f.rdma, "big.bin", kReadWrite, base);
  // MS-FSA 2.1.5.3, 2.1.5.4: offsets are signed; a range past MAXLONGLONG is invalid.
  CHECK(f.read("ending past 2^63", t, r, {kMaxLongLong - 5, 10}).status ==
        NtStatus::INVALID_PARAMETER);
  CHECK(f.read("at 2^63", t, r, {kMaxLongLong + 1, 10}).status == NtStatus::INVALID_PARAMETER);
  CHECK(f.write("ending past 2^63", t, r, {kMaxLongLong - 5, ten}).status ==
        NtStatus::INVALID_PARAMETER);
  CHECK(f.write("at 2^63", t, r, {kMaxLongLong + 1, ten}).status == NtStatus::INVALID_PARAMETER);
  // A WRITE may not start at MAXFILESIZE nor end past it.
  CHECK(f.write("at MAXFILESIZE", t, r, {kMaxFileSize, ten}).status == NtStatus::INVALID_PARAMETER);
  CHECK(f.write("ending past MAXFILESIZE", t, r, {kMaxFileSize - 5, ten}).status ==
        NtStatus::DISK_FULL);
  CHECK(Fixture::position(f.tcp, t) == Fixture::position(f.rdma, r));
  CHECK(f.on_disk(f.tcp, "big.bin") == std::string(base.begin(), base.end()));
  CHECK(f.on_disk(f.rdma, "big.bin") == f.on_disk(f.tcp, "big.bin"));
}

TEST_CASE("Zero-length READ and WRITE, and where they leave the position") {
  Fixture f;
  Bytes base = pattern(100, 4);
  FileId t = f.open(f.tcp, "zero.bin", kReadWrite, base);
  FileId r = f.open(f.rdma, "zero.bin", kReadWrite, base);
  Answer a = f.read("of nothing", t, r, {40, 0});
  CHECK(a.status == NtStatus::SUCCESS);
  CHECK(a.count == 0);
  CHECK(Fixture::position(f.tcp, t) == Fixture::position(f.rdma, r));
  CHECK(f.read("of nothing past the end", t, r, {1000, 0}).status == NtStatus::SUCCESS);
  a = f.write("of nothing", t, r, {5, {}});
  CHECK(a.status == NtStatus::SUCCESS);
  CHECK(a.count == 0);
  CHECK(Fixture::position(f.tcp, t) == 5);
  CHECK(Fixture::position(f.rdma, r) == 5);
  CHECK(f.on_disk(f.rdma, "zero.bin") == f.on_disk(f.tcp, "zero.bin"));
}

TEST_CASE("A length the CreditCharge does not cover is refused") {
  Fixture f;
  Bytes base = pattern(200 * 1024, 5);
  FileId t = f.open(f.tcp, "charge.bin", kReadWrite, base);
  FileId r = f.open(f.rdma, "charge.bin", kReadWrite, base);
  // MS-SMB2 3.3.5.2.5: 128 KiB needs a CreditCharge of 2.
  CHECK(f.read("of 128 KiB charged 1", t, r, {0, 128 * 1024, 0, 1}).status ==
        NtStatus::INVALID_PARAMETER);
  CHECK(f.write("of 128 KiB charged 1", t, r, {0, pattern(128 * 1024, 6), 1}).status ==
        NtStatus::INVALID_PARAMETER);
  Answer a = f.read("of 128 KiB charged 2", t, r, {0, 128 * 1024, 0, 2});
  CHECK(a.status == NtStatus::SUCCESS);
  CHECK(a.data == Bytes(base.begin(), base.begin() + 128 * 1024));
  CHECK(f.on_disk(f.tcp, "charge.bin") == std::string(base.begin(), base.end()));
  CHECK(f.on_disk(f.rdma, "charge.bin") == f.on_disk(f.tcp, "charge.bin"));
}

TEST_CASE("A read-only open reads and is refused a WRITE") {
  Fixture f;
  Bytes base = pattern(100, 7);
  FileId t = f.open(f.tcp, "ro.bin", client::access::GENERIC_READ, base);
  FileId r = f.open(f.rdma, "ro.bin", client::access::GENERIC_READ, base);
  CHECK(f.write("on a read-only open", t, r, {0, pattern(10, 8)}).status ==
        NtStatus::ACCESS_DENIED);
  Answer a = f.read("on a read-only open", t, r, {10, 20});
  CHECK(a.status == NtStatus::SUCCESS);
  CHECK(a.data == Bytes(base.begin() + 10, base.begin() + 30));
  CHECK(Fixture::position(f.tcp, t) == 30);
  CHECK(Fixture::position(f.rdma, r) == 30);
}

TEST_CASE("A directory is neither read nor written") {
  Fixture f;
  FileId t = f.open(f.tcp, "dir", client::access::GENERIC_READ, std::nullopt, kFileDirectoryFile);
  FileId r = f.open(f.rdma, "dir", client::access::GENERIC_READ, std::nullopt, kFileDirectoryFile);
  CHECK(f.read("of a directory", t, r, {0, 10}).status == NtStatus::INVALID_DEVICE_REQUEST);
  CHECK(f.write("to a directory", t, r, {0, pattern(10, 9)}).status ==
        NtStatus::INVALID_DEVICE_REQUEST);
}

TEST_CASE("The srvsvc named pipe of IPC$: a bind written and its bind_ack read") {
  Fixture f;
  auto open_pipe = [](Path& path) {
    FileId p;
    REQUIRE(path.smb().open(path.ipc, "srvsvc", kReadWrite, CreateDisposition::FILE_OPEN, 0, p) ==
            NtStatus::SUCCESS);
    return p;
  };
  FileId t = open_pipe(f.tcp);
  FileId r = open_pipe(f.rdma);
  rpc::BindPdu bind;
  bind.header.type = rpc::PduType::bind;
  bind.header.call_id = 1;
  // A group named by the client, so both binds are answered with the same one.
  bind.assoc_group_id = 0x1234;
  bind.contexts.push_back({0, rpc::srvsvc_syntax(), {rpc::ndr20_syntax()}});
  Bytes pdu;
  encode(bind, pdu);
  Answer w = f.write("of a bind", t, r, {0, pdu}, true);
  CHECK(w.status == NtStatus::SUCCESS);
  CHECK(w.count == pdu.size());
  Answer a = f.read("of the bind_ack", t, r, {0, 4280}, true);
  CHECK(a.status == NtStatus::SUCCESS);
  rpc::BindAckPdu ack;
  REQUIRE(rpc::decode(a.data, ack));
  CHECK(ack.header.type == rpc::PduType::bind_ack);
  CHECK(ack.assoc_group_id == 0x1234);
  // Nothing more is queued: both say so alike.
  CHECK(f.read("of an empty pipe", t, r, {0, 4280}, true).status != NtStatus::SUCCESS);
}

TEST_CASE("READ at and after the end of the file, with MinimumCount") {
  Fixture f;
  Bytes base = pattern(100, 10);
  FileId t = f.open(f.tcp, "eof.bin", kReadWrite, base);
  FileId r = f.open(f.rdma, "eof.bin", kReadWrite, base);
  CHECK(f.read("at the end", t, r, {100, 10}).status == NtStatus::END_OF_FILE);
  CHECK(f.read("after the end", t, r, {200, 10}).status == NtStatus::END_OF_FILE);
  Answer a = f.read("across the end", t, r, {50, 100});
  CHECK(a.status == NtStatus::SUCCESS);
  CHECK(a.data == Bytes(base.begin() + 50, base.end()));
  CHECK(f.read("across the end, MinimumCount 60", t, r, {50, 100, 60}).status ==
        NtStatus::END_OF_FILE);
  a = f.read("across the end, MinimumCount 50", t, r, {40, 100, 50});
  CHECK(a.status == NtStatus::SUCCESS);
  CHECK(a.count == 60);
  // MS-FSA 2.1.5.3: the position follows the bytes read.
  CHECK(Fixture::position(f.tcp, t) == 100);
  CHECK(Fixture::position(f.rdma, r) == 100);
}
