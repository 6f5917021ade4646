// libFuzzer target for the `security.NTACL` extended attribute in Samba's layout
// (vfs/ntacl_xattr.hh) and the access check over what it holds (vfs/access_check.hh),
// and for the Linux `system.posix_acl_*` attributes whose hash Samba keeps in it. The
// input is an attribute's bytes, as a file's xattr could hold them; both decoders see it.
// Properties: whatever decodes encodes as version 4 to bytes that decode to the same
// descriptor and encode to the same bytes again; the access check of the decoded
// descriptor for a user token never grants a bit outside FILE_ALL_ACCESS, grants exactly
// what was asked when it succeeds without MAXIMUM_ALLOWED, and grants nothing when it
// refuses. A POSIX ACL that decodes has at most one entry per 8 bytes and encodes as
// Samba's smb_acl_wrapper within the size its entries allow.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "smbd/base/wire.hh"
#include "smbd/vfs/access_check.hh"
#include "smbd/vfs/nt_token.hh"
#include "smbd/vfs/ntacl_xattr.hh"

using namespace smb;
using namespace smb::vfs;

namespace {

void check(bool ok) {
  if (!ok) __builtin_trap();
}

const NtToken& user_token() {
  static const NtToken token =
      make_nt_token(1000, 100, std::vector<gid_t>{100, 101}, LogonKind::user);
  return token;
}

void access(const dtyp::SecurityDescriptor& sd, std::uint32_t desired) {
  std::uint32_t granted = 0xffffffff;
  const NtStatus status = access_check(sd, user_token(), desired, granted);
  if (status != NtStatus::SUCCESS) {
    check(granted == 0);
    return;
  }
  check((granted & ~kFileAllAccess) == 0);
  if ((desired & access_mask::MAXIMUM_ALLOWED) == 0)
    check(granted == map_generic_file_rights(desired));
}

void posix_acl(ByteSpan in) {
  std::vector<PosixAclEntry> entries;
  if (!decode_linux_posix_acl(in, entries)) return;
  check(entries.size() * 8 + 4 == in.size());
  PosixAclState state;
  state.mode = 040755;
  state.access = entries;
  state.default_acl = entries;
  const Bytes blob = encode_posix_acl_wrapper(state);
  // 56 bytes with both ACLs empty; an entry takes 8 bytes, 24 with a user or group id.
  check(blob.size() >= 56 + 2 * 8 * entries.size() && blob.size() <= 56 + 2 * 24 * entries.size());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  posix_acl(ByteSpan(data, size));
  NtaclXattr x;
  if (decode_ntacl_xattr(ByteSpan(data, size), x) != NtStatus::SUCCESS) return 0;
  const Bytes v4 = encode_ntacl_xattr_v4(x);
  NtaclXattr again;
  check(decode_ntacl_xattr(v4, again) == NtStatus::SUCCESS || v4.size() > kMaxNtaclXattrSize);
  if (v4.size() <= kMaxNtaclXattrSize) {
    check(again.version == 4 && again.sd == x.sd && again.hash == x.hash);
    check(encode_ntacl_xattr_v4(again) == v4);
  }
  access(x.sd, access_mask::MAXIMUM_ALLOWED);
  access(x.sd, access_mask::FILE_READ_DATA | access_mask::DELETE);
  access(x.sd, access_mask::GENERIC_WRITE | access_mask::READ_CONTROL);
  return 0;
}
