// SMB2 WRITE request (MS-SMB2 2.2.21) and response (2.2.22).
//
// Ownership: the request's data is a view into the pdu (decode) and is never written by
// encode: encode writes the fixed part (and any channel info) and sets DataOffset to the
// byte right after it (0x70 without channel info) and Length to `data_length`; the caller
// sends the data from its own buffer right after.
#pragma once

#include <cstdint>
#include <vector>

#include "smbd/base/buffer_descriptor.hh"
#include "smbd/base/bytes.hh"
#include "smbd/base/ntstatus.hh"
#include "smbd/proto/file_id.hh"
#include "smbd/proto/header.hh"
#include "smbd/proto/read.hh"

namespace smb {

// MS-SMB2 2.2.21: Flags.
inline constexpr std::uint32_t kWriteFlagWriteThrough = 0x00000001;
inline constexpr std::uint32_t kWriteFlagWriteUnbuffered = 0x00000002;

inline constexpr std::uint16_t kWriteRequestDataOffset = 0x70;

// Channel info as in ReadRequest: `descriptors` for RDMA_V1(_INVALIDATE), else raw.
struct WriteRequest {
  std::uint32_t data_length = 0;
  std::uint64_t offset = 0;
  FileId file_id;
  Channel channel = Channel::NONE;
  std::uint32_t remaining_bytes = 0;
  std::vector<BufferDescriptorV1> descriptors;
  Bytes channel_info;
  std::uint32_t flags = 0;
  ByteSpan data;  // decode: view into the pdu; ignored by encode
};

struct WriteResponse {
  std::uint32_t count = 0;
  std::uint32_t remaining = 0;
  bool operator==(const WriteResponse&) const = default;
};

NtStatus decode(ByteSpan pdu, WriteRequest& out);
NtStatus decode(ByteSpan pdu, WriteResponse& out);
void encode(const WriteRequest& request, ByteWriter& w);
void encode(const WriteResponse& response, ByteWriter& w);

}  // namespace smb
