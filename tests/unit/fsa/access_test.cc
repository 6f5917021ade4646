// MS-DTYP 2.4.3 generic mapping with the file rights of MS-SMB2 2.2.13.1.1.
#include "smbd/fsa/access.hh"

#include <doctest/doctest.h>

#include "smbd/base/wire.hh"

using smb::fsa::map_generic_access;
namespace am = smb::access_mask;

TEST_CASE("generic rights map to the specific rights of files") {
  CHECK(map_generic_access(am::GENERIC_READ, 0) == 0x00120089);
  CHECK(map_generic_access(am::GENERIC_WRITE, 0) == 0x00120116);
  CHECK(map_generic_access(am::GENERIC_EXECUTE, 0) == 0x001200A0);
  CHECK(map_generic_access(am::GENERIC_ALL, 0) == 0x001F01FF);
  CHECK(map_generic_access(am::GENERIC_READ | am::GENERIC_WRITE, 0) == (0x00120089 | 0x00120116));
}

TEST_CASE("specific rights stay as asked and no generic bit is left") {
  std::uint32_t specific = am::FILE_READ_DATA | am::DELETE | am::WRITE_DAC | am::SYNCHRONIZE;
  CHECK(map_generic_access(specific, smb::kFileAllAccess) == specific);
  CHECK(map_generic_access(am::GENERIC_READ | am::DELETE, 0) == (0x00120089 | am::DELETE));
  for (std::uint32_t bit = 1; bit != 0; bit <<= 1) {
    CAPTURE(bit);
    CHECK((map_generic_access(bit, smb::kFileAllAccess) & 0xF0000000u) == 0);
  }
}

TEST_CASE("MAXIMUM_ALLOWED stands for what the share allows") {
  CHECK(map_generic_access(am::MAXIMUM_ALLOWED, smb::kFileGenericReadAccess) ==
        smb::kFileGenericReadAccess);
  CHECK(
      map_generic_access(am::MAXIMUM_ALLOWED | am::FILE_WRITE_DATA, smb::kFileGenericReadAccess) ==
      (smb::kFileGenericReadAccess | am::FILE_WRITE_DATA));
  CHECK(map_generic_access(am::MAXIMUM_ALLOWED, 0) == 0);
  CHECK(map_generic_access(0, smb::kFileAllAccess) == 0);
}
