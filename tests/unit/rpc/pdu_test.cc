#include <doctest/doctest.h>

#include "golden.hh"
#include "smbd/rpc/pdu.hh"
#include "test_util.hh"

using namespace smb;
using namespace smb::rpc;
using smb::rpc::test::from_hex;

TEST_CASE("pdu: impacket's bind decodes") {
  Bytes pdu = from_hex(golden::k_bind_srvsvc);
  BindPdu b;
  REQUIRE(decode(pdu, b));
  CHECK(b.header.type == PduType::bind);
  CHECK(b.header.pfc_flags == (kPfcFirstFrag | kPfcLastFrag));
  CHECK(b.header.frag_length == 72);
  CHECK(b.header.call_id == 1);
  CHECK(b.max_xmit_frag == 4280);
  CHECK(b.max_recv_frag == 4280);
  CHECK(b.assoc_group_id == 0);
  REQUIRE(b.contexts.size() == 1);
  CHECK(b.contexts[0].context_id == 0);
  CHECK(b.contexts[0].abstract_syntax == srvsvc_syntax());
  REQUIRE(b.contexts[0].transfer_syntaxes.size() == 1);
  CHECK(b.contexts[0].transfer_syntaxes[0] == ndr20_syntax());
  // Re-encoding gives the same bytes.
  Bytes again;
  encode(b, again);
  CHECK(again == pdu);
}

TEST_CASE("pdu: impacket's requests decode") {
  struct Case {
    std::string_view hex;
    std::uint16_t opnum;
    std::size_t stub;
  };
  for (const Case& c : {Case{golden::k_share_enum_1, 15, 52}, Case{golden::k_share_enum_2, 15, 52},
                        Case{golden::k_share_get_info_public_502, 16, 36},
                        Case{golden::k_server_get_info_101, 21, 8}}) {
    Bytes pdu = from_hex(c.hex);
    RequestPdu q;
    REQUIRE(decode(pdu, q));
    CHECK(q.header.call_id == 2);
    CHECK(q.context_id == 0);
    CHECK(q.opnum == c.opnum);
    CHECK(q.alloc_hint == c.stub);
    CHECK(q.stub.size() == c.stub);
    CHECK_FALSE(q.object);
    // Any frag_length other than the PDU's length, any truncation: rejected.
    for (std::size_t n = 0; n < pdu.size(); ++n) {
      RequestPdu t;
      CHECK_FALSE(decode(ByteSpan(pdu).first(n), t));
    }
  }
}

TEST_CASE("pdu: bind_ack layout") {
  BindAckPdu ack;
  ack.header.type = PduType::bind_ack;
  ack.header.call_id = 7;
  ack.assoc_group_id = 0x1234;
  ack.secondary_address = "\\PIPE\\srvsvc";
  ack.results.push_back({kResultAcceptance, 0, ndr20_syntax()});
  ack.results.push_back({kResultNegotiateAck, 2, SyntaxId{}});
  Bytes out;
  encode(ack, out);
  // 16 header + 8 + 2 + 13 address + 1 pad = 40, then 4 + 2 * 24 results.
  REQUIRE(out.size() == 92);
  CHECK(load_le16(&out[8]) == 92);
  CHECK(load_le32(&out[12]) == 7);
  CHECK(load_le32(&out[20]) == 0x1234);
  CHECK(load_le16(&out[24]) == 13);
  CHECK(std::string(out.begin() + 26, out.begin() + 39) == std::string("\\PIPE\\srvsvc\0", 13));
  CHECK(out[40] == 2);
  CHECK(load_le16(&out[44]) == 0);
  CHECK(Bytes(out.begin() + 48, out.begin() + 68) ==
        from_hex("045d888aeb1cc9119fe808002b10486002000000"));
  CHECK(load_le16(&out[68]) == 3);
  CHECK(load_le16(&out[70]) == 2);
  BindAckPdu back;
  REQUIRE(decode(out, back));
  CHECK(back.secondary_address == "\\PIPE\\srvsvc");
  CHECK(back.results.size() == 2);
  CHECK(back.results[0].transfer_syntax == ndr20_syntax());

  // An empty secondary address (alter_context_resp) pads 2 octets.
  ack.header.type = PduType::alter_context_resp;
  ack.secondary_address.clear();
  out.clear();
  encode(ack, out);
  CHECK(out.size() == 28 + 4 + 48);
  CHECK(out[28] == 2);
}

TEST_CASE("pdu: fault and bind_nak layout") {
  FaultPdu f;
  f.header.type = PduType::fault;
  f.header.pfc_flags = kPfcFirstFrag | kPfcLastFrag | kPfcDidNotExecute;
  f.header.call_id = 3;
  f.context_id = 1;
  f.status = kNcaOpRngError;
  Bytes out;
  encode(f, out);
  CHECK(out == from_hex("05000323100000002000000003000000"
                        "00000000"
                        "0100"
                        "00"
                        "00"
                        "0200011c"
                        "00000000"));
  FaultPdu back;
  REQUIRE(decode(out, back));
  CHECK(back.status == kNcaOpRngError);

  BindNakPdu nak;
  nak.header.type = PduType::bind_nak;
  nak.header.call_id = 1;
  nak.reject_reason = kNakProtocolVersionNotSupported;
  out.clear();
  encode(nak, out);
  CHECK(out == from_hex("05000d03100000001500000001000000"
                        "0400"
                        "01"
                        "0500"));
  BindNakPdu nak_back;
  REQUIRE(decode(out, nak_back));
  CHECK(nak_back.reject_reason == kNakProtocolVersionNotSupported);
}

TEST_CASE("pdu: malformed headers and bodies are rejected") {
  Bytes bind = from_hex(golden::k_bind_srvsvc);
  Header h;
  CHECK(decode_header(bind, h));
  Bytes v4 = bind;
  v4[0] = 4;
  CHECK_FALSE(decode_header(v4, h));
  Bytes big_endian = bind;
  big_endian[4] = 0x00;
  CHECK_FALSE(decode_header(big_endian, h));
  CHECK_FALSE(decode_header(ByteSpan(bind).first(15), h));

  // Every truncation of the bind, with frag_length made to match: still rejected.
  for (std::size_t n = kCommonHeaderSize; n < bind.size(); ++n) {
    Bytes cut(bind.begin(), bind.begin() + static_cast<std::ptrdiff_t>(n));
    store_le16(&cut[8], static_cast<std::uint16_t>(n));
    BindPdu b;
    CHECK_FALSE(decode(cut, b));
  }
  // 255 transfer syntaxes announced, one present.
  Bytes many = bind;
  many[30] = 0xff;
  BindPdu b;
  CHECK_FALSE(decode(many, b));
  // 255 contexts announced.
  many = bind;
  many[24] = 0xff;
  CHECK_FALSE(decode(many, b));

  // A request whose auth_length exceeds the PDU.
  Bytes req = from_hex(golden::k_server_get_info_101);
  store_le16(&req[10], 0xfff0);
  RequestPdu q;
  CHECK_FALSE(decode(req, q));
  // An auth verifier with an auth_pad_length beyond the body.
  req = from_hex(golden::k_server_get_info_101);
  store_le16(&req[10], 0);
  Bytes with_auth = req;
  with_auth.insert(with_auth.end(), {0x0a, 0x02, 0xff, 0x00, 0, 0, 0, 0, 1, 2, 3, 4});
  store_le16(&with_auth[8], static_cast<std::uint16_t>(with_auth.size()));
  store_le16(&with_auth[10], 4);
  CHECK_FALSE(decode(with_auth, q));
  with_auth[32 + 2] = 4;  // auth_pad_length: 4 of the 8 stub octets are padding
  REQUIRE(decode(with_auth, q));
  CHECK(q.stub.size() == 4);
}

TEST_CASE("pdu: request with object uuid") {
  RequestPdu q;
  q.header.type = PduType::request;
  q.header.call_id = 9;
  q.opnum = 21;
  q.object = *Uuid::parse("01234567-89ab-cdef-0123-456789abcdef");
  Bytes stub = from_hex("0000000065000000");
  q.stub = stub;
  Bytes out;
  encode(q, out);
  CHECK(out.size() == 24 + 16 + 8);
  CHECK((out[3] & kPfcObjectUuid) != 0);
  RequestPdu back;
  REQUIRE(decode(out, back));
  CHECK(back.object == q.object);
  CHECK(Bytes(back.stub.begin(), back.stub.end()) == stub);
}
