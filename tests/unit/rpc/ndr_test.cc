#include <doctest/doctest.h>

#include "smbd/rpc/ndr.hh"
#include "test_util.hh"

using namespace smb;
using namespace smb::rpc;
using smb::rpc::test::from_hex;

TEST_CASE("uuid: text form to NDR wire order and back") {
  auto u = Uuid::parse("4b324fc8-1670-01d3-1278-5a47bf6ee188");
  REQUIRE(u);
  // [C706] Appendix A: time_low, time_mid, time_hi little-endian; the rest as written.
  CHECK(Bytes(u->bytes.begin(), u->bytes.end()) == from_hex("c84f324b7016d30112785a47bf6ee188"));
  CHECK(u->to_string() == "4b324fc8-1670-01d3-1278-5a47bf6ee188");
  CHECK(Uuid::parse("4B324FC8-1670-01D3-1278-5A47BF6EE188") == u);
  CHECK_FALSE(Uuid::parse("4b324fc8-1670-01d3-1278-5a47bf6ee18"));
  CHECK_FALSE(Uuid::parse("4b324fc8-1670-01d3-1278-5a47bf6ee18g"));
  CHECK_FALSE(Uuid::parse("4b324fc8+1670-01d3-1278-5a47bf6ee188"));
  CHECK(Uuid{}.is_nil());
  CHECK(is_bind_time_feature_syntax(
      SyntaxId{*Uuid::parse("6cb71c2c-9812-4540-0300-000000000000"), 1, 0}));
  CHECK_FALSE(is_bind_time_feature_syntax(ndr20_syntax()));
}

TEST_CASE("ndr writer: alignment, referent ids, strings") {
  Bytes out{0xee};  // a prefix: alignment is relative to where the stub starts
  NdrWriter w(out);
  w.u8(1);
  w.u32(0x11223344);
  w.u16(5);
  CHECK(w.unique_pointer(true) == kFirstReferentId);
  CHECK(w.unique_pointer(false) == 0);
  CHECK(w.unique_pointer(true) == kFirstReferentId + 4);
  w.wstring("ab");
  w.u32(7);
  CHECK(out == from_hex("ee"
                        "01000000"
                        "44332211"
                        "0500"
                        "0000"
                        "00000200"
                        "00000000"
                        "04000200"
                        "03000000"
                        "00000000"
                        "03000000"
                        "610062000000"
                        "0000"
                        "07000000"));
}

TEST_CASE("ndr writer: full pointers alias by object") {
  Bytes out;
  NdrWriter w(out);
  int a = 0;
  int b = 0;
  auto p1 = w.full_pointer(&a);
  auto p2 = w.full_pointer(&b);
  auto p3 = w.full_pointer(&a);
  auto p4 = w.full_pointer(nullptr);
  CHECK((p1.first && p2.first && !p3.first && !p4.first));
  CHECK(p1.id == p3.id);
  CHECK(p1.id != p2.id);
  CHECK(p4.id == 0);
  NdrReader r(out);
  auto r1 = r.full_pointer();
  auto r2 = r.full_pointer();
  auto r3 = r.full_pointer();
  auto r4 = r.full_pointer();
  CHECK((r1.first && r2.first && !r3.first && !r4.first));
  CHECK(r1.id == r3.id);
  CHECK(r.ok());
}

TEST_CASE("ndr reader: strings decode and bounds hold") {
  Bytes good;
  {
    NdrWriter w(good);
    w.wstring(
        "donn\xc3\xa9"
        "es");
  }
  std::string s;
  NdrReader r(good);
  CHECK(r.wstring(s));
  CHECK(s ==
        "donn\xc3\xa9"
        "es");
  CHECK(r.remaining() == 0);

  // Every truncation fails without reading outside the buffer.
  for (std::size_t n = 0; n < good.size(); ++n) {
    NdrReader t(ByteSpan(good).first(n));
    std::string v;
    CHECK_FALSE(t.wstring(v));
  }

  auto bad = [](std::string_view hex) {
    Bytes b = from_hex(hex);
    NdrReader t(b);
    std::string v;
    return !t.wstring(v) && !t.ok();
  };
  CHECK(
      bad("01000000"
          "00000000"
          "02000000"
          "61000000"));  // actual > max
  CHECK(
      bad("02000000"
          "ffffffff"
          "02000000"
          "61000000"));  // offset + actual wraps 32 bits
  CHECK(
      bad("02000000"
          "00000000"
          "02000000"
          "61006200"));  // no NUL
  CHECK(
      bad("00000000"
          "00000000"
          "00000000"));  // empty: no NUL either
  CHECK(
      bad("ffffffff"
          "00000000"
          "ffffffff"
          "6100"));  // count beyond the data
  CHECK(
      bad("02000000"
          "00000000"
          "02000000"
          "00d80000"));  // unpaired surrogate
  // Characters after the NUL are not part of the value.
  Bytes tail = from_hex(
      "03000000"
      "00000000"
      "03000000"
      "610000006200");
  NdrReader t(tail);
  CHECK(t.wstring(s));
  CHECK(s == "a");
}

TEST_CASE("ndr reader: conformant array counts are bounded by the data") {
  Bytes b = from_hex(
      "03000000"
      "000000000000000000000000");
  std::uint32_t count = 0;
  NdrReader r(b);
  CHECK(r.array_count(4, count));
  CHECK(count == 3);
  NdrReader r2(b);
  CHECK_FALSE(r2.array_count(8, count));
  Bytes huge = from_hex("ffffffff00000000");
  NdrReader r3(huge);
  CHECK_FALSE(r3.array_count(1, count));
}

TEST_CASE("ndr reader: alignment skips padding and latches on short input") {
  Bytes b = from_hex(
      "01"
      "ababab"
      "05000000"
      "0600");
  NdrReader r(b);
  CHECK(r.u8() == 1);
  CHECK(r.u32() == 5);
  CHECK(r.u16() == 6);
  CHECK(r.ok());
  CHECK(r.u32() == 0);
  CHECK_FALSE(r.ok());
}
