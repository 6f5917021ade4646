// Symbolic link reparse data ([MS-FSCC] 2.1.2.4) and the Symbolic Link Error Response
// ([MS-SMB2] 2.2.2.2.1) (proto/reparse.hh): layouts byte by byte, round trips, and
// buffers whose names lie outside them.
#include "smbd/proto/reparse.hh"

#include <doctest/doctest.h>

namespace smb {
namespace {

// The body both structures share for a link to "a", relative: SubstituteNameOffset 0,
// SubstituteNameLength 2, PrintNameOffset 2, PrintNameLength 2, Flags 1, then "a" "a".
const Bytes kLinkBody{0, 0, 2, 0, 2, 0, 2, 0, 1, 0, 0, 0, 'a', 0, 'a', 0};

TEST_CASE("reparse: the reparse data of a relative symbolic link, field by field") {
  const SymbolicLinkReparse link{"a", "a", SYMLINK_FLAG_RELATIVE};
  Bytes expected{0x0C, 0x00, 0x00, 0xA0,  // IO_REPARSE_TAG_SYMLINK
                 16,   0,                 // ReparseDataLength
                 0,    0};                // Reserved
  expected.insert(expected.end(), kLinkBody.begin(), kLinkBody.end());
  CHECK(encode_reparse(link) == expected);
  SymbolicLinkReparse back;
  REQUIRE(decode_reparse(expected, back) == NtStatus::SUCCESS);
  CHECK(back == link);
}

TEST_CASE("reparse: the symbolic link error response carries the unparsed path length") {
  const SymbolicLinkReparse link{"a", "a", SYMLINK_FLAG_RELATIVE};
  Bytes expected{28,   0,    0,    0,     // SymLinkLength: what follows it
                 'S',  'Y',  'M',  'L',   // SymLinkErrorTag 0x4C4D5953
                 0x0C, 0x00, 0x00, 0xA0,  // ReparseTag
                 16,   0,                 // ReparseDataLength
                 12,   0};                // UnparsedPathLength
  expected.insert(expected.end(), kLinkBody.begin(), kLinkBody.end());
  CHECK(encode_symlink_error(link, 12) == expected);
}

TEST_CASE("reparse: an absolute target round trips with its flags clear") {
  const SymbolicLinkReparse link{"\\srv\\data\\dir", "\\srv\\data\\dir", 0};
  SymbolicLinkReparse back;
  REQUIRE(decode_reparse(encode_reparse(link), back) == NtStatus::SUCCESS);
  CHECK(back == link);
}

TEST_CASE("reparse: short buffers, names out of bounds and other tags are refused") {
  SymbolicLinkReparse out;
  Bytes whole = encode_reparse(SymbolicLinkReparse{"target", "target", 0});
  for (std::size_t n = 0; n < whole.size(); ++n) {
    Bytes cut(whole.begin(), whole.begin() + static_cast<std::ptrdiff_t>(n));
    CHECK(decode_reparse(cut, out) == NtStatus::INVALID_PARAMETER);
  }
  Bytes far = whole;
  far[8] = 0xF0;  // SubstituteNameOffset past the path buffer
  CHECK(decode_reparse(far, out) == NtStatus::INVALID_PARAMETER);
  Bytes other = whole;
  other[3] = 0x80;  // IO_REPARSE_TAG_MOUNT_POINT is 0xA0000003; any other tag is not ours
  other[0] = 0x03;
  CHECK(decode_reparse(other, out) == NtStatus::NOT_SUPPORTED);
}

}  // namespace
}  // namespace smb
