// Helpers shared by the rpc unit tests.
#pragma once

#include <doctest/doctest.h>

#include <memory>
#include <string_view>
#include <vector>

#include "smbd/base/bytes.hh"
#include "smbd/rpc/pdu.hh"
#include "smbd/rpc/pipe.hh"
#include "test_shares.hh"

namespace smb::rpc::test {

inline Bytes from_hex(std::string_view hex) {
  auto value = [](char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return c - 'A' + 10;
  };
  Bytes out;
  for (std::size_t i = 0; i + 1 < hex.size(); i += 2) {
    out.push_back(static_cast<std::uint8_t>(value(hex[i]) * 16 + value(hex[i + 1])));
  }
  return out;
}

inline std::unique_ptr<PipeEndpoint> srvsvc_pipe(std::size_t extra = 0) {
  return open_pipe("srvsvc", server_info(), [extra] { return shares(extra); });
}

// Reads every queued message, each whole.
inline std::vector<Bytes> drain(PipeEndpoint& pipe) {
  std::vector<Bytes> messages;
  Bytes out;
  while (pipe.has_output()) {
    NtStatus s = pipe.read(1 << 20, out);
    REQUIRE(s == NtStatus::SUCCESS);
    messages.push_back(out);
  }
  return messages;
}

// Writes `pdu` and returns the single message it produces.
inline Bytes call(PipeEndpoint& pipe, ByteSpan pdu) {
  REQUIRE(pipe.write(pdu) == NtStatus::SUCCESS);
  std::vector<Bytes> messages = drain(pipe);
  REQUIRE(messages.size() == 1);
  return messages.front();
}

// Concatenated stub of a fragmented response; checks the fragment sequence.
inline Bytes response_stub(const std::vector<Bytes>& messages, std::uint32_t call_id) {
  Bytes stub;
  for (std::size_t i = 0; i < messages.size(); ++i) {
    ResponsePdu r;
    REQUIRE(decode(messages[i], r));
    CHECK(r.header.call_id == call_id);
    CHECK(((r.header.pfc_flags & kPfcFirstFrag) != 0) == (i == 0));
    CHECK(((r.header.pfc_flags & kPfcLastFrag) != 0) == (i + 1 == messages.size()));
    stub.insert(stub.end(), r.stub.begin(), r.stub.end());
  }
  return stub;
}

inline FaultPdu fault_of(ByteSpan message) {
  FaultPdu f;
  REQUIRE(decode(message, f));
  return f;
}

inline std::unique_ptr<PipeEndpoint> bound_pipe(std::size_t extra = 0);

// A request PDU for `opnum` on context 0 with the given stub and flags.
inline Bytes request(std::uint32_t call_id, std::uint16_t opnum, ByteSpan stub,
                     std::uint8_t flags = kPfcFirstFrag | kPfcLastFrag, std::uint16_t context = 0) {
  RequestPdu q;
  q.header.type = PduType::request;
  q.header.pfc_flags = flags;
  q.header.call_id = call_id;
  q.alloc_hint = static_cast<std::uint32_t>(stub.size());
  q.context_id = context;
  q.opnum = opnum;
  q.stub = stub;
  Bytes out;
  encode(q, out);
  return out;
}

inline Bytes bind_pdu(std::uint32_t call_id, std::vector<ContextElement> contexts,
                      std::uint16_t max_frag = 4280, PduType type = PduType::bind) {
  BindPdu b;
  b.header.type = type;
  b.header.call_id = call_id;
  b.max_xmit_frag = max_frag;
  b.max_recv_frag = max_frag;
  b.contexts = std::move(contexts);
  Bytes out;
  encode(b, out);
  return out;
}

inline ContextElement srvsvc_ndr20(std::uint16_t id = 0) {
  return ContextElement{id, srvsvc_syntax(), {ndr20_syntax()}};
}

inline std::unique_ptr<PipeEndpoint> bound_pipe(std::size_t extra) {
  auto pipe = srvsvc_pipe(extra);
  Bytes ack = call(*pipe, bind_pdu(1, {srvsvc_ndr20()}));
  REQUIRE(ack[2] == static_cast<std::uint8_t>(PduType::bind_ack));
  return pipe;
}

}  // namespace smb::rpc::test
