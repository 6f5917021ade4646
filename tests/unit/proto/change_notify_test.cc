#include <doctest/doctest.h>

#include "smbd/proto/change_notify.hh"

using namespace smb;

namespace {

std::uint32_t le32(const Bytes& b, std::size_t at) {
  return static_cast<std::uint32_t>(b[at]) | static_cast<std::uint32_t>(b[at + 1]) << 8 |
         static_cast<std::uint32_t>(b[at + 2]) << 16 | static_cast<std::uint32_t>(b[at + 3]) << 24;
}

}  // namespace

TEST_CASE("FILE_NOTIFY_INFORMATION (MS-FSCC 2.7.1): entries chained and 4-byte aligned") {
  std::vector<FileNotifyInformation> entries{{kFileActionRenamedOldName, "a"},
                                             {kFileActionRenamedNewName, "sub\\bc"}};
  Bytes out = encode_file_notify_information(entries);
  // First: 12 bytes and "a" in UTF-16 (2 bytes) = 14, padded to 16.
  CHECK(le32(out, 0) == 16);
  CHECK(le32(out, 4) == kFileActionRenamedOldName);
  CHECK(le32(out, 8) == 2);
  CHECK(out[12] == 'a');
  CHECK(out[13] == 0);
  CHECK(out[14] == 0);  // padding
  CHECK(out[15] == 0);
  // Last: NextEntryOffset 0, not padded: 12 + 12 bytes.
  CHECK(le32(out, 16) == 0);
  CHECK(le32(out, 20) == kFileActionRenamedNewName);
  CHECK(le32(out, 24) == 12);
  CHECK(out.size() == 16 + 24);
  CHECK(out[28] == 's');
  CHECK(out[34] == '\\');

  std::vector<FileNotifyInformation> back;
  REQUIRE(decode_file_notify_information(out, back) == NtStatus::SUCCESS);
  CHECK(back == entries);
}

TEST_CASE("FILE_NOTIFY_INFORMATION: nothing encodes as an empty buffer") {
  CHECK(encode_file_notify_information({}).empty());
  std::vector<FileNotifyInformation> back{{1, "x"}};
  CHECK(decode_file_notify_information({}, back) == NtStatus::SUCCESS);
  CHECK(back.empty());
}

TEST_CASE("FILE_NOTIFY_INFORMATION: names beyond the buffer and bad offsets are refused") {
  Bytes out =
      encode_file_notify_information({{kFileActionAdded, "name"}, {kFileActionRemoved, "b"}});
  std::vector<FileNotifyInformation> back;
  Bytes truncated(out.begin(), out.end() - 1);
  CHECK(decode_file_notify_information(truncated, back) == NtStatus::INVALID_PARAMETER);
  Bytes long_name = out;
  long_name[8] = 0xFF;  // FileNameLength past the end
  CHECK(decode_file_notify_information(long_name, back) == NtStatus::INVALID_PARAMETER);
  Bytes unaligned = out;
  unaligned[0] = 22;  // NextEntryOffset not a multiple of 4
  CHECK(decode_file_notify_information(unaligned, back) == NtStatus::INVALID_PARAMETER);
  Bytes looping = out;
  looping[0] = 0;  // NextEntryOffset 0 ends the list early: one entry, no loop
  looping[1] = 0;
  CHECK(decode_file_notify_information(looping, back) == NtStatus::SUCCESS);
  CHECK(back.size() == 1);
  Bytes too_short = out;
  too_short[0] = 4;  // less than the entry it follows
  CHECK(decode_file_notify_information(too_short, back) == NtStatus::INVALID_PARAMETER);
}
