#include <doctest/doctest.h>

#include "smbd/proto/change_notify.hh"
#include "smbd/proto/error.hh"
#include "smbd/proto/ioctl.hh"
#include "smbd/proto/lock.hh"
#include "smbd/proto/oplock_break.hh"
#include "smbd/proto/query_directory.hh"
#include "smbd/proto/query_info.hh"
#include "smbd/proto/read.hh"
#include "smbd/proto/set_info.hh"
#include "smbd/proto/write.hh"
#include "test_util.hh"

namespace smb {
namespace {

TEST_CASE("read: request round trip with RDMA descriptors") {
  ReadRequest q;
  q.flags = kReadFlagReadUnbuffered;
  q.length = 1 << 20;
  q.offset = 0x123456789ull;
  q.file_id = FileId{3, 4};
  q.minimum_count = 1;
  q.channel = Channel::RDMA_V1_INVALIDATE;
  q.descriptors = {{0x7F0000001000ull, 0xAABBCCDD, 1 << 19}, {0x7F0000081000ull, 0x11, 1 << 19}};
  Bytes m = test::message(q);
  CHECK(load_le16(&m[kSmb2HeaderSize + 44]) == 0x70);  // ReadChannelInfoOffset
  CHECK(load_le16(&m[kSmb2HeaderSize + 46]) == 32);
  CHECK(test::round_trip(q) == q);
  test::check_malformed(q, 48);
  // A descriptor list that is not a whole number of descriptors.
  Bytes bad = m;
  store_le16(&bad[kSmb2HeaderSize + 46], 20);
  ReadRequest out;
  CHECK(decode(ByteSpan(bad), out) == NtStatus::INVALID_PARAMETER);

  ReadRequest plain;
  plain.length = 4096;
  CHECK(test::message(plain).size() == kSmb2HeaderSize + 49);
  CHECK(test::round_trip(plain) == plain);
  test::check_malformed(plain, 48);
}

TEST_CASE("read: response fixed part and payload view") {
  ReadResponse p;
  p.data_length = 5;
  p.data_remaining = 0;
  Bytes m = test::message(p);
  CHECK(m.size() == kSmb2HeaderSize + 16);
  CHECK(m[kSmb2HeaderSize + 2] == 0x50);
  // Without the payload the data lies outside: refused.
  ReadResponse out;
  CHECK(decode(ByteSpan(m), out) == NtStatus::INVALID_PARAMETER);
  Bytes payload{'h', 'e', 'l', 'l', 'o'};
  m.insert(m.end(), payload.begin(), payload.end());
  REQUIRE(decode(ByteSpan(m), out) == NtStatus::SUCCESS);
  CHECK(out.data_length == 5);
  CHECK(out.data.data() == m.data() + 0x50);  // a view, not a copy
  CHECK(Bytes(out.data.begin(), out.data.end()) == payload);
  for (std::size_t n = 0; n < m.size(); ++n) {
    Bytes prefix(m.begin(), m.begin() + static_cast<std::ptrdiff_t>(n));
    CHECK(decode(ByteSpan(prefix), out) != NtStatus::SUCCESS);
  }
  test::check_structure_size<ReadResponse>(m);
  test::mutate<ReadResponse>(m, 4);
  Bytes bad = m;
  bad[kSmb2HeaderSize + 2] = 0x20;  // DataOffset inside the header
  CHECK(decode(ByteSpan(bad), out) == NtStatus::INVALID_PARAMETER);

  ReadResponse empty;
  Bytes e = test::message(empty);
  CHECK(e.size() == kSmb2HeaderSize + 17);
  REQUIRE(decode(ByteSpan(e), out) == NtStatus::SUCCESS);
  CHECK(out.data.empty());
}

TEST_CASE("read: response with body padding before the data") {
  ReadResponse p;
  p.data_length = 5;
  p.body_padding = 8;
  Bytes m = test::message(p);
  CHECK(m.size() == kSmb2HeaderSize + 24);
  CHECK(m[kSmb2HeaderSize + 2] == 0x58);  // DataOffset past the padding
  for (std::size_t i = 16; i < 24; ++i) CHECK(m[kSmb2HeaderSize + i] == 0);
  Bytes payload{'h', 'e', 'l', 'l', 'o'};
  m.insert(m.end(), payload.begin(), payload.end());
  ReadResponse out;
  REQUIRE(decode(ByteSpan(m), out) == NtStatus::SUCCESS);
  CHECK(Bytes(out.data.begin(), out.data.end()) == payload);
  // DataOffset is one byte: padding beyond what it can say is cut.
  p.body_padding = 0xFF;
  CHECK(test::message(p)[kSmb2HeaderSize + 2] == 0xFF);
}

TEST_CASE("write: request fixed part, payload view, channel info") {
  WriteRequest q;
  q.data_length = 3;
  q.offset = 77;
  q.file_id = FileId{9, 10};
  q.flags = kWriteFlagWriteThrough;
  Bytes m = test::message(q);
  CHECK(m.size() == kSmb2HeaderSize + 48);
  CHECK(load_le16(&m[kSmb2HeaderSize + 2]) == 0x70);
  m.push_back(1);
  m.push_back(2);
  m.push_back(3);
  WriteRequest out;
  REQUIRE(decode(ByteSpan(m), out) == NtStatus::SUCCESS);
  CHECK(out.offset == 77);
  CHECK(out.file_id == q.file_id);
  CHECK(out.flags == kWriteFlagWriteThrough);
  CHECK(out.data.data() == m.data() + 0x70);
  CHECK(out.data.size() == 3);
  for (std::size_t n = 0; n < m.size(); ++n) {
    Bytes prefix(m.begin(), m.begin() + static_cast<std::ptrdiff_t>(n));
    CHECK(decode(ByteSpan(prefix), out) != NtStatus::SUCCESS);
  }
  test::check_structure_size<WriteRequest>(m);
  test::mutate<WriteRequest>(m, 5);
  Bytes bad = m;
  store_le32(&bad[kSmb2HeaderSize + 4], 0xFFFFFFFF);  // Length
  CHECK(decode(ByteSpan(bad), out) == NtStatus::INVALID_PARAMETER);

  // RDMA: the descriptors follow the fixed part and no data is inline.
  WriteRequest rdma;
  rdma.channel = Channel::RDMA_V1;
  rdma.remaining_bytes = 1 << 20;
  rdma.descriptors = {{0x1000, 0x42, 1 << 20}};
  Bytes r = test::message(rdma);
  CHECK(load_le16(&r[kSmb2HeaderSize + 40]) == 0x70);
  REQUIRE(decode(ByteSpan(r), out) == NtStatus::SUCCESS);
  CHECK(out.descriptors == rdma.descriptors);
  CHECK(out.remaining_bytes == rdma.remaining_bytes);
  test::mutate<WriteRequest>(r, 6);

  WriteResponse p{4096, 0};
  CHECK(test::round_trip(p) == p);
  test::check_malformed(p, 16);
}

TEST_CASE("buffer descriptors") {
  std::vector<BufferDescriptorV1> list{{1, 2, 3}, {4, 5, 6}};
  Bytes b = encode_buffer_descriptors(list);
  CHECK(b.size() == 32);
  std::vector<BufferDescriptorV1> out;
  REQUIRE(decode_buffer_descriptors(b, out) == NtStatus::SUCCESS);
  CHECK(out == list);
  b.pop_back();
  CHECK(decode_buffer_descriptors(b, out) == NtStatus::INVALID_PARAMETER);
}

TEST_CASE("lock: round trip and malformed counts") {
  LockRequest q;
  q.lock_sequence_number = 5;
  q.lock_sequence_index = 12;
  q.file_id = FileId{1, 1};
  q.locks = {{0, 100, kLockFlagExclusiveLock | kLockFlagFailImmediately},
             {200, 10, kLockFlagSharedLock},
             {0, 100, kLockFlagUnlock}};
  Bytes m = test::message(q);
  CHECK(m.size() == kSmb2HeaderSize + 24 + 3 * 24);
  CHECK(load_le32(&m[kSmb2HeaderSize + 4]) == (12u << 4 | 5u));
  CHECK(test::round_trip(q) == q);
  test::check_malformed(q, 24 + 3 * 24);
  LockRequest out;
  Bytes bad = m;
  store_le16(&bad[kSmb2HeaderSize + 2], 0);  // MS-SMB2 3.3.5.14: LockCount 0
  CHECK(decode(ByteSpan(bad), out) == NtStatus::INVALID_PARAMETER);
  bad = m;
  store_le16(&bad[kSmb2HeaderSize + 2], 4);
  CHECK(decode(ByteSpan(bad), out) == NtStatus::INVALID_PARAMETER);
  bad = m;
  store_le16(&bad[kSmb2HeaderSize + 2], 0xFFFF);
  CHECK(decode(ByteSpan(bad), out) == NtStatus::INVALID_PARAMETER);
  CHECK(test::round_trip(LockResponse{}) == LockResponse{});
  test::check_malformed(LockResponse{}, 4);
}

TEST_CASE("ioctl: request and response round trips") {
  IoctlRequest q;
  q.ctl_code = FSCTL_PIPE_TRANSCEIVE;
  q.file_id = FileId{5, 6};
  q.input = Bytes(37, 0x5C);
  q.max_output_response = 4280;
  CHECK(test::round_trip(q) == q);
  Bytes m = test::message(q);
  CHECK(load_le32(&m[kSmb2HeaderSize + 24]) == 0x78);  // InputOffset
  test::check_malformed(q, 56);
  IoctlRequest both = q;
  both.output = Bytes{1, 2, 3};
  CHECK(test::round_trip(both) == both);
  test::check_malformed(both, 56);
  IoctlRequest none;
  none.ctl_code = FSCTL_QUERY_NETWORK_INTERFACE_INFO;
  none.file_id = kRelatedFileId;
  CHECK(test::round_trip(none) == none);

  IoctlResponse p;
  p.ctl_code = FSCTL_VALIDATE_NEGOTIATE_INFO;
  p.file_id = kRelatedFileId;
  p.output = encode_fsctl(ValidateNegotiateInfoResponse{0x7F, Guid{1}, 1, 0x0302});
  Bytes pm = test::message(p);
  CHECK(load_le32(&pm[kSmb2HeaderSize + 32]) == 0x70);  // OutputOffset
  CHECK(test::round_trip(p) == p);
  test::check_malformed(p, 48);
  IoctlResponse with_input = p;
  with_input.input = Bytes(5, 1);
  CHECK(test::round_trip(with_input) == with_input);
  test::check_malformed(with_input, 48);

  // Body padding: the output starts 8 bytes later, and a client that follows the
  // offsets reads the same answer.
  IoctlResponse padded;
  padded.ctl_code = 0x83848013;
  padded.file_id = kRelatedFileId;
  padded.output = Bytes{8};
  padded.body_padding = 8;
  Bytes padded_m = test::message(padded);
  CHECK(load_le32(&padded_m[kSmb2HeaderSize + 24]) == 0x78);  // InputOffset
  CHECK(load_le32(&padded_m[kSmb2HeaderSize + 32]) == 0x78);  // OutputOffset
  CHECK(padded_m.size() == kSmb2HeaderSize + 48 + 8 + 1);
  IoctlResponse padded_out = test::round_trip(padded);
  CHECK(padded_out.output == padded.output);

  IoctlRequest out;
  Bytes bad = m;
  store_le32(&bad[kSmb2HeaderSize + 28], 38);  // InputCount one too many
  CHECK(decode(ByteSpan(bad), out) == NtStatus::INVALID_PARAMETER);
  bad = m;
  store_le32(&bad[kSmb2HeaderSize + 24], 0xFFFFFFFF);
  CHECK(decode(ByteSpan(bad), out) == NtStatus::INVALID_PARAMETER);
}

TEST_CASE("ioctl: FSCTL payloads") {
  ValidateNegotiateInfoRequest v{0x44, Guid{2, 3}, 1, {0x0202, 0x0210, 0x0300, 0x0302}};
  Bytes b = encode_fsctl(v);
  CHECK(b.size() == 24 + 8);
  ValidateNegotiateInfoRequest vo;
  REQUIRE(decode_fsctl(b, vo) == NtStatus::SUCCESS);
  CHECK(vo == v);
  for (std::size_t n = 0; n < b.size(); ++n)
    CHECK(decode_fsctl(ByteSpan(b.data(), n), vo) == NtStatus::INVALID_PARAMETER);
  store_le16(&b[22], 0xFFFF);
  CHECK(decode_fsctl(b, vo) == NtStatus::INVALID_PARAMETER);

  ValidateNegotiateInfoResponse vr{0x44, Guid{9}, 3, 0x0302};
  Bytes rb = encode_fsctl(vr);
  CHECK(rb.size() == 24);
  ValidateNegotiateInfoResponse vro;
  REQUIRE(decode_fsctl(rb, vro) == NtStatus::SUCCESS);
  CHECK(vro == vr);
  CHECK(decode_fsctl(ByteSpan(rb.data(), 23), vro) == NtStatus::INVALID_PARAMETER);

  NetworkInterfaceInfo v4;
  v4.if_index = 2;
  v4.capability = kRssCapable | kRdmaCapable;
  v4.link_speed = 100'000'000'000ull;
  v4.address = {192, 168, 1, 10};
  NetworkInterfaceInfo v6;
  v6.if_index = 3;
  v6.family = kInterNetworkV6;
  v6.address = {0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
  v6.scope_id = 3;
  std::vector<NetworkInterfaceInfo> list{v4, v6};
  Bytes nb = encode_network_interfaces(list);
  CHECK(nb.size() == 2 * kNetworkInterfaceInfoSize);
  CHECK(load_le32(&nb[0]) == kNetworkInterfaceInfoSize);
  CHECK(load_le32(&nb[kNetworkInterfaceInfoSize]) == 0);
  CHECK(load_le16(&nb[24]) == kInterNetwork);
  CHECK(nb[28] == 192);
  std::vector<NetworkInterfaceInfo> lo;
  REQUIRE(decode_network_interfaces(nb, lo) == NtStatus::SUCCESS);
  CHECK(lo == list);
  for (std::size_t n = 0; n < nb.size(); ++n)
    CHECK(decode_network_interfaces(ByteSpan(nb.data(), n), lo) == NtStatus::INVALID_PARAMETER);
  Bytes bad = nb;
  store_le32(&bad[0], 8);  // Next shorter than an entry
  CHECK(decode_network_interfaces(bad, lo) == NtStatus::INVALID_PARAMETER);
  bad = nb;
  store_le32(&bad[0], 0xFFFFFFF8);
  CHECK(decode_network_interfaces(bad, lo) == NtStatus::INVALID_PARAMETER);
  bad = nb;
  store_le16(&bad[24], 0x1E);  // unknown family
  CHECK(decode_network_interfaces(bad, lo) == NtStatus::INVALID_PARAMETER);

  ResumeKeyResponse key;
  key.resume_key[0] = 0xEE;
  ResumeKeyResponse ko;
  Bytes kb = encode_fsctl(key);
  CHECK(kb.size() == 32);
  REQUIRE(decode_fsctl(kb, ko) == NtStatus::SUCCESS);
  CHECK(ko == key);
  CHECK(decode_fsctl(ByteSpan(kb.data(), 27), ko) == NtStatus::INVALID_PARAMETER);

  CopyChunkCopy copy;
  copy.source_key = key.resume_key;
  copy.chunks = {{0, 4096, 1 << 20}, {1 << 20, 0, 100}};
  Bytes cb = encode_fsctl(copy);
  CopyChunkCopy co;
  REQUIRE(decode_fsctl(cb, co) == NtStatus::SUCCESS);
  CHECK(co == copy);
  store_le32(&cb[24], 0x10000000);  // huge ChunkCount
  CHECK(decode_fsctl(cb, co) == NtStatus::INVALID_PARAMETER);
  CopyChunkResponse cr{2, 0, 1048676};
  CopyChunkResponse cro;
  REQUIRE(decode_fsctl(encode_fsctl(cr), cro) == NtStatus::SUCCESS);
  CHECK(cro == cr);
}

TEST_CASE("query_directory, change_notify, query_info, set_info") {
  QueryDirectoryRequest qd;
  qd.file_information_class = 37;
  qd.flags = kRestartScans | kReturnSingleEntry;
  qd.file_id = FileId{1, 2};
  qd.file_name = "*.txt";
  qd.output_buffer_length = 65536;
  Bytes m = test::message(qd);
  CHECK(load_le16(&m[kSmb2HeaderSize + 24]) == 0x60);
  CHECK(test::round_trip(qd) == qd);
  test::check_malformed(qd, 32);
  QueryDirectoryResponse qdr{Bytes(500, 0x33)};
  CHECK(test::round_trip(qdr) == qdr);
  CHECK(load_le16(&test::message(qdr)[kSmb2HeaderSize + 2]) == 0x48);
  test::check_malformed(qdr, 8);

  ChangeNotifyRequest cn{kWatchTree, 4096, FileId{3, 3},
                         kFileNotifyChangeFileName | kFileNotifyChangeDirName};
  CHECK(test::round_trip(cn) == cn);
  test::check_malformed(cn, 32);
  ChangeNotifyResponse cnr{Bytes{1, 2, 3, 4}};
  CHECK(test::round_trip(cnr) == cnr);
  test::check_malformed(cnr, 8);
  CHECK(test::round_trip(ChangeNotifyResponse{}) == ChangeNotifyResponse{});

  QueryInfoRequest qi;
  qi.info_type = InfoType::SMB2_0_INFO_SECURITY;
  qi.output_buffer_length = 4096;
  qi.additional_information = kOwnerSecurityInformation | kDaclSecurityInformation;
  qi.file_id = FileId{4, 4};
  CHECK(test::round_trip(qi) == qi);
  test::check_malformed(qi, 40);
  qi.info_type = InfoType::SMB2_0_INFO_QUOTA;
  qi.input = Bytes(24, 0);
  CHECK(test::round_trip(qi) == qi);
  test::check_malformed(qi, 40);
  QueryInfoResponse qir{Bytes(40, 0x44)};
  CHECK(test::round_trip(qir) == qir);
  test::check_malformed(qir, 8);

  SetInfoRequest si;
  si.info_type = InfoType::SMB2_0_INFO_FILE;
  si.file_info_class = 13;
  si.buffer = Bytes{1};
  si.file_id = FileId{5, 5};
  Bytes sm = test::message(si);
  CHECK(load_le16(&sm[kSmb2HeaderSize + 8]) == 0x60);
  CHECK(test::round_trip(si) == si);
  test::check_malformed(si, 32);
  CHECK(test::message(SetInfoResponse{}).size() == kSmb2HeaderSize + 2);
  CHECK(test::round_trip(SetInfoResponse{}) == SetInfoResponse{});
  test::check_malformed(SetInfoResponse{}, 2);
}

TEST_CASE("oplock and lease breaks") {
  OplockBreak ob{OplockLevel::II, FileId{8, 9}};
  Bytes m = test::message(ob);
  CHECK(oplock_break_kind(m) == OplockBreakKind::OPLOCK);
  CHECK(test::round_trip(ob) == ob);
  test::check_malformed(ob, 24);

  LeaseBreakNotification n;
  n.new_epoch = 2;
  n.flags = kNotifyBreakLeaseFlagAckRequired;
  n.lease_key = Guid{1, 1, 1};
  n.current_lease_state = kLeaseReadCaching | kLeaseWriteCaching;
  n.new_lease_state = kLeaseReadCaching;
  CHECK(oplock_break_kind(test::message(n)) == OplockBreakKind::LEASE_NOTIFICATION);
  CHECK(test::round_trip(n) == n);
  test::check_malformed(n, 44);

  LeaseBreakAck a{0, Guid{1, 1, 1}, kLeaseReadCaching, 0};
  CHECK(oplock_break_kind(test::message(a)) == OplockBreakKind::LEASE_ACK);
  CHECK(test::round_trip(a) == a);
  test::check_malformed(a, 36);
  CHECK(oplock_break_kind(ByteSpan(m.data(), 65)) == OplockBreakKind::UNKNOWN);
}

TEST_CASE("error response") {
  ErrorResponse empty;
  Bytes m = test::message(empty);
  // MS-SMB2 2.2.2: ByteCount 0 and still one byte of ErrorData.
  CHECK(m.size() == kSmb2HeaderSize + 9);
  CHECK(load_le32(&m[kSmb2HeaderSize + 4]) == 0);
  CHECK(test::round_trip(empty) == empty);
  test::check_malformed(empty, 8);

  ErrorResponse too_small;
  too_small.error_data = Bytes{0x00, 0x10, 0x00, 0x00};
  CHECK(test::round_trip(too_small) == too_small);
  test::check_malformed(too_small, 8);

  ErrorResponse contexts;
  contexts.contexts = {{kErrorIdDefault, Bytes{1, 2, 3}}, {kErrorIdShareRedirect, Bytes(30, 7)}};
  Bytes cm = test::message(contexts);
  CHECK(cm[kSmb2HeaderSize + 2] == 2);
  CHECK(test::round_trip(contexts) == contexts);
  test::check_malformed(contexts, 8);
  ErrorResponse out;
  Bytes bad = cm;
  bad[kSmb2HeaderSize + 2] = 3;  // one context more than there is
  CHECK(decode(ByteSpan(bad), out) == NtStatus::INVALID_PARAMETER);
  bad = cm;
  store_le32(&bad[kSmb2HeaderSize + 8], 0xFFFFFFF0);  // first ErrorDataLength
  CHECK(decode(ByteSpan(bad), out) == NtStatus::INVALID_PARAMETER);
  bad = cm;
  store_le32(&bad[kSmb2HeaderSize + 4], 0xFFFFFFFF);  // ByteCount
  CHECK(decode(ByteSpan(bad), out) == NtStatus::INVALID_PARAMETER);
}

}  // namespace
}  // namespace smb
