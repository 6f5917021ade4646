// Connection-oriented DCE/RPC PDUs ([C706] 12.6, [MS-RPCE] 2.2.2), both roles.
//
// Decoders take one whole PDU (exactly frag_length bytes) and return false when it is
// malformed; views (stub data) point into the input. Encoders append one PDU and set
// frag_length themselves. Only the little-endian integer representation is handled: a
// PDU in another representation fails decode_header.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "smbd/base/bytes.hh"
#include "smbd/rpc/ndr.hh"

namespace smb::rpc {

// [C706] 12.6.3.1 PTYPE values.
enum class PduType : std::uint8_t {
  request = 0,
  ping = 1,
  response = 2,
  fault = 3,
  working = 4,
  nocall = 5,
  reject = 6,
  ack = 7,
  cl_cancel = 8,
  fack = 9,
  cancel_ack = 10,
  bind = 11,
  bind_ack = 12,
  bind_nak = 13,
  alter_context = 14,
  alter_context_resp = 15,
  auth3 = 16,  // [MS-RPCE] 2.2.2.10
  shutdown = 17,
  co_cancel = 18,
  orphaned = 19,
};

// pfc_flags ([C706] 12.6.3.1, [MS-RPCE] 2.2.2.3).
inline constexpr std::uint8_t kPfcFirstFrag = 0x01;
inline constexpr std::uint8_t kPfcLastFrag = 0x02;
inline constexpr std::uint8_t kPfcPendingCancel = 0x04;  // PFC_SUPPORT_HEADER_SIGN in binds
inline constexpr std::uint8_t kPfcConcMpx = 0x10;
inline constexpr std::uint8_t kPfcDidNotExecute = 0x20;
inline constexpr std::uint8_t kPfcMaybe = 0x40;
inline constexpr std::uint8_t kPfcObjectUuid = 0x80;

inline constexpr std::size_t kCommonHeaderSize = 16;
inline constexpr std::size_t kRequestHeaderSize = 24;   // + 16 with PFC_OBJECT_UUID
inline constexpr std::size_t kResponseHeaderSize = 24;  // response and fault
inline constexpr std::size_t kFaultPduSize = 32;
// [C706] 12.6.3.1 / [MS-RPCE] 3.3.1.5.6: a peer must accept fragments of this size.
inline constexpr std::uint16_t kMustRecvFragSize = 1432;

// p_cont_def_result_t ([C706] 12.6.3.1, [MS-RPCE] 2.2.2.4 adds negotiate_ack).
inline constexpr std::uint16_t kResultAcceptance = 0;
inline constexpr std::uint16_t kResultUserRejection = 1;
inline constexpr std::uint16_t kResultProviderRejection = 2;
inline constexpr std::uint16_t kResultNegotiateAck = 3;
// p_provider_reason_t.
inline constexpr std::uint16_t kReasonNotSpecified = 0;
inline constexpr std::uint16_t kReasonAbstractSyntaxNotSupported = 1;
inline constexpr std::uint16_t kReasonTransferSyntaxesNotSupported = 2;
inline constexpr std::uint16_t kReasonLocalLimitExceeded = 3;
// p_reject_reason_t for bind_nak ([C706] 12.6.3.1, [MS-RPCE] 2.2.2.5).
inline constexpr std::uint16_t kNakReasonNotSpecified = 0;
inline constexpr std::uint16_t kNakLocalLimitExceeded = 2;
inline constexpr std::uint16_t kNakProtocolVersionNotSupported = 4;
inline constexpr std::uint16_t kNakAuthenticationTypeNotRecognized = 8;

// Fault status codes ([C706] Appendix E, [MS-RPCE] 2.2.2.11 and 3.1.1.5.5).
inline constexpr std::uint32_t kNcaOpRngError = 0x1c010002;
inline constexpr std::uint32_t kNcaUnkIf = 0x1c010003;
inline constexpr std::uint32_t kNcaProtoError = 0x1c01000b;
inline constexpr std::uint32_t kNcaFaultRemoteNoMemory = 0x1c00001b;
inline constexpr std::uint32_t kNcaFaultAccessDenied = 0x00000005;
inline constexpr std::uint32_t kRpcBadStubData = 0x000006f7;  // RPC_X_BAD_STUB_DATA

struct Header {
  std::uint8_t rpc_vers = 5;
  std::uint8_t rpc_vers_minor = 0;
  PduType type = PduType::request;
  std::uint8_t pfc_flags = kPfcFirstFrag | kPfcLastFrag;
  std::array<std::uint8_t, 4> drep{0x10, 0, 0, 0};  // little-endian, ASCII, IEEE
  std::uint16_t frag_length = 0;
  std::uint16_t auth_length = 0;
  std::uint32_t call_id = 0;
};

// Reads the 16-byte common header. False when shorter, not version 5, or not in the
// little-endian integer representation (drep[0] high nibble 1).
bool decode_header(ByteSpan pdu, Header& out);

struct ContextElement {
  std::uint16_t context_id = 0;
  SyntaxId abstract_syntax;
  std::vector<SyntaxId> transfer_syntaxes;
};

// bind and alter_context ([C706] 12.6.4.3, 12.6.4.1): same layout.
struct BindPdu {
  Header header;
  std::uint16_t max_xmit_frag = 4280;
  std::uint16_t max_recv_frag = 4280;
  std::uint32_t assoc_group_id = 0;
  std::vector<ContextElement> contexts;
};

struct ContextResult {
  std::uint16_t result = kResultAcceptance;
  std::uint16_t reason = kReasonNotSpecified;
  SyntaxId transfer_syntax;
};

// bind_ack and alter_context_resp ([C706] 12.6.4.4, 12.6.4.2).
struct BindAckPdu {
  Header header;
  std::uint16_t max_xmit_frag = 4280;
  std::uint16_t max_recv_frag = 4280;
  std::uint32_t assoc_group_id = 0;
  std::string secondary_address;  // port_spec without its NUL; empty for length 0
  std::vector<ContextResult> results;
};

// bind_nak ([C706] 12.6.4.5, [MS-RPCE] 2.2.2.9); the versions supported are 5.0.
struct BindNakPdu {
  Header header;
  std::uint16_t reject_reason = kNakReasonNotSpecified;
};

// request ([C706] 12.6.4.9).
struct RequestPdu {
  Header header;
  std::uint32_t alloc_hint = 0;
  std::uint16_t context_id = 0;
  std::uint16_t opnum = 0;
  std::optional<Uuid> object;
  ByteSpan stub;  // excludes any auth verifier and its padding
};

// response ([C706] 12.6.4.10).
struct ResponsePdu {
  Header header;
  std::uint32_t alloc_hint = 0;
  std::uint16_t context_id = 0;
  std::uint8_t cancel_count = 0;
  ByteSpan stub;
};

// fault ([C706] 12.6.4.7, [MS-RPCE] 2.2.2.11).
struct FaultPdu {
  Header header;
  std::uint32_t alloc_hint = 0;
  std::uint16_t context_id = 0;
  std::uint8_t cancel_count = 0;
  std::uint32_t status = 0;
};

bool decode(ByteSpan pdu, BindPdu& out);
bool decode(ByteSpan pdu, BindAckPdu& out);
bool decode(ByteSpan pdu, BindNakPdu& out);
bool decode(ByteSpan pdu, RequestPdu& out);
bool decode(ByteSpan pdu, ResponsePdu& out);
bool decode(ByteSpan pdu, FaultPdu& out);

// Encoders append one PDU to `out`; header.type must match the body (bind or
// alter_context, bind_ack or alter_context_resp). Auth verifiers are never written.
void encode(const BindPdu& pdu, Bytes& out);
void encode(const BindAckPdu& pdu, Bytes& out);
void encode(const BindNakPdu& pdu, Bytes& out);
void encode(const RequestPdu& pdu, Bytes& out);
void encode(const ResponsePdu& pdu, Bytes& out);
void encode(const FaultPdu& pdu, Bytes& out);

}  // namespace smb::rpc
