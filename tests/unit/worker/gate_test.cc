// The gate (Connection::process_next) column by column of the dispatch table, through a
// worker in this process and the loopback transport: StructureSize, session, tree,
// FileId (with related operations), credit charge, signing and encryption exemptions,
// channel sequence, and the rows a connection starts with or never answers.
#include <doctest/doctest.h>

#include "gate_harness.hh"
#include "smbd/proto/cancel.hh"
#include "smbd/proto/change_notify.hh"
#include "smbd/proto/close.hh"
#include "smbd/proto/create.hh"
#include "smbd/proto/echo.hh"
#include "smbd/proto/fscc.hh"
#include "smbd/proto/ioctl.hh"
#include "smbd/proto/negotiate.hh"
#include "smbd/proto/query_directory.hh"
#include "smbd/proto/query_info.hh"
#include "smbd/proto/read.hh"
#include "smbd/proto/set_info.hh"
#include "smbd/proto/tree_connect.hh"
#include "smbd/proto/write.hh"
#include "smbd/worker/dispatch.hh"

using namespace smb;
using namespace smb::server;
using namespace smb::server::test;

namespace {

// A body of the size the table names for `spec` (StructureSize + 1 for a wrong one),
// zero but for its StructureSize and, where the command has one, its FileId.
Bytes bare_body(const CommandSpec& spec, int size_delta = 0, FileId id = {}) {
  std::uint16_t size = spec.structure_size == 0 ? 24 : spec.structure_size;
  Bytes body(size + 1u, 0);
  store_le16(body.data(), static_cast<std::uint16_t>(size + size_delta));
  if (spec.file_id_offset >= 0) {
    store_le64(&body[static_cast<std::size_t>(spec.file_id_offset)], id.persistent);
    store_le64(&body[static_cast<std::size_t>(spec.file_id_offset) + 8], id.volatile_);
  }
  return body;
}

std::vector<const CommandSpec*> table() {
  std::vector<const CommandSpec*> out;
  for (std::uint16_t code = 0; const CommandSpec* spec = find_command(code); ++code)
    out.push_back(spec);
  return out;
}

}  // namespace

TEST_CASE("a connection starts with NEGOTIATE: any other first request closes it") {
  TestServer server;
  TestClient client(server);
  Element e;
  e.command = Command::ECHO;
  e.body = encode_body(EchoRequest{});
  CHECK(client.exchange(client.build(e)).empty());
  CHECK(client.peer().closed());
}

TEST_CASE("StructureSize: every command with a wrong size is refused, CANCEL silently") {
  Setup s;
  for (const CommandSpec* spec : table()) {
    if (spec->structure_size == 0 || spec->negotiates) continue;
    CAPTURE(command_name(spec->command));
    Element e = s.element(spec->command, bare_body(*spec, +1));
    if (spec->answered) {
      CHECK(s.client.call(e).status() == NtStatus::INVALID_PARAMETER);
    } else {
      // Nothing comes back for it: the ECHO after it is the whole answer.
      Bytes message =
          s.client.compound({s.client.build(e),
                             s.client.build(s.element(Command::ECHO, encode_body(EchoRequest{})))});
      auto replies = s.client.exchange(message);
      REQUIRE(replies.size() == 1);
      CHECK(replies[0].header.command == Command::ECHO);
    }
  }
  // An unknown command code is refused the same way.
  Element unknown = s.element(static_cast<Command>(0x0013), Bytes(8, 0));
  CHECK(s.client.call(unknown).status() == NtStatus::INVALID_PARAMETER);
}

TEST_CASE("session: commands that need one refuse a SessionId that names none") {
  Setup s;
  for (const CommandSpec* spec : table()) {
    if (spec->session != SessionRule::required) continue;
    CAPTURE(command_name(spec->command));
    Element e = s.element(spec->command, bare_body(*spec));
    e.session_id = 0x7777;
    e.sign = false;
    CHECK(s.client.call(e).status() == NtStatus::USER_SESSION_DELETED);
  }
  // ECHO uses a session only when it names one of this channel; none is no fault.
  Element echo = s.element(Command::ECHO, encode_body(EchoRequest{}));
  echo.session_id = 0x7777;
  echo.sign = false;
  CHECK(s.client.call(echo).status() == NtStatus::SUCCESS);
  // SESSION_SETUP naming a session that does not exist.
  Element setup = s.element(Command::SESSION_SETUP, bare_body(*find_command(1)));
  setup.session_id = 0x7777;
  setup.sign = false;
  CHECK(s.client.call(setup).status() == NtStatus::USER_SESSION_DELETED);
}

TEST_CASE("tree: commands that need one refuse a TreeId the session does not have") {
  Setup s;
  for (const CommandSpec* spec : table()) {
    if (!spec->needs_tree) continue;
    CAPTURE(command_name(spec->command));
    Element e = s.element(spec->command, bare_body(*spec));
    e.tree_id = s.tree + 100;
    CHECK(s.client.call(e).status() == NtStatus::NETWORK_NAME_DELETED);
  }
}

TEST_CASE("FileId: an id that names no open of this tree is FILE_CLOSED") {
  Setup s;
  FileId id = s.open("fileid.bin");
  std::uint32_t other_tree = s.client.tree_connect(s.session, "IPC$");
  REQUIRE(other_tree != 0);
  for (const CommandSpec* spec : table()) {
    // IOCTL's FileId depends on its control code: below.
    if (spec->file_id_offset < 0 || spec->command == Command::IOCTL) continue;
    CAPTURE(command_name(spec->command));
    Element unknown = s.element(spec->command, bare_body(*spec, 0, FileId{1234, 5678}));
    CHECK(s.client.call(unknown).status() == NtStatus::FILE_CLOSED);
    // The open exists, but on another tree of the session.
    Element elsewhere = s.element(spec->command, bare_body(*spec, 0, id));
    elsewhere.tree_id = other_tree;
    CHECK(s.client.call(elsewhere).status() == NtStatus::FILE_CLOSED);
  }
  // MS-SMB2 3.3.5.15: an FSCTL that acts on a file looks its open up.
  IoctlRequest sparse;
  sparse.ctl_code = FSCTL_SET_SPARSE;
  sparse.file_id = FileId{1234, 5678};
  CHECK(s.call(Command::IOCTL, sparse).status() == NtStatus::FILE_CLOSED);
  // One that is not an FSCTL is refused before its FileId is looked at.
  sparse.flags = 0;
  CHECK(s.call(Command::IOCTL, sparse).status() == NtStatus::NOT_SUPPORTED);
  // Those that act on the server or the tree want all ones, and refuse anything else
  // (an open's id too) with INVALID_PARAMETER before any lookup.
  for (std::uint32_t code :
       {FSCTL_DFS_GET_REFERRALS, FSCTL_DFS_GET_REFERRALS_EX, FSCTL_QUERY_NETWORK_INTERFACE_INFO,
        FSCTL_VALIDATE_NEGOTIATE_INFO, FSCTL_PIPE_WAIT}) {
    CAPTURE(code);
    for (FileId named : {FileId{1234, 5678}, id}) {
      IoctlRequest q;
      q.ctl_code = code;
      q.file_id = named;
      CHECK(s.call(Command::IOCTL, q).status() == NtStatus::INVALID_PARAMETER);
    }
  }
  // An IOCTL's all-ones FileId names no open and is not refused for that.
  IoctlRequest q;
  q.ctl_code = FSCTL_DFS_GET_REFERRALS;
  q.file_id = FileId{kAllOnes, kAllOnes};
  CHECK(s.call(Command::IOCTL, q).status() == NtStatus::NOT_FOUND);
  // Nor does a QUERY_INFO's, which needs an open.
  QueryInfoRequest info;
  info.file_info_class = static_cast<std::uint8_t>(fscc::FileInfoClass::FileBasicInformation);
  info.output_buffer_length = 4096;
  info.file_id = FileId{kAllOnes, kAllOnes};
  CHECK(s.call(Command::QUERY_INFO, info).status() == NtStatus::FILE_CLOSED);
  info.file_id = id;
  CHECK(s.call(Command::QUERY_INFO, info).status() == NtStatus::SUCCESS);
}

TEST_CASE("credit charge: the gate holds every command with a payload to MS-SMB2 3.3.5.2.5") {
  Setup s;
  FileId file = s.open("charge.bin");
  FileId dir = s.open("", kFileDirectoryFile, CreateDisposition::FILE_OPEN);
  constexpr std::uint32_t kTwoCredits = 65536 + 1;

  SUBCASE("WRITE: Length") {
    Bytes data(kTwoCredits, 0x5a);
    WriteRequest q;
    q.data_length = kTwoCredits;
    q.file_id = file;
    Bytes body = encode_body(q);
    body.insert(body.end(), data.begin(), data.end());
    Element e = s.element(Command::WRITE, body);
    CHECK(s.client.call(e).status() == NtStatus::INVALID_PARAMETER);
    e.credit_charge = 2;
    CHECK(s.client.call(e).status() == NtStatus::SUCCESS);
  }
  SUBCASE("READ: Length; a charge of 0 counts as 1") {
    ReadRequest q;
    q.length = kTwoCredits;
    q.file_id = file;
    CHECK(s.call(Command::READ, q, 1).status() == NtStatus::INVALID_PARAMETER);
    CHECK(s.call(Command::READ, q, 0).status() == NtStatus::INVALID_PARAMETER);
    // The file is empty: the read passes the gate and ends at its end.
    CHECK(s.call(Command::READ, q, 2).status() == NtStatus::END_OF_FILE);
    q.length = 65536;
    CHECK(s.call(Command::READ, q, 0).status() == NtStatus::END_OF_FILE);
  }
  SUBCASE("IOCTL: MaxOutputResponse") {
    IoctlRequest q;
    q.ctl_code = FSCTL_DFS_GET_REFERRALS;
    q.file_id = FileId{kAllOnes, kAllOnes};
    q.max_output_response = kTwoCredits;
    CHECK(s.call(Command::IOCTL, q, 1).status() == NtStatus::INVALID_PARAMETER);
    CHECK(s.call(Command::IOCTL, q, 2).status() == NtStatus::NOT_FOUND);
  }
  SUBCASE("QUERY_DIRECTORY: OutputBufferLength") {
    QueryDirectoryRequest q;
    q.file_information_class = static_cast<std::uint8_t>(fscc::FileInfoClass::FileNamesInformation);
    q.file_id = dir;
    q.file_name = "*";
    q.output_buffer_length = kTwoCredits;
    CHECK(s.call(Command::QUERY_DIRECTORY, q, 1).status() == NtStatus::INVALID_PARAMETER);
    CHECK(s.call(Command::QUERY_DIRECTORY, q, 2).status() == NtStatus::SUCCESS);
  }
  SUBCASE("CHANGE_NOTIFY: OutputBufferLength") {
    ChangeNotifyRequest q;
    q.file_id = dir;
    q.output_buffer_length = kTwoCredits;
    q.completion_filter = 1;
    CHECK(s.call(Command::CHANGE_NOTIFY, q, 1).status() == NtStatus::INVALID_PARAMETER);
    // Admitted: it waits for a change (the interim response of MS-SMB2 3.3.4.2).
    CHECK(s.call(Command::CHANGE_NOTIFY, q, 2).status() == NtStatus::PENDING);
  }
  SUBCASE("QUERY_INFO: OutputBufferLength") {
    QueryInfoRequest q;
    q.file_info_class = static_cast<std::uint8_t>(fscc::FileInfoClass::FileBasicInformation);
    q.file_id = file;
    q.output_buffer_length = kTwoCredits;
    CHECK(s.call(Command::QUERY_INFO, q, 1).status() == NtStatus::INVALID_PARAMETER);
    CHECK(s.call(Command::QUERY_INFO, q, 2).status() == NtStatus::SUCCESS);
  }
  SUBCASE("SET_INFO: BufferLength") {
    SetInfoRequest q;
    q.file_info_class = static_cast<std::uint8_t>(fscc::FileInfoClass::FileBasicInformation);
    q.file_id = file;
    q.buffer.assign(kTwoCredits, 0);  // FILE_BASIC_INFORMATION of zeros (nothing changes)
    CHECK(s.call(Command::SET_INFO, q, 1).status() == NtStatus::INVALID_PARAMETER);
    CHECK(s.call(Command::SET_INFO, q, 2).status() == NtStatus::SUCCESS);
  }
}

TEST_CASE("credit charge: without multi-credit (2.0.2) a request moves at most 64 KiB") {
  Setup s({}, 0x0202);
  FileId file = s.open("charge202.bin");
  ReadRequest q;
  q.file_id = file;
  q.length = 65536;
  CHECK(s.call(Command::READ, q, 0).status() == NtStatus::END_OF_FILE);
  q.length = 65537;
  // The charge is not looked at: no number of credits pays for more.
  CHECK(s.call(Command::READ, q, 2).status() == NtStatus::INVALID_PARAMETER);
}

TEST_CASE("credit charge: the payload each row names, read from the body") {
  auto payload = [](Command command, auto body) {
    Bytes pdu(kSmb2HeaderSize, 0);
    Bytes b = encode_body(body);
    pdu.insert(pdu.end(), b.begin(), b.end());
    return find_command(static_cast<std::uint16_t>(command))->payload_size(pdu);
  };
  WriteRequest w;
  w.data_length = 100;
  w.remaining_bytes = 300000;
  CHECK(payload(Command::WRITE, w) == 100u);
  // Over an RDMA channel the data is pulled, RemainingBytes long (MS-SMB2 3.3.5.13).
  w.data_length = 0;
  w.channel = Channel::RDMA_V1;
  w.descriptors = {BufferDescriptorV1{0, 1, 300000}};
  CHECK(payload(Command::WRITE, w) == 300000u);
  w.channel = Channel::RDMA_V1_INVALIDATE;
  CHECK(payload(Command::WRITE, w) == 300000u);

  IoctlRequest io;
  io.input.assign(70000, 0);
  io.max_output_response = 1000;
  CHECK(payload(Command::IOCTL, io) == 70000u);
  io.input.clear();
  io.max_output_response = 200000;
  CHECK(payload(Command::IOCTL, io) == 200000u);

  QueryInfoRequest qi;
  qi.output_buffer_length = 10;
  qi.input.assign(90000, 0);
  CHECK(payload(Command::QUERY_INFO, qi) == 90000u);

  // A body too short for its fields names no payload (and fails the request).
  Bytes short_pdu(kSmb2HeaderSize + 6, 0);
  for (Command c : {Command::READ, Command::WRITE, Command::IOCTL, Command::QUERY_DIRECTORY,
                    Command::QUERY_INFO, Command::SET_INFO})
    CHECK_FALSE(find_command(static_cast<std::uint16_t>(c))->payload_size(short_pdu).has_value());
  // Commands without a payload pay one credit whatever they carry.
  bool none = find_command(static_cast<std::uint16_t>(Command::CREATE))->payload_size == nullptr;
  CHECK(none);
}

TEST_CASE("signing: a session that requires it refuses unsigned requests, but not ECHO") {
  Setup s({.global = "server signing = mandatory"});
  Element tc = s.element(Command::TREE_CONNECT,
                         encode_body(TreeConnectRequest{0, "\\\\GATETEST\\IPC$", {}}));
  tc.sign = false;
  CHECK(s.client.call(tc).status() == NtStatus::ACCESS_DENIED);
  tc.sign = true;
  CHECK(s.client.call(tc).status() == NtStatus::SUCCESS);

  Element echo = s.element(Command::ECHO, encode_body(EchoRequest{}));
  echo.sign = false;
  CHECK(s.client.call(echo).status() == NtStatus::SUCCESS);
  // The ECHO is checked against the session all the same: a bad signature is refused.
  echo.sign = true;
  Bytes forged = s.client.build(echo);
  forged[kSmb2HeaderSize - 1] ^= 0xFF;  // the last signature byte
  auto replies = s.client.exchange(forged);
  REQUIRE(replies.size() == 1);
  CHECK(replies[0].status() == NtStatus::ACCESS_DENIED);
}

TEST_CASE("encryption: a session that requires it takes only SESSION_SETUP and ECHO in the clear") {
  // The exchange that set the session up went in the clear (exempt), both ways.
  Setup s({.global = "smb encrypt = required"}, 0x0300, "", kUser, kGlobalCapEncryption);
  Element tc = s.element(Command::TREE_CONNECT,
                         encode_body(TreeConnectRequest{0, "\\\\GATETEST\\IPC$", {}}));
  Reply refused = s.client.call(tc);
  CHECK(refused.status() == NtStatus::ACCESS_DENIED);
  CHECK(s.client.last_encrypted());
  tc.encrypt = true;
  CHECK(s.client.call(tc).status() == NtStatus::SUCCESS);
  CHECK(s.client.last_encrypted());

  Element echo = s.element(Command::ECHO, encode_body(EchoRequest{}));
  echo.sign = false;
  CHECK(s.client.call(echo).status() == NtStatus::SUCCESS);
  // Taken in the clear, answered as the session demands.
  CHECK(s.client.last_encrypted());

  Element setup = s.element(Command::SESSION_SETUP, bare_body(*find_command(1)));
  setup.sign = false;
  Reply reauth = s.client.call(setup);
  CHECK(reauth.status() != NtStatus::ACCESS_DENIED);
  CHECK_FALSE(s.client.last_encrypted());
}

TEST_CASE("channel sequence: WRITE, SET_INFO and IOCTL with a stale one are refused") {
  Setup s({}, 0x0300);
  FileId file = s.open("sequence.bin");
  auto write = [&](std::uint16_t sequence) {
    WriteRequest q;
    q.data_length = 1;
    q.file_id = file;
    Bytes body = encode_body(q);
    body.push_back(0x11);
    Element e = s.element(Command::WRITE, body);
    e.channel_sequence = sequence;
    return s.client.call(e).status();
  };
  CHECK(write(1) == NtStatus::SUCCESS);  // the open moves on to sequence 1
  CHECK(write(0) == NtStatus::FILE_NOT_AVAILABLE);

  SetInfoRequest set;
  set.file_info_class = static_cast<std::uint8_t>(fscc::FileInfoClass::FileBasicInformation);
  set.file_id = file;
  set.buffer.assign(fscc::kFileBasicInformationSize, 0);
  Element set_stale = s.element(Command::SET_INFO, encode_body(set));
  CHECK(s.client.call(set_stale).status() == NtStatus::FILE_NOT_AVAILABLE);

  IoctlRequest io;
  io.ctl_code = FSCTL_SET_SPARSE;
  io.file_id = file;
  Element io_stale = s.element(Command::IOCTL, encode_body(io));
  CHECK(s.client.call(io_stale).status() == NtStatus::FILE_NOT_AVAILABLE);

  // Commands that change nothing pass with a stale sequence.
  ReadRequest read;
  read.file_id = file;
  read.length = 1;
  CHECK(s.call(Command::READ, read).status() == NtStatus::SUCCESS);
  QueryInfoRequest info;
  info.file_info_class = static_cast<std::uint8_t>(fscc::FileInfoClass::FileBasicInformation);
  info.file_id = file;
  info.output_buffer_length = 4096;
  CHECK(s.call(Command::QUERY_INFO, info).status() == NtStatus::SUCCESS);
}

TEST_CASE("CANCEL consumes no MessageId and is never answered") {
  Setup s;
  std::uint64_t before = s.client.next_message_id();
  Element cancel = s.element(Command::CANCEL, encode_body(CancelRequest{}));
  cancel.sign = false;
  s.client.peer().send_message(s.client.build(cancel));
  CHECK(s.client.next_message_id() == before);
  // The ECHO after it takes the id the CANCEL named, and is the only answer.
  Reply echo = s.client.call(s.element(Command::ECHO, encode_body(EchoRequest{})));
  CHECK(echo.header.command == Command::ECHO);
  CHECK(echo.header.message_id == before);
  CHECK(echo.status() == NtStatus::SUCCESS);
}
