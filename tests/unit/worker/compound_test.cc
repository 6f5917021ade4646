// Compound chains through the gate (MS-SMB2 3.3.5.2.7): related and unrelated
// operations, a failed CREATE failing what is related to it, padding and alignment both
// ways, elements that wait for file I/O, and chains far longer than any client sends.
#include <doctest/doctest.h>

#include <algorithm>

#include "gate_harness.hh"
#include "smbd/proto/cancel.hh"
#include "smbd/proto/change_notify.hh"
#include "smbd/proto/close.hh"
#include "smbd/proto/create.hh"
#include "smbd/proto/echo.hh"
#include "smbd/proto/flush.hh"
#include "smbd/proto/fscc.hh"
#include "smbd/proto/negotiate.hh"
#include "smbd/proto/query_info.hh"
#include "smbd/proto/read.hh"
#include "smbd/proto/tree_connect.hh"
#include "smbd/proto/write.hh"
#include "smbd/worker/dispatch.hh"

using namespace smb;
using namespace smb::server;
using namespace smb::server::test;

namespace {

CreateRequest create_request(const std::string& name, CreateDisposition disposition) {
  CreateRequest q;
  q.desired_access = kGenericRead | kGenericWrite;
  q.share_access = 7;
  q.create_disposition = disposition;
  q.name = name;
  return q;
}

// An element that takes its session, tree and FileId from the one before it.
Element related(Element e) {
  e.flags |= kFlagRelatedOperations;
  e.session_id = kAllOnes;
  e.tree_id = 0xFFFFFFFF;
  return e;
}

Bytes write_body(FileId id, std::uint64_t offset, ByteSpan data) {
  WriteRequest q;
  q.data_length = static_cast<std::uint32_t>(data.size());
  q.offset = offset;
  q.file_id = id;
  Bytes body = encode_body(q);
  body.insert(body.end(), data.begin(), data.end());
  return body;
}

// The statuses of a compound answer, spelled out, so that a failed check shows them.
std::string statuses(const std::vector<Reply>& replies) {
  std::string out;
  for (const auto& r : replies)
    out += (out.empty() ? "" : ",") + std::string(nt_status_name(r.status()));
  return out;
}
std::string statuses(const std::vector<NtStatus>& expected) {
  std::string out;
  for (NtStatus s : expected) out += (out.empty() ? "" : ",") + std::string(nt_status_name(s));
  return out;
}

// Where each element of a compound message starts, following NextCommand.
std::vector<std::size_t> element_offsets(ByteSpan message) {
  std::vector<std::size_t> out;
  std::size_t at = 0;
  for (;;) {
    out.push_back(at);
    std::uint32_t next = load_le32(&message[at + kHeaderNextCommand]);
    if (next == 0) return out;
    at += next;
  }
}

}  // namespace

TEST_CASE("related operations run on the open the CREATE before them made") {
  Setup s;
  Bytes data{'r', 'e', 'l', 'a', 't', 'e', 'd'};
  ReadRequest read;
  read.length = static_cast<std::uint32_t>(data.size());
  read.file_id = kRelatedFileId;
  CloseRequest close;
  close.file_id = kRelatedFileId;
  Bytes message = s.client.compound(
      {s.client.build(s.element(
           Command::CREATE,
           encode_body(create_request("chain.bin", CreateDisposition::FILE_OVERWRITE_IF)))),
       s.client.build(related(s.element(Command::WRITE, write_body(kRelatedFileId, 0, data)))),
       s.client.build(related(s.element(Command::READ, encode_body(read)))),
       s.client.build(related(s.element(Command::CLOSE, encode_body(close))))});
  s.client.peer().send_message(message);
  std::optional<Bytes> raw = s.client.receive_raw();
  REQUIRE(raw);
  // MS-SMB2 3.3.4.1.3: each answer starts 8-byte aligned.
  for (std::size_t offset : element_offsets(*raw)) CHECK(offset % 8 == 0);
  auto replies = s.client.parse(*raw);
  REQUIRE(replies.size() == 4);
  CHECK(statuses(replies) == statuses(std::vector<NtStatus>(4, NtStatus::SUCCESS)));
  for (std::size_t i = 1; i < 4; ++i)
    CHECK((replies[i].header.flags & kFlagRelatedOperations) != 0);
  ReadResponse got;
  REQUIRE(decode(replies[2].pdu, got) == NtStatus::SUCCESS);
  CHECK(Bytes(got.data.begin(), got.data.end()) == data);
}

TEST_CASE("a failed CREATE fails the related operations after it with its status") {
  Setup s;
  QueryInfoRequest info;
  info.file_info_class = static_cast<std::uint8_t>(fscc::FileInfoClass::FileBasicInformation);
  info.output_buffer_length = 4096;
  info.file_id = kRelatedFileId;
  CloseRequest close;
  close.file_id = kRelatedFileId;
  auto replies = s.client.exchange(s.client.compound(
      {s.client.build(s.element(
           Command::CREATE,
           encode_body(create_request("missing\\file.bin", CreateDisposition::FILE_OPEN)))),
       s.client.build(related(s.element(Command::QUERY_INFO, encode_body(info)))),
       s.client.build(related(s.element(Command::CLOSE, encode_body(close))))}));
  REQUIRE(replies.size() == 3);
  CHECK(nt_error(replies[0].status()));
  CHECK(replies[1].status() == replies[0].status());
  CHECK(replies[2].status() == replies[0].status());
  // Each answer is signed with the key of the session its element used or inherited.
  for (const Reply& r : replies) CHECK(s.client.signature_valid(r.pdu));
}

TEST_CASE("unrelated operations are each served on their own") {
  Setup s;
  CloseRequest bogus;
  bogus.file_id = FileId{77, 77};
  auto replies = s.client.exchange(s.client.compound(
      {s.client.build(s.element(Command::ECHO, encode_body(EchoRequest{}))),
       s.client.build(s.element(
           Command::CREATE,
           encode_body(create_request("unrelated.bin", CreateDisposition::FILE_OPEN_IF)))),
       s.client.build(s.element(Command::CLOSE, encode_body(bogus))),
       s.client.build(s.element(Command::ECHO, encode_body(EchoRequest{})))}));
  CHECK(statuses(replies) ==
        statuses(std::vector<NtStatus>{NtStatus::SUCCESS, NtStatus::SUCCESS, NtStatus::FILE_CLOSED,
                                       NtStatus::SUCCESS}));
  for (const auto& r : replies) CHECK((r.header.flags & kFlagRelatedOperations) == 0);
}

TEST_CASE("a chain whose first element is flagged related is refused") {
  Setup s;
  Element first = s.element(Command::ECHO, encode_body(EchoRequest{}));
  first.flags |= kFlagRelatedOperations;
  auto replies = s.client.exchange(
      s.client.compound({s.client.build(first),
                         s.client.build(s.element(Command::ECHO, encode_body(EchoRequest{})))}));
  CHECK(statuses(replies) ==
        statuses(std::vector<NtStatus>{NtStatus::INVALID_PARAMETER, NtStatus::SUCCESS}));
}

TEST_CASE(
    "padding between elements may hold anything; a misaligned NextCommand ends the connection") {
  Setup s;
  Bytes echo = s.client.build(s.element(Command::ECHO, encode_body(EchoRequest{})));
  Bytes first = s.client.build(s.element(Command::ECHO, encode_body(EchoRequest{})));
  // 68 bytes: four bytes of padding up to the next 8-byte boundary, garbage in them.
  std::size_t first_size = first.size();
  first.resize(72, 0xAB);
  store_le32(&first[kHeaderNextCommand], 72);
  Bytes message = first;
  message.insert(message.end(), echo.begin(), echo.end());
  s.client.sign_elements(message);
  REQUIRE(first_size == 68);
  CHECK(statuses(s.client.exchange(message)) ==
        statuses(std::vector<NtStatus>{NtStatus::SUCCESS, NtStatus::SUCCESS}));

  Bytes a = s.client.build(s.element(Command::ECHO, encode_body(EchoRequest{})));
  Bytes b = s.client.build(s.element(Command::ECHO, encode_body(EchoRequest{})));
  Bytes misaligned = s.client.compound({a, b});
  store_le32(&misaligned[kHeaderNextCommand], 68);  // where b would start unpadded
  misaligned.erase(misaligned.begin() + 68, misaligned.begin() + 72);
  CHECK(s.client.exchange(misaligned).empty());
  CHECK(s.client.peer().closed());
}

TEST_CASE("elements that wait for file I/O keep the chain in order") {
  Setup s;
  constexpr std::size_t kWrites = 40;
  std::vector<Bytes> elements;
  elements.push_back(s.client.build(
      s.element(Command::CREATE,
                encode_body(create_request("slow.bin", CreateDisposition::FILE_OVERWRITE_IF)))));
  Bytes expected;
  for (std::size_t i = 0; i < kWrites; ++i) {
    Bytes piece(100, static_cast<std::uint8_t>(i));
    expected.insert(expected.end(), piece.begin(), piece.end());
    elements.push_back(s.client.build(
        related(s.element(Command::WRITE, write_body(kRelatedFileId, i * 100, piece)))));
  }
  ReadRequest read;
  read.length = static_cast<std::uint32_t>(expected.size());
  read.file_id = kRelatedFileId;
  elements.push_back(s.client.build(related(s.element(Command::READ, encode_body(read)))));
  CloseRequest close;
  close.file_id = kRelatedFileId;
  elements.push_back(s.client.build(related(s.element(Command::CLOSE, encode_body(close)))));
  REQUIRE(elements.size() <= kMaxCompoundElements);

  auto replies = s.client.exchange(s.client.compound(elements));
  REQUIRE(replies.size() == elements.size());
  CHECK(statuses(replies) == statuses(std::vector<NtStatus>(elements.size(), NtStatus::SUCCESS)));
  ReadResponse got;
  REQUIRE(decode(replies[kWrites + 1].pdu, got) == NtStatus::SUCCESS);
  CHECK(Bytes(got.data.begin(), got.data.end()) == expected);
}

TEST_CASE("a related operation uses the session and tree the element before it used, not its own") {
  Setup s;
  FileId id = s.open("inherit.bin");
  CloseRequest close;
  close.file_id = id;
  // Ids in the related element's header that name nothing: the inherited ones count.
  Element closing = s.element(Command::CLOSE, encode_body(close));
  closing.flags |= kFlagRelatedOperations;
  closing.session_id = s.session + 1000;
  closing.tree_id = s.tree + 1000;
  auto replies = s.client.exchange(s.client.compound(
      {s.client.build(s.element(Command::ECHO, encode_body(EchoRequest{}))),
       s.client.build(s.element(Command::FLUSH, encode_body(FlushRequest{.file_id = id}))),
       s.client.build(closing)}));
  CHECK(statuses(replies) == statuses(std::vector<NtStatus>(3, NtStatus::SUCCESS)));
}

TEST_CASE("related operations after one that used no session fail with INVALID_PARAMETER") {
  Setup s;
  FileId id = s.open("no-session.bin");
  CloseRequest close;
  close.file_id = id;
  // The first element cannot be related: it has nothing to inherit, nor have the
  // related ones after it, whatever their headers name (a real session, tree and open).
  ChangeNotifyRequest notify;
  notify.output_buffer_length = 4096;
  notify.file_id = id;
  notify.completion_filter = 1;
  Element first = s.element(Command::CHANGE_NOTIFY, encode_body(notify));
  first.flags |= kFlagRelatedOperations;
  Element closing = s.element(Command::CLOSE, encode_body(close));
  closing.flags |= kFlagRelatedOperations;
  auto replies = s.client.exchange(s.client.compound(
      {s.client.build(first), s.client.build(closing),
       s.client.build(
           related(s.element(Command::FLUSH, encode_body(FlushRequest{.file_id = id}))))}));
  CHECK(statuses(replies) == statuses(std::vector<NtStatus>(3, NtStatus::INVALID_PARAMETER)));

  // An unrelated element naming a session that does not exist leaves none to inherit.
  Element lost = s.element(Command::CLOSE, encode_body(close));
  lost.session_id = s.session + 1000;
  lost.sign = false;
  replies = s.client.exchange(s.client.compound(
      {s.client.build(s.element(Command::ECHO, encode_body(EchoRequest{}))), s.client.build(lost),
       s.client.build(related(s.element(Command::CLOSE, encode_body(close))))}));
  CHECK(statuses(replies) ==
        statuses(std::vector<NtStatus>{NtStatus::SUCCESS, NtStatus::USER_SESSION_DELETED,
                                       NtStatus::INVALID_PARAMETER}));
  // None of it closed the file.
  CHECK(s.call(Command::CLOSE, close).status() == NtStatus::SUCCESS);
}

TEST_CASE("a related operation uses the tree connect the element before made, and needs one") {
  Setup s;
  TreeConnectRequest connect;
  connect.path = "\\\\GATETEST\\share";
  Element tree_connect = s.element(Command::TREE_CONNECT, encode_body(connect));
  tree_connect.tree_id = 0;
  CloseRequest close;
  close.file_id = kRelatedFileId;
  auto replies = s.client.exchange(s.client.compound(
      {s.client.build(tree_connect),
       s.client.build(related(s.element(
           Command::CREATE,
           encode_body(create_request("new-tree.bin", CreateDisposition::FILE_OVERWRITE_IF))))),
       s.client.build(related(s.element(Command::CLOSE, encode_body(close))))}));
  REQUIRE(replies.size() == 3);
  CHECK(statuses(replies) == statuses(std::vector<NtStatus>(3, NtStatus::SUCCESS)));
  CHECK(replies[0].header.tree_id != s.tree);

  // An ECHO names no tree connect: a CREATE related to it has none to use.
  replies = s.client.exchange(s.client.compound(
      {s.client.build(s.element(Command::ECHO, encode_body(EchoRequest{}))),
       s.client.build(related(s.element(
           Command::CREATE,
           encode_body(create_request("no-tree.bin", CreateDisposition::FILE_OVERWRITE_IF)))))}));
  CHECK(statuses(replies) ==
        statuses(std::vector<NtStatus>{NtStatus::SUCCESS, NtStatus::INVALID_PARAMETER}));
  CHECK_FALSE(std::filesystem::exists(s.server.share_path() / "no-tree.bin"));
}

TEST_CASE("an all-ones FileId names no open in an unrelated element, nor after it") {
  Setup s;
  CloseRequest all_ones;
  all_ones.file_id = kRelatedFileId;
  auto replies = s.client.exchange(s.client.compound(
      {s.client.build(s.element(
           Command::CREATE,
           encode_body(create_request("all-ones.bin", CreateDisposition::FILE_OVERWRITE_IF)))),
       s.client.build(s.element(Command::CLOSE, encode_body(all_ones))),
       s.client.build(related(s.element(Command::CLOSE, encode_body(all_ones)))),
       s.client.build(related(s.element(Command::CLOSE, encode_body(all_ones))))}));
  REQUIRE(replies.size() == 4);
  CHECK(statuses(replies) ==
        statuses(std::vector<NtStatus>{NtStatus::SUCCESS, NtStatus::FILE_CLOSED,
                                       NtStatus::FILE_CLOSED, NtStatus::FILE_CLOSED}));
  // The CREATE's open is still there.
  CreateResponse created;
  REQUIRE(decode(replies[0].pdu, created) == NtStatus::SUCCESS);
  CloseRequest close;
  close.file_id = created.file_id;
  CHECK(s.call(Command::CLOSE, close).status() == NtStatus::SUCCESS);
}

TEST_CASE("the last of compounded responses is padded to 8 bytes, a lone response is not") {
  auto check = [](Setup& s, bool encrypted) {
    FileId id = s.open("pad.bin");
    Bytes data{'a', 'b', 'c'};
    Element write = s.element(Command::WRITE, write_body(id, 0, data));
    write.encrypt = encrypted;
    write.sign = !encrypted;
    REQUIRE(s.client.call(write).status() == NtStatus::SUCCESS);
    ReadRequest read;
    read.length = 3;
    read.minimum_count = 1;
    read.file_id = id;
    Element first = s.element(Command::READ, encode_body(read));
    first.sign = !encrypted;
    Element second = first;
    Bytes message = s.client.compound({s.client.build(first), s.client.build(second)});
    auto replies = s.client.exchange(message, encrypted ? s.session : 0);
    REQUIRE(replies.size() == 2);
    CHECK(s.client.last_encrypted() == encrypted);
    for (const Reply& r : replies) {
      CHECK(r.status() == NtStatus::SUCCESS);
      // 64-byte header, 16-byte READ response, 3 bytes of data, 5 of padding.
      CHECK(r.pdu.size() == 88);
      if (!encrypted) CHECK(s.client.signature_valid(r.pdu));
    }
    Element lone = first;
    lone.encrypt = encrypted;
    Reply one = s.client.call(lone);
    CHECK(one.status() == NtStatus::SUCCESS);
    CHECK(one.pdu.size() == 83);
  };
  SUBCASE("signed") {
    Setup s;
    check(s, false);
  }
  SUBCASE("encrypted") {
    Setup s({}, 0x0300, "share", kUser, kGlobalCapEncryption);
    check(s, true);
  }
}

TEST_CASE("a chain of more than kMaxCompoundElements is refused element by element") {
  Setup s;
  auto echoes = [&](std::size_t n) {
    std::vector<Bytes> v;
    for (std::size_t i = 0; i < n; ++i)
      v.push_back(s.client.build(s.element(Command::ECHO, encode_body(EchoRequest{}))));
    return s.client.exchange(s.client.compound(v));
  };
  auto at_limit = echoes(kMaxCompoundElements);
  CHECK(statuses(at_limit) ==
        statuses(std::vector<NtStatus>(kMaxCompoundElements, NtStatus::SUCCESS)));
  auto over = echoes(kMaxCompoundElements + 1);
  CHECK(statuses(over) ==
        statuses(std::vector<NtStatus>(kMaxCompoundElements + 1, NtStatus::INVALID_PARAMETER)));
  // Nothing of a refused chain runs: a CREATE in it makes no file.
  std::vector<Bytes> v;
  v.push_back(s.client.build(s.element(
      Command::CREATE, encode_body(create_request("never.bin", CreateDisposition::FILE_CREATE)))));
  for (std::size_t i = 0; i < kMaxCompoundElements; ++i)
    v.push_back(s.client.build(s.element(Command::ECHO, encode_body(EchoRequest{}))));
  auto refused = s.client.exchange(s.client.compound(v));
  REQUIRE(refused.size() == v.size());
  CHECK(refused[0].status() == NtStatus::INVALID_PARAMETER);
  CHECK_FALSE(std::filesystem::exists(s.server.share_path() / "never.bin"));
}

TEST_CASE(
    "20,000 CANCELs in one message after an anonymous logon: no answer, the connection serves on") {
  Setup s({}, 0x0210, "", "");
  Element cancel = s.element(Command::CANCEL, encode_body(CancelRequest{}));
  cancel.sign = false;
  Bytes one = s.client.build(cancel);
  std::vector<Bytes> elements(20000, one);
  s.client.peer().send_message(s.client.compound(elements));
  // The answer to the ECHO sent after it is the first thing to come back.
  Reply echo = s.client.call(s.element(Command::ECHO, encode_body(EchoRequest{})));
  CHECK(echo.header.command == Command::ECHO);
  CHECK(echo.status() == NtStatus::SUCCESS);
}

TEST_CASE("10,000 ECHOs in one message after an anonymous logon: each refused, none run") {
  Setup s({.global = "smb2 max credits = 16384"}, 0x0210, "", "");
  // Credits for every element first: one ECHO asks for them.
  Element ask = s.element(Command::ECHO, encode_body(EchoRequest{}));
  ask.credit_request = 12000;
  Reply granted = s.client.call(ask);
  REQUIRE(granted.header.credit_request_response >= 10000);
  std::vector<Bytes> elements;
  for (int i = 0; i < 10000; ++i)
    elements.push_back(s.client.build(s.element(Command::ECHO, encode_body(EchoRequest{}))));
  auto replies = s.client.exchange(s.client.compound(elements));
  REQUIRE(replies.size() == elements.size());
  CHECK(std::all_of(replies.begin(), replies.end(),
                    [](const Reply& r) { return r.status() == NtStatus::INVALID_PARAMETER; }));
  CHECK(s.client.call(s.element(Command::ECHO, encode_body(EchoRequest{}))).status() ==
        NtStatus::SUCCESS);
}
