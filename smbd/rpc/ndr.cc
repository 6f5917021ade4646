#include "smbd/rpc/ndr.hh"

#include <algorithm>

namespace smb::rpc {

namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

std::optional<Uuid> Uuid::parse(std::string_view text) {
  // Canonical layout: 8-4-4-4-12 hex digits.
  if (text.size() != 36 || text[8] != '-' || text[13] != '-' || text[18] != '-' ||
      text[23] != '-') {
    return std::nullopt;
  }
  std::array<std::uint8_t, 16> raw{};  // in textual (big-endian) order
  std::size_t n = 0;
  for (std::size_t i = 0; i < text.size();) {
    if (text[i] == '-') {
      ++i;
      continue;
    }
    int hi = hex_value(text[i]);
    int lo = i + 1 < text.size() ? hex_value(text[i + 1]) : -1;
    if (hi < 0 || lo < 0 || n >= raw.size()) return std::nullopt;
    raw[n++] = static_cast<std::uint8_t>(hi * 16 + lo);
    i += 2;
  }
  if (n != raw.size()) return std::nullopt;
  // [C706] Appendix A: the first three fields are integers, sent in the sender's (here
  // little-endian) byte order; the last eight octets are sent as they are written.
  Uuid u;
  const int order[16] = {3, 2, 1, 0, 5, 4, 7, 6, 8, 9, 10, 11, 12, 13, 14, 15};
  for (int i = 0; i < 16; ++i) u.bytes[static_cast<std::size_t>(i)] = raw[order[i]];
  return u;
}

std::string Uuid::to_string() const {
  static constexpr char kHex[] = "0123456789abcdef";
  const int order[16] = {3, 2, 1, 0, 5, 4, 7, 6, 8, 9, 10, 11, 12, 13, 14, 15};
  std::string s;
  for (int i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) s.push_back('-');
    std::uint8_t b = bytes[static_cast<std::size_t>(order[i])];
    s.push_back(kHex[b >> 4]);
    s.push_back(kHex[b & 15]);
  }
  return s;
}

bool Uuid::is_nil() const {
  return std::all_of(bytes.begin(), bytes.end(), [](std::uint8_t b) { return b == 0; });
}

void put_syntax(ByteWriter& w, const SyntaxId& s) {
  w.bytes(s.uuid.bytes);
  w.u16(s.major);
  w.u16(s.minor);
}

SyntaxId get_syntax(ByteReader& r) {
  SyntaxId s;
  r.copy(s.uuid.bytes);
  s.major = r.u16();
  s.minor = r.u16();
  return s;
}

const SyntaxId& ndr20_syntax() {
  static const SyntaxId s{*Uuid::parse("8a885d04-1ceb-11c9-9fe8-08002b104860"), 2, 0};
  return s;
}

const SyntaxId& ndr64_syntax() {
  static const SyntaxId s{*Uuid::parse("71710533-beba-4937-8319-b5dbef9ccc36"), 1, 0};
  return s;
}

bool is_bind_time_feature_syntax(const SyntaxId& s) {
  // Prefix 6cb71c2c-9812-4540 in wire order: 2c 1c b7 6c 12 98 40 45.
  static constexpr std::uint8_t kPrefix[8] = {0x2c, 0x1c, 0xb7, 0x6c, 0x12, 0x98, 0x40, 0x45};
  return std::equal(std::begin(kPrefix), std::end(kPrefix), s.uuid.bytes.begin());
}

void NdrReader::align(std::size_t n) {
  std::size_t pad = (n - r_.position() % n) % n;
  r_.skip(pad);
}

NdrReader::FullPointer NdrReader::full_pointer() {
  FullPointer p;
  p.id = u32();
  if (p.id != 0 && ok()) p.first = seen_full_.insert(p.id).second;
  return p;
}

bool NdrReader::wstring(std::string& out) {
  std::uint32_t max_count = u32();
  std::uint32_t offset = u32();
  std::uint32_t actual = u32();
  if (!ok()) return false;
  // [C706] 14.3.3.3: the transmitted part [offset, offset + actual) lies within the
  // conformance; computed in 64 bits so no value of the three counts can wrap.
  if (static_cast<std::uint64_t>(offset) + actual > max_count || actual == 0 ||
      actual > kMaxStringChars || static_cast<std::uint64_t>(actual) * 2 > r_.remaining()) {
    fail();
    return false;
  }
  ByteSpan units = r_.bytes(static_cast<std::size_t>(actual) * 2);
  std::size_t chars = 0;
  while (chars < actual && load_le16(&units[chars * 2]) != 0) ++chars;
  if (chars == actual) {  // [string] requires a terminating NUL in the transmitted part
    fail();
    return false;
  }
  if (!utf16le_to_utf8(units.first(chars * 2), out)) {
    fail();
    return false;
  }
  return true;
}

bool NdrReader::array_count(std::size_t element_size, std::uint32_t& count) {
  count = u32();
  if (!ok()) return false;
  if (static_cast<std::uint64_t>(count) * element_size > r_.remaining()) {
    fail();
    return false;
  }
  return true;
}

std::uint32_t NdrWriter::unique_pointer(bool present) {
  std::uint32_t id = present ? next_id() : 0;
  u32(id);
  return id;
}

NdrWriter::FullPointer NdrWriter::full_pointer(const void* object) {
  FullPointer p;
  if (object != nullptr) {
    auto it = std::find_if(full_ids_.begin(), full_ids_.end(),
                           [object](const auto& e) { return e.first == object; });
    if (it != full_ids_.end()) {
      p.id = it->second;
    } else {
      p.id = next_id();
      p.first = true;
      full_ids_.emplace_back(object, p.id);
    }
  }
  u32(p.id);
  return p;
}

void NdrWriter::wstring(std::string_view utf8) {
  Bytes units;
  utf8_to_utf16le(utf8, units);
  units.push_back(0);
  units.push_back(0);
  auto count = static_cast<std::uint32_t>(units.size() / 2);
  u32(count);  // max_count
  u32(0);      // offset
  u32(count);  // actual_count
  w_.bytes(units);
}

}  // namespace smb::rpc
