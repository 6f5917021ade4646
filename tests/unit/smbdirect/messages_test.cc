// [MS-SMBD] 2.2 codecs and the checks of 3.1.5.6, 3.1.5.7 and 3.1.5.8.
#include <doctest/doctest.h>

#include "rdmaproxy/smbdirect/messages.hh"
#include "smbd/base/buffer_descriptor.hh"

using namespace smb;
using namespace smb::smbdirect;

TEST_CASE("negotiate request matches the [MS-SMBD] 4.1 example") {
  NegotiateRequest req;
  req.credits_requested = 10;
  req.preferred_send_size = 1024;
  req.max_receive_size = 1024;
  req.max_fragmented_size = 0x20000;
  Bytes out;
  encode(req, out);
  const Bytes expected = {0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x0A, 0x00, 0x00, 0x04,
                          0x00, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00, 0x00, 0x02, 0x00};
  CHECK(out == expected);
  NegotiateRequest back;
  REQUIRE(decode(out, back) == NtStatus::SUCCESS);
  CHECK(back.credits_requested == 10);
  CHECK(back.max_fragmented_size == 0x20000);
  CHECK(check_negotiate_request(back) == RequestVerdict::accept);
  CHECK(decode(ByteSpan(out).first(19), back) == NtStatus::INVALID_PARAMETER);
}

TEST_CASE("negotiate response matches the [MS-SMBD] 4.1 example") {
  NegotiateResponse resp;
  resp.credits_requested = 10;
  resp.credits_granted = 10;
  resp.max_read_write_size = 0x100000;
  resp.preferred_send_size = 1024;
  resp.max_receive_size = 1024;
  resp.max_fragmented_size = 0x20000;
  Bytes out;
  encode(resp, out);
  const Bytes expected = {0x00, 0x01, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x0A, 0x00, 0x0A,
                          0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x00, 0x04,
                          0x00, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00, 0x00, 0x02, 0x00};
  CHECK(out == expected);
  NegotiateResponse back;
  REQUIRE(decode(out, back) == NtStatus::SUCCESS);
  CHECK(check_negotiate_response(back, 1024));
  CHECK_FALSE(check_negotiate_response(back, 1023));  // PreferredSendSize > MaxReceiveSize
  CHECK(decode(ByteSpan(out).first(31), back) == NtStatus::INVALID_PARAMETER);
}

TEST_CASE("negotiate request checks of 3.1.5.6") {
  NegotiateRequest ok{kVersion1, kVersion1, 255, 1364, 8192, 1048576};
  CHECK(check_negotiate_request(ok) == RequestVerdict::accept);
  auto r = ok;
  r.min_version = 0x0101;
  r.max_version = 0x0200;
  CHECK(check_negotiate_request(r) == RequestVerdict::not_supported);
  r = ok;
  r.min_version = 0x0000;
  r.max_version = 0x00FF;
  CHECK(check_negotiate_request(r) == RequestVerdict::not_supported);
  r = ok;
  r.min_version = 0x0001;
  r.max_version = 0x0300;  // a range that includes 0x0100
  CHECK(check_negotiate_request(r) == RequestVerdict::accept);
  r = ok;
  r.credits_requested = 0;
  CHECK(check_negotiate_request(r) == RequestVerdict::terminate);
  r = ok;
  r.max_receive_size = 127;
  CHECK(check_negotiate_request(r) == RequestVerdict::terminate);
  r = ok;
  r.max_fragmented_size = 131071;
  CHECK(check_negotiate_request(r) == RequestVerdict::terminate);
  r = ok;
  r.preferred_send_size = 0xFFFFFFFF;
  r.max_receive_size = 0xFFFFFFFF;
  r.max_fragmented_size = 0xFFFFFFFF;
  CHECK(check_negotiate_request(r) == RequestVerdict::accept);
}

TEST_CASE("negotiate response checks of 3.1.5.7") {
  NegotiateResponse ok;
  ok.credits_requested = 255;
  ok.credits_granted = 255;
  ok.max_read_write_size = 1048576;
  ok.preferred_send_size = 1364;
  ok.max_receive_size = 8192;
  ok.max_fragmented_size = 1048576;
  CHECK(check_negotiate_response(ok, 8192));
  auto r = ok;
  r.negotiated_version = 0x0200;
  CHECK_FALSE(check_negotiate_response(r, 8192));
  r = ok;
  r.credits_granted = 0;
  CHECK_FALSE(check_negotiate_response(r, 8192));
  r = ok;
  r.credits_requested = 0;
  CHECK_FALSE(check_negotiate_response(r, 8192));
  r = ok;
  r.max_receive_size = 127;
  CHECK_FALSE(check_negotiate_response(r, 8192));
  r = ok;
  r.max_fragmented_size = 131071;
  CHECK_FALSE(check_negotiate_response(r, 8192));
  r = ok;
  r.status = static_cast<std::uint32_t>(NtStatus::NOT_SUPPORTED);
  CHECK_FALSE(check_negotiate_response(r, 8192));
}

namespace {
Bytes data_message(std::uint16_t credits_requested, std::uint32_t remaining, std::uint32_t offset,
                   std::uint32_t length, std::size_t total) {
  Bytes m(total, 0xAB);
  store_le16(&m[0], credits_requested);
  store_le16(&m[2], 3);
  store_le16(&m[4], kResponseRequested);
  store_le16(&m[6], 0);
  store_le32(&m[8], remaining);
  store_le32(&m[12], offset);
  store_le32(&m[16], length);
  return m;
}
}  // namespace

TEST_CASE("data transfer checks of 3.1.5.8") {
  DataTransfer dt;
  Bytes good = data_message(10, 100, 24, 16, 40);
  REQUIRE(decode_data_transfer(good, 131072, dt) == NtStatus::SUCCESS);
  CHECK(dt.credits_requested == 10);
  CHECK(dt.credits_granted == 3);
  CHECK(dt.flags == kResponseRequested);
  CHECK(dt.remaining_data_length == 100);
  CHECK(dt.data.size() == 16);
  CHECK(dt.data.data() == good.data() + 24);

  Bytes empty = data_message(1, 0, 0, 0, 20);  // the 20-byte minimum, no payload
  CHECK(decode_data_transfer(empty, 131072, dt) == NtStatus::SUCCESS);
  CHECK(decode_data_transfer(ByteSpan(empty).first(19), 131072, dt) != NtStatus::SUCCESS);
  CHECK(decode_data_transfer(data_message(0, 0, 24, 16, 40), 131072, dt) != NtStatus::SUCCESS);
  CHECK(decode_data_transfer(data_message(1, 0, 28, 8, 40), 131072, dt) != NtStatus::SUCCESS);
  CHECK(decode_data_transfer(data_message(1, 0, 24, 17, 40), 131072, dt) != NtStatus::SUCCESS);
  CHECK(decode_data_transfer(data_message(1, 0, 16, 8, 40), 131072, dt) != NtStatus::SUCCESS);
  CHECK(decode_data_transfer(data_message(1, 0xFFFFFFF0u, 0xFFFFFFF8u, 16, 40), 0xFFFFFFFFu, dt) !=
        NtStatus::SUCCESS);
  // DataLength + RemainingDataLength against MaxFragmentedRecvSize, exactly and one over.
  CHECK(decode_data_transfer(data_message(1, 131072 - 16, 24, 16, 40), 131072, dt) ==
        NtStatus::SUCCESS);
  CHECK(decode_data_transfer(data_message(1, 131072 - 15, 24, 16, 40), 131072, dt) !=
        NtStatus::SUCCESS);
}

TEST_CASE("buffer descriptor list: the 2.2.3.1 wire layout") {
  std::vector<BufferDescriptorV1> list = {{0x1000, 0x11223344, 4096}, {0xFFFF0000, 7, 65536}};
  Bytes out = encode_buffer_descriptors(list);
  REQUIRE(out.size() == 2 * kBufferDescriptorV1Size);
  CHECK(load_le64(&out[0]) == 0x1000);
  CHECK(load_le32(&out[8]) == 0x11223344);
  CHECK(load_le32(&out[12]) == 4096);
  std::vector<BufferDescriptorV1> back;
  REQUIRE(decode_buffer_descriptors(out, back) == NtStatus::SUCCESS);
  CHECK(back == list);
  CHECK(decode_buffer_descriptors(ByteSpan(out).first(31), back) != NtStatus::SUCCESS);
}
