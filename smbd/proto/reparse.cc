#include "smbd/proto/reparse.hh"

namespace smb {

namespace {

// From SubstituteNameOffset to the end of PathBuffer, after the field at offset 6 that
// is Reserved in the reparse data and UnparsedPathLength in the error response.
void encode_link_body(const SymbolicLinkReparse& link, ByteWriter& w) {
  const Bytes substitute = utf16le(link.substitute_name);
  const Bytes print = utf16le(link.print_name);
  w.u16(0);
  w.u16(static_cast<std::uint16_t>(substitute.size()));
  w.u16(static_cast<std::uint16_t>(substitute.size()));
  w.u16(static_cast<std::uint16_t>(print.size()));
  w.u32(link.flags);
  w.bytes(substitute);
  w.bytes(print);
}

// ReparseDataLength: the bytes after Reserved (or UnparsedPathLength).
std::size_t link_body_size(const SymbolicLinkReparse& link) {
  return 12 + utf16le(link.substitute_name).size() + utf16le(link.print_name).size();
}

}  // namespace

Bytes encode_reparse(const SymbolicLinkReparse& link) {
  Bytes out;
  ByteWriter w(out);
  w.u32(IO_REPARSE_TAG_SYMLINK);
  w.u16(static_cast<std::uint16_t>(link_body_size(link)));
  w.u16(0);  // Reserved
  encode_link_body(link, w);
  return out;
}

NtStatus decode_reparse(ByteSpan buffer, SymbolicLinkReparse& out) {
  ByteReader r(buffer);
  const std::uint32_t tag = r.u32();
  const std::uint16_t data_length = r.u16();
  r.skip(2);
  if (!r.ok()) return NtStatus::INVALID_PARAMETER;
  if (tag != IO_REPARSE_TAG_SYMLINK) return NtStatus::NOT_SUPPORTED;
  ByteReader data(r.bytes(data_length));
  if (!r.ok()) return NtStatus::INVALID_PARAMETER;
  const std::uint16_t substitute_offset = data.u16();
  const std::uint16_t substitute_length = data.u16();
  const std::uint16_t print_offset = data.u16();
  const std::uint16_t print_length = data.u16();
  SymbolicLinkReparse link;
  link.flags = data.u32();
  if (!data.ok()) return NtStatus::INVALID_PARAMETER;
  const ByteSpan path = data.bytes(data.remaining());
  // Offsets and lengths are 16-bit: their sums cannot overflow a size_t.
  if (std::size_t{substitute_offset} + substitute_length > path.size() ||
      std::size_t{print_offset} + print_length > path.size() ||
      !utf16le_to_utf8(path.subspan(substitute_offset, substitute_length), link.substitute_name) ||
      !utf16le_to_utf8(path.subspan(print_offset, print_length), link.print_name))
    return NtStatus::INVALID_PARAMETER;
  out = std::move(link);
  return NtStatus::SUCCESS;
}

Bytes encode_symlink_error(const SymbolicLinkReparse& link, std::uint16_t unparsed_path_length) {
  const std::size_t body = link_body_size(link);
  Bytes out;
  ByteWriter w(out);
  // SymLinkLength: everything after itself.
  w.u32(static_cast<std::uint32_t>(4 + 4 + 2 + 2 + body));
  w.u32(kSymLinkErrorTag);
  w.u32(IO_REPARSE_TAG_SYMLINK);
  w.u16(static_cast<std::uint16_t>(body));
  w.u16(unparsed_path_length);
  encode_link_body(link, w);
  return out;
}

}  // namespace smb
