// [MS-DTYP] 2.4 security descriptors: SIDs, ACLs, ACEs, the self-relative descriptor.
// The byte vectors are laid out by hand from the spec's diagrams.
#include <doctest/doctest.h>

#include "smbd/base/security_descriptor.hh"
#include "test_util.hh"

namespace smb::dtyp {
namespace {

using test::hex;

Sid sid_of(const Bytes& bytes) {
  Sid s;
  std::size_t used = 0;
  REQUIRE(decode_sid(bytes, s, used) == NtStatus::SUCCESS);
  CHECK(used == bytes.size());
  return s;
}

Bytes encoded(const Sid& s) {
  Bytes out;
  ByteWriter w(out);
  encode(s, w);
  return out;
}

// Owner S-1-5-32-544, group S-1-5-18, DACL {allow FILE_ALL_ACCESS to S-1-1-0, deny
// FILE_WRITE_DATA to S-1-5-7}, in the canonical order: header, DACL, owner, group.
const char* kCanonical =
    "01 00 0480"                                     // Revision 1, Sbz1, Control SR|DP
    "44000000 54000000"                              // OffsetOwner 68, OffsetGroup 84
    "00000000 14000000"                              // OffsetSacl 0, OffsetDacl 20
    "02 00 3000 0200 0000"                           // ACL revision 2, AclSize 48, AceCount 2
    "00 00 1400 ff011f00 0101000000000001 00000000"  // allow 0x1f01ff S-1-1-0
    "01 00 1400 02000000 0101000000000005 07000000"  // deny 0x2 S-1-5-7
    "0102000000000005 20000000 20020000"             // S-1-5-32-544
    "0101000000000005 12000000";                     // S-1-5-18

SecurityDescriptor canonical_sd() {
  SecurityDescriptor sd;
  sd.owner = administrators_sid();
  sd.group = Sid::make(5, {18});
  Acl dacl;
  Ace allow;
  allow.mask = 0x001F01FF;
  allow.sid = everyone_sid();
  Ace deny;
  deny.type = AceType::ACCESS_DENIED_ACE_TYPE;
  deny.mask = 0x00000002;
  deny.sid = anonymous_sid();
  dacl.aces = {allow, deny};
  sd.dacl = dacl;
  sd.control = sd_control::SE_SELF_RELATIVE | sd_control::SE_DACL_PRESENT;
  return sd;
}

TEST_CASE("sid: well-known SIDs, bytes and text") {
  Sid everyone = sid_of(hex("01 01 000000000001 00000000"));
  CHECK(everyone == everyone_sid());
  CHECK(everyone.to_string() == "S-1-1-0");
  CHECK(encoded(everyone) == hex("01 01 000000000001 00000000"));

  Sid admins = sid_of(hex("01 02 000000000005 20000000 20020000"));
  CHECK(admins == administrators_sid());
  CHECK(admins.to_string() == "S-1-5-32-544");

  // A domain SID with five sub-authorities.
  Bytes domain = hex("01 05 000000000005 15000000 dcf4dc3b 833d2b46 828ba628 00020000");
  Sid d = sid_of(domain);
  CHECK(d.to_string() == "S-1-5-21-1004336348-1177238915-682003330-512");
  CHECK(encoded(d) == domain);
  Sid parsed;
  REQUIRE(Sid::parse("S-1-5-21-1004336348-1177238915-682003330-512", parsed));
  CHECK(parsed == d);
  CHECK(d.wire_size() == domain.size());

  // No sub-authorities at all is a valid (if unusual) SID.
  Sid null_authority = sid_of(hex("01 00 000000000000"));
  CHECK(null_authority.to_string() == "S-1-0");

  // Authorities of 2^32 and above print in hexadecimal (MS-DTYP 2.4.2.1).
  Sid big = Sid::make(0x123456789ABC, {1});
  CHECK(big.to_string() == "S-1-0x123456789ABC-1");
  REQUIRE(Sid::parse("S-1-0x123456789ABC-1", parsed));
  CHECK(parsed == big);
}

TEST_CASE("sid: malformed") {
  Sid s;
  std::size_t used = 0;
  CHECK(decode_sid(hex("01 01 000000000001"), s, used) != NtStatus::SUCCESS);  // short
  CHECK(decode_sid(hex("02 01 000000000001 00000000"), s, used) != NtStatus::SUCCESS);
  // SubAuthorityCount 16 with all 16 present: still refused (at most 15).
  Bytes sixteen = hex("01 10 000000000005");
  sixteen.resize(8 + 64, 0);
  CHECK(decode_sid(sixteen, s, used) != NtStatus::SUCCESS);
  Bytes fifteen = hex("01 0f 000000000005");
  fifteen.resize(8 + 60, 0);
  CHECK(decode_sid(fifteen, s, used) == NtStatus::SUCCESS);
  CHECK(s.sub_authorities.size() == 15);

  for (const char* bad :
       {"", "S-1", "S-1-", "S-1-5-", "S-2-5", "X-1-5", "S-1-5--1", "S-1-5-x", "S-1-5-4294967296",
        "S-1-281474976710656", "S-1-5-1-2-3-4-5-6-7-8-9-10-11-12-13-14-15-16"})
    CHECK_MESSAGE(!Sid::parse(bad, s), bad);
}

TEST_CASE("security descriptor: owner, group and DACL from hand-laid bytes") {
  Bytes bytes = hex(kCanonical);
  REQUIRE(bytes.size() == 96);
  SecurityDescriptor sd;
  REQUIRE(decode(bytes, sd) == NtStatus::SUCCESS);
  CHECK(sd == canonical_sd());
  REQUIRE(sd.dacl);
  CHECK(sd.dacl->aces[1].type == AceType::ACCESS_DENIED_ACE_TYPE);
  CHECK(sd.owner->to_string() == "S-1-5-32-544");
  CHECK(sd.group->to_string() == "S-1-5-18");
  CHECK(!sd.sacl);
  CHECK(encode(canonical_sd()) == bytes);
  CHECK(wire_size(canonical_sd()) == bytes.size());
}

TEST_CASE("security descriptor: another layout is read and re-encoded canonically") {
  // Owner and group first, then the DACL, with 4 bytes of slack after the DACL's ACE
  // and inside AclSize: all allowed by MS-DTYP.
  Bytes other =
      hex("01 00 0480 14000000 24000000 00000000 30000000"
          "0102000000000005 20000000 20020000"  // owner at 20
          "0101000000000005 12000000"           // group at 36
          "02 00 2000 0100 0000"                // DACL at 48: AclSize 32 (4 slack)
          "00 03 1400 89001200 0101000000000001 00000000"
          "00000000");
  SecurityDescriptor sd;
  REQUIRE(decode(other, sd) == NtStatus::SUCCESS);
  REQUIRE(sd.dacl);
  REQUIRE(sd.dacl->aces.size() == 1);
  CHECK(sd.dacl->aces[0].flags == 0x03);
  CHECK(sd.dacl->aces[0].mask == 0x00120089);
  Bytes canonical = encode(sd);
  CHECK(canonical == hex("01 00 0480 30000000 40000000 00000000 14000000"
                         "02 00 1c00 0100 0000"
                         "00 03 1400 89001200 0101000000000001 00000000"
                         "0102000000000005 20000000 20020000"
                         "0101000000000005 12000000"));
  SecurityDescriptor again;
  REQUIRE(decode(canonical, again) == NtStatus::SUCCESS);
  CHECK(again == sd);
}

TEST_CASE("security descriptor: what Samba sends and answers") {
  // smbcacls -S "ACL:S-1-22-1-0:ALLOWED/0x0/FULL,ACL:S-1-1-0:ALLOWED/0x0/READ": DACL only,
  // ACL revision 3.
  SecurityDescriptor sd;
  REQUIRE(decode(hex("0100048000000000000000000000000014000000030034000200000000001400a900"
                     "120001010000000000010000000000001800ff011f0001020000000000160100000000"
                     "000000"),
                 sd) == NtStatus::SUCCESS);
  CHECK(!sd.owner);
  REQUIRE(sd.dacl);
  CHECK(sd.dacl->revision == 3);
  REQUIRE(sd.dacl->aces.size() == 2);
  CHECK(sd.dacl->aces[0].sid == everyone_sid());
  CHECK(sd.dacl->aces[0].mask == 0x001200A9);
  CHECK(sd.dacl->aces[1].sid.to_string() == "S-1-22-1-0");
  CHECK(sd.dacl->aces[1].mask == 0x001F01FF);

  // Samba's smbd on QUERY_INFO OWNER|GROUP|DACL: owner first, DACL last, an ACE with an
  // empty mask.
  REQUIRE(decode(hex("0100049014000000300000000000000040000000010500000000000515000000c487"
                     "5435bd0f6bc08a0270d2e8030000010200000000001602000000e90300000200580003"
                     "000000000024009f011200010500000000000515000000c4875435bd0f6bc08a0270d2"
                     "e80300000000180089001200010200000000001602000000e903000000001400000000"
                     "00010100000000000100000000"),
                 sd) == NtStatus::SUCCESS);
  CHECK(sd.owner->to_string() == "S-1-5-21-894732228-3228241853-3530556042-1000");
  CHECK(sd.group->to_string() == "S-1-22-2-1001");
  CHECK((sd.control & sd_control::SE_DACL_PROTECTED) != 0);
  REQUIRE(sd.dacl->aces.size() == 3);
  CHECK(sd.dacl->aces[0].mask == 0x0012019F);
  CHECK(sd.dacl->aces[2].mask == 0);
  CHECK(sd.dacl->aces[2].sid == everyone_sid());
}

TEST_CASE("security descriptor: other ACE types stay opaque") {
  // A SACL with a mandatory label (type 0x11, NO_WRITE_UP, S-1-16-4096).
  Bytes bytes =
      hex("01 00 1080 00000000 00000000 14000000 00000000"
          "02 00 1c00 0100 0000"
          "11 00 1400 01000000 0101000000000010 00100000");
  SecurityDescriptor sd;
  REQUIRE(decode(bytes, sd) == NtStatus::SUCCESS);
  REQUIRE(sd.sacl);
  const Ace& label = sd.sacl->aces.at(0);
  CHECK(label.type == AceType::SYSTEM_MANDATORY_LABEL_ACE_TYPE);
  CHECK(!label.is_simple());
  CHECK(label.opaque == hex("01000000 0101000000000010 00100000"));
  CHECK(encode(sd) == bytes);
}

TEST_CASE("security descriptor: header only, NULL DACL, ignored offsets") {
  // What a query with AdditionalInformation 0 returns: 20 bytes.
  SecurityDescriptor empty;
  CHECK(encode(empty) == hex("01 00 0080 00000000 00000000 00000000 00000000"));

  // DACL_PRESENT with OffsetDacl 0: a NULL DACL.
  SecurityDescriptor sd;
  REQUIRE(decode(hex("01 00 0480 00000000 00000000 00000000 00000000"), sd) == NtStatus::SUCCESS);
  CHECK(sd.dacl_present());
  CHECK(!sd.dacl);
  CHECK(encode(sd) == hex("01 00 0480 00000000 00000000 00000000 00000000"));

  // An OffsetDacl without DACL_PRESENT is not read, even pointing outside the buffer.
  REQUIRE(decode(hex("01 00 0080 00000000 00000000 00000000 ff000000"), sd) == NtStatus::SUCCESS);
  CHECK(!sd.dacl_present());
  CHECK(!sd.dacl);

  // An empty DACL (no ACEs) differs from a NULL DACL.
  REQUIRE(decode(hex("01 00 0480 00000000 00000000 00000000 14000000 02 00 0800 0000 0000"), sd) ==
          NtStatus::SUCCESS);
  REQUIRE(sd.dacl);
  CHECK(sd.dacl->aces.empty());
}

TEST_CASE("security descriptor: malformed input is refused") {
  Bytes good = hex(kCanonical);
  SecurityDescriptor sd;
  // Every strict prefix cuts the group SID.
  for (std::size_t n = 0; n < good.size(); ++n)
    CHECK_MESSAGE(decode(ByteSpan(good).first(n), sd) == kStatusInvalidSecurityDescr, n);

  auto mutated = [&good](std::size_t at, std::initializer_list<std::uint8_t> bytes) {
    Bytes b = good;
    std::size_t i = at;
    for (std::uint8_t v : bytes) b[i++] = v;
    return b;
  };
  // Revision 2.
  CHECK(decode(mutated(0, {2}), sd) != NtStatus::SUCCESS);
  // Absolute format (SE_SELF_RELATIVE clear).
  CHECK(decode(mutated(2, {0x04, 0x00}), sd) != NtStatus::SUCCESS);
  // Owner offset inside the header, at the end, past the end.
  CHECK(decode(mutated(4, {4, 0, 0, 0}), sd) != NtStatus::SUCCESS);
  CHECK(decode(mutated(4, {96, 0, 0, 0}), sd) != NtStatus::SUCCESS);
  CHECK(decode(mutated(4, {0xff, 0xff, 0xff, 0xff}), sd) != NtStatus::SUCCESS);
  // Owner SID claims 3 sub-authorities: its last one would lie in the group's place,
  // which is inside the buffer, so it decodes; 12 of them run past the end.
  CHECK(decode(mutated(68 + 1, {3}), sd) == NtStatus::SUCCESS);
  CHECK(decode(mutated(84 + 1, {12}), sd) != NtStatus::SUCCESS);
  CHECK(decode(mutated(84 + 1, {16}), sd) != NtStatus::SUCCESS);
  // ACL: revision 1 or 5, AclSize below its header, past the end, AceCount too large.
  CHECK(decode(mutated(20, {1}), sd) != NtStatus::SUCCESS);
  CHECK(decode(mutated(20, {5}), sd) != NtStatus::SUCCESS);
  CHECK(decode(mutated(22, {4, 0}), sd) != NtStatus::SUCCESS);
  CHECK(decode(mutated(22, {0x50, 0}), sd) != NtStatus::SUCCESS);
  CHECK(decode(mutated(24, {3, 0}), sd) != NtStatus::SUCCESS);
  CHECK(decode(mutated(24, {0xff, 0xff}), sd) != NtStatus::SUCCESS);
  // ACL revisions 3 (what smbcacls sends) and 4 (ACL_REVISION_DS) are fine.
  CHECK(decode(mutated(20, {3}), sd) == NtStatus::SUCCESS);
  CHECK(decode(mutated(20, {4}), sd) == NtStatus::SUCCESS);
  // ACE: size not a multiple of 4, below 8, past its ACL.
  CHECK(decode(mutated(28 + 2, {0x13, 0}), sd) != NtStatus::SUCCESS);
  CHECK(decode(mutated(28 + 2, {0x04, 0}), sd) != NtStatus::SUCCESS);
  CHECK(decode(mutated(28 + 2, {0x2c, 0}), sd) != NtStatus::SUCCESS);
  // ACE: its SID runs past the ACE (count 2 in a 20-byte ACE).
  CHECK(decode(mutated(28 + 9, {2}), sd) != NtStatus::SUCCESS);
  // AceCount 1 of 2 is fine: the second ACE is slack inside AclSize.
  CHECK(decode(mutated(24, {1, 0}), sd) == NtStatus::SUCCESS);
  CHECK(sd.dacl->aces.size() == 1);
}

}  // namespace
}  // namespace smb::dtyp
