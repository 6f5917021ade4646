// libFuzzer target for the `user.DOSATTRIB` extended attribute in Samba's layout
// (vfs/dos_attrib.hh). The input is an attribute's bytes, as a file's xattr could hold
// them. Properties: what decodes encodes as version 5 (24 bytes) to bytes that decode to
// the same attributes and creation time and encode to the same bytes again.
#include <cstddef>
#include <cstdint>

#include "smbd/vfs/dos_attrib.hh"

using namespace smb;
using namespace smb::vfs;

namespace {

void check(bool ok) {
  if (!ok) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  DosAttrib x;
  if (decode_dos_attrib(ByteSpan(data, size), x) != NtStatus::SUCCESS) return 0;
  check(size <= kMaxDosAttribXattrSize);
  const Bytes v5 = encode_dos_attrib_v5(x);
  check(v5.size() == 24);
  DosAttrib again;
  check(decode_dos_attrib(v5, again) == NtStatus::SUCCESS);
  // A creation time of 0 stored with valid_flags set reads back as set (versions 3 to 5).
  check(again == x);
  check(encode_dos_attrib_v5(again) == v5);
  return 0;
}
