// SMB2 READ request (MS-SMB2 2.2.19) and response (2.2.20). The RDMA channel
// descriptors they may carry are smbd/base/buffer_descriptor.hh ([MS-SMBD] 2.2.3.1).
//
// Ownership: the request's channel info is copied. The response's data is a view into
// the pdu (decode) and is never written by encode: encode writes the fixed part with
// DataOffset 0x50 and DataLength `data_length`, and the caller sends the data right
// after it from its own buffer.
#pragma once

#include <cstdint>
#include <vector>

#include "smbd/base/buffer_descriptor.hh"
#include "smbd/base/bytes.hh"
#include "smbd/base/ntstatus.hh"
#include "smbd/proto/file_id.hh"
#include "smbd/proto/header.hh"

namespace smb {

// MS-SMB2 2.2.19: Channel (also used by WRITE).
enum class Channel : std::uint32_t {
  NONE = 0x00000000,
  RDMA_V1 = 0x00000001,
  RDMA_V1_INVALIDATE = 0x00000002,
  RDMA_TRANSFORM = 0x00000003,
};
// MS-SMB2 2.2.19: Flags.
inline constexpr std::uint8_t kReadFlagReadUnbuffered = 0x01;
inline constexpr std::uint8_t kReadFlagRequestCompressed = 0x02;
// MS-SMB2 2.2.20: Flags (3.1.1).
inline constexpr std::uint32_t kReadResponseRdmaTransform = 0x00000001;

inline bool is_rdma_v1(Channel c) {
  return c == Channel::RDMA_V1 || c == Channel::RDMA_V1_INVALIDATE;
}

// For RDMA_V1 and RDMA_V1_INVALIDATE the channel info is `descriptors` (decode parses
// it; encode writes it); for any other channel it is the raw `channel_info`.
struct ReadRequest {
  std::uint8_t padding = 0;
  std::uint8_t flags = 0;
  std::uint32_t length = 0;
  std::uint64_t offset = 0;
  FileId file_id;
  std::uint32_t minimum_count = 0;
  Channel channel = Channel::NONE;
  std::uint32_t remaining_bytes = 0;
  std::vector<BufferDescriptorV1> descriptors;
  Bytes channel_info;
  bool operator==(const ReadRequest&) const = default;
};

struct ReadResponse {
  std::uint32_t data_length = 0;
  std::uint32_t data_remaining = 0;
  std::uint32_t flags = 0;
  ByteSpan data;  // decode: view into the pdu; ignored by encode
  // encode: zero bytes after the fixed part, before the data (DataOffset says where the
  // data starts). Only a test FSCTL asks for any.
  std::uint8_t body_padding = 0;
};
inline constexpr std::uint8_t kReadResponseDataOffset = 0x50;

NtStatus decode(ByteSpan pdu, ReadRequest& out);
NtStatus decode(ByteSpan pdu, ReadResponse& out);
void encode(const ReadRequest& request, ByteWriter& w);
// Writes 16 body bytes and body_padding zero bytes, plus the one Buffer byte when
// neither data_length nor data_remaining (data sent on an RDMA channel) is set.
void encode(const ReadResponse& response, ByteWriter& w);

}  // namespace smb
