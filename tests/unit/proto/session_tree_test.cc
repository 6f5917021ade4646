#include <doctest/doctest.h>

#include "smbd/proto/cancel.hh"
#include "smbd/proto/echo.hh"
#include "smbd/proto/logoff.hh"
#include "smbd/proto/session_setup.hh"
#include "smbd/proto/tree_connect.hh"
#include "smbd/proto/tree_disconnect.hh"
#include "test_util.hh"

namespace smb {
namespace {

TEST_CASE("session_setup: round trip and layout") {
  SessionSetupRequest q;
  q.flags = kSessionSetupFlagBinding;
  q.security_mode = kSessionSigningEnabled;
  q.capabilities = 1;
  q.previous_session_id = 0x55;
  q.security_buffer = Bytes{0x4e, 0x54, 0x4c, 0x4d, 0x53, 0x53, 0x50, 0x00, 0x01};
  Bytes m = test::message(q);
  CHECK(load_le16(&m[kSmb2HeaderSize + 12]) == 0x58);  // SecurityBufferOffset
  CHECK(test::round_trip(q) == q);
  test::check_malformed(q, 24);

  SessionSetupResponse p;
  p.session_flags = kSessionFlagIsGuest;
  p.security_buffer = Bytes(300, 0xA5);
  CHECK(test::round_trip(p) == p);
  test::check_malformed(p, 8);
  SessionSetupResponse empty;
  CHECK(test::message(empty).size() == kSmb2HeaderSize + 9);
  CHECK(test::round_trip(empty) == empty);
}

TEST_CASE("session_setup: offsets pointing outside") {
  SessionSetupRequest q;
  q.security_buffer = Bytes(16, 1);
  Bytes m = test::message(q);
  SessionSetupRequest out;
  Bytes bad = m;
  store_le16(&bad[kSmb2HeaderSize + 14], 17);  // one byte too long
  CHECK(decode(ByteSpan(bad), out) == NtStatus::INVALID_PARAMETER);
  bad = m;
  store_le16(&bad[kSmb2HeaderSize + 12], 0x40);  // inside the fixed part
  CHECK(decode(ByteSpan(bad), out) == NtStatus::INVALID_PARAMETER);
  bad = m;
  store_le16(&bad[kSmb2HeaderSize + 12], 0xFFFF);
  CHECK(decode(ByteSpan(bad), out) == NtStatus::INVALID_PARAMETER);
  // Length 0 with any offset is an empty buffer.
  bad = m;
  store_le16(&bad[kSmb2HeaderSize + 12], 0xFFFF);
  store_le16(&bad[kSmb2HeaderSize + 14], 0);
  REQUIRE(decode(ByteSpan(bad), out) == NtStatus::SUCCESS);
  CHECK(out.security_buffer.empty());
}

TEST_CASE("tree_connect: request from hand-written bytes (MS-SMB2 2.2.9)") {
  Bytes m = test::hex(
      "fe534d42 4000 0000 00000000 0300 0000 00000000 00000000 0400000000000000"
      "feff0000 00000000 1100000000220000 00000000000000000000000000000000"
      "0900 0000 4800 1a00"
      "5c005c007300720076005c0070007500620000000000");
  // The path "\\srv\pub" is 18 bytes; PathLength says 26 so two extra wchars come along;
  // use the exact length instead.
  store_le16(&m[kSmb2HeaderSize + 6], 18);
  TreeConnectRequest q;
  REQUIRE(decode(ByteSpan(m), q) == NtStatus::SUCCESS);
  CHECK(q.path == "\\\\srv\\pub");
  CHECK(q.flags == 0);
  store_le16(&m[kSmb2HeaderSize + 6], 19);  // odd: not UTF-16
  CHECK(decode(ByteSpan(m), q) == NtStatus::INVALID_PARAMETER);
  store_le16(&m[kSmb2HeaderSize + 6], 200);
  CHECK(decode(ByteSpan(m), q) == NtStatus::INVALID_PARAMETER);
}

TEST_CASE("tree_connect: round trips with and without the 3.1.1 extension") {
  TreeConnectRequest q;
  q.path = "\\\\server\\share";
  CHECK(test::round_trip(q) == q);
  test::check_malformed(q, 8);

  TreeConnectRequest ext;
  ext.flags = kTreeConnectFlagExtensionPresent;
  ext.path = "\\\\server\\ünïcode";
  ext.contexts.push_back({1, Bytes{1, 2, 3}});
  ext.contexts.push_back({1, Bytes(20, 9)});
  Bytes m = test::message(ext);
  CHECK(load_le16(&m[kSmb2HeaderSize + 4]) == kSmb2HeaderSize + 8 + 16);  // PathOffset
  CHECK(test::round_trip(ext) == ext);
  test::check_malformed(ext, 8);
  // A context count that runs off the end.
  Bytes bad = m;
  store_le16(&bad[kSmb2HeaderSize + 8 + 4], 3);
  TreeConnectRequest out;
  CHECK(decode(ByteSpan(bad), out) == NtStatus::INVALID_PARAMETER);
  bad = m;
  store_le32(&bad[kSmb2HeaderSize + 8], 0xFFFFFFF0);
  CHECK(decode(ByteSpan(bad), out) == NtStatus::INVALID_PARAMETER);

  // With the flag but no contexts the path still decodes.
  TreeConnectRequest plain_ext;
  plain_ext.flags = kTreeConnectFlagExtensionPresent;
  plain_ext.path = "\\\\a\\b";
  CHECK(test::round_trip(plain_ext) == plain_ext);

  TreeConnectResponse p;
  p.share_type = kShareTypePipe;
  p.share_flags = kShareFlagEncryptData | kShareFlagNoCaching;
  p.capabilities = kShareCapContinuousAvailability;
  p.maximal_access = 0x001F01FF;
  CHECK(test::round_trip(p) == p);
  CHECK(test::message(p).size() == kSmb2HeaderSize + 16);
  test::check_malformed(p, 16);
}

TEST_CASE("fixed empty bodies: logoff, tree disconnect, echo, cancel") {
  CHECK(test::message(LogoffRequest{}).size() == kSmb2HeaderSize + 4);
  CHECK(test::round_trip(LogoffRequest{}) == LogoffRequest{});
  CHECK(test::round_trip(LogoffResponse{}) == LogoffResponse{});
  CHECK(test::round_trip(TreeDisconnectRequest{}) == TreeDisconnectRequest{});
  CHECK(test::round_trip(TreeDisconnectResponse{}) == TreeDisconnectResponse{});
  CHECK(test::round_trip(EchoRequest{}) == EchoRequest{});
  CHECK(test::round_trip(EchoResponse{}) == EchoResponse{});
  CHECK(test::round_trip(CancelRequest{}) == CancelRequest{});
  test::check_malformed(LogoffRequest{}, 4);
  test::check_malformed(LogoffResponse{}, 4);
  test::check_malformed(TreeDisconnectRequest{}, 4);
  test::check_malformed(TreeDisconnectResponse{}, 4);
  test::check_malformed(EchoRequest{}, 4);
  test::check_malformed(EchoResponse{}, 4);
  test::check_malformed(CancelRequest{}, 4);
}

}  // namespace
}  // namespace smb
