#include "rdmaproxy/smbdirect/messages.hh"

namespace smb::smbdirect {

void encode(const NegotiateRequest& m, Bytes& out) {
  ByteWriter w(out);
  w.u16(m.min_version);
  w.u16(m.max_version);
  w.u16(0);  // Reserved
  w.u16(m.credits_requested);
  w.u32(m.preferred_send_size);
  w.u32(m.max_receive_size);
  w.u32(m.max_fragmented_size);
}

void encode(const NegotiateResponse& m, Bytes& out) {
  ByteWriter w(out);
  w.u16(m.min_version);
  w.u16(m.max_version);
  w.u16(m.negotiated_version);
  w.u16(0);  // Reserved
  w.u16(m.credits_requested);
  w.u16(m.credits_granted);
  w.u32(m.status);
  w.u32(m.max_read_write_size);
  w.u32(m.preferred_send_size);
  w.u32(m.max_receive_size);
  w.u32(m.max_fragmented_size);
}

void encode_data_transfer_header(std::uint16_t credits_requested, std::uint16_t credits_granted,
                                 std::uint16_t flags, std::uint32_t remaining_data_length,
                                 std::uint32_t data_length, MutableByteSpan out) {
  std::uint8_t* p = out.data();
  store_le16(p, credits_requested);
  store_le16(p + 2, credits_granted);
  store_le16(p + 4, flags);
  store_le16(p + 6, 0);  // Reserved
  store_le32(p + 8, remaining_data_length);
  store_le32(p + 12, data_length ? static_cast<std::uint32_t>(kDataTransferHeaderSize) : 0);
  store_le32(p + 16, data_length);
  store_le32(p + 20, 0);  // Padding
}

NtStatus decode(ByteSpan message, NegotiateRequest& out) {
  if (message.size() < kNegotiateRequestSize) return NtStatus::INVALID_PARAMETER;
  ByteReader r(message);
  out.min_version = r.u16();
  out.max_version = r.u16();
  r.skip(2);
  out.credits_requested = r.u16();
  out.preferred_send_size = r.u32();
  out.max_receive_size = r.u32();
  out.max_fragmented_size = r.u32();
  return r.ok() ? NtStatus::SUCCESS : NtStatus::INVALID_PARAMETER;
}

NtStatus decode(ByteSpan message, NegotiateResponse& out) {
  if (message.size() < kNegotiateResponseSize) return NtStatus::INVALID_PARAMETER;
  ByteReader r(message);
  out.min_version = r.u16();
  out.max_version = r.u16();
  out.negotiated_version = r.u16();
  r.skip(2);
  out.credits_requested = r.u16();
  out.credits_granted = r.u16();
  out.status = r.u32();
  out.max_read_write_size = r.u32();
  out.preferred_send_size = r.u32();
  out.max_receive_size = r.u32();
  out.max_fragmented_size = r.u32();
  return r.ok() ? NtStatus::SUCCESS : NtStatus::INVALID_PARAMETER;
}

RequestVerdict check_negotiate_request(const NegotiateRequest& m) {
  // 3.1.5.6: the range [MinVersion, MaxVersion] must include 0x0100.
  if (m.min_version > kVersion1 || m.max_version < kVersion1) return RequestVerdict::not_supported;
  if (m.credits_requested == 0 || m.max_receive_size < kMinReceiveSize ||
      m.max_fragmented_size < kMinFragmentedSize)
    return RequestVerdict::terminate;
  return RequestVerdict::accept;
}

bool check_negotiate_response(const NegotiateResponse& m, std::uint32_t local_max_receive_size) {
  // 3.1.5.7, every condition.
  return m.negotiated_version == kVersion1 && m.max_receive_size >= kMinReceiveSize &&
         m.max_fragmented_size >= kMinFragmentedSize && m.credits_granted > 0 &&
         m.credits_requested > 0 && m.preferred_send_size <= local_max_receive_size &&
         m.status == 0;
}

NtStatus decode_data_transfer(ByteSpan message, std::uint32_t max_fragmented_recv_size,
                              DataTransfer& out) {
  if (message.size() < kDataTransferMinSize) return NtStatus::INVALID_PARAMETER;
  ByteReader r(message);
  out.credits_requested = r.u16();
  out.credits_granted = r.u16();
  out.flags = r.u16();
  r.skip(2);
  out.remaining_data_length = r.u32();
  out.data_offset = r.u32();
  out.data_length = r.u32();
  if (!r.ok()) return NtStatus::INVALID_PARAMETER;
  if (out.credits_requested == 0) return NtStatus::INVALID_PARAMETER;
  if (out.data_offset % 8 != 0) return NtStatus::INVALID_PARAMETER;
  // Payload never overlaps the header fields (2.2.3: Padding then Buffer).
  if (out.data_length > 0 && out.data_offset < kDataTransferHeaderSize)
    return NtStatus::INVALID_PARAMETER;
  if (!r.slice(out.data_offset, out.data_length, out.data)) return NtStatus::INVALID_PARAMETER;
  if (std::uint64_t{out.data_length} + out.remaining_data_length > max_fragmented_recv_size)
    return NtStatus::INVALID_PARAMETER;
  return NtStatus::SUCCESS;
}

}  // namespace smb::smbdirect
