#include "smbd/vfs/short_name.hh"

#include <locale.h>
#include <wctype.h>

#include <array>

namespace smb::vfs {

namespace {

constexpr std::string_view kBase36 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";
// How many leading characters of the long name the short name keeps (Samba's
// `mangle prefix`, default 1).
constexpr std::size_t kManglePrefix = 1;

char upper(char c) { return c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c; }

// Characters a short name may carry as they are.
bool short_name_char(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
         c == '-' || c == '$' || c == '~';
}

// Control characters and the ones NTFS forbids in names.
bool illegal_char(char c) {
  const auto u = static_cast<unsigned char>(c);
  if (u >= 1 && u <= 0x1f) return true;
  return std::string_view("*\\/?<>|\":").find(c) != std::string_view::npos;
}

// DOS device names: "CON" or "con.txt" must not be a short name as they stand.
bool reserved_name(std::string_view name) {
  static constexpr std::array<std::string_view, 12> kReserved = {
      "AUX", "LOCK$", "CON", "COM1", "COM2", "COM3", "COM4", "LPT1", "LPT2", "LPT3", "NUL", "PRN"};
  const std::string_view base = name.substr(0, name.find('.'));
  for (std::string_view r : kReserved) {
    if (base.size() != r.size()) continue;
    bool same = true;
    for (std::size_t i = 0; i < r.size() && same; ++i) same = upper(base[i]) == r[i];
    if (same) return true;
  }
  return false;
}

// A long name as Samba accepts it unmangled: no illegal character, no trailing space,
// no trailing dot (except "." and "..").
bool legal_name(std::string_view name) {
  bool all_dots = true;
  std::size_t dots = 0;
  std::size_t last_dot = std::string_view::npos;
  for (std::size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    if (static_cast<unsigned char>(c) >= 0x80) {
      all_dots = false;
      continue;  // part of a multibyte UTF-8 character, never illegal
    }
    if (illegal_char(c)) return false;
    if (c == '.') {
      last_dot = i;
      ++dots;
    } else {
      all_dots = false;
    }
    if (c == ' ' && i + 1 == name.size()) return false;
  }
  if (last_dot != std::string_view::npos) {
    if (all_dots && (dots == 1 || dots == 2)) return true;
    if (last_dot + 1 == name.size()) return false;
  }
  return true;
}

// Uppercases UTF-8 text with Unicode's simple case mapping (C.UTF-8), as Samba does
// before hashing; bytes that are not valid UTF-8 stay as they are.
std::string upper_utf8(std::string_view text) {
  static const locale_t utf8 = ::newlocale(LC_CTYPE_MASK, "C.UTF-8", static_cast<locale_t>(0));
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size();) {
    const auto b = static_cast<unsigned char>(text[i]);
    std::size_t n = b < 0x80           ? 1
                    : (b >> 5) == 0x6  ? 2
                    : (b >> 4) == 0xE  ? 3
                    : (b >> 3) == 0x1E ? 4
                                       : 0;
    bool valid = n != 0 && i + n <= text.size();
    char32_t cp = n == 1 ? b : n == 2 ? (b & 0x1F) : n == 3 ? (b & 0x0F) : (b & 0x07);
    for (std::size_t k = 1; valid && k < n; ++k) {
      const auto c = static_cast<unsigned char>(text[i + k]);
      valid = (c & 0xC0) == 0x80;
      cp = (cp << 6) | (c & 0x3F);
    }
    if (!valid) {
      out += text[i++];
      continue;
    }
    if (n == 1) {
      out += upper(text[i]);
    } else {
      const auto mapped =
          utf8 != static_cast<locale_t>(0) ? static_cast<char32_t>(::towupper_l(cp, utf8)) : cp;
      // Only a mapping that keeps the encoded length (Samba uppercases in place too).
      const std::size_t m = mapped < 0x80 ? 1 : mapped < 0x800 ? 2 : mapped < 0x10000 ? 3 : 4;
      const char32_t c = m == n ? mapped : cp;
      if (n == 2) {
        out += static_cast<char>(0xC0 | (c >> 6));
      } else if (n == 3) {
        out += static_cast<char>(0xE0 | (c >> 12));
        out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
      } else {
        out += static_cast<char>(0xF0 | (c >> 18));
        out += static_cast<char>(0x80 | ((c >> 12) & 0x3F));
        out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
      }
      out += static_cast<char>(0x80 | (c & 0x3F));
    }
    i += n;
  }
  return out;
}

// The 31-bit FNV-1 hash of the uppercased name (hash2's mangle_hash). Samba folds each
// byte in as a signed char, so bytes of 0x80 and above are sign-extended: kept for the
// same short names.
std::uint32_t mangle_hash(std::string_view key) {
  std::uint32_t value = 0xa6b93095u;
  for (char c : upper_utf8(key)) {
    value *= 0x01000193u;
    value ^= static_cast<std::uint32_t>(static_cast<std::int32_t>(static_cast<signed char>(c)));
  }
  return value & ~0x80000000u;
}

}  // namespace

bool is_8_3(std::string_view name) {
  if (name == "." || name == "..") return true;
  if (name.empty() || name.size() > 12) return false;
  const std::size_t dot = name.find('.');
  if (dot == std::string_view::npos) {
    if (name.size() > 8) return false;
  } else {
    const std::size_t prefix = dot;
    const std::size_t suffix = name.size() - dot - 1;
    if (prefix > 8 || suffix > 3 || suffix == 0) return false;
    if (name.find('.', dot + 1) != std::string_view::npos) return false;
  }
  // Only letters, digits, _ - $ ~ and the dot stand in a short name as they are.
  for (char c : name) {
    if (c != '.' && !short_name_char(c)) return false;
  }
  return true;
}

std::string mangle_8_3(std::string_view name) {
  // The extension: 1 to 3 short-name characters after the last dot, else none (and the
  // dot is then part of what is hashed).
  std::size_t dot = name.rfind('.');
  if (dot != std::string_view::npos) {
    std::size_t n = 0;
    while (n < 4 && dot + 1 + n < name.size()) {
      if (!short_name_char(name[dot + 1 + n])) {
        dot = std::string_view::npos;
        break;
      }
      ++n;
    }
    if (dot != std::string_view::npos && (n == 0 || n == 4)) dot = std::string_view::npos;
  }
  const std::string_view prefix = dot == std::string_view::npos ? name : name.substr(0, dot);

  std::string out(8, '_');
  for (std::size_t i = 0; i < kManglePrefix && i < name.size(); ++i) {
    out[i] = short_name_char(name[i]) ? upper(name[i]) : '_';
  }
  std::uint32_t v = mangle_hash(prefix);
  out[7] = kBase36[v % 36];
  out[6] = '~';
  for (std::size_t i = 6; i-- > kManglePrefix;) {
    v /= 36;
    out[i] = kBase36[v % 36];
  }
  if (dot != std::string_view::npos) {
    std::string extension;
    for (std::size_t i = dot + 1; i < name.size() && extension.size() < 3; ++i) {
      if (short_name_char(name[i])) extension += upper(name[i]);
    }
    out += '.';
    out += extension;
  }
  return out;
}

std::string short_name(std::string_view name) {
  if (!reserved_name(name) && legal_name(name) && is_8_3(name)) return {};
  return mangle_8_3(name);
}

std::string alternate_name(std::string_view name) {
  std::string mangled = short_name(name);
  return mangled.empty() ? std::string(name) : mangled;
}

}  // namespace smb::vfs
