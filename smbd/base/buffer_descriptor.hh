// [MS-SMBD] 2.2.3.1 SMB_DIRECT_BUFFER_DESCRIPTOR_V1: a range of memory a peer registered
// for RDMA. The one definition for every layer that names such a range: the SMB2 READ
// and WRITE channel info ([MS-SMB2] 2.2.19, 2.2.21), the ring requests from a worker to
// rdmaproxy (shmring/layout.hh), the MS-SMBD engine and the fabric's RDMA operations.
//
// The struct is also the layout of a descriptor inside the shared ring (native endian,
// 16 bytes, trivially copyable); on the wire it is little-endian, through the codec below.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <type_traits>
#include <vector>

#include "smbd/base/bytes.hh"
#include "smbd/base/ntstatus.hh"

namespace smb {

struct BufferDescriptorV1 {
  std::uint64_t offset = 0;  // Offset: the address in the peer's registration
  std::uint32_t token = 0;   // Token: the peer's steering tag (remote key)
  std::uint32_t length = 0;  // Length in bytes
  friend bool operator==(const BufferDescriptorV1&, const BufferDescriptorV1&) = default;
};
static_assert(sizeof(BufferDescriptorV1) == 16);
static_assert(std::is_trivially_copyable_v<BufferDescriptorV1>);
inline constexpr std::size_t kBufferDescriptorV1Size = 16;

// A list of descriptors as a channel info buffer carries it: a whole number of 16-byte
// entries (INVALID_PARAMETER otherwise). Whether the list is usable for a transfer
// (count, lengths) is for the transfer to decide.
NtStatus decode_buffer_descriptors(ByteSpan data, std::vector<BufferDescriptorV1>& out);
Bytes encode_buffer_descriptors(std::span<const BufferDescriptorV1> descriptors);

}  // namespace smb
