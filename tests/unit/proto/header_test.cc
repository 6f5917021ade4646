#include <doctest/doctest.h>

#include "smbd/proto/echo.hh"
#include "smbd/proto/header.hh"
#include "test_util.hh"

namespace smb {
namespace {

using test::hex;

TEST_CASE("header: decode of a sync request written from MS-SMB2 2.2.1.2") {
  Bytes m =
      hex("fe534d42 4000 0100 00000000 0d00 1f00 00000000 00000000"
          "0500000000000000 feff0000 03000000 1100000000220000"
          "00000000000000000000000000000000");
  Header h;
  REQUIRE(decode(ByteSpan(m), h) == NtStatus::SUCCESS);
  CHECK(h.credit_charge == 1);
  CHECK(h.command == Command::ECHO);
  CHECK(h.credit_request_response == 31);
  CHECK(h.flags == 0);
  CHECK(h.message_id == 5);
  CHECK(h.process_id == 0xFFFE);
  CHECK(h.tree_id == 3);
  CHECK(h.session_id == 0x0000220000000011ull);
  CHECK_FALSE(h.is_async());
  Bytes again;
  ByteWriter w(again);
  encode(h, w);
  CHECK(again == m);
}

TEST_CASE("header: async response round trip keeps AsyncId and status") {
  Header h;
  h.flags = kFlagServerToRedir | kFlagAsyncCommand | kFlagSigned;
  h.status = NtStatus::PENDING;
  h.command = Command::CHANGE_NOTIFY;
  h.async_id = 0xA1B2C3D4E5F60718ull;
  h.message_id = 99;
  h.session_id = 42;
  for (std::size_t i = 0; i < 16; ++i) h.signature[i] = static_cast<std::uint8_t>(i);
  Bytes m;
  ByteWriter w(m);
  encode(h, w);
  REQUIRE(m.size() == kSmb2HeaderSize);
  Header out;
  REQUIRE(decode(ByteSpan(m), out) == NtStatus::SUCCESS);
  CHECK(out.status == NtStatus::PENDING);
  CHECK(out.async_id == h.async_id);
  CHECK(out.signature == h.signature);
  CHECK(out.is_response());
  CHECK(out.is_async());
}

TEST_CASE("header: ChannelSequence of a 3.x request") {
  Header h;
  h.command = Command::WRITE;
  h.channel_sequence = 0x1234;
  Bytes m;
  ByteWriter w(m);
  encode(h, w);
  CHECK(load_le32(&m[8]) == 0x1234u);
  Header out;
  REQUIRE(decode(ByteSpan(m), out) == NtStatus::SUCCESS);
  CHECK(out.channel_sequence == 0x1234);
}

TEST_CASE("header: malformed") {
  Bytes m = test::message(EchoRequest{}, Command::ECHO);
  for (std::size_t n = 0; n < kSmb2HeaderSize; ++n) {
    Bytes prefix(m.begin(), m.begin() + static_cast<std::ptrdiff_t>(n));
    Header h;
    CHECK(decode(ByteSpan(prefix), h) == NtStatus::INVALID_PARAMETER);
  }
  Bytes bad = m;
  bad[0] = 0xFD;  // a transform header is not an SMB2 header
  Header h;
  CHECK(decode(ByteSpan(bad), h) == NtStatus::INVALID_PARAMETER);
  bad = m;
  bad[4] = 65;  // StructureSize
  CHECK(decode(ByteSpan(bad), h) == NtStatus::INVALID_PARAMETER);
}

TEST_CASE("header: command names") {
  CHECK(std::string_view(command_name(Command::OPLOCK_BREAK)) == "SMB2_OPLOCK_BREAK");
  CHECK(std::string_view(command_name(static_cast<Command>(0x13))) == "SMB2_UNKNOWN");
}

// Three elements: two of 72 bytes padded to 72, then the last one.
Bytes compound(std::uint32_t first_next, std::uint32_t second_next) {
  Bytes m;
  ByteWriter w(m);
  Header h = test::request_header(Command::ECHO);
  h.next_command = first_next;
  encode(h, w);
  encode(EchoRequest{}, w);
  w.align(8);
  h.flags = kFlagRelatedOperations;
  h.next_command = second_next;
  encode(h, w);
  encode(EchoRequest{}, w);
  w.align(8);
  h.next_command = 0;
  encode(h, w);
  encode(EchoRequest{}, w);
  return m;
}

TEST_CASE("split_compound: a valid chain") {
  Bytes m = compound(72, 72);
  std::vector<ByteSpan> elements;
  REQUIRE(split_compound(m, elements) == NtStatus::SUCCESS);
  REQUIRE(elements.size() == 3);
  CHECK(elements[0].size() == 72);
  CHECK(elements[1].size() == 72);
  CHECK(elements[2].size() == 68);
  CHECK(elements[2].data() == m.data() + 144);
  EchoRequest e;
  for (auto el : elements) CHECK(decode(el, e) == NtStatus::SUCCESS);

  Bytes single = test::message(EchoRequest{}, Command::ECHO);
  REQUIRE(split_compound(single, elements) == NtStatus::SUCCESS);
  CHECK(elements.size() == 1);
}

TEST_CASE("split_compound: bad NextCommand values") {
  std::vector<ByteSpan> elements;
  // Not 8-byte aligned, shorter than a header, zero-length loop impossible, past the end,
  // pointing exactly at the end.
  for (std::uint32_t bad : {73u, 4u, 8u, 56u, 0xFFFFFFF8u, 216u, 1000u}) {
    Bytes m = compound(bad, 72);
    CHECK_MESSAGE(split_compound(m, elements) != NtStatus::SUCCESS, "NextCommand ", bad);
  }
  // The second element points back (the field is unsigned: back means far forward).
  Bytes m = compound(72, static_cast<std::uint32_t>(-72));
  CHECK(split_compound(m, elements) != NtStatus::SUCCESS);
  // An element that points at the next one but the next one is not SMB2.
  m = compound(72, 72);
  m[144] = 0xFF;
  CHECK(split_compound(m, elements) != NtStatus::SUCCESS);
  // Truncated chains, every length.
  m = compound(72, 72);
  for (std::size_t n = 0; n < m.size(); ++n) {
    Bytes prefix(m.begin(), m.begin() + static_cast<std::ptrdiff_t>(n));
    NtStatus s = split_compound(prefix, elements);
    if (n < 144 + kSmb2HeaderSize) CHECK_MESSAGE(s != NtStatus::SUCCESS, n);
  }
  CHECK(split_compound(ByteSpan(), elements) != NtStatus::SUCCESS);
}

}  // namespace
}  // namespace smb
