// The response body shared by QUERY_DIRECTORY (MS-SMB2 2.2.34), CHANGE_NOTIFY (2.2.36)
// and QUERY_INFO (2.2.38): StructureSize 9, OutputBufferOffset (2), OutputBufferLength
// (4), Buffer.
#pragma once

#include "smbd/proto/body.hh"

namespace smb::body {

inline constexpr std::uint16_t kOutputBufferResponseSize = 9;

inline NtStatus decode_output_buffer(ByteSpan pdu, Bytes& out) {
  ByteReader r(pdu);
  if (NtStatus s = begin(pdu, kOutputBufferResponseSize, r); s != NtStatus::SUCCESS) return s;
  std::uint16_t offset = r.u16();
  std::uint32_t length = r.u32();
  if (!r.ok() || !buffer(pdu, offset, length, kOutputBufferResponseSize, out))
    return NtStatus::INVALID_PARAMETER;
  return NtStatus::SUCCESS;
}

inline void encode_output_buffer(ByteWriter& w, ByteSpan output) {
  std::size_t header = header_start(w);
  w.u16(kOutputBufferResponseSize);
  w.u16(static_cast<std::uint16_t>(kSmb2HeaderSize + fixed_size(kOutputBufferResponseSize)));
  w.u32(static_cast<std::uint32_t>(output.size()));
  w.bytes(output);
  pad_empty_buffer(w, header, kOutputBufferResponseSize);
}

}  // namespace smb::body
