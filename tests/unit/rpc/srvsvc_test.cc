#include <doctest/doctest.h>

#include "smbd/rpc/pdu.hh"
#include "smbd/rpc/srvsvc.hh"
#include "test_util.hh"

using namespace smb;
using namespace smb::rpc;
using smb::rpc::test::from_hex;

namespace {

// NetrShareEnum stub: null ServerName, Level, container with no buffer, preferred
// maximum length, ResumeHandle (null when `resume` is negative).
Bytes share_enum_stub(std::uint32_t level, std::uint32_t pref_max, std::int64_t resume) {
  Bytes b;
  NdrWriter w(b);
  w.unique_pointer(false);
  w.u32(level);
  w.u32(level);
  w.unique_pointer(true);
  w.u32(0);
  w.unique_pointer(false);
  w.u32(pref_max);
  if (w.unique_pointer(resume >= 0) != 0) w.u32(static_cast<std::uint32_t>(resume));
  return b;
}

Bytes get_info_stub(std::string_view name, std::uint32_t level) {
  Bytes b;
  NdrWriter w(b);
  w.unique_pointer(false);
  w.wstring(name);
  w.u32(level);
  return b;
}

Srvsvc one_share() {
  return Srvsvc(smb::rpc::test::server_info(), [] {
    return std::vector<ShareEntry>{{"a", kStypeDisktree, "", "C:\\a", 0, kShiUsesUnlimited, 0}};
  });
}

}  // namespace

TEST_CASE("srvsvc: NetrShareEnum level 1 with one share, exact bytes") {
  Srvsvc s = one_share();
  Bytes out;
  REQUIRE(s.call(15, share_enum_stub(1, 0xffffffff, 0), out) == 0);
  CHECK(out == from_hex("01000000"
                        "01000000"  // Level, tag
                        "00000200"
                        "01000000"
                        "04000200"  // container, EntriesRead, Buffer
                        "01000000"  // conformance
                        "08000200"
                        "00000000"
                        "0c000200"  // netname, type, remark
                        "02000000"
                        "00000000"
                        "02000000"
                        "61000000"
                        "01000000"
                        "00000000"
                        "01000000"
                        "0000"
                        "0000"
                        "01000000"  // TotalEntries
                        "10000200"
                        "00000000"     // ResumeHandle
                        "00000000"));  // ERROR_SUCCESS
}

TEST_CASE("srvsvc: NetrShareEnum with no shares and no resume handle") {
  Srvsvc s(smb::rpc::test::server_info(), [] { return std::vector<ShareEntry>{}; });
  Bytes out;
  REQUIRE(s.call(15, share_enum_stub(0, 0xffffffff, -1), out) == 0);
  CHECK(out == from_hex("00000000"
                        "00000000"
                        "00000200"
                        "00000000"
                        "00000000"
                        "00000000"
                        "00000000"
                        "00000000"));
}

TEST_CASE("srvsvc: preferred maximum length and resume") {
  Srvsvc s(smb::rpc::test::server_info(), [] { return smb::rpc::test::shares(10); });
  std::uint32_t resume = 0;
  std::size_t seen = 0;
  for (int round = 0; round < 20; ++round) {
    Bytes out;
    REQUIRE(s.call(15, share_enum_stub(0, 1, resume), out) == 0);
    NdrReader r(out);
    r.u32();
    r.u32();
    r.unique_pointer();
    std::uint32_t entries = r.u32();
    CHECK(entries == 1);  // at least one entry, even when none fits
    seen += entries;
    CHECK(load_le32(&out[out.size() - 16]) == 14);  // TotalEntries
    resume = load_le32(&out[out.size() - 8]);
    std::uint32_t werr = load_le32(&out[out.size() - 4]);
    if (werr == kWerrOk) break;
    CHECK(werr == kWerrMoreData);
    CHECK(resume == seen);
  }
  CHECK(seen == 14);
  // A resume handle past the end returns nothing.
  Bytes out;
  REQUIRE(s.call(15, share_enum_stub(1, 0xffffffff, 1000), out) == 0);
  CHECK(load_le32(&out[12]) == 0);
}

TEST_CASE("srvsvc: levels and names") {
  Srvsvc s(smb::rpc::test::server_info(), [] { return smb::rpc::test::shares(); });
  Bytes out;
  REQUIRE(s.call(15, share_enum_stub(503, 0xffffffff, 0), out) == 0);
  CHECK(load_le32(&out[8]) == 0);  // no container
  CHECK(load_le32(&out[out.size() - 4]) == kWerrInvalidLevel);

  out.clear();
  REQUIRE(s.call(16, get_info_stub("Backup$", 1005), out) == 0);
  CHECK(out == from_hex("ed030000"
                        "00000200"
                        "00000000"
                        "00000000"));
  out.clear();
  REQUIRE(s.call(16, get_info_stub("nosuch", 1), out) == 0);
  CHECK(out == from_hex("01000000"
                        "00000000"
                        "06090000"));
  out.clear();
  REQUIRE(s.call(16, get_info_stub("public", 3), out) == 0);
  CHECK(out == from_hex("03000000"
                        "00000000"
                        "7c000000"));
  out.clear();
  REQUIRE(s.call(21,
                 from_hex("00000000"
                          "67000000"),
                 out) == 0);
  CHECK(out == from_hex("67000000"
                        "00000000"
                        "7c000000"));
  // NetrServerGetInfo 100 with a ServerName, exact bytes.
  out.clear();
  Bytes stub;
  {
    NdrWriter w(stub);
    w.unique_pointer(true);
    w.wstring("\\\\SMB3D");
    w.u32(100);
  }
  REQUIRE(s.call(21, stub, out) == 0);
  CHECK(out == from_hex("64000000"
                        "00000200"
                        "f4010000"
                        "04000200"
                        "06000000"
                        "00000000"
                        "06000000"
                        "53004d00420033004400"
                        "0000"
                        "00000000"));
}

TEST_CASE("srvsvc: share paths (levels 2 and 502) only for administrators") {
  Srvsvc user(smb::rpc::test::server_info(false), [] { return smb::rpc::test::shares(); });
  for (std::uint32_t level : {2u, 502u}) {
    CAPTURE(level);
    Bytes out;
    REQUIRE(user.call(15, share_enum_stub(level, 0xffffffff, 0), out) == 0);
    CHECK(load_le32(&out[8]) == 0);  // no container
    CHECK(load_le32(&out[out.size() - 4]) == kWerrAccessDenied);
    out.clear();
    REQUIRE(user.call(16, get_info_stub("public", level), out) == 0);
    CHECK(out.size() == 12);  // discriminant, no structure, status
    CHECK(load_le32(&out[4]) == 0);
    CHECK(load_le32(&out[8]) == kWerrAccessDenied);
  }
  // The other levels answer as before, without paths.
  for (std::uint32_t level : {0u, 1u, 501u}) {
    CAPTURE(level);
    Bytes out;
    REQUIRE(user.call(15, share_enum_stub(level, 0xffffffff, 0), out) == 0);
    CHECK(load_le32(&out[out.size() - 4]) == kWerrOk);
    out.clear();
    REQUIRE(user.call(16, get_info_stub("public", level), out) == 0);
    CHECK(load_le32(&out[out.size() - 4]) == kWerrOk);
  }
  Srvsvc admin(smb::rpc::test::server_info(true), [] { return smb::rpc::test::shares(); });
  Bytes out;
  REQUIRE(admin.call(16, get_info_stub("public", 2), out) == 0);
  CHECK(load_le32(&out[out.size() - 4]) == kWerrOk);
}

TEST_CASE("srvsvc: unknown opnums fault with nca_s_op_rng_error") {
  Srvsvc s = one_share();
  for (std::uint16_t op : {0, 14, 17, 20, 22, 36, 57, 1000, 65535}) {
    Bytes out;
    CHECK(s.call(op, {}, out) == kNcaOpRngError);
  }
}

TEST_CASE("srvsvc: malformed stubs fault with bad stub data, at every length") {
  Srvsvc s = one_share();
  std::vector<std::pair<std::uint16_t, Bytes>> stubs = {
      {15, share_enum_stub(1, 0xffffffff, 0)},
      {15, share_enum_stub(2, 0xffffffff, -1)},
      {16, get_info_stub("a", 2)},
      {21, from_hex("00000000"
                    "65000000")},
  };
  for (auto& [op, stub] : stubs) {
    for (std::size_t n = 0; n < stub.size(); ++n) {
      Bytes out;
      CHECK(s.call(op, ByteSpan(stub).first(n), out) == kRpcBadStubData);
    }
  }
  Bytes out;
  // Level and union tag disagree.
  Bytes mismatch = share_enum_stub(1, 0xffffffff, 0);
  store_le32(&mismatch[8], 2);
  CHECK(s.call(15, mismatch, out) == kRpcBadStubData);
  // A client-supplied buffer with a huge count.
  Bytes huge;
  {
    NdrWriter w(huge);
    w.unique_pointer(false);
    w.u32(1);
    w.u32(1);
    w.unique_pointer(true);
    w.u32(0xffffffff);
    w.unique_pointer(true);
    w.u32(0xffffffff);
    w.u32(0xffffffff);
    w.unique_pointer(false);
  }
  CHECK(s.call(15, huge, out) == kRpcBadStubData);
  // A share name whose counts lie.
  Bytes lie = get_info_stub("a", 1);
  store_le32(&lie[4], 0x7fffffff);
  store_le32(&lie[12], 0x7fffffff);
  CHECK(s.call(16, lie, out) == kRpcBadStubData);
}

TEST_CASE("srvsvc: the share list is asked for on every call") {
  int calls = 0;
  Srvsvc s(smb::rpc::test::server_info(), [&calls] {
    ++calls;
    return std::vector<ShareEntry>{{"x", kStypeDisktree, "", "", 0, 0, 0}};
  });
  Bytes out;
  s.call(15, share_enum_stub(0, 0xffffffff, -1), out);
  s.call(16, get_info_stub("x", 0), out);
  CHECK(calls == 2);
}
