// SMB2 IOCTL request (MS-SMB2 2.2.31) and response (2.2.32), with the FSCTL payloads the
// SMB layer itself interprets (2.2.31.1 ... 2.2.32.5).
// Ownership: input and output buffers are copied into the structs.
#pragma once

#include <array>
#include <cstdint>
#include <vector>

#include "smbd/base/bytes.hh"
#include "smbd/proto/file_id.hh"
#include "smbd/proto/header.hh"
#include "smbd/base/ntstatus.hh"

namespace smb {

// MS-SMB2 2.2.31 CtlCode values ([MS-FSCC] 2.3 for the file system ones).
inline constexpr std::uint32_t FSCTL_DFS_GET_REFERRALS = 0x00060194;
inline constexpr std::uint32_t FSCTL_DFS_GET_REFERRALS_EX = 0x000601B0;
inline constexpr std::uint32_t FSCTL_PIPE_PEEK = 0x0011400C;
inline constexpr std::uint32_t FSCTL_PIPE_WAIT = 0x00110018;
inline constexpr std::uint32_t FSCTL_PIPE_TRANSCEIVE = 0x0011C017;
inline constexpr std::uint32_t FSCTL_SRV_COPYCHUNK = 0x001440F2;
inline constexpr std::uint32_t FSCTL_SRV_COPYCHUNK_WRITE = 0x001480F2;
inline constexpr std::uint32_t FSCTL_SRV_ENUMERATE_SNAPSHOTS = 0x00144064;
inline constexpr std::uint32_t FSCTL_SRV_REQUEST_RESUME_KEY = 0x00140078;
inline constexpr std::uint32_t FSCTL_SRV_READ_HASH = 0x001441BB;
inline constexpr std::uint32_t FSCTL_LMR_REQUEST_RESILIENCY = 0x001401D4;
inline constexpr std::uint32_t FSCTL_QUERY_NETWORK_INTERFACE_INFO = 0x001401FC;
inline constexpr std::uint32_t FSCTL_VALIDATE_NEGOTIATE_INFO = 0x00140204;
inline constexpr std::uint32_t FSCTL_GET_REPARSE_POINT = 0x000900A8;
inline constexpr std::uint32_t FSCTL_SET_REPARSE_POINT = 0x000900A4;
inline constexpr std::uint32_t FSCTL_DELETE_REPARSE_POINT = 0x000900AC;
inline constexpr std::uint32_t FSCTL_SET_SPARSE = 0x000900C4;
inline constexpr std::uint32_t FSCTL_SET_ZERO_DATA = 0x000980C8;
inline constexpr std::uint32_t FSCTL_QUERY_ALLOCATED_RANGES = 0x000940CF;
inline constexpr std::uint32_t FSCTL_FILE_LEVEL_TRIM = 0x00098208;
inline constexpr std::uint32_t FSCTL_CREATE_OR_GET_OBJECT_ID = 0x000900C0;
inline constexpr std::uint32_t FSCTL_GET_COMPRESSION = 0x0009003C;
inline constexpr std::uint32_t FSCTL_SET_COMPRESSION = 0x0009C040;
// Samba's test-only control (device type 0x8384, FILE_WRITE_ACCESS, METHOD_NEITHER),
// served with `smbd:FSCTL_SMBTORTURE = yes`: from now on the channel it arrives on acts as
// if its client acknowledged nothing more at transport level (worker/break_delivery.hh).
inline constexpr std::uint32_t FSCTL_SMBTORTURE_FORCE_UNACKED_TIMEOUT = 0x83848003;

// Test-only FSCTLs of Samba's smbd that smbtorture drives (served only with
// `smbd:FSCTL_SMBTORTURE = yes`, smbd/worker/fsctl_smbtorture.cc): device type 0x8384,
// FILE_WRITE_ACCESS, METHOD_NEITHER.
inline constexpr std::uint32_t FSCTL_SMBTORTURE_IOCTL_RESPONSE_BODY_PADDING8 = 0x83848013;
inline constexpr std::uint32_t FSCTL_SMBTORTURE_GLOBAL_READ_RESPONSE_BODY_PADDING8 = 0x83848023;
inline constexpr std::uint32_t FSCTL_SMBTORTURE_FSP_ASYNC_SLEEP = 0x83848043;

// MS-SMB2 2.2.31: Flags.
inline constexpr std::uint32_t kIoctlIsFsctl = 0x00000001;

struct IoctlRequest {
  std::uint32_t ctl_code = 0;
  FileId file_id;
  Bytes input;
  std::uint32_t max_input_response = 0;
  Bytes output;  // MS-SMB2 2.2.31: normally empty in requests
  std::uint32_t max_output_response = 0;
  std::uint32_t flags = kIoctlIsFsctl;
  bool operator==(const IoctlRequest&) const = default;
};

struct IoctlResponse {
  std::uint32_t ctl_code = 0;
  FileId file_id;
  Bytes input;
  Bytes output;
  std::uint32_t flags = 0;
  // encode: zero bytes between the fixed part and the buffers (the offsets say where the
  // buffers are; a client must follow them). Only a test FSCTL asks for any.
  std::uint8_t body_padding = 0;
  bool operator==(const IoctlResponse&) const = default;
};

NtStatus decode(ByteSpan pdu, IoctlRequest& out);
NtStatus decode(ByteSpan pdu, IoctlResponse& out);
void encode(const IoctlRequest& request, ByteWriter& w);
void encode(const IoctlResponse& response, ByteWriter& w);

// MS-SMB2 2.2.31.4 VALIDATE_NEGOTIATE_INFO request.
struct ValidateNegotiateInfoRequest {
  std::uint32_t capabilities = 0;
  Guid guid{};
  std::uint16_t security_mode = 0;
  std::vector<std::uint16_t> dialects;
  bool operator==(const ValidateNegotiateInfoRequest&) const = default;
};
// MS-SMB2 2.2.32.6 VALIDATE_NEGOTIATE_INFO response.
struct ValidateNegotiateInfoResponse {
  std::uint32_t capabilities = 0;
  Guid guid{};
  std::uint16_t security_mode = 0;
  std::uint16_t dialect = 0;
  bool operator==(const ValidateNegotiateInfoResponse&) const = default;
};
NtStatus decode_fsctl(ByteSpan input, ValidateNegotiateInfoRequest& out);
NtStatus decode_fsctl(ByteSpan output, ValidateNegotiateInfoResponse& out);
Bytes encode_fsctl(const ValidateNegotiateInfoRequest& request);
Bytes encode_fsctl(const ValidateNegotiateInfoResponse& response);

// MS-SMB2 2.2.32.5 NETWORK_INTERFACE_INFO: Capability and the address family.
inline constexpr std::uint32_t kRssCapable = 0x00000001;
inline constexpr std::uint32_t kRdmaCapable = 0x00000002;
inline constexpr std::uint16_t kInterNetwork = 0x0002;    // IPv4
inline constexpr std::uint16_t kInterNetworkV6 = 0x0017;  // IPv6
inline constexpr std::size_t kNetworkInterfaceInfoSize = 152;

// One entry; `address` holds 4 bytes (IPv4) or 16 bytes (IPv6) in network order.
struct NetworkInterfaceInfo {
  std::uint32_t if_index = 0;
  std::uint32_t capability = 0;
  std::uint64_t link_speed = 0;  // bits per second
  std::uint16_t family = kInterNetwork;
  std::uint16_t port = 0;  // network order; MUST be 0 (MS-SMB2 2.2.32.5.1)
  std::array<std::uint8_t, 16> address{};
  std::uint32_t flow_info = 0;  // IPv6
  std::uint32_t scope_id = 0;   // IPv6
  bool operator==(const NetworkInterfaceInfo&) const = default;
};
// The Next-chained list of the FSCTL_QUERY_NETWORK_INTERFACE_INFO output. Each Next must
// be at least one entry long; families other than IPv4/IPv6 are refused.
NtStatus decode_network_interfaces(ByteSpan output, std::vector<NetworkInterfaceInfo>& out);
Bytes encode_network_interfaces(const std::vector<NetworkInterfaceInfo>& interfaces);

// MS-SMB2 2.2.32.3 SRV_REQUEST_RESUME_KEY response.
struct ResumeKeyResponse {
  std::array<std::uint8_t, 24> resume_key{};
  bool operator==(const ResumeKeyResponse&) const = default;
};
// MS-SMB2 2.2.31.1 SRV_COPYCHUNK_COPY and 2.2.31.1.1 SRV_COPYCHUNK.
struct CopyChunk {
  std::uint64_t source_offset = 0;
  std::uint64_t target_offset = 0;
  std::uint32_t length = 0;
  bool operator==(const CopyChunk&) const = default;
};
struct CopyChunkCopy {
  std::array<std::uint8_t, 24> source_key{};
  std::vector<CopyChunk> chunks;
  bool operator==(const CopyChunkCopy&) const = default;
};
// MS-SMB2 2.2.32.1 SRV_COPYCHUNK_RESPONSE.
struct CopyChunkResponse {
  std::uint32_t chunks_written = 0;
  std::uint32_t chunk_bytes_written = 0;
  std::uint32_t total_bytes_written = 0;
  bool operator==(const CopyChunkResponse&) const = default;
};
NtStatus decode_fsctl(ByteSpan output, ResumeKeyResponse& out);
NtStatus decode_fsctl(ByteSpan input, CopyChunkCopy& out);
NtStatus decode_fsctl(ByteSpan output, CopyChunkResponse& out);
Bytes encode_fsctl(const ResumeKeyResponse& response);
Bytes encode_fsctl(const CopyChunkCopy& request);
Bytes encode_fsctl(const CopyChunkResponse& response);

}  // namespace smb
