#include "smbd/base/bytes.hh"

namespace smb {

bool utf16le_to_utf8(ByteSpan in, std::string& out) {
  out.clear();
  if (in.size() % 2 != 0) return false;
  out.reserve(in.size() / 2);
  for (std::size_t i = 0; i < in.size(); i += 2) {
    std::uint32_t unit = load_le16(&in[i]);
    std::uint32_t cp = unit;
    if (unit >= 0xD800 && unit <= 0xDBFF) {
      if (i + 3 >= in.size()) return false;
      std::uint32_t low = load_le16(&in[i + 2]);
      if (low < 0xDC00 || low > 0xDFFF) return false;
      cp = 0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00);
      i += 2;
    } else if (unit >= 0xDC00 && unit <= 0xDFFF) {
      return false;
    }
    if (cp < 0x80) {
      out.push_back(static_cast<char>(cp));
    } else if (cp < 0x800) {
      out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
      out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else if (cp < 0x10000) {
      out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
      out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else {
      out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
      out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    }
  }
  return true;
}

namespace {
void put_unit(Bytes& out, std::uint32_t unit) {
  out.push_back(static_cast<std::uint8_t>(unit));
  out.push_back(static_cast<std::uint8_t>(unit >> 8));
}
}  // namespace

// Decodes the strict UTF-8 code point at `i` (no overlongs, no surrogates) and moves `i`
// past it; false on invalid input.
bool decode_utf8_code_point(std::string_view in, std::size_t& i, char32_t& out) {
  auto c = static_cast<std::uint8_t>(in[i]);
  char32_t cp;
  std::size_t extra;
  if (c < 0x80) {
    cp = c;
    extra = 0;
  } else if ((c & 0xE0) == 0xC0) {
    cp = c & 0x1F;
    extra = 1;
  } else if ((c & 0xF0) == 0xE0) {
    cp = c & 0x0F;
    extra = 2;
  } else if ((c & 0xF8) == 0xF0) {
    cp = c & 0x07;
    extra = 3;
  } else {
    return false;
  }
  if (extra >= in.size() - i) return false;
  for (std::size_t k = 1; k <= extra; ++k) {
    auto cc = static_cast<std::uint8_t>(in[i + k]);
    if ((cc & 0xC0) != 0x80) return false;
    cp = (cp << 6) | (cc & 0x3F);
  }
  static constexpr char32_t min_for_length[] = {0, 0x80, 0x800, 0x10000};
  if (cp < min_for_length[extra] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
    return false;
  }
  out = cp;
  i += extra + 1;
  return true;
}

void utf8_to_utf16le(std::string_view in, Bytes& out) {
  constexpr std::uint32_t replacement = 0xFFFD;
  std::size_t i = 0;
  while (i < in.size()) {
    char32_t cp;
    if (!decode_utf8_code_point(in, i, cp)) {
      put_unit(out, replacement);
      ++i;
      continue;
    }
    if (cp >= 0x10000) {
      cp -= 0x10000;
      put_unit(out, 0xD800 + (cp >> 10));
      put_unit(out, 0xDC00 + (cp & 0x3FF));
    } else {
      put_unit(out, cp);
    }
  }
}

}  // namespace smb
