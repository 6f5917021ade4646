// Helpers shared by the command codecs of this directory: StructureSize checks and
// bounded views of the variable part of a body. Offsets are relative to the start of the
// 64-byte header that `pdu` begins with.
#pragma once

#include <string>

#include "smbd/base/bytes.hh"
#include "smbd/proto/header.hh"
#include "smbd/base/ntstatus.hh"

namespace smb::body {

// Bytes of the fixed part of a body whose StructureSize is `structure_size`: an odd
// size counts the first byte of the variable Buffer (MS-SMB2 2.2), which a sender may
// leave out when the buffer is empty.
constexpr std::size_t fixed_size(std::uint16_t structure_size) {
  return structure_size & ~std::size_t{1};
}

// MS-SMB2 3.3.5.2.6: a request whose StructureSize differs, or whose fixed part does not
// fit, fails with STATUS_INVALID_PARAMETER. On success `r` is positioned after the field.
inline NtStatus begin(ByteSpan pdu, std::uint16_t structure_size, ByteReader& r) {
  if (pdu.size() < kSmb2HeaderSize + fixed_size(structure_size)) return NtStatus::INVALID_PARAMETER;
  if (load_le16(&pdu[kSmb2HeaderSize]) != structure_size) return NtStatus::INVALID_PARAMETER;
  r = ByteReader(pdu, kSmb2HeaderSize + 2);
  return NtStatus::SUCCESS;
}

// The StructureSize field of a body, or 0 when the pdu is too short to hold one.
inline std::uint16_t structure_size(ByteSpan pdu) {
  return pdu.size() >= kSmb2HeaderSize + 2 ? load_le16(&pdu[kSmb2HeaderSize]) : 0;
}

// A buffer named by offset/length. An empty buffer may carry any offset; a non-empty one
// must lie after the fixed part of the body and inside the pdu.
inline bool buffer(ByteSpan pdu, std::uint64_t offset, std::uint64_t length,
                   std::uint16_t structure_size, ByteSpan& out) {
  out = {};
  if (length == 0) return true;
  if (offset < kSmb2HeaderSize + fixed_size(structure_size)) return false;
  if (!in_bounds(offset, length, pdu.size())) return false;
  out = pdu.subspan(static_cast<std::size_t>(offset), static_cast<std::size_t>(length));
  return true;
}

inline bool buffer(ByteSpan pdu, std::uint64_t offset, std::uint64_t length,
                   std::uint16_t structure_size, Bytes& out) {
  ByteSpan view;
  if (!buffer(pdu, offset, length, structure_size, view)) return false;
  out.assign(view.begin(), view.end());
  return true;
}

// A UTF-16LE name named by offset/length, converted to UTF-8.
inline bool name(ByteSpan pdu, std::uint64_t offset, std::uint64_t length,
                 std::uint16_t structure_size, std::string& out) {
  ByteSpan view;
  out.clear();
  if (!buffer(pdu, offset, length, structure_size, view)) return false;
  return utf16le_to_utf8(view, out);
}

// Where the 64-byte header of the element being encoded starts in `w`.
inline std::size_t header_start(const ByteWriter& w) {
  return w.size() >= kSmb2HeaderSize ? w.size() - kSmb2HeaderSize : 0;
}

// The offset of the writer's end relative to `header`, as a wire field.
inline std::uint64_t offset_from(const ByteWriter& w, std::size_t header) {
  return w.size() - header;
}

}  // namespace smb::body

namespace smb::body {

// Bodies that are only {StructureSize, Reserved (2 bytes)} (MS-SMB2 2.2.6, 2.2.8, ...).
inline NtStatus decode_reserved(ByteSpan pdu, std::uint16_t structure_size) {
  ByteReader r(pdu);
  return begin(pdu, structure_size, r);
}
inline void encode_reserved(ByteWriter& w, std::uint16_t structure_size) {
  w.u16(structure_size);
  w.u16(0);
}

// An odd StructureSize counts one byte of Buffer (MS-SMB2 2.2): when the variable part is
// empty that byte is still sent, as zero.
inline void pad_empty_buffer(ByteWriter& w, std::size_t header, std::uint16_t structure_size) {
  if ((structure_size & 1) != 0 &&
      w.size() - header == kSmb2HeaderSize + fixed_size(structure_size))
    w.u8(0);
}

}  // namespace smb::body
