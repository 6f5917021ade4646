// libFuzzer target for security descriptors ([MS-DTYP] 2.4, proto/security_descriptor.hh)
// and their mapping onto POSIX owner, group and mode (vfs/security.hh), as SET_INFO
// SMB2_0_INFO_SECURITY and the CREATE SecD context use them. The first input byte
// selects (mod 4); the rest is:
//   0 a self-relative SECURITY_DESCRIPTOR
//   1 an ACL
//   2 a SID
//   3 u32 AdditionalInformation, u32 st_mode (S_IFDIR for a directory), then a
//     SECURITY_DESCRIPTOR, mapped onto a file with uid 1000 and gid 100
// Properties: whatever decodes re-encodes to its canonical form, which decodes to the
// same value and encodes to the same bytes (an ACL never longer than it came); a SID's
// text form parses back to it; what the mapping accepts reads back as a descriptor
// that changes nothing.
#include <sys/stat.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>

#include "smbd/base/security_descriptor.hh"
#include "smbd/vfs/security.hh"

using namespace smb;
using namespace smb::dtyp;

namespace {

void check(bool ok) {
  if (!ok) __builtin_trap();
}

void descriptor(ByteSpan in) {
  SecurityDescriptor sd;
  if (decode(in, sd) != NtStatus::SUCCESS) return;
  Bytes bytes = encode(sd);
  check(bytes.size() == wire_size(sd));
  SecurityDescriptor again;
  check(decode(bytes, again) == NtStatus::SUCCESS);
  check(again == sd);
  check(encode(again) == bytes);
}

void acl(ByteSpan in) {
  Acl a;
  std::size_t used = 0;
  if (decode_acl(in, a, used) != NtStatus::SUCCESS) return;
  check(used <= in.size());
  Bytes bytes;
  ByteWriter w(bytes);
  encode(a, w);
  check(bytes.size() == a.wire_size() && bytes.size() <= used);
  Acl again;
  std::size_t again_used = 0;
  check(decode_acl(bytes, again, again_used) == NtStatus::SUCCESS);
  check(again == a && again_used == bytes.size());
}

void sid(ByteSpan in) {
  Sid s;
  std::size_t used = 0;
  if (decode_sid(in, s, used) != NtStatus::SUCCESS) return;
  check(s.sub_authorities.size() <= kMaxSubAuthorities && used == s.wire_size());
  Bytes bytes;
  ByteWriter w(bytes);
  encode(s, w);
  check(bytes.size() == used && std::equal(bytes.begin(), bytes.end(), in.begin()));
  Sid parsed;
  check(Sid::parse(s.to_string(), parsed) && parsed == s);
}

void mapping(ByteSpan in) {
  if (in.size() < 8) return;
  const std::uint32_t info = load_le32(in.data());
  const auto st_mode = static_cast<mode_t>(load_le32(in.data() + 4));
  SecurityDescriptor sd;
  if (decode(in.subspan(8), sd) != NtStatus::SUCCESS) return;
  vfs::PosixSecurity file;
  file.uid = 1000;
  file.gid = 100;
  file.is_directory = S_ISDIR(st_mode);
  file.mode = (file.is_directory ? S_IFDIR : S_IFREG) | (st_mode & 07777);
  vfs::PosixSecurityChange change;
  if (vfs::posix_change_from_security_descriptor(sd, info, file, change) != NtStatus::SUCCESS)
    return;
  if (change.permissions) check((*change.permissions & ~mode_t{0777}) == 0);
  // The file as it would be afterwards reads back as a descriptor that changes nothing.
  vfs::PosixSecurity after = file;
  if (change.uid) after.uid = *change.uid;
  if (change.gid) after.gid = *change.gid;
  if (change.permissions) after.mode = (after.mode & ~mode_t{0777}) | *change.permissions;
  const std::uint32_t parts =
      kOwnerSecurityInformation | kGroupSecurityInformation | kDaclSecurityInformation;
  SecurityDescriptor view = vfs::security_descriptor_from_posix(after, parts);
  vfs::PosixSecurityChange none;
  check(vfs::posix_change_from_security_descriptor(view, parts, after, none) == NtStatus::SUCCESS);
  check(none.empty());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  ByteSpan in(data + 1, size - 1);
  switch (data[0] % 4) {
    case 0:
      descriptor(in);
      break;
    case 1:
      acl(in);
      break;
    case 2:
      sid(in);
      break;
    default:
      mapping(in);
      break;
  }
  return 0;
}
