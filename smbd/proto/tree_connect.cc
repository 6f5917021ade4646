#include "smbd/proto/tree_connect.hh"

#include "smbd/proto/body.hh"

namespace smb {

namespace {

constexpr std::uint16_t kRequestSize = 9;    // MS-SMB2 2.2.9
constexpr std::uint16_t kResponseSize = 16;  // MS-SMB2 2.2.10
constexpr std::size_t kExtensionSize = 16;   // MS-SMB2 2.2.9.1 before PathName

}  // namespace

NtStatus decode(ByteSpan pdu, TreeConnectRequest& out) {
  ByteReader r(pdu);
  if (NtStatus s = body::begin(pdu, kRequestSize, r); s != NtStatus::SUCCESS) return s;
  TreeConnectRequest q;
  q.flags = r.u16();
  std::uint16_t path_offset = r.u16();
  std::uint16_t path_length = r.u16();
  if (!r.ok() || !body::name(pdu, path_offset, path_length, kRequestSize, q.path))
    return NtStatus::INVALID_PARAMETER;
  if ((q.flags & kTreeConnectFlagExtensionPresent) != 0) {
    const std::uint64_t body_start = kSmb2HeaderSize;
    const std::uint64_t ext = kSmb2HeaderSize + body::fixed_size(kRequestSize);
    if (!in_bounds(ext, kExtensionSize, pdu.size())) return NtStatus::INVALID_PARAMETER;
    std::uint64_t offset = load_le32(&pdu[ext]);
    std::uint64_t count = load_le16(&pdu[ext + 4]);
    std::uint64_t at = body_start + offset;
    for (std::uint64_t i = 0; i < count; ++i) {
      // MS-SMB2 2.2.9.2: {ContextType, DataLength, Reserved (4), Data}, 8-byte aligned.
      if (i > 0) at = (at + 7) & ~std::uint64_t{7};
      if (at < ext + kExtensionSize || !in_bounds(at, 8, pdu.size()))
        return NtStatus::INVALID_PARAMETER;
      std::uint64_t length = load_le16(&pdu[at + 2]);
      if (!in_bounds(at + 8, length, pdu.size())) return NtStatus::INVALID_PARAMETER;
      auto data = pdu.subspan(static_cast<std::size_t>(at + 8), static_cast<std::size_t>(length));
      q.contexts.push_back(
          TreeConnectContext{load_le16(&pdu[at]), Bytes(data.begin(), data.end())});
      at += 8 + length;
    }
  }
  out = std::move(q);
  return NtStatus::SUCCESS;
}

void encode(const TreeConnectRequest& q, ByteWriter& w) {
  std::size_t header = body::header_start(w);
  bool extension = (q.flags & kTreeConnectFlagExtensionPresent) != 0;
  Bytes path = utf16le(q.path);
  w.u16(kRequestSize);
  w.u16(q.flags);
  std::uint64_t path_offset =
      kSmb2HeaderSize + body::fixed_size(kRequestSize) + (extension ? kExtensionSize : 0);
  w.u16(static_cast<std::uint16_t>(path_offset));
  w.u16(static_cast<std::uint16_t>(path.size()));
  if (extension) {
    std::size_t offset_at = w.size();
    w.u32(0);
    w.u16(static_cast<std::uint16_t>(q.contexts.size()));
    w.zeros(10);
    w.bytes(path);
    for (std::size_t i = 0; i < q.contexts.size(); ++i) {
      w.align(8, header);
      if (i == 0)
        w.patch_u32(offset_at, static_cast<std::uint32_t>(w.size() - header - kSmb2HeaderSize));
      w.u16(q.contexts[i].type);
      w.u16(static_cast<std::uint16_t>(q.contexts[i].data.size()));
      w.u32(0);
      w.bytes(q.contexts[i].data);
    }
  } else {
    w.bytes(path);
  }
  body::pad_empty_buffer(w, header, kRequestSize);
}

NtStatus decode(ByteSpan pdu, TreeConnectResponse& out) {
  ByteReader r(pdu);
  if (NtStatus s = body::begin(pdu, kResponseSize, r); s != NtStatus::SUCCESS) return s;
  TreeConnectResponse p;
  p.share_type = r.u8();
  r.skip(1);
  p.share_flags = r.u32();
  p.capabilities = r.u32();
  p.maximal_access = r.u32();
  if (!r.ok()) return NtStatus::INVALID_PARAMETER;
  out = p;
  return NtStatus::SUCCESS;
}

void encode(const TreeConnectResponse& p, ByteWriter& w) {
  w.u16(kResponseSize);
  w.u8(p.share_type);
  w.u8(0);
  w.u32(p.share_flags);
  w.u32(p.capabilities);
  w.u32(p.maximal_access);
}

}  // namespace smb
