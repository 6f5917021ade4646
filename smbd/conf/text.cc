#include "smbd/conf/text.hh"

#include <algorithm>

namespace smb::conf {

namespace {
bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f'; }
}  // namespace

char ascii_lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return ascii_lower(x) == ascii_lower(y);
         });
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

std::string normalize_name(std::string_view name) {
  std::string out;
  for (char c : name)
    if (!is_space(c)) out.push_back(ascii_lower(c));
  return out;
}

std::optional<bool> parse_bool(std::string_view value) {
  value = trim(value);
  for (std::string_view t : {"yes", "true", "1", "on"})
    if (iequals(value, t)) return true;
  for (std::string_view f : {"no", "false", "0", "off"})
    if (iequals(value, f)) return false;
  return std::nullopt;
}

std::optional<std::uint64_t> parse_number(std::string_view value, std::uint64_t min,
                                          std::uint64_t max, bool allow_suffix) {
  value = trim(value);
  if (value.empty()) return std::nullopt;
  std::uint64_t multiplier = 1;
  if (allow_suffix) {
    switch (ascii_lower(value.back())) {
      case 'k':
        multiplier = 1ull << 10;
        break;
      case 'm':
        multiplier = 1ull << 20;
        break;
      case 'g':
        multiplier = 1ull << 30;
        break;
      default:
        break;
    }
    if (multiplier != 1) value = trim(value.substr(0, value.size() - 1));
  }
  if (value.empty() || value.size() > 19) return std::nullopt;
  std::uint64_t n = 0;
  for (char c : value) {
    if (c < '0' || c > '9') return std::nullopt;
    n = n * 10 + static_cast<std::uint64_t>(c - '0');
  }
  // At most 19 digits and a multiplier of 2^30: check before multiplying.
  if (n > max / multiplier) return std::nullopt;
  n *= multiplier;
  if (n < min) return std::nullopt;
  return n;
}

std::vector<std::string> split_list(std::string_view value) {
  std::vector<std::string> items;
  std::string current;
  bool quoted = false;
  bool have = false;
  for (char c : value) {
    if (c == '"') {
      quoted = !quoted;
      have = true;
    } else if (!quoted && (is_space(c) || c == ',')) {
      if (have) items.push_back(std::move(current));
      current.clear();
      have = false;
    } else {
      current.push_back(c);
      have = true;
    }
  }
  if (have) items.push_back(std::move(current));
  // "" alone is not a name.
  std::erase_if(items, [](const std::string& s) { return s.empty(); });
  return items;
}

}  // namespace smb::conf
