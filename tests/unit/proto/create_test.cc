#include <doctest/doctest.h>

#include "smbd/proto/close.hh"
#include "smbd/proto/create.hh"
#include "smbd/proto/flush.hh"
#include "test_util.hh"

namespace smb {
namespace {

using test::hex;

// A CREATE request laid out per MS-SMB2 2.2.13 with the name "a\b.txt" and two create
// contexts, DHnQ (2.2.13.2.3) and MxAc (2.2.13.2.5), as a Windows client chains them.
Bytes hand_create() {
  std::string text =
      "fe534d42 4000 0100 00000000 0500 0100 00000000 00000000 0600000000000000"
      "feff0000 01000000 1100000000220000 00000000000000000000000000000000";
  text +=
      "3900 00 09 02000000 0000000000000000 0000000000000000"
      "89001200 80000000 07000000 01000000 40000000"
      "7800 0e00 88000000 3c000000"
      "61005c0062002e00740078007400 0000"  // "a\b.txt" + 2 bytes to 8-align
      // DHnQ: Next 0x28, NameOffset 16, NameLength 4, DataOffset 24, DataLength 16
      "28000000 1000 0400 0000 1800 10000000 44486e51 00000000"
      "00000000000000000000000000000000"
      // MxAc: last, no data
      "00000000 1000 0400 0000 0000 00000000 4d784163";
  return hex(text);
}

TEST_CASE("create: request from hand-written bytes") {
  Bytes m = hand_create();
  CreateRequest q;
  REQUIRE(decode(ByteSpan(m), q) == NtStatus::SUCCESS);
  CHECK(q.requested_oplock_level == OplockLevel::BATCH);
  CHECK(q.impersonation_level == ImpersonationLevel::Impersonation);
  CHECK(q.desired_access == 0x00120089);
  CHECK(q.file_attributes == 0x80);
  CHECK(q.share_access == (kFileShareRead | kFileShareWrite | kFileShareDelete));
  CHECK(q.create_disposition == CreateDisposition::FILE_OPEN);
  CHECK(q.create_options == kFileNonDirectoryFile);
  CHECK(q.name == "a\\b.txt");
  REQUIRE(q.contexts.size() == 2);
  CHECK(q.contexts[0].name == kCreateDurableHandleRequest);
  DurableHandleRequest dh;
  CHECK(decode_context(q.contexts[0].data, dh) == NtStatus::SUCCESS);
  const CreateContext* mx = find_context(q.contexts, kCreateQueryMaximalAccess);
  REQUIRE(mx != nullptr);
  QueryMaximalAccessRequest mxq;
  REQUIRE(decode_context(mx->data, mxq) == NtStatus::SUCCESS);
  CHECK_FALSE(mxq.timestamp.has_value());
  CHECK(find_context(q.contexts, kCreateRequestLease) == nullptr);

  Header h;
  REQUIRE(decode(ByteSpan(m), h) == NtStatus::SUCCESS);
  CHECK(encode_message(h, q) == m);
}

TEST_CASE("create: malformed context chains") {
  Bytes m = hand_create();
  constexpr std::size_t ctx = 0x88;  // first context
  auto decode_patched = [&](std::size_t at, std::uint32_t value, int width) {
    Bytes copy = m;
    if (width == 2)
      store_le16(&copy[at], static_cast<std::uint16_t>(value));
    else
      store_le32(&copy[at], value);
    CreateRequest out;
    return decode(ByteSpan(copy), out);
  };
  CHECK(decode_patched(ctx, 0x2C, 4) == NtStatus::INVALID_PARAMETER);  // Next misaligned
  CHECK(decode_patched(ctx, 0x08, 4) == NtStatus::INVALID_PARAMETER);  // Next too short
  CHECK(decode_patched(ctx, 0x38, 4) == NtStatus::INVALID_PARAMETER);  // Next == end
  CHECK(decode_patched(ctx, 0xFFFFFFF8, 4) == NtStatus::INVALID_PARAMETER);
  CHECK(decode_patched(ctx + 4, 0x26, 2) == NtStatus::INVALID_PARAMETER);      // name beyond Next
  CHECK(decode_patched(ctx + 4, 2, 2) == NtStatus::INVALID_PARAMETER);         // name in header
  CHECK(decode_patched(ctx + 6, 0, 2) == NtStatus::INVALID_PARAMETER);         // empty name
  CHECK(decode_patched(ctx + 12, 0x11, 4) == NtStatus::INVALID_PARAMETER);     // data past Next
  CHECK(decode_patched(ctx + 10, 0x12, 2) == NtStatus::INVALID_PARAMETER);     // data over name
  CHECK(decode_patched(ctx + 0x28 + 6, 5, 2) == NtStatus::INVALID_PARAMETER);  // last name
  CHECK(decode_patched(kSmb2HeaderSize + 52, 0x39, 4) == NtStatus::INVALID_PARAMETER);
  CHECK(decode_patched(kSmb2HeaderSize + 52, 0x40, 4) == NtStatus::INVALID_PARAMETER);
  CHECK(decode_patched(kSmb2HeaderSize + 48, 0xFFFF, 2) == NtStatus::INVALID_PARAMETER);
  CHECK(decode_patched(kSmb2HeaderSize + 46, 0x0F, 2) == NtStatus::OBJECT_NAME_INVALID);
  CreateRequest q;
  REQUIRE(decode(ByteSpan(m), q) == NtStatus::SUCCESS);
  test::check_truncations(m, q, m.size());
  test::check_structure_size<CreateRequest>(m);
  test::mutate<CreateRequest>(m, 3, 5000);
}

CreateRequest sample_request() {
  CreateRequest q;
  q.requested_oplock_level = OplockLevel::LEASE;
  q.desired_access = 0x0012019F;
  q.share_access = kFileShareRead;
  q.create_disposition = CreateDisposition::FILE_OVERWRITE_IF;
  q.create_options = kFileNonDirectoryFile | kFileWriteThrough;
  q.name = "dir\\file name.bin";
  LeaseContext lease;
  lease.v2 = true;
  lease.lease_key = Guid{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
  lease.lease_state = kLeaseReadCaching | kLeaseHandleCaching | kLeaseWriteCaching;
  lease.lease_flags = kLeaseFlagParentLeaseKeySet;
  lease.parent_lease_key = Guid{16, 15};
  lease.epoch = 3;
  q.contexts.push_back(to_context(lease));
  q.contexts.push_back(to_context(DurableHandleRequestV2{60000, kDhFlagPersistent, Guid{7}}));
  q.contexts.push_back(to_context(QueryMaximalAccessRequest{0x01D0000000000001ull}));
  q.contexts.push_back(to_context(TimewarpToken{0x01D5000000000000ull}));
  q.contexts.push_back(to_context(AllocationSize{1 << 20}));
  q.contexts.push_back(CreateContext{"ExtA", Bytes{0, 0, 0, 0, 0, 1, 2, 0, 'a', 0, 'b', 'c', 0}});
  return q;
}

TEST_CASE("create: request round trip with every typed context") {
  CreateRequest q = sample_request();
  Bytes m = test::message(q);
  CHECK(load_le16(&m[kSmb2HeaderSize + 44]) == 0x78);   // NameOffset
  CHECK(load_le32(&m[kSmb2HeaderSize + 48]) % 8 == 0);  // CreateContextsOffset
  CreateRequest out = test::round_trip(q);
  CHECK(out == q);
  LeaseContext lease;
  REQUIRE(decode_context(find_context(out.contexts, kCreateRequestLease)->data, lease) ==
          NtStatus::SUCCESS);
  CHECK(lease.v2);
  CHECK(lease.epoch == 3);
  DurableHandleRequestV2 dh2;
  REQUIRE(decode_context(find_context(out.contexts, kCreateDurableHandleRequestV2)->data, dh2) ==
          NtStatus::SUCCESS);
  CHECK(dh2.timeout == 60000);
  CHECK(dh2.create_guid[0] == 7);
  test::check_malformed(q, 56);

  CreateRequest bare;
  CHECK(test::round_trip(bare) == bare);
  test::check_malformed(bare, 56);
}

TEST_CASE("create: response round trip with contexts") {
  CreateResponse p;
  p.oplock_level = OplockLevel::LEASE;
  p.create_action = CreateAction::FILE_CREATED;
  p.creation_time = 1;
  p.last_access_time = 2;
  p.last_write_time = 3;
  p.change_time = 4;
  p.allocation_size = 4096;
  p.end_of_file = 10;
  p.file_attributes = 0x20;
  p.file_id = FileId{0x1111, 0x2222};
  p.contexts.push_back(to_context(QueryMaximalAccessResponse{NtStatus::SUCCESS, 0x001F01FF}));
  p.contexts.push_back(to_context(QueryOnDiskIdResponse{0xABCDEF, 0x77}));
  LeaseContext lease;
  lease.lease_key = Guid{9};
  lease.lease_state = kLeaseReadCaching;
  p.contexts.push_back(to_context(lease));
  p.contexts.push_back(to_context(DurableHandleResponseV2{30000, 0}));
  p.contexts.push_back(to_context(DurableHandleResponse{}));
  Bytes m = test::message(p);
  CHECK(load_le32(&m[kSmb2HeaderSize + 80]) == 0x98);  // contexts right after the fixed part
  CHECK(test::round_trip(p) == p);
  test::check_malformed(p, 88);
  CreateResponse bare;
  CHECK(test::round_trip(bare) == bare);
  test::check_malformed(bare, 88);

  QueryOnDiskIdResponse qfid;
  REQUIRE(decode_context(find_context(p.contexts, kCreateQueryOnDiskId)->data, qfid) ==
          NtStatus::SUCCESS);
  CHECK(qfid.disk_file_id == 0xABCDEF);
  CHECK(find_context(p.contexts, kCreateQueryOnDiskId)->data.size() == 32);
}

TEST_CASE("create: typed contexts refuse wrong lengths") {
  auto check = [](const auto& value) {
    using T = std::decay_t<decltype(value)>;
    CreateContext c = to_context(value);
    T out;
    REQUIRE(decode_context(c.data, out) == NtStatus::SUCCESS);
    CHECK(out == value);
    Bytes longer = c.data;
    longer.push_back(0);
    CHECK(decode_context(longer, out) == NtStatus::INVALID_PARAMETER);
    if (!c.data.empty()) {
      Bytes shorter(c.data.begin(), c.data.end() - 1);
      CHECK(decode_context(shorter, out) == NtStatus::INVALID_PARAMETER);
    }
  };
  check(DurableHandleRequest{});
  check(DurableHandleResponse{});
  check(DurableHandleReconnect{FileId{5, 6}});
  check(DurableHandleRequestV2{1, 2, Guid{3}});
  check(DurableHandleResponseV2{1, 2});
  check(DurableHandleReconnectV2{FileId{1, 2}, Guid{4}, kDhFlagPersistent});
  check(QueryMaximalAccessRequest{5});
  check(QueryMaximalAccessResponse{NtStatus::ACCESS_DENIED, 0});
  check(QueryOnDiskIdResponse{1, 2});
  check(LeaseContext{false, Guid{1}, 7, 0, 0, {}, 0});
  check(TimewarpToken{9});
  check(AllocationSize{10});
  CHECK(to_context(DurableHandleReconnect{}).name == "DHnC");
  CHECK(to_context(DurableHandleReconnectV2{}).name == "DH2C");
  CHECK(to_context(LeaseContext{}).data.size() == 32);
  LeaseContext v2;
  v2.v2 = true;
  CHECK(to_context(v2).data.size() == 52);
  QueryMaximalAccessRequest empty;
  CHECK(decode_context(ByteSpan(), empty) == NtStatus::SUCCESS);
}

TEST_CASE("close and flush") {
  CloseRequest q{kCloseFlagPostqueryAttrib, FileId{1, 2}};
  CHECK(test::round_trip(q) == q);
  test::check_malformed(q, 24);
  CloseResponse p{kCloseFlagPostqueryAttrib, 1, 2, 3, 4, 4096, 100, 0x20};
  CHECK(test::message(p).size() == kSmb2HeaderSize + 60);
  CHECK(test::round_trip(p) == p);
  test::check_malformed(p, 60);
  FlushRequest f{FileId{7, 8}};
  CHECK(test::round_trip(f) == f);
  test::check_malformed(f, 24);
  CHECK(test::round_trip(FlushResponse{}) == FlushResponse{});
  test::check_malformed(FlushResponse{}, 4);
}

}  // namespace
}  // namespace smb
