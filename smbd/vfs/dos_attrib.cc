#include "smbd/vfs/dos_attrib.hh"

#include <charconv>
#include <string_view>

namespace smb::vfs {

namespace {

constexpr std::uint16_t kCompatVersion = 0xFFFF;

void align(ByteReader& r, std::size_t alignment) {
  const std::size_t pad = (alignment - r.position() % alignment) % alignment;
  r.skip(pad);
}

// A NUL-terminated string; false when the buffer ends first.
bool read_terminated(ByteReader& r, std::string_view& out) {
  const ByteSpan rest = r.data().subspan(r.position());
  for (std::size_t i = 0; i < rest.size(); ++i) {
    if (rest[i] == 0) {
      out = std::string_view(reinterpret_cast<const char*>(rest.data()), i);
      r.skip(i + 1);
      return true;
    }
  }
  return false;
}

// "0x20" (or "20"), as Samba's sscanf("%x") reads it.
bool parse_hex(std::string_view text, std::uint32_t& out) {
  if (text.size() > 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X')) {
    text.remove_prefix(2);
  }
  if (text.empty()) return false;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out, 16);
  return ec == std::errc{} && end != text.data();
}

}  // namespace

NtStatus decode_dos_attrib(ByteSpan in, DosAttrib& out) {
  out = DosAttrib{};
  if (in.empty() || in.size() > kMaxDosAttribXattrSize) return NtStatus::INVALID_PARAMETER;
  ByteReader r(in);
  std::string_view hex;
  if (!read_terminated(r, hex)) {
    // The oldest writers stored the bare text without its NUL.
    hex = std::string_view(reinterpret_cast<const char*>(in.data()), in.size());
    r.skip(in.size());
  }
  if (r.remaining() == 0) {
    std::uint32_t attributes = 0;
    if (!parse_hex(hex, attributes)) return NtStatus::INVALID_PARAMETER;
    out.attributes = attributes;
    return NtStatus::SUCCESS;
  }
  align(r, 2);
  const std::uint16_t version = r.u16();
  const std::uint16_t level = r.u16();
  align(r, 4);
  if (!r.ok() || version != level || version == kCompatVersion) {
    return NtStatus::INVALID_PARAMETER;
  }
  std::uint32_t valid = kDosInfoAttrib | kDosInfoCreateTime;
  std::uint32_t attributes = 0;
  std::uint64_t creation_time = 0;
  switch (version) {
    case 1:
    case 2:
    case 3: {
      if (version == 2) r.u32();  // flags
      if (version == 3) valid = r.u32();
      attributes = r.u32();
      r.u32();  // ea_size
      r.u64();  // size
      r.u64();  // alloc_size
      creation_time = r.u64();
      r.u64();  // change_time
      if (version == 2) {
        r.u64();  // write_time
        std::string_view name;
        if (!read_terminated(r, name)) return NtStatus::INVALID_PARAMETER;
      }
      // Samba reads no valid_flags in versions 1 and 2: a zero time is none.
      if (version != 3 && creation_time == 0) valid &= ~kDosInfoCreateTime;
      break;
    }
    case 4:
    case 5:
      valid = r.u32();
      attributes = r.u32();
      if (version == 4) r.u64();  // itime
      creation_time = r.u64();
      break;
    default:
      return NtStatus::INVALID_PARAMETER;
  }
  if (!r.ok()) return NtStatus::INVALID_PARAMETER;
  if ((valid & kDosInfoAttrib) != 0) out.attributes = attributes;
  if ((valid & kDosInfoCreateTime) != 0) out.creation_time = creation_time;
  return NtStatus::SUCCESS;
}

Bytes encode_dos_attrib_v5(const DosAttrib& x) {
  Bytes out;
  ByteWriter w(out);
  w.u8(0);  // attrib_hex: empty from version 4 on
  w.align(2);
  w.u16(5);
  w.u16(5);
  w.align(4);
  std::uint32_t valid = 0;
  if (x.attributes) valid |= kDosInfoAttrib;
  if (x.creation_time) valid |= kDosInfoCreateTime;
  w.u32(valid);
  w.u32(x.attributes.value_or(0));
  w.u64(x.creation_time.value_or(0));
  return out;
}

}  // namespace smb::vfs
