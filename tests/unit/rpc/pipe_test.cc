#include <doctest/doctest.h>

#include <string>

#include "golden.hh"
#include "smbd/rpc/pipe.hh"
#include "test_util.hh"

using namespace smb;
using namespace smb::rpc;
using namespace smb::rpc::test;

namespace {

std::string utf16_at(const Bytes& b, std::size_t offset, std::size_t units) {
  std::string s;
  REQUIRE(utf16le_to_utf8(ByteSpan(b).subspan(offset, units * 2), s));
  return s;
}

}  // namespace

TEST_CASE("pipe: open_pipe knows srvsvc only") {
  CHECK(open_pipe("srvsvc", server_info(), [] { return shares(); }));
  CHECK(open_pipe("SRVSVC", server_info(), [] { return shares(); }));
  CHECK(open_pipe("\\PIPE\\srvsvc", server_info(), [] { return shares(); }));
  CHECK(open_pipe("\\srvsvc", server_info(), [] { return shares(); }));
  CHECK_FALSE(open_pipe("samr", server_info(), [] { return shares(); }));
  CHECK_FALSE(open_pipe("", server_info(), [] { return shares(); }));
  CHECK_FALSE(open_pipe("srvsvc\\x", server_info(), [] { return shares(); }));
}

TEST_CASE("pipe: impacket's bind gets a bind_ack") {
  auto pipe = srvsvc_pipe();
  Bytes ack = call(*pipe, from_hex(golden::k_bind_srvsvc));
  REQUIRE(ack.size() == 68);
  CHECK(ack[0] == 5);
  CHECK(ack[2] == 12);  // bind_ack
  CHECK(ack[3] == (kPfcFirstFrag | kPfcLastFrag));
  CHECK(ack[4] == 0x10);
  CHECK(load_le16(&ack[8]) == 68);
  CHECK(load_le16(&ack[10]) == 0);
  CHECK(load_le32(&ack[12]) == 1);
  CHECK(load_le16(&ack[16]) == 4280);
  CHECK(load_le16(&ack[18]) == 4280);
  CHECK(load_le32(&ack[20]) != 0);  // a new association group
  CHECK(load_le16(&ack[24]) == 13);
  CHECK(std::string(ack.begin() + 26, ack.begin() + 39) == std::string("\\PIPE\\srvsvc\0", 13));
  CHECK(ack[40] == 1);              // one result
  CHECK(load_le16(&ack[44]) == 0);  // acceptance
  CHECK(load_le16(&ack[46]) == 0);
  CHECK(Bytes(ack.begin() + 48, ack.end()) == from_hex("045d888aeb1cc9119fe808002b10486002000000"));
}

TEST_CASE("pipe: NetrShareEnum level 1 response, byte by byte") {
  auto pipe = srvsvc_pipe();
  call(*pipe, from_hex(golden::k_bind_srvsvc));
  REQUIRE(pipe->write(from_hex(golden::k_share_enum_1)) == NtStatus::SUCCESS);
  auto messages = drain(*pipe);
  REQUIRE(messages.size() == 1);
  ResponsePdu r;
  REQUIRE(decode(messages[0], r));
  CHECK(r.header.call_id == 2);
  CHECK(r.context_id == 0);
  CHECK(r.alloc_hint == r.stub.size());
  Bytes s(r.stub.begin(), r.stub.end());
  REQUIRE(s.size() == 312);
  CHECK(load_le32(&s[0]) == 1);        // Level
  CHECK(load_le32(&s[4]) == 1);        // union tag
  CHECK(load_le32(&s[8]) == 0x20000);  // container
  CHECK(load_le32(&s[12]) == 4);       // EntriesRead
  CHECK(load_le32(&s[16]) == 0x20004);
  CHECK(load_le32(&s[20]) == 4);  // conformance
  CHECK(load_le32(&s[24]) == 0x20008);
  CHECK(load_le32(&s[28]) == 0x80000003);  // STYPE_IPC | STYPE_SPECIAL
  CHECK(load_le32(&s[32]) == 0x2000c);
  CHECK(load_le32(&s[40]) == 0);  // public: STYPE_DISKTREE
  // Deferred strings in member order, each max_count, offset, actual_count.
  CHECK(load_le32(&s[72]) == 5);
  CHECK(load_le32(&s[76]) == 0);
  CHECK(load_le32(&s[80]) == 5);
  CHECK(utf16_at(s, 84, 4) == "IPC$");
  CHECK(load_le16(&s[92]) == 0);
  CHECK(load_le32(&s[96]) == 12);
  CHECK(utf16_at(s, 108, 11) == "IPC Service");
  CHECK(utf16_at(s, 144, 6) == "public");
  CHECK(utf16_at(s, 172, 12) == "Public files");
  CHECK(utf16_at(s, 212, 7) ==
        "donn\xc3\xa9"
        "es");
  CHECK(utf16_at(s, 240, 5) == "\xc3\x89t\xc3\xa9 \xe2\x98\x80");
  CHECK(utf16_at(s, 264, 7) == "backup$");
  CHECK(load_le32(&s[280]) == 1);  // "" is one NUL
  CHECK(load_le32(&s[296]) == 4);  // TotalEntries
  CHECK(load_le32(&s[300]) != 0);  // ResumeHandle pointer
  CHECK(load_le32(&s[304]) == 0);
  CHECK(load_le32(&s[308]) == 0);  // ERROR_SUCCESS
}

TEST_CASE("pipe: the other impacket requests are answered") {
  for (std::string_view hex : {golden::k_share_enum_2, golden::k_share_get_info_public_502,
                               golden::k_server_get_info_101}) {
    auto pipe = srvsvc_pipe();
    call(*pipe, from_hex(golden::k_bind_srvsvc));
    Bytes msg = call(*pipe, from_hex(hex));
    ResponsePdu r;
    REQUIRE(decode(msg, r));
    REQUIRE(r.stub.size() >= 4);
    CHECK(load_le32(&r.stub[r.stub.size() - 4]) == 0);  // WERROR
  }
  // NetrServerGetInfo 101: tag, pointer, platform, name ptr, 10, 0, type, comment ptr.
  auto pipe = srvsvc_pipe();
  call(*pipe, from_hex(golden::k_bind_srvsvc));
  Bytes msg = call(*pipe, from_hex(golden::k_server_get_info_101));
  ResponsePdu r;
  REQUIRE(decode(msg, r));
  Bytes s(r.stub.begin(), r.stub.end());
  CHECK(load_le32(&s[0]) == 101);
  CHECK(load_le32(&s[8]) == 500);
  CHECK(load_le32(&s[16]) == 10);
  CHECK(load_le32(&s[20]) == 0);
  CHECK(load_le32(&s[24]) == 0x9003);
  CHECK(load_le32(&s[32]) == 6);
  CHECK(utf16_at(s, 44, 5) == "SMB3D");
}

TEST_CASE("pipe: unknown opnum and unknown context fault, association survives") {
  auto pipe = bound_pipe();
  Bytes stub = from_hex("0000000065000000");
  FaultPdu f = fault_of(call(*pipe, request(5, 28, stub)));
  CHECK(f.header.call_id == 5);
  CHECK(f.status == kNcaOpRngError);
  CHECK((f.header.pfc_flags & kPfcDidNotExecute) != 0);
  f = fault_of(call(*pipe, request(6, 21, stub, kPfcFirstFrag | kPfcLastFrag, 9)));
  CHECK(f.status == kNcaUnkIf);
  CHECK(f.context_id == 9);
  ResponsePdu r;
  CHECK(decode(call(*pipe, request(7, 21, stub)), r));
  // Bad stub data: NetrServerGetInfo with the level missing.
  f = fault_of(call(*pipe, request(8, 21, from_hex("00000000"))));
  CHECK(f.status == kRpcBadStubData);
}

TEST_CASE("pipe: a request before bind is a protocol error that breaks the pipe") {
  auto pipe = srvsvc_pipe();
  FaultPdu f = fault_of(call(*pipe, request(4, 21, from_hex("0000000065000000"))));
  CHECK(f.status == kNcaProtoError);
  CHECK(f.header.call_id == 4);
  CHECK(pipe->broken());
  CHECK(pipe->write(from_hex(golden::k_bind_srvsvc)) == NtStatus::PIPE_BROKEN);
  Bytes out;
  CHECK(pipe->read(100, out) == NtStatus::PIPE_BROKEN);
}

TEST_CASE("pipe: bind variants") {
  SUBCASE("Windows-style: NDR20, NDR64, bind time feature negotiation") {
    auto pipe = srvsvc_pipe();
    SyntaxId features{*Uuid::parse("6cb71c2c-9812-4540-0300-000000000000"), 1, 0};
    Bytes ack_pdu = call(*pipe, bind_pdu(1, {srvsvc_ndr20(0),
                                             {1, srvsvc_syntax(), {ndr64_syntax()}},
                                             {2, srvsvc_syntax(), {features}}}));
    BindAckPdu ack;
    REQUIRE(decode(ack_pdu, ack));
    REQUIRE(ack.results.size() == 3);
    CHECK(ack.results[0].result == kResultAcceptance);
    CHECK(ack.results[1].result == kResultProviderRejection);
    CHECK(ack.results[1].reason == kReasonTransferSyntaxesNotSupported);
    CHECK(ack.results[2].result == kResultNegotiateAck);
    CHECK(ack.results[2].reason == 0x02);
    CHECK(ack.results[2].transfer_syntax == SyntaxId{});
    // Context 1 was not accepted.
    FaultPdu f = fault_of(
        call(*pipe, request(2, 21, from_hex("0000000065000000"), kPfcFirstFrag | kPfcLastFrag, 1)));
    CHECK(f.status == kNcaUnkIf);
  }
  SUBCASE("several transfer syntaxes in one context: NDR20 is chosen") {
    auto pipe = srvsvc_pipe();
    BindAckPdu ack;
    REQUIRE(decode(
        call(*pipe, bind_pdu(1, {{0, srvsvc_syntax(), {ndr64_syntax(), ndr20_syntax()}}})), ack));
    CHECK(ack.results[0].result == kResultAcceptance);
    CHECK(ack.results[0].transfer_syntax == ndr20_syntax());
  }
  SUBCASE("unknown interface and version mismatch") {
    auto pipe = srvsvc_pipe();
    SyntaxId v4 = srvsvc_syntax();
    v4.major = 4;
    SyntaxId v31 = srvsvc_syntax();
    v31.minor = 1;
    BindAckPdu ack;
    REQUIRE(decode(call(*pipe, bind_pdu(1, {{0, v4, {ndr20_syntax()}},
                                            {1, v31, {ndr20_syntax()}},
                                            {2, ndr20_syntax(), {ndr20_syntax()}}})),
                   ack));
    for (const ContextResult& r : ack.results) {
      CHECK(r.result == kResultProviderRejection);
      CHECK(r.reason == kReasonAbstractSyntaxNotSupported);
    }
  }
  SUBCASE("small max_recv_frag, bind with auth, second bind: bind_nak") {
    auto pipe = srvsvc_pipe();
    BindNakPdu nak;
    REQUIRE(decode(call(*pipe, bind_pdu(1, {srvsvc_ndr20()}, 100)), nak));
    CHECK(nak.reject_reason == kNakProtocolVersionNotSupported);
    Bytes with_auth = bind_pdu(2, {srvsvc_ndr20()});
    with_auth.insert(with_auth.end(), {0x0a, 0x02, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4});
    store_le16(&with_auth[8], static_cast<std::uint16_t>(with_auth.size()));
    store_le16(&with_auth[10], 4);
    REQUIRE(decode(call(*pipe, with_auth), nak));
    CHECK(nak.reject_reason == kNakAuthenticationTypeNotRecognized);
    BindAckPdu ack;
    REQUIRE(decode(call(*pipe, bind_pdu(3, {srvsvc_ndr20()})), ack));
    REQUIRE(decode(call(*pipe, bind_pdu(4, {srvsvc_ndr20()})), nak));
    CHECK_FALSE(pipe->broken());
  }
  SUBCASE("alter_context adds contexts; before bind it is a protocol error") {
    auto fresh = srvsvc_pipe();
    FaultPdu f =
        fault_of(call(*fresh, bind_pdu(1, {srvsvc_ndr20()}, 4280, PduType::alter_context)));
    CHECK(f.status == kNcaProtoError);
    auto pipe = bound_pipe();
    BindAckPdu ack;
    REQUIRE(decode(call(*pipe, bind_pdu(2, {srvsvc_ndr20(3)}, 4280, PduType::alter_context)), ack));
    CHECK(ack.header.type == PduType::alter_context_resp);
    CHECK(ack.secondary_address.empty());
    CHECK(ack.results[0].result == kResultAcceptance);
    ResponsePdu r;
    CHECK(decode(
        call(*pipe, request(3, 21, from_hex("0000000065000000"), kPfcFirstFrag | kPfcLastFrag, 3)),
        r));
    CHECK(r.context_id == 3);
  }
  SUBCASE("context limit") {
    auto pipe = srvsvc_pipe();
    std::vector<ContextElement> many;
    for (std::uint16_t i = 0; i < 40; ++i) many.push_back(srvsvc_ndr20(i));
    BindAckPdu ack;
    REQUIRE(decode(call(*pipe, bind_pdu(1, many)), ack));
    REQUIRE(ack.results.size() == 40);
    CHECK(ack.results[kMaxContexts - 1].result == kResultAcceptance);
    CHECK(ack.results[kMaxContexts].reason == kReasonLocalLimitExceeded);
  }
}

TEST_CASE("pipe: fragmented request, one octet of stub per fragment") {
  Bytes whole = from_hex(golden::k_share_get_info_public_502);
  RequestPdu q;
  REQUIRE(decode(whole, q));
  auto reference = bound_pipe();
  Bytes expected = call(*reference, whole);

  auto pipe = bound_pipe();
  for (std::size_t i = 0; i < q.stub.size(); ++i) {
    std::uint8_t flags = 0;
    if (i == 0) flags |= kPfcFirstFrag;
    if (i + 1 == q.stub.size()) flags |= kPfcLastFrag;
    Bytes frag = request(2, 16, q.stub.subspan(i, 1), flags);
    REQUIRE(pipe->write(frag) == NtStatus::SUCCESS);
    if (i + 1 < q.stub.size()) CHECK_FALSE(pipe->has_output());
  }
  auto messages = drain(*pipe);
  REQUIRE(messages.size() == 1);
  CHECK(messages[0] == expected);
}

TEST_CASE("pipe: fragment sequence errors") {
  Bytes stub = from_hex("0000000065000000");
  SUBCASE("middle fragment without a first one") {
    auto pipe = bound_pipe();
    FaultPdu f = fault_of(call(*pipe, request(2, 21, stub, 0)));
    CHECK(f.status == kNcaProtoError);
    CHECK(pipe->broken());
  }
  SUBCASE("a new call while another is being reassembled") {
    auto pipe = bound_pipe();
    REQUIRE(pipe->write(request(2, 21, stub, kPfcFirstFrag)) == NtStatus::SUCCESS);
    FaultPdu f = fault_of(call(*pipe, request(3, 21, stub, kPfcFirstFrag | kPfcLastFrag)));
    CHECK(f.status == kNcaProtoError);
  }
  SUBCASE("a fragment of another call id") {
    auto pipe = bound_pipe();
    REQUIRE(pipe->write(request(2, 21, stub, kPfcFirstFrag)) == NtStatus::SUCCESS);
    FaultPdu f = fault_of(call(*pipe, request(3, 21, stub, kPfcLastFrag)));
    CHECK(f.status == kNcaProtoError);
  }
  SUBCASE("orphaned drops the call in progress") {
    auto pipe = bound_pipe();
    REQUIRE(pipe->write(request(2, 21, stub, kPfcFirstFrag)) == NtStatus::SUCCESS);
    Bytes orphaned = from_hex("05001303100000001000000002000000");
    REQUIRE(pipe->write(orphaned) == NtStatus::SUCCESS);
    CHECK_FALSE(pipe->has_output());
    ResponsePdu r;
    CHECK(decode(call(*pipe, request(3, 21, stub)), r));
  }
}

TEST_CASE("pipe: fragment floods are bounded") {
  SUBCASE("large fragments") {
    auto pipe = bound_pipe();
    Bytes chunk(4000, 0x41);
    REQUIRE(pipe->write(request(2, 16, chunk, kPfcFirstFrag)) == NtStatus::SUCCESS);
    std::size_t sent = 4024;
    while (sent <= kMaxCallBytes + 8192) {
      REQUIRE(pipe->write(request(2, 16, chunk, 0)) == NtStatus::SUCCESS);
      sent += 4024;
    }
    auto messages = drain(*pipe);
    REQUIRE(messages.size() == 1);
    CHECK(fault_of(messages[0]).status == kNcaFaultRemoteNoMemory);
    // The rest of that call is dropped silently, then the pipe serves calls again.
    REQUIRE(pipe->write(request(2, 16, chunk, 0)) == NtStatus::SUCCESS);
    REQUIRE(pipe->write(request(2, 16, chunk, kPfcLastFrag)) == NtStatus::SUCCESS);
    CHECK_FALSE(pipe->has_output());
    ResponsePdu r;
    CHECK(decode(call(*pipe, request(3, 21, from_hex("0000000065000000"))), r));
  }
  SUBCASE("empty fragments count their headers") {
    auto pipe = bound_pipe();
    Bytes flood;
    for (std::size_t i = 0; i < kMaxCallBytes / 24 + 2; ++i) {
      Bytes f = request(2, 16, {}, i == 0 ? kPfcFirstFrag : 0);
      flood.insert(flood.end(), f.begin(), f.end());
    }
    REQUIRE(pipe->write(flood) == NtStatus::SUCCESS);
    auto messages = drain(*pipe);
    REQUIRE(messages.size() == 1);
    CHECK(fault_of(messages[0]).status == kNcaFaultRemoteNoMemory);
  }
}

TEST_CASE("pipe: byte stream framing") {
  auto pipe = srvsvc_pipe();
  Bytes bind = from_hex(golden::k_bind_srvsvc);
  Bytes req = from_hex(golden::k_server_get_info_101);
  // Two PDUs in one write, the second split over two more writes.
  Bytes joined = bind;
  joined.insert(joined.end(), req.begin(), req.begin() + 5);
  REQUIRE(pipe->write(joined) == NtStatus::SUCCESS);
  REQUIRE(pipe->write(ByteSpan(req).subspan(5, 10)) == NtStatus::SUCCESS);
  REQUIRE(drain(*pipe).size() == 1);  // the bind_ack
  REQUIRE(pipe->write(ByteSpan(req).subspan(15)) == NtStatus::SUCCESS);
  ResponsePdu r;
  auto messages = drain(*pipe);
  REQUIRE(messages.size() == 1);
  CHECK(decode(messages[0], r));

  SUBCASE("frag_length below the header size") {
    Bytes bad = req;
    store_le16(&bad[8], 8);
    FaultPdu f = fault_of(call(*pipe, bad));
    CHECK(f.status == kNcaProtoError);
    CHECK(pipe->broken());
  }
  SUBCASE("frag_length larger than the data waits for the rest") {
    Bytes longer = req;
    store_le16(&longer[8], 40);
    REQUIRE(pipe->write(longer) == NtStatus::SUCCESS);
    CHECK_FALSE(pipe->has_output());
    Bytes out;
    CHECK(pipe->read(100, out) == kStatusPipeEmpty);
    REQUIRE(pipe->write(Bytes(8, 0)) == NtStatus::SUCCESS);  // 8 octets of trailing stub
    CHECK(decode(drain(*pipe).at(0), r));
  }
  SUBCASE("version 4 and big-endian headers") {
    Bytes v4 = req;
    v4[0] = 4;
    CHECK(fault_of(call(*pipe, v4)).status == kNcaProtoError);
  }
}

TEST_CASE("pipe: every truncation of every PDU, with frag_length adjusted") {
  std::vector<Bytes> pdus = {from_hex(golden::k_bind_srvsvc), from_hex(golden::k_share_enum_1),
                             from_hex(golden::k_share_enum_2),
                             from_hex(golden::k_share_get_info_public_502),
                             from_hex(golden::k_server_get_info_101)};
  for (std::size_t p = 0; p < pdus.size(); ++p) {
    for (std::size_t n = kCommonHeaderSize; n < pdus[p].size(); ++n) {
      auto pipe = p == 0 ? srvsvc_pipe() : bound_pipe();
      Bytes cut(pdus[p].begin(), pdus[p].begin() + static_cast<std::ptrdiff_t>(n));
      store_le16(&cut[8], static_cast<std::uint16_t>(n));
      REQUIRE(pipe->write(cut) == NtStatus::SUCCESS);
      auto messages = drain(*pipe);
      REQUIRE(messages.size() == 1);
      Header h;
      REQUIRE(decode_header(messages[0], h));
      // A rejected bind, a faulted call, or, for a stub cut after all its parameters
      // were read, an answer: never anything else.
      bool fine = h.type == PduType::bind_nak || h.type == PduType::fault ||
                  (p != 0 && h.type == PduType::response);
      CHECK(fine);
    }
  }
}

TEST_CASE("pipe: responses are fragmented to max_recv_frag") {
  auto pipe = srvsvc_pipe(100);
  BindAckPdu ack;
  REQUIRE(decode(call(*pipe, bind_pdu(1, {srvsvc_ndr20()}, kMustRecvFragSize)), ack));
  CHECK(ack.max_xmit_frag == kMustRecvFragSize);
  REQUIRE(pipe->write(from_hex(golden::k_share_enum_2)) == NtStatus::SUCCESS);
  auto messages = drain(*pipe);
  REQUIRE(messages.size() > 5);
  std::uint32_t total = 0;
  for (std::size_t i = 0; i < messages.size(); ++i) {
    ResponsePdu r;
    REQUIRE(decode(messages[i], r));
    CHECK(messages[i].size() <= kMustRecvFragSize);
    if (i == 0) total = r.alloc_hint;
    if (i + 1 < messages.size()) CHECK(r.stub.size() % 8 == 0);
  }
  Bytes stub = response_stub(messages, 2);
  CHECK(stub.size() == total);
  CHECK(load_le32(&stub[12]) == 104);  // EntriesRead
  CHECK(load_le32(&stub[stub.size() - 4]) == 0);
}

TEST_CASE("pipe: read and transceive semantics") {
  auto pipe = srvsvc_pipe();
  Bytes out;
  CHECK(pipe->read(10, out) == kStatusPipeEmpty);
  Bytes bind = from_hex(golden::k_bind_srvsvc);
  CHECK(pipe->transceive(bind, 30, out) == NtStatus::BUFFER_OVERFLOW);
  CHECK(out.size() == 30);
  CHECK(pipe->output_bytes() == 38);
  CHECK(pipe->current_message_bytes() == 38);
  CHECK(pipe->transceive(from_hex(golden::k_server_get_info_101), 4280, out) == kStatusPipeBusy);
  CHECK(pipe->read(0, out) == NtStatus::BUFFER_OVERFLOW);
  CHECK(out.empty());
  CHECK(pipe->read(100, out) == NtStatus::SUCCESS);
  CHECK(out.size() == 38);
  CHECK(pipe->transceive(from_hex(golden::k_server_get_info_101), 4280, out) == NtStatus::SUCCESS);
  ResponsePdu r;
  CHECK(decode(out, r));
  // A non-last fragment through transceive has no answer yet.
  CHECK(pipe->transceive(request(3, 21, from_hex("00000000"), kPfcFirstFrag), 4280, out) ==
        kStatusPipeEmpty);
}

TEST_CASE("pipe: a client that never reads is cut off") {
  auto pipe = bound_pipe(200);
  Bytes req = from_hex(golden::k_share_enum_2);
  NtStatus s = NtStatus::SUCCESS;
  int writes = 0;
  while (s == NtStatus::SUCCESS && writes < 1000) {
    s = pipe->write(req);
    ++writes;
  }
  CHECK(s == NtStatus::INSUFFICIENT_RESOURCES);
  CHECK(pipe->broken());
  CHECK(pipe->output_bytes() <= kMaxQueuedOutput + 64 * 1024);
}
