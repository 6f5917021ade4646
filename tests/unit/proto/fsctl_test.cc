// The file-system control payloads of [MS-FSCC] 2.3 (proto/fsctl.hh): layouts, round
// trips and short or odd buffers.
#include "smbd/proto/fsctl.hh"

#include <doctest/doctest.h>

namespace smb {
namespace {

TEST_CASE("fsctl: FILE_SET_SPARSE_BUFFER is optional") {
  bool sparse = false;
  CHECK(decode_set_sparse({}, sparse) == NtStatus::SUCCESS);
  CHECK(sparse);  // [MS-FSA] 2.1.5.9.30: no buffer means TRUE
  Bytes off{0};
  CHECK(decode_set_sparse(off, sparse) == NtStatus::SUCCESS);
  CHECK(!sparse);
  Bytes on{7, 0, 0, 0};
  CHECK(decode_set_sparse(on, sparse) == NtStatus::SUCCESS);
  CHECK(sparse);
}

TEST_CASE("fsctl: FILE_ZERO_DATA_INFORMATION") {
  FileZeroDataInformation z{4096, 1 << 20};
  Bytes b = encode_fsctl(z);
  REQUIRE(b.size() == 16);
  CHECK(load_le64(b.data()) == 4096);
  CHECK(load_le64(b.data() + 8) == (1 << 20));
  FileZeroDataInformation out;
  REQUIRE(decode_fsctl(b, out) == NtStatus::SUCCESS);
  CHECK(out == z);
  for (std::size_t n = 0; n < 16; ++n) {
    CHECK(decode_fsctl(ByteSpan(b.data(), n), out) == NtStatus::INVALID_PARAMETER);
  }
  // Negative values decode; the rules of [MS-FSA] 2.1.5.9.39 are the handler's.
  store_le64(b.data(), ~std::uint64_t{0});
  REQUIRE(decode_fsctl(b, out) == NtStatus::SUCCESS);
  CHECK(out.file_offset == -1);
}

TEST_CASE("fsctl: FILE_ALLOCATED_RANGE_BUFFER input and output lists") {
  FileAllocatedRange q{0, 1 << 30};
  Bytes b = encode_fsctl(q);
  REQUIRE(b.size() == kAllocatedRangeSize);
  FileAllocatedRange out;
  REQUIRE(decode_fsctl(b, out) == NtStatus::SUCCESS);
  CHECK(out == q);
  CHECK(decode_fsctl(ByteSpan(b.data(), 15), out) == NtStatus::INVALID_PARAMETER);

  std::vector<FileAllocatedRange> ranges{{0, 4096}, {65536, 8192}, {1 << 20, 1}};
  Bytes list = encode_allocated_ranges(ranges);
  CHECK(list.size() == 48);
  CHECK(load_le64(list.data() + 16) == 65536);
  std::vector<FileAllocatedRange> back;
  REQUIRE(decode_allocated_ranges(list, back) == NtStatus::SUCCESS);
  CHECK(back == ranges);
  CHECK(decode_allocated_ranges(ByteSpan(list.data(), 47), back) == NtStatus::INVALID_PARAMETER);
  REQUIRE(decode_allocated_ranges({}, back) == NtStatus::SUCCESS);
  CHECK(back.empty());
}

TEST_CASE("fsctl: FILE_OBJECTID_BUFFER type 1") {
  FileObjectIdBuffer o;
  for (std::size_t i = 0; i < 16; ++i) {
    o.object_id[i] = static_cast<std::uint8_t>(i);
    o.birth_volume_id[i] = static_cast<std::uint8_t>(0x10 + i);
    o.birth_object_id[i] = static_cast<std::uint8_t>(0x20 + i);
    o.domain_id[i] = static_cast<std::uint8_t>(0x30 + i);
  }
  Bytes b = encode_fsctl(o);
  REQUIRE(b.size() == kObjectIdBufferSize);
  CHECK(b[0] == 0);
  CHECK(b[16] == 0x10);
  CHECK(b[32] == 0x20);
  CHECK(b[63] == 0x3F);
  FileObjectIdBuffer out;
  REQUIRE(decode_fsctl(b, out) == NtStatus::SUCCESS);
  CHECK(out == o);
  CHECK(decode_fsctl(ByteSpan(b.data(), 63), out) == NtStatus::INVALID_PARAMETER);
}

}  // namespace
}  // namespace smb

namespace smb {
namespace {

TEST_CASE("fsctl: DUPLICATE_EXTENTS_DATA") {
  DuplicateExtentsData d{FileId{0x1122334455667788ull, 0x99}, 4096, 8192, 65536};
  Bytes b = encode_fsctl(d);
  REQUIRE(b.size() == kDuplicateExtentsDataSize);
  CHECK(load_le64(b.data()) == 0x1122334455667788ull);
  CHECK(load_le64(b.data() + 8) == 0x99);
  CHECK(load_le64(b.data() + 32) == 65536);
  DuplicateExtentsData out;
  REQUIRE(decode_fsctl(b, out) == NtStatus::SUCCESS);
  CHECK(out == d);
  CHECK(decode_fsctl(ByteSpan(b.data(), 39), out) == NtStatus::INVALID_PARAMETER);
}

}  // namespace
}  // namespace smb
