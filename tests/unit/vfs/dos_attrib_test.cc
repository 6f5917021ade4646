// user.DOSATTRIB in Samba's layout (vfs/dos_attrib.hh). The version 5 samples are what
// Samba 4.17's smbd wrote on a share with `store dos attributes = yes` (a file and a
// directory); the others are Samba's NDR encoder's output for each older version, with
// every field set to a distinct value.
#include <doctest/doctest.h>

#include <string>
#include <string_view>

#include "smbd/base/wire.hh"
#include "smbd/vfs/dos_attrib.hh"

using namespace smb;
using namespace smb::vfs;

namespace {

Bytes hex(std::string_view text) {
  Bytes out;
  for (std::size_t i = 0; i + 1 < text.size(); i += 2) {
    out.push_back(
        static_cast<std::uint8_t>(std::stoul(std::string(text.substr(i, 2)), nullptr, 16)));
  }
  return out;
}

DosAttrib decoded(std::string_view text) {
  DosAttrib x;
  REQUIRE(decode_dos_attrib(hex(text), x) == NtStatus::SUCCESS);
  return x;
}

NtStatus status_of(const Bytes& in) {
  DosAttrib x;
  return decode_dos_attrib(in, x);
}

constexpr std::uint64_t kSampleTime = 0x01d9e5e6e7e8e9eaULL;

}  // namespace

TEST_CASE("dosattrib: version 5 as Samba 4.17 wrote it for a file and a directory") {
  const char* file = "000005000500000011000000200000000de52b193986dd01";
  DosAttrib x = decoded(file);
  CHECK(x.attributes == file_attribute::FILE_ATTRIBUTE_ARCHIVE);
  CHECK(x.creation_time == 0x01dd8639192be50dULL);
  CHECK(encode_dos_attrib_v5(x) == hex(file));

  const char* dir = "000005000500000011000000100000008d1d2d193986dd01";
  x = decoded(dir);
  CHECK(x.attributes == file_attribute::FILE_ATTRIBUTE_DIRECTORY);
  CHECK(x.creation_time == 0x01dd8639192d1d8dULL);
  CHECK(encode_dos_attrib_v5(x) == hex(dir));
}

TEST_CASE("dosattrib: valid_flags decide what versions 3 to 5 carry") {
  DosAttrib x = decoded("000005000500000001000000220000000000000000000000");
  CHECK(x.attributes == 0x22u);
  CHECK_FALSE(x.creation_time.has_value());
  CHECK(encode_dos_attrib_v5(x) == hex("000005000500000001000000220000000000000000000000"));
  x = decoded("000005000500000010000000a1000000eae9e8e7e6e5d901");
  CHECK_FALSE(x.attributes.has_value());
  CHECK(x.creation_time == kSampleTime);
  x = decoded("000004000400000011000000a10000000807060504030201eae9e8e7e6e5d901");
  CHECK(x.attributes == 0xa1u);
  CHECK(x.creation_time == kSampleTime);
  x = decoded(
      "30786131000003000300000011000000a1000000b2000000c300000000000000d400000000000000"
      "eae9e8e7e6e5d9010807060504030201");
  CHECK(x.attributes == 0xa1u);
  CHECK(x.creation_time == kSampleTime);
}

TEST_CASE("dosattrib: versions 1 and 2 and the bare hex string") {
  DosAttrib x = decoded(
      "307861310000010001000000a1000000b2000000c300000000000000d400000000000000eae9e8e7e6e5d901"
      "0807060504030201");
  CHECK(x.attributes == 0xa1u);
  CHECK(x.creation_time == kSampleTime);
  x = decoded(
      "30786131000002000200000099000000a1000000b2000000c300000000000000d400000000000000eae9e8e7e6"
      "e5d90108070605040302011817161514131211616200");
  CHECK(x.attributes == 0xa1u);
  CHECK(x.creation_time == kSampleTime);
  // Version 1 with no creation time: a zero time is none.
  Bytes v1 = hex(
      "307861310000010001000000a1000000b2000000c300000000000000d400000000000000000000000000000000"
      "0807060504030201");
  REQUIRE(decode_dos_attrib(v1, x) == NtStatus::SUCCESS);
  CHECK_FALSE(x.creation_time.has_value());
  // Samba 3's form, and the same without its NUL.
  x = decoded("3078323200");
  CHECK(x.attributes == 0x22u);
  x = decoded("30783232");
  CHECK(x.attributes == 0x22u);
  CHECK_FALSE(x.creation_time.has_value());
}

TEST_CASE("dosattrib: malformed values are INVALID_PARAMETER") {
  const Bytes good = hex("000005000500000011000000200000000de52b193986dd01");
  for (std::size_t n = 3; n < good.size(); ++n) {
    CAPTURE(n);
    CHECK(status_of(Bytes(good.begin(), good.begin() + static_cast<std::ptrdiff_t>(n))) ==
          NtStatus::INVALID_PARAMETER);
  }
  CHECK(status_of({}) == NtStatus::INVALID_PARAMETER);
  CHECK(status_of(hex("00")) == NtStatus::INVALID_PARAMETER);      // empty hex string
  CHECK(status_of(hex("7a7a00")) == NtStatus::INVALID_PARAMETER);  // "zz"
  CHECK(status_of(hex("000006000600000011000000200000000de52b193986dd01")) ==
        NtStatus::INVALID_PARAMETER);  // unknown version
  CHECK(status_of(hex("000005000400000011000000200000000de52b193986dd01")) ==
        NtStatus::INVALID_PARAMETER);  // switch differs from version
  CHECK(status_of(hex("0000ffffffff0000")) == NtStatus::INVALID_PARAMETER);
  // Version 2's name without its NUL.
  CHECK(status_of(hex("30786131000002000200000099000000a1000000b2000000c300000000000000d400"
                      "000000000000eae9e8e7e6e5d90108070605040302011817161514131211616")) ==
        NtStatus::INVALID_PARAMETER);
  CHECK(status_of(Bytes(kMaxDosAttribXattrSize + 1, 0x30)) == NtStatus::INVALID_PARAMETER);
}
