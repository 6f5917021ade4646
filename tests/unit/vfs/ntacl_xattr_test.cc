// security.NTACL in Samba's layout (vfs/ntacl_xattr.hh), against what Samba 4.17 wrote
// (samba_ntacl_vectors.hh).
#include <doctest/doctest.h>
#include <openssl/sha.h>

#include <string_view>

#include "samba_ntacl_vectors.hh"
#include "smbd/base/wire.hh"
#include "smbd/vfs/nt_token.hh"
#include "smbd/vfs/ntacl_xattr.hh"

using namespace smb;
using namespace smb::vfs;
using namespace smb::dtyp;
using namespace smb::vfs::test;

namespace {

Sid sid(std::string_view text) {
  Sid s;
  REQUIRE(Sid::parse(text, s));
  return s;
}

// `prefix` followed by `sd`, its offsets counted from the start of the attribute.
Bytes with_descriptor(Bytes prefix, const SecurityDescriptor& sd) {
  const Bytes encoded = encode(sd);
  const auto base = static_cast<std::uint32_t>(prefix.size());
  prefix.insert(prefix.end(), encoded.begin(), encoded.end());
  for (std::size_t field = 4; field < kSecurityDescriptorHeaderSize; field += 4) {
    std::uint8_t* at = &prefix[base + field];
    if (load_le32(at) != 0) store_le32(at, load_le32(at) + base);
  }
  return prefix;
}

const char kSambaDomain[] = "S-1-5-21-1752801452-3895058022-3274355903";

}  // namespace

TEST_CASE("ntacl xattr: Samba's version 4 of a file decodes to the ACL smbcacls set") {
  const Bytes blob = hex(kSambaFileV4);
  NtaclXattr x;
  REQUIRE(decode_ntacl_xattr(blob, x) == NtStatus::SUCCESS);
  CHECK(x.version == 4);
  CHECK(x.hash_type == kNtaclHashTypeSha256);
  CHECK(x.description == "posix_acl");
  CHECK(x.time == 0x01dd8608'59a47a92ULL);
  CHECK(x.hash[0] == 0xa3);
  CHECK(x.hash[32] == 0);
  CHECK(x.sys_acl_hash[0] == 0x88);
  CHECK(x.sd.control == (sd_control::SE_SELF_RELATIVE | sd_control::SE_DACL_PRESENT));
  CHECK(x.sd.owner->to_string() == std::string(kSambaDomain) + "-1000");
  CHECK(x.sd.group->to_string() == std::string(kSambaDomain) + "-513");
  CHECK(!x.sd.sacl);
  REQUIRE(x.sd.dacl);
  const auto& aces = x.sd.dacl->aces;
  REQUIRE(aces.size() == 5);
  CHECK(aces[0].type == AceType::ACCESS_DENIED_ACE_TYPE);
  CHECK(aces[0].sid == everyone_sid());
  CHECK(aces[0].mask == access_mask::FILE_WRITE_DATA);
  CHECK(aces[1].type == AceType::ACCESS_ALLOWED_ACE_TYPE);
  CHECK(aces[1].mask == 0x001200a9);
  CHECK(aces[2].sid == sid("S-1-22-1-1002"));
  CHECK(aces[4].mask == kFileAllAccess);
}

TEST_CASE("ntacl xattr: Samba's version 4 of a directory keeps inheritance flags") {
  NtaclXattr x;
  REQUIRE(decode_ntacl_xattr(hex(kSambaDirV4), x) == NtStatus::SUCCESS);
  REQUIRE(x.sd.dacl);
  const auto& aces = x.sd.dacl->aces;
  REQUIRE(aces.size() == 7);
  CHECK(aces[0].type == AceType::ACCESS_DENIED_ACE_TYPE);
  CHECK(aces[0].flags == (ace_flag::OBJECT_INHERIT_ACE | ace_flag::NO_PROPAGATE_INHERIT_ACE));
  CHECK(aces[0].mask == access_mask::FILE_APPEND_DATA);
  const std::uint8_t oi_ci_io =
      ace_flag::OBJECT_INHERIT_ACE | ace_flag::CONTAINER_INHERIT_ACE | ace_flag::INHERIT_ONLY_ACE;
  CHECK(aces[2].sid == creator_owner_sid());
  CHECK(aces[2].flags == oi_ci_io);
  CHECK(aces[3].sid == creator_group_sid());
  CHECK(aces[3].flags == oi_ci_io);
  CHECK(aces[4].sid == authenticated_users_sid());
}

TEST_CASE("ntacl xattr: encoding what Samba wrote gives Samba's bytes back") {
  for (const char* vector : {kSambaFileV4, kSambaDirV4}) {
    const Bytes blob = hex(vector);
    NtaclXattr x;
    REQUIRE(decode_ntacl_xattr(blob, x) == NtStatus::SUCCESS);
    CHECK(encode_ntacl_xattr_v4(x) == blob);
  }
}

TEST_CASE("ntacl xattr: Samba's version 3 decodes, and is written back as version 4") {
  NtaclXattr x;
  REQUIRE(decode_ntacl_xattr(hex(kSambaFileV3), x) == NtStatus::SUCCESS);
  CHECK(x.version == 3);
  CHECK(x.hash_type == kNtaclHashTypeSha256);
  CHECK(x.description.empty());
  REQUIRE(x.sd.dacl);
  REQUIRE(x.sd.dacl->aces.size() == 6);
  CHECK(x.sd.group->to_string() == "S-1-22-2-1001");
  CHECK(x.sd.dacl->aces[2].sid.to_string() == "S-1-5-18");

  NtaclXattr again;
  REQUIRE(decode_ntacl_xattr(encode_ntacl_xattr_v4(x), again) == NtStatus::SUCCESS);
  CHECK(again.version == 4);
  CHECK(again.sd == x.sd);
  CHECK(again.hash == x.hash);
}

TEST_CASE("ntacl xattr: versions 1 and 2 as the IDL lays them out") {
  NtaclXattr v4;
  REQUIRE(decode_ntacl_xattr(hex(kSambaFileV4), v4) == NtStatus::SUCCESS);
  const Bytes v1 = with_descriptor(hex("0100010000000200"), v4.sd);
  NtaclXattr x;
  REQUIRE(decode_ntacl_xattr(v1, x) == NtStatus::SUCCESS);
  CHECK(x.version == 1);
  CHECK(x.sd == v4.sd);

  // { ptr sd, hash[16] }: 28 bytes, already aligned.
  const Bytes v2 =
      with_descriptor(hex("020002000000020004000200000102030405060708090a0b0c0d0e0f"), v4.sd);
  REQUIRE(decode_ntacl_xattr(v2, x) == NtStatus::SUCCESS);
  CHECK(x.version == 2);
  CHECK(x.hash[15] == 0x0f);
  CHECK(x.hash[16] == 0);
  CHECK(x.sd == v4.sd);

  // Offsets relative to the descriptor itself (a plain self-relative descriptor) point
  // into the attribute's header: refused.
  Bytes relative = hex("0100010000000200");
  const Bytes plain = encode(v4.sd);
  relative.insert(relative.end(), plain.begin(), plain.end());
  CHECK(decode_ntacl_xattr(relative, x) == kStatusInvalidSecurityDescr);
}

TEST_CASE("ntacl xattr: a description of any length is padded so the time is aligned") {
  NtaclXattr x;
  REQUIRE(decode_ntacl_xattr(hex(kSambaFileV4), x) == NtStatus::SUCCESS);
  for (const char* text : {"", "a", "ab", "abc", "abcd", "posix_acl!"}) {
    x.description = text;
    x.time = 0x0102030405060708ULL;
    const Bytes blob = encode_ntacl_xattr_v4(x);
    NtaclXattr again;
    REQUIRE(decode_ntacl_xattr(blob, again) == NtStatus::SUCCESS);
    CHECK(again == x);
  }
}

TEST_CASE("ntacl xattr: every truncation, and broken headers, are refused") {
  const Bytes blob = hex(kSambaDirV4);
  NtaclXattr x;
  for (std::size_t n = 0; n < blob.size(); ++n) {
    // Trailing bytes of the descriptor may be cut only where nothing points.
    const NtStatus status = decode_ntacl_xattr(ByteSpan(blob.data(), n), x);
    if (status == NtStatus::SUCCESS)
      CHECK(n >= 160 + 0xb4);
    else
      CHECK(status == kStatusInvalidSecurityDescr);
  }
  auto broken = [&](std::size_t offset, std::uint8_t value) {
    Bytes copy = blob;
    copy[offset] = value;
    return decode_ntacl_xattr(copy, x);
  };
  CHECK(broken(0, 5) == kStatusInvalidSecurityDescr);  // unknown version
  CHECK(broken(2, 3) == kStatusInvalidSecurityDescr);  // level is not the version
  CHECK(broken(6, 0) == kStatusInvalidSecurityDescr);  // the union arm is NULL
  Bytes null_sd = blob;
  std::fill(null_sd.begin() + 8, null_sd.begin() + 12, 0);
  CHECK(decode_ntacl_xattr(null_sd, x) == kStatusInvalidSecurityDescr);
  // A description without its NUL runs off the end.
  Bytes no_nul(blob.begin(), blob.begin() + 78);
  no_nul.insert(no_nul.end(), 20, 'x');
  CHECK(decode_ntacl_xattr(no_nul, x) == kStatusInvalidSecurityDescr);
  // More than an extended attribute can hold.
  Bytes huge = blob;
  huge.resize(kMaxNtaclXattrSize + 1);
  CHECK(decode_ntacl_xattr(huge, x) == kStatusInvalidSecurityDescr);
}

TEST_CASE("ntacl xattr: the POSIX side hashes as Samba hashed it") {
  // A file and a directory Samba 4.17 made (uid and gid 1001, mode 0775), with the POSIX
  // ACL it gave both (user::rwx user:1001:rwx group::r-x group:1001:r-x mask::rwx
  // other::r-x; the directory has it as its default ACL too), and the sys_acl_hash it
  // stored for each.
  const Bytes linux_acl =
      hex("0200000001000700ffffffff02000700e903000004000500ffffffff08000500e903000010000700ffffffff"
          "20000500ffffffff");
  PosixAclState state;
  state.uid = 1001;
  state.gid = 1001;
  state.mode = 0100775;
  REQUIRE(decode_linux_posix_acl(linux_acl, state.access));
  CHECK(state.access == std::vector<PosixAclEntry>{{PosixAclEntry::USER_OBJ, 7, 0},
                                                   {PosixAclEntry::USER, 7, 1001},
                                                   {PosixAclEntry::GROUP_OBJ, 5, 0},
                                                   {PosixAclEntry::GROUP, 5, 1001},
                                                   {PosixAclEntry::MASK, 7, 0},
                                                   {PosixAclEntry::OTHER, 5, 0}});
  auto sha256 = [](const Bytes& blob) {
    Bytes digest(32);
    ::SHA256(blob.data(), blob.size(), digest.data());
    return digest;
  };
  CHECK(sha256(encode_posix_acl_wrapper(state)) ==
        hex("b97d1cf7c759bfea8efdca1ff760f411a2249f571fdc9509f23724b25a631392"));
  state.mode = 040775;
  state.default_acl = state.access;
  CHECK(sha256(encode_posix_acl_wrapper(state)) ==
        hex("a0128344665c815f99d0e7ccae68b7d5ff6b4288a23c4bc8b18214cf7380d78d"));

  // Not a Linux POSIX ACL: refused.
  std::vector<PosixAclEntry> entries;
  CHECK(!decode_linux_posix_acl(ByteSpan(linux_acl.data(), 11), entries));
  CHECK(!decode_linux_posix_acl(hex("01000000"), entries));
  CHECK(!decode_linux_posix_acl(hex("0200000040000700ffffffff"), entries));
  CHECK(decode_linux_posix_acl(hex("02000000"), entries));
  CHECK(entries.empty());
  CHECK(posix_acl_from_mode(0754) == std::vector<PosixAclEntry>{{PosixAclEntry::USER_OBJ, 7, 0},
                                                                {PosixAclEntry::GROUP_OBJ, 5, 0},
                                                                {PosixAclEntry::OTHER, 4, 0}});
}
