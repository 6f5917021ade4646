#include "smbd/proto/ioctl.hh"

#include <cstring>

#include "smbd/proto/body.hh"

namespace smb {

namespace {

constexpr std::uint16_t kRequestSize = 57;   // MS-SMB2 2.2.31
constexpr std::uint16_t kResponseSize = 49;  // MS-SMB2 2.2.32

std::size_t align8(std::size_t n) { return (n + 7) & ~std::size_t{7}; }

// Input then output, each 8-byte aligned, starting right after the fixed part and
// `padding` zero bytes.
void write_buffers(ByteWriter& w, std::size_t header, std::size_t offsets_at,
                   std::size_t output_offset_at, const Bytes& input, const Bytes& output,
                   std::uint16_t structure_size, std::size_t padding = 0) {
  std::size_t input_offset = kSmb2HeaderSize + body::fixed_size(structure_size) + padding;
  std::size_t output_offset = input.empty() ? input_offset : align8(input_offset + input.size());
  w.patch_u32(offsets_at, static_cast<std::uint32_t>(input_offset));
  w.patch_u32(offsets_at + 4, static_cast<std::uint32_t>(input.size()));
  w.patch_u32(output_offset_at, static_cast<std::uint32_t>(output_offset));
  w.patch_u32(output_offset_at + 4, static_cast<std::uint32_t>(output.size()));
  for (std::size_t i = 0; i < padding; ++i) w.u8(0);
  w.bytes(input);
  if (!output.empty()) {
    w.align(8, header);
    w.bytes(output);
  }
  body::pad_empty_buffer(w, header, structure_size);
}

}  // namespace

NtStatus decode(ByteSpan pdu, IoctlRequest& out) {
  ByteReader r(pdu);
  if (NtStatus s = body::begin(pdu, kRequestSize, r); s != NtStatus::SUCCESS) return s;
  IoctlRequest q;
  r.skip(2);
  q.ctl_code = r.u32();
  q.file_id = read_file_id(r);
  std::uint32_t input_offset = r.u32();
  std::uint32_t input_count = r.u32();
  q.max_input_response = r.u32();
  std::uint32_t output_offset = r.u32();
  std::uint32_t output_count = r.u32();
  q.max_output_response = r.u32();
  q.flags = r.u32();
  if (!r.ok() || !body::buffer(pdu, input_offset, input_count, kRequestSize, q.input) ||
      !body::buffer(pdu, output_offset, output_count, kRequestSize, q.output))
    return NtStatus::INVALID_PARAMETER;
  out = std::move(q);
  return NtStatus::SUCCESS;
}

void encode(const IoctlRequest& q, ByteWriter& w) {
  std::size_t header = body::header_start(w);
  w.u16(kRequestSize);
  w.u16(0);
  w.u32(q.ctl_code);
  write_file_id(w, q.file_id);
  std::size_t input_at = w.size();
  w.u64(0);  // InputOffset, InputCount
  w.u32(q.max_input_response);
  std::size_t output_at = w.size();
  w.u64(0);  // OutputOffset, OutputCount
  w.u32(q.max_output_response);
  w.u32(q.flags);
  w.u32(0);
  write_buffers(w, header, input_at, output_at, q.input, q.output, kRequestSize);
}

NtStatus decode(ByteSpan pdu, IoctlResponse& out) {
  ByteReader r(pdu);
  if (NtStatus s = body::begin(pdu, kResponseSize, r); s != NtStatus::SUCCESS) return s;
  IoctlResponse p;
  r.skip(2);
  p.ctl_code = r.u32();
  p.file_id = read_file_id(r);
  std::uint32_t input_offset = r.u32();
  std::uint32_t input_count = r.u32();
  std::uint32_t output_offset = r.u32();
  std::uint32_t output_count = r.u32();
  p.flags = r.u32();
  if (!r.ok() || !body::buffer(pdu, input_offset, input_count, kResponseSize, p.input) ||
      !body::buffer(pdu, output_offset, output_count, kResponseSize, p.output))
    return NtStatus::INVALID_PARAMETER;
  out = std::move(p);
  return NtStatus::SUCCESS;
}

void encode(const IoctlResponse& p, ByteWriter& w) {
  std::size_t header = body::header_start(w);
  w.u16(kResponseSize);
  w.u16(0);
  w.u32(p.ctl_code);
  write_file_id(w, p.file_id);
  std::size_t input_at = w.size();
  w.u64(0);
  std::size_t output_at = w.size();
  w.u64(0);
  w.u32(p.flags);
  w.u32(0);
  write_buffers(w, header, input_at, output_at, p.input, p.output, kResponseSize, p.body_padding);
}

NtStatus decode_fsctl(ByteSpan input, ValidateNegotiateInfoRequest& out) {
  ByteReader r(input);
  ValidateNegotiateInfoRequest q;
  q.capabilities = r.u32();
  q.guid = read_guid(r);
  q.security_mode = r.u16();
  std::uint16_t count = r.u16();
  if (!r.ok() || std::size_t{count} * 2 > r.remaining()) return NtStatus::INVALID_PARAMETER;
  q.dialects.reserve(count);
  for (std::uint16_t i = 0; i < count; ++i) q.dialects.push_back(r.u16());
  out = std::move(q);
  return NtStatus::SUCCESS;
}

NtStatus decode_fsctl(ByteSpan output, ValidateNegotiateInfoResponse& out) {
  ByteReader r(output);
  ValidateNegotiateInfoResponse p;
  p.capabilities = r.u32();
  p.guid = read_guid(r);
  p.security_mode = r.u16();
  p.dialect = r.u16();
  if (!r.ok()) return NtStatus::INVALID_PARAMETER;
  out = p;
  return NtStatus::SUCCESS;
}

Bytes encode_fsctl(const ValidateNegotiateInfoRequest& q) {
  Bytes out;
  out.reserve(24 + 2 * q.dialects.size());
  ByteWriter w(out);
  w.u32(q.capabilities);
  write_guid(w, q.guid);
  w.u16(q.security_mode);
  w.u16(static_cast<std::uint16_t>(q.dialects.size()));
  for (std::uint16_t d : q.dialects) w.u16(d);
  return out;
}

Bytes encode_fsctl(const ValidateNegotiateInfoResponse& p) {
  Bytes out;
  out.reserve(24);
  ByteWriter w(out);
  w.u32(p.capabilities);
  write_guid(w, p.guid);
  w.u16(p.security_mode);
  w.u16(p.dialect);
  return out;
}

NtStatus decode_network_interfaces(ByteSpan output, std::vector<NetworkInterfaceInfo>& out) {
  out.clear();
  std::uint64_t at = 0;
  while (at < output.size()) {
    if (!in_bounds(at, kNetworkInterfaceInfoSize, output.size()))
      return NtStatus::INVALID_PARAMETER;
    ByteReader r(output.subspan(static_cast<std::size_t>(at), kNetworkInterfaceInfoSize));
    NetworkInterfaceInfo e;
    std::uint64_t next = r.u32();
    e.if_index = r.u32();
    e.capability = r.u32();
    r.skip(4);
    e.link_speed = r.u64();
    // MS-SMB2 2.2.32.5.1: SockAddr_Storage, 128 bytes.
    e.family = r.u16();
    std::uint8_t port[2] = {r.u8(), r.u8()};
    e.port = static_cast<std::uint16_t>((port[0] << 8) | port[1]);
    if (e.family == kInterNetwork) {
      r.copy(MutableByteSpan(e.address.data(), 4));
    } else if (e.family == kInterNetworkV6) {
      e.flow_info = r.u32();
      r.copy(e.address);
      e.scope_id = r.u32();
    } else {
      return NtStatus::INVALID_PARAMETER;
    }
    if (!r.ok()) return NtStatus::INVALID_PARAMETER;
    out.push_back(e);
    if (next == 0) return NtStatus::SUCCESS;
    if (next < kNetworkInterfaceInfoSize) return NtStatus::INVALID_PARAMETER;
    at += next;
  }
  return NtStatus::INVALID_PARAMETER;  // empty, or a Next that leaves the buffer
}

Bytes encode_network_interfaces(const std::vector<NetworkInterfaceInfo>& interfaces) {
  Bytes out(interfaces.size() * kNetworkInterfaceInfoSize, 0);
  for (std::size_t i = 0; i < interfaces.size(); ++i) {
    const auto& e = interfaces[i];
    std::uint8_t* p = out.data() + i * kNetworkInterfaceInfoSize;
    store_le32(p, i + 1 < interfaces.size() ? kNetworkInterfaceInfoSize : 0);
    store_le32(p + 4, e.if_index);
    store_le32(p + 8, e.capability);
    store_le64(p + 16, e.link_speed);
    std::uint8_t* sa = p + 24;  // SockAddr_Storage
    store_le16(sa, e.family);
    sa[2] = static_cast<std::uint8_t>(e.port >> 8);
    sa[3] = static_cast<std::uint8_t>(e.port);
    if (e.family == kInterNetworkV6) {
      store_le32(sa + 4, e.flow_info);
      std::memcpy(sa + 8, e.address.data(), 16);
      store_le32(sa + 24, e.scope_id);
    } else {
      std::memcpy(sa + 4, e.address.data(), 4);
    }
  }
  return out;
}

NtStatus decode_fsctl(ByteSpan output, ResumeKeyResponse& out) {
  // MS-SMB2 2.2.32.3: ResumeKey (24), ContextLength (4), Context.
  if (output.size() < 28) return NtStatus::INVALID_PARAMETER;
  ByteReader r(output);
  r.copy(out.resume_key);
  return NtStatus::SUCCESS;
}

Bytes encode_fsctl(const ResumeKeyResponse& p) {
  Bytes out;
  out.reserve(32);
  ByteWriter w(out);
  w.bytes(p.resume_key);
  w.u32(0);  // ContextLength
  w.u32(0);  // Context: sent as 4 zero bytes
  return out;
}

NtStatus decode_fsctl(ByteSpan input, CopyChunkCopy& out) {
  ByteReader r(input);
  CopyChunkCopy q;
  r.copy(q.source_key);
  std::uint32_t count = r.u32();
  r.skip(4);
  if (!r.ok() || std::uint64_t{count} * 24 > r.remaining()) return NtStatus::INVALID_PARAMETER;
  q.chunks.reserve(count);
  for (std::uint32_t i = 0; i < count; ++i) {
    CopyChunk c;
    c.source_offset = r.u64();
    c.target_offset = r.u64();
    c.length = r.u32();
    r.skip(4);
    q.chunks.push_back(c);
  }
  if (!r.ok()) return NtStatus::INVALID_PARAMETER;
  out = std::move(q);
  return NtStatus::SUCCESS;
}

Bytes encode_fsctl(const CopyChunkCopy& q) {
  Bytes out;
  out.reserve(32 + 24 * q.chunks.size());
  ByteWriter w(out);
  w.bytes(q.source_key);
  w.u32(static_cast<std::uint32_t>(q.chunks.size()));
  w.u32(0);
  for (const auto& c : q.chunks) {
    w.u64(c.source_offset);
    w.u64(c.target_offset);
    w.u32(c.length);
    w.u32(0);
  }
  return out;
}

NtStatus decode_fsctl(ByteSpan output, CopyChunkResponse& out) {
  ByteReader r(output);
  CopyChunkResponse p;
  p.chunks_written = r.u32();
  p.chunk_bytes_written = r.u32();
  p.total_bytes_written = r.u32();
  if (!r.ok()) return NtStatus::INVALID_PARAMETER;
  out = p;
  return NtStatus::SUCCESS;
}

Bytes encode_fsctl(const CopyChunkResponse& p) {
  Bytes out;
  ByteWriter w(out);
  w.u32(p.chunks_written);
  w.u32(p.chunk_bytes_written);
  w.u32(p.total_bytes_written);
  return out;
}

}  // namespace smb
