#include "smbd/base/buffer_descriptor.hh"

namespace smb {

NtStatus decode_buffer_descriptors(ByteSpan data, std::vector<BufferDescriptorV1>& out) {
  out.clear();
  if (data.size() % kBufferDescriptorV1Size != 0) return NtStatus::INVALID_PARAMETER;
  ByteReader r(data);
  out.reserve(data.size() / kBufferDescriptorV1Size);
  while (r.remaining() > 0) {
    BufferDescriptorV1 d;
    d.offset = r.u64();
    d.token = r.u32();
    d.length = r.u32();
    out.push_back(d);
  }
  return r.ok() ? NtStatus::SUCCESS : NtStatus::INVALID_PARAMETER;
}

Bytes encode_buffer_descriptors(std::span<const BufferDescriptorV1> descriptors) {
  Bytes out;
  ByteWriter w(out);
  for (const auto& d : descriptors) {
    w.u64(d.offset);
    w.u32(d.token);
    w.u32(d.length);
  }
  return out;
}

}  // namespace smb
