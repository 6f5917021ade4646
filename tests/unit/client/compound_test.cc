#include <doctest/doctest.h>
#include <sys/socket.h>
#include <unistd.h>

#include "smbd/client/connection.hh"
#include "smbd/proto/close.hh"

using namespace smb;

namespace {

// One framed message from the peer's end of the socket.
Bytes read_message(int fd) {
  std::uint8_t framing[4];
  REQUIRE(::recv(fd, framing, 4, MSG_WAITALL) == 4);
  const std::size_t length = (std::size_t{framing[1]} << 16) | (framing[2] << 8) | framing[3];
  Bytes message(length);
  REQUIRE(::recv(fd, message.data(), length, MSG_WAITALL) == static_cast<ssize_t>(length));
  return message;
}

void write_message(int fd, const Bytes& message) {
  Bytes framed{0, static_cast<std::uint8_t>(message.size() >> 16),
               static_cast<std::uint8_t>(message.size() >> 8),
               static_cast<std::uint8_t>(message.size())};
  framed.insert(framed.end(), message.begin(), message.end());
  REQUIRE(::send(fd, framed.data(), framed.size(), 0) == static_cast<ssize_t>(framed.size()));
}

// A response element to `request` granting `credits`.
void append_response(Bytes& out, const Header& request, const Bytes& body, std::uint16_t credits,
                     bool last) {
  const std::size_t start = out.size();
  ByteWriter w(out);
  Header h;
  h.command = request.command;
  h.flags = kFlagServerToRedir | (request.flags & kFlagRelatedOperations);
  h.message_id = request.message_id;
  h.credit_request_response = credits;
  h.session_id = request.session_id;
  h.tree_id = request.tree_id;
  encode(h, w);
  w.bytes(body);
  if (!last) {
    w.align(8);
    w.patch_u32(start + 20, static_cast<std::uint32_t>(out.size() - start));
  }
}

}  // namespace

TEST_CASE("A path query goes as one compound of related CREATE, QUERY_INFO and CLOSE") {
  int fds[2];
  REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM, 0, fds) == 0);
  auto c = client::Connection::adopt(fds[0]);
  const int peer = fds[1];
  client::Tree tree;
  tree.session_id = 0x11;
  tree.tree_id = 5;

  // The first credit goes to an ECHO whose answer grants three more.
  bool echoed = false;
  c->echo_async([&](NtStatus s) { echoed = s == NtStatus::SUCCESS; });
  Bytes echo = read_message(peer);
  Header echo_header;
  REQUIRE(decode(echo, echo_header) == NtStatus::SUCCESS);
  Bytes echo_answer;
  append_response(echo_answer, echo_header, Bytes{4, 0, 0, 0}, 3, true);

  CreateRequest create;
  create.name = "dir\\file.txt";
  create.desired_access = client::access::FILE_READ_ATTRIBUTES;
  create.create_disposition = CreateDisposition::FILE_OPEN;
  QueryInfoRequest query;
  query.info_type = InfoType::SMB2_0_INFO_FILE;
  query.file_info_class = 18;  // FileAllInformation
  query.output_buffer_length = 4096;
  NtStatus result = NtStatus::PENDING;
  Bytes output;
  c->query_path_info_async(tree, create, query, [&](NtStatus s, const Bytes& o) {
    result = s;
    output = o;
  });
  // No credits for it yet: it waits, whole.
  CHECK(c->outstanding() == 2);
  write_message(peer, echo_answer);
  while (!echoed) c->poll(1000);

  Bytes compound = read_message(peer);
  std::vector<ByteSpan> elements;
  REQUIRE(split_compound(compound, elements) == NtStatus::SUCCESS);
  REQUIRE(elements.size() == 3);
  std::vector<Header> headers(3);
  const Command commands[] = {Command::CREATE, Command::QUERY_INFO, Command::CLOSE};
  for (std::size_t i = 0; i < 3; ++i) {
    REQUIRE(decode(elements[i], headers[i]) == NtStatus::SUCCESS);
    CHECK(headers[i].command == commands[i]);
    CHECK(headers[i].message_id == i + 1);
    CHECK(headers[i].session_id == 0x11);
    CHECK(headers[i].tree_id == 5);
    CHECK(((headers[i].flags & kFlagRelatedOperations) != 0) == (i > 0));
    // [MS-SMB2] 3.2.4.1.4: every element but the last is padded to 8 bytes.
    if (i < 2) CHECK(headers[i].next_command % 8 == 0);
  }
  CHECK(headers[2].next_command == 0);
  CreateRequest sent_create;
  REQUIRE(decode(elements[0], sent_create) == NtStatus::SUCCESS);
  CHECK(sent_create.name == "dir\\file.txt");
  QueryInfoRequest sent_query;
  REQUIRE(decode(elements[1], sent_query) == NtStatus::SUCCESS);
  CHECK(sent_query.file_id == kRelatedFileId);
  CHECK(sent_query.file_info_class == 18);
  CloseRequest sent_close;
  REQUIRE(decode(elements[2], sent_close) == NtStatus::SUCCESS);
  CHECK(sent_close.file_id == kRelatedFileId);

  Bytes answer;
  CreateResponse created;
  created.file_id = FileId{1, 2};
  append_response(answer, headers[0], encode_body(created), 1, false);
  QueryInfoResponse queried;
  queried.output = Bytes(120, 0x5A);
  append_response(answer, headers[1], encode_body(queried), 1, false);
  append_response(answer, headers[2], encode_body(CloseResponse{}), 1, true);
  write_message(peer, answer);
  while (result == NtStatus::PENDING) c->poll(1000);
  CHECK(result == NtStatus::SUCCESS);
  CHECK(output == Bytes(120, 0x5A));
  CHECK(c->outstanding() == 0);
  ::close(peer);
}
