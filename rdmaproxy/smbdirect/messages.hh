// [MS-SMBD] 2.2 message codecs and the receive-side checks of 3.1.5.6, 3.1.5.7 and
// 3.1.5.8. Pure functions over byte spans: no I/O, bounded, fuzzed.
#pragma once

#include <cstdint>
#include <vector>

#include "smbd/base/bytes.hh"
#include "smbd/base/ntstatus.hh"

namespace smb::smbdirect {

// [MS-SMBD] 1.7: the only protocol version.
constexpr std::uint16_t kVersion1 = 0x0100;
constexpr std::size_t kNegotiateRequestSize = 20;     // 2.2.1
constexpr std::size_t kNegotiateResponseSize = 32;    // 2.2.2
constexpr std::size_t kDataTransferMinSize = 20;      // 3.1.5.8: at least 20 bytes
constexpr std::size_t kDataTransferHeaderSize = 24;   // 2.2.3 up to and including Padding
constexpr std::uint16_t kResponseRequested = 0x0001;  // 2.2.3 SMB_DIRECT_RESPONSE_REQUESTED
constexpr std::uint32_t kMinReceiveSize = 128;        // 3.1.5.6 / 3.1.5.7
constexpr std::uint32_t kMinFragmentedSize = 131072;  // 3.1.5.6 / 3.1.5.7

// 2.2.1 Negotiate Request.
struct NegotiateRequest {
  std::uint16_t min_version = kVersion1;
  std::uint16_t max_version = kVersion1;
  std::uint16_t credits_requested = 0;
  std::uint32_t preferred_send_size = 0;
  std::uint32_t max_receive_size = 0;
  std::uint32_t max_fragmented_size = 0;
};

// 2.2.2 Negotiate Response.
struct NegotiateResponse {
  std::uint16_t min_version = kVersion1;
  std::uint16_t max_version = kVersion1;
  std::uint16_t negotiated_version = kVersion1;
  std::uint16_t credits_requested = 0;
  std::uint16_t credits_granted = 0;
  std::uint32_t status = 0;
  std::uint32_t max_read_write_size = 0;
  std::uint32_t preferred_send_size = 0;
  std::uint32_t max_receive_size = 0;
  std::uint32_t max_fragmented_size = 0;
};

// 2.2.3 Data Transfer message, with `data` a view of the payload inside the message.
struct DataTransfer {
  std::uint16_t credits_requested = 0;
  std::uint16_t credits_granted = 0;
  std::uint16_t flags = 0;
  std::uint32_t remaining_data_length = 0;
  std::uint32_t data_offset = 0;
  std::uint32_t data_length = 0;
  ByteSpan data;
};

void encode(const NegotiateRequest& m, Bytes& out);
void encode(const NegotiateResponse& m, Bytes& out);
// Writes the 24-byte header of a data transfer message; DataOffset is 24 when
// data_length is nonzero and 0 otherwise (2.2.3, 3.1.4.1).
void encode_data_transfer_header(std::uint16_t credits_requested, std::uint16_t credits_granted,
                                 std::uint16_t flags, std::uint32_t remaining_data_length,
                                 std::uint32_t data_length, MutableByteSpan out);

// Structural decoding: INVALID_PARAMETER when the message is shorter than the fixed part.
NtStatus decode(ByteSpan message, NegotiateRequest& out);
NtStatus decode(ByteSpan message, NegotiateResponse& out);

// 3.1.5.6 on a decoded request.
enum class RequestVerdict {
  accept,
  not_supported,  // answer with a failure response, Status STATUS_NOT_SUPPORTED
  terminate,      // drop the connection without answering
};
RequestVerdict check_negotiate_request(const NegotiateRequest& m);

// 3.1.5.7 on a decoded response; `local_max_receive_size` is Connection.MaxReceiveSize.
bool check_negotiate_response(const NegotiateResponse& m, std::uint32_t local_max_receive_size);

// 3.1.5.8: decodes and verifies a data transfer message (length, CreditsRequested,
// DataOffset alignment and range, DataLength + RemainingDataLength against
// Connection.MaxFragmentedRecvSize). Any failure means: terminate the connection.
NtStatus decode_data_transfer(ByteSpan message, std::uint32_t max_fragmented_recv_size,
                              DataTransfer& out);

}  // namespace smb::smbdirect
