#include "smbd/vfs/names.hh"

#include "smbd/base/bytes.hh"

#include <algorithm>
#include <climits>
#include <cstdint>
#include <iterator>

namespace smb::vfs {

namespace {

// Runs of the Unicode 14.0 simple uppercase mapping (UnicodeData.txt field 12) for
// the BMP: every `stride`-th code point in [lo, hi] maps to itself plus `delta`.
struct UpcaseRun {
  std::uint16_t lo;
  std::uint16_t hi;
  std::int32_t delta;
  std::uint8_t stride;
};

constexpr UpcaseRun kUpcaseRuns[] = {
    {0x0061, 0x007A, -32, 1},    {0x00B5, 0x00B5, 743, 1},   {0x00E0, 0x00F6, -32, 1},
    {0x00F8, 0x00FE, -32, 1},    {0x00FF, 0x00FF, 121, 1},   {0x0101, 0x012F, -1, 2},
    {0x0131, 0x0131, -232, 1},   {0x0133, 0x0137, -1, 2},    {0x013A, 0x0148, -1, 2},
    {0x014B, 0x0177, -1, 2},     {0x017A, 0x017E, -1, 2},    {0x017F, 0x017F, -300, 1},
    {0x0180, 0x0180, 195, 1},    {0x0183, 0x0185, -1, 2},    {0x0188, 0x0188, -1, 1},
    {0x018C, 0x018C, -1, 1},     {0x0192, 0x0192, -1, 1},    {0x0195, 0x0195, 97, 1},
    {0x0199, 0x0199, -1, 1},     {0x019A, 0x019A, 163, 1},   {0x019E, 0x019E, 130, 1},
    {0x01A1, 0x01A5, -1, 2},     {0x01A8, 0x01A8, -1, 1},    {0x01AD, 0x01AD, -1, 1},
    {0x01B0, 0x01B0, -1, 1},     {0x01B4, 0x01B6, -1, 2},    {0x01B9, 0x01B9, -1, 1},
    {0x01BD, 0x01BD, -1, 1},     {0x01BF, 0x01BF, 56, 1},    {0x01C5, 0x01C5, -1, 1},
    {0x01C6, 0x01C6, -2, 1},     {0x01C8, 0x01C8, -1, 1},    {0x01C9, 0x01C9, -2, 1},
    {0x01CB, 0x01CB, -1, 1},     {0x01CC, 0x01CC, -2, 1},    {0x01CE, 0x01DC, -1, 2},
    {0x01DD, 0x01DD, -79, 1},    {0x01DF, 0x01EF, -1, 2},    {0x01F2, 0x01F2, -1, 1},
    {0x01F3, 0x01F3, -2, 1},     {0x01F5, 0x01F5, -1, 1},    {0x01F9, 0x021F, -1, 2},
    {0x0223, 0x0233, -1, 2},     {0x023C, 0x023C, -1, 1},    {0x023F, 0x0240, 10815, 1},
    {0x0242, 0x0242, -1, 1},     {0x0247, 0x024F, -1, 2},    {0x0250, 0x0250, 10783, 1},
    {0x0251, 0x0251, 10780, 1},  {0x0252, 0x0252, 10782, 1}, {0x0253, 0x0253, -210, 1},
    {0x0254, 0x0254, -206, 1},   {0x0256, 0x0257, -205, 1},  {0x0259, 0x0259, -202, 1},
    {0x025B, 0x025B, -203, 1},   {0x025C, 0x025C, 42319, 1}, {0x0260, 0x0260, -205, 1},
    {0x0261, 0x0261, 42315, 1},  {0x0263, 0x0263, -207, 1},  {0x0265, 0x0265, 42280, 1},
    {0x0266, 0x0266, 42308, 1},  {0x0268, 0x0268, -209, 1},  {0x0269, 0x0269, -211, 1},
    {0x026A, 0x026A, 42308, 1},  {0x026B, 0x026B, 10743, 1}, {0x026C, 0x026C, 42305, 1},
    {0x026F, 0x026F, -211, 1},   {0x0271, 0x0271, 10749, 1}, {0x0272, 0x0272, -213, 1},
    {0x0275, 0x0275, -214, 1},   {0x027D, 0x027D, 10727, 1}, {0x0280, 0x0280, -218, 1},
    {0x0282, 0x0282, 42307, 1},  {0x0283, 0x0283, -218, 1},  {0x0287, 0x0287, 42282, 1},
    {0x0288, 0x0288, -218, 1},   {0x0289, 0x0289, -69, 1},   {0x028A, 0x028B, -217, 1},
    {0x028C, 0x028C, -71, 1},    {0x0292, 0x0292, -219, 1},  {0x029D, 0x029D, 42261, 1},
    {0x029E, 0x029E, 42258, 1},  {0x0345, 0x0345, 84, 1},    {0x0371, 0x0373, -1, 2},
    {0x0377, 0x0377, -1, 1},     {0x037B, 0x037D, 130, 1},   {0x03AC, 0x03AC, -38, 1},
    {0x03AD, 0x03AF, -37, 1},    {0x03B1, 0x03C1, -32, 1},   {0x03C2, 0x03C2, -31, 1},
    {0x03C3, 0x03CB, -32, 1},    {0x03CC, 0x03CC, -64, 1},   {0x03CD, 0x03CE, -63, 1},
    {0x03D0, 0x03D0, -62, 1},    {0x03D1, 0x03D1, -57, 1},   {0x03D5, 0x03D5, -47, 1},
    {0x03D6, 0x03D6, -54, 1},    {0x03D7, 0x03D7, -8, 1},    {0x03D9, 0x03EF, -1, 2},
    {0x03F0, 0x03F0, -86, 1},    {0x03F1, 0x03F1, -80, 1},   {0x03F2, 0x03F2, 7, 1},
    {0x03F3, 0x03F3, -116, 1},   {0x03F5, 0x03F5, -96, 1},   {0x03F8, 0x03F8, -1, 1},
    {0x03FB, 0x03FB, -1, 1},     {0x0430, 0x044F, -32, 1},   {0x0450, 0x045F, -80, 1},
    {0x0461, 0x0481, -1, 2},     {0x048B, 0x04BF, -1, 2},    {0x04C2, 0x04CE, -1, 2},
    {0x04CF, 0x04CF, -15, 1},    {0x04D1, 0x052F, -1, 2},    {0x0561, 0x0586, -48, 1},
    {0x10D0, 0x10FA, 3008, 1},   {0x10FD, 0x10FF, 3008, 1},  {0x13F8, 0x13FD, -8, 1},
    {0x1C80, 0x1C80, -6254, 1},  {0x1C81, 0x1C81, -6253, 1}, {0x1C82, 0x1C82, -6244, 1},
    {0x1C83, 0x1C84, -6242, 1},  {0x1C85, 0x1C85, -6243, 1}, {0x1C86, 0x1C86, -6236, 1},
    {0x1C87, 0x1C87, -6181, 1},  {0x1C88, 0x1C88, 35266, 1}, {0x1D79, 0x1D79, 35332, 1},
    {0x1D7D, 0x1D7D, 3814, 1},   {0x1D8E, 0x1D8E, 35384, 1}, {0x1E01, 0x1E95, -1, 2},
    {0x1E9B, 0x1E9B, -59, 1},    {0x1EA1, 0x1EFF, -1, 2},    {0x1F00, 0x1F07, 8, 1},
    {0x1F10, 0x1F15, 8, 1},      {0x1F20, 0x1F27, 8, 1},     {0x1F30, 0x1F37, 8, 1},
    {0x1F40, 0x1F45, 8, 1},      {0x1F51, 0x1F57, 8, 2},     {0x1F60, 0x1F67, 8, 1},
    {0x1F70, 0x1F71, 74, 1},     {0x1F72, 0x1F75, 86, 1},    {0x1F76, 0x1F77, 100, 1},
    {0x1F78, 0x1F79, 128, 1},    {0x1F7A, 0x1F7B, 112, 1},   {0x1F7C, 0x1F7D, 126, 1},
    {0x1F80, 0x1F87, 8, 1},      {0x1F90, 0x1F97, 8, 1},     {0x1FA0, 0x1FA7, 8, 1},
    {0x1FB0, 0x1FB1, 8, 1},      {0x1FB3, 0x1FB3, 9, 1},     {0x1FBE, 0x1FBE, -7205, 1},
    {0x1FC3, 0x1FC3, 9, 1},      {0x1FD0, 0x1FD1, 8, 1},     {0x1FE0, 0x1FE1, 8, 1},
    {0x1FE5, 0x1FE5, 7, 1},      {0x1FF3, 0x1FF3, 9, 1},     {0x214E, 0x214E, -28, 1},
    {0x2170, 0x217F, -16, 1},    {0x2184, 0x2184, -1, 1},    {0x24D0, 0x24E9, -26, 1},
    {0x2C30, 0x2C5F, -48, 1},    {0x2C61, 0x2C61, -1, 1},    {0x2C65, 0x2C65, -10795, 1},
    {0x2C66, 0x2C66, -10792, 1}, {0x2C68, 0x2C6C, -1, 2},    {0x2C73, 0x2C73, -1, 1},
    {0x2C76, 0x2C76, -1, 1},     {0x2C81, 0x2CE3, -1, 2},    {0x2CEC, 0x2CEE, -1, 2},
    {0x2CF3, 0x2CF3, -1, 1},     {0x2D00, 0x2D25, -7264, 1}, {0x2D27, 0x2D27, -7264, 1},
    {0x2D2D, 0x2D2D, -7264, 1},  {0xA641, 0xA66D, -1, 2},    {0xA681, 0xA69B, -1, 2},
    {0xA723, 0xA72F, -1, 2},     {0xA733, 0xA76F, -1, 2},    {0xA77A, 0xA77C, -1, 2},
    {0xA77F, 0xA787, -1, 2},     {0xA78C, 0xA78C, -1, 1},    {0xA791, 0xA793, -1, 2},
    {0xA794, 0xA794, 48, 1},     {0xA797, 0xA7A9, -1, 2},    {0xA7B5, 0xA7C3, -1, 2},
    {0xA7C8, 0xA7CA, -1, 2},     {0xA7D1, 0xA7D1, -1, 1},    {0xA7D7, 0xA7D9, -1, 2},
    {0xA7F6, 0xA7F6, -1, 1},     {0xAB53, 0xAB53, -928, 1},  {0xAB70, 0xABBF, -38864, 1},
    {0xFF41, 0xFF5A, -32, 1},
};

bool is_illegal_char(char32_t c) {
  // [MS-FSCC] 2.1.5.2: control characters and " * / : < > ? \ | are not allowed.
  if (c < 0x20) return true;
  switch (c) {
    case '"':
    case '*':
    case '/':
    case ':':
    case '<':
    case '>':
    case '?':
    case '\\':
    case '|':
      return true;
    default:
      return false;
  }
}


}  // namespace

bool decode_utf8(std::string_view in, std::u32string& out) {
  out.clear();
  out.reserve(in.size());
  std::size_t i = 0;
  while (i < in.size()) {
    char32_t cp;
    if (!smb::decode_utf8_code_point(in, i, cp)) return false;
    out.push_back(cp);
  }
  return true;
}

std::size_t utf16_length(std::string_view s) {
  std::size_t units = 0;
  for (char ch : s) {
    auto c = static_cast<std::uint8_t>(ch);
    if ((c & 0xC0) == 0x80) continue;  // continuation byte
    units += (c >= 0xF0) ? 2 : 1;      // four-byte sequences need a surrogate pair
  }
  return units;
}

char32_t nt_upcase(char32_t c) {
  if (c < 0x61 || c > 0xFFFF) return c;
  // Last run whose lo <= c.
  std::size_t lo = 0;
  std::size_t hi = std::size(kUpcaseRuns);
  while (lo < hi) {
    std::size_t mid = (lo + hi) / 2;
    if (kUpcaseRuns[mid].lo <= c) {
      lo = mid + 1;
    } else {
      hi = mid;
    }
  }
  if (lo == 0) return c;
  const UpcaseRun& run = kUpcaseRuns[lo - 1];
  if (c > run.hi || (c - run.lo) % run.stride != 0) return c;
  return static_cast<char32_t>(static_cast<std::int32_t>(c) + run.delta);
}

bool names_equal_ci(std::string_view a, std::string_view b) {
  if (a == b) return true;
  std::u32string ua;
  std::u32string ub;
  if (!decode_utf8(a, ua) || !decode_utf8(b, ub)) return false;
  if (ua.size() != ub.size()) return false;
  for (std::size_t i = 0; i < ua.size(); ++i) {
    if (nt_upcase(ua[i]) != nt_upcase(ub[i])) return false;
  }
  return true;
}

NtStatus validate_component(std::string_view name) {
  if (name.empty() || name == "." || name == "..") return NtStatus::OBJECT_NAME_INVALID;
  std::u32string cps;
  if (!decode_utf8(name, cps)) return NtStatus::OBJECT_NAME_INVALID;
  std::size_t units = 0;
  for (char32_t c : cps) {
    if (is_illegal_char(c)) return NtStatus::OBJECT_NAME_INVALID;
    units += c > 0xFFFF ? 2 : 1;
  }
  if (units > kMaxComponentUtf16) return NtStatus::OBJECT_NAME_INVALID;
  // A legal NT name that the POSIX file system cannot store (UTF-8 longer than NAME_MAX).
  if (name.size() > NAME_MAX) return NtStatus::NAME_TOO_LONG;
  return NtStatus::SUCCESS;
}

NtStatus split_path(std::string_view smb_path, std::vector<std::string_view>& components) {
  components.clear();
  if (!smb_path.empty() && smb_path.front() == '\\') smb_path.remove_prefix(1);
  if (smb_path.empty()) return NtStatus::SUCCESS;
  if (utf16_length(smb_path) > kMaxPathUtf16) return NtStatus::OBJECT_NAME_INVALID;
  // The on-disk relative path must fit in PATH_MAX with its terminator.
  if (smb_path.size() >= PATH_MAX) return NtStatus::NAME_TOO_LONG;
  std::size_t start = 0;
  while (true) {
    std::size_t end = smb_path.find('\\', start);
    std::string_view part = smb_path.substr(
        start, end == std::string_view::npos ? std::string_view::npos : end - start);
    if (NtStatus st = validate_component(part); st != NtStatus::SUCCESS) return st;
    components.push_back(part);
    if (end == std::string_view::npos) break;
    start = end + 1;
  }
  return NtStatus::SUCCESS;
}

bool has_wildcards(std::string_view expression) {
  return expression.find_first_of("*?<>\"") != std::string_view::npos;
}

namespace {

using States = std::array<std::uint64_t, 4>;

void set_state(States& s, std::size_t p) { s[p / 64] |= std::uint64_t{1} << (p % 64); }
bool has_state(const States& s, std::size_t p) { return ((s[p / 64] >> (p % 64)) & 1) != 0; }

States operator|(const States& a, const States& b) {
  States r;
  for (std::size_t k = 0; k < r.size(); ++k) r[k] = a[k] | b[k];
  return r;
}

States operator&(const States& a, const States& b) {
  States r;
  for (std::size_t k = 0; k < r.size(); ++k) r[k] = a[k] & b[k];
  return r;
}

// Every state moves one position on.
States advance(const States& a) {
  States r;
  std::uint64_t carry = 0;
  for (std::size_t k = 0; k < r.size(); ++k) {
    r[k] = (a[k] << 1) | carry;
    carry = a[k] >> 63;
  }
  return r;
}

// Adds the states reachable without consuming a character, through the positions in
// `skip` (a position there may be stepped over: p -> p + 1). Within a run of such
// positions a live state reaches every later one and the first position after the run:
// adding the run to its live part carries a bit from the lowest live state to the end
// of the run, and XOR with the run leaves exactly those positions set. All runs at once,
// in a few word operations.
void skip_empty(States& live, const States& skip) {
  std::uint64_t carry = 0;
  for (std::size_t k = 0; k < live.size(); ++k) {
    const std::uint64_t a = live[k] & skip[k];
    const std::uint64_t sum = a + skip[k];
    const std::uint64_t carry_out = (sum < a ? 1 : 0);
    const std::uint64_t total = sum + carry;
    const std::uint64_t next_carry = carry_out | (total < sum ? 1 : 0);
    live[k] |= total ^ skip[k];
    carry = next_carry;
  }
}

bool any_state(const States& s) {
  for (std::uint64_t w : s) {
    if (w != 0) return true;
  }
  return false;
}

}  // namespace

NtStatus NameExpression::compile(std::string_view expression, NameExpression& out,
                                 bool ignore_case) {
  NameExpression e;
  e.ignore_case_ = ignore_case;
  e.empty_ = expression.empty();
  // [MS-FSA] 2.1.4.4 part 1: "*" and "*.*" match every name.
  e.match_all_ = expression == "*" || expression == "*.*";
  std::vector<std::pair<char32_t, std::size_t>> literal_positions;
  std::size_t units = 0;
  std::size_t p = 0;
  for (std::size_t i = 0; i < expression.size(); ++p) {
    char32_t c;
    if (!smb::decode_utf8_code_point(expression, i, c)) return NtStatus::OBJECT_NAME_INVALID;
    units += c > 0xFFFF ? 2 : 1;
    if (units > kMaxLength) return NtStatus::OBJECT_NAME_INVALID;
    switch (c) {
      case U'*':
        set_state(e.star_, p);
        break;
      case U'<':
        set_state(e.dos_star_, p);
        break;
      case U'?':
        set_state(e.any_, p);
        break;
      case U'>':
        set_state(e.dos_qm_, p);
        break;
      case U'"':
        set_state(e.dos_dot_, p);
        break;
      default:
        if (is_illegal_char(c)) return NtStatus::OBJECT_NAME_INVALID;
        literal_positions.emplace_back(ignore_case ? nt_upcase(c) : c, p);
        break;
    }
  }
  e.length_ = p;
  std::sort(literal_positions.begin(), literal_positions.end());
  for (const auto& [c, position] : literal_positions) {
    if (e.literals_.empty() || e.literals_.back().first != c) e.literals_.push_back({c, {}});
    set_state(e.literals_.back().second, position);
  }
  out = std::move(e);
  return NtStatus::SUCCESS;
}

NameExpression::States NameExpression::literal_states(char32_t c) const {
  auto it = std::lower_bound(literals_.begin(), literals_.end(), c,
                             [](const auto& entry, char32_t key) { return entry.first < key; });
  return it != literals_.end() && it->first == c ? it->second : States{};
}

bool NameExpression::matches(std::string_view name) const {
  // [MS-FSA] 2.1.4.4 part 1.
  if (name.empty()) return empty_;
  if (empty_) return false;
  if (match_all_) return true;

  // Part 2. '.' is one byte in UTF-8, so byte offsets order like character positions.
  const std::size_t last_dot = name.rfind('.');
  States live{};
  set_state(live, 0);
  for (std::size_t i = 0; i < name.size();) {
    const std::size_t at = i;
    char32_t c;
    if (!smb::decode_utf8_code_point(name, i, c)) return false;
    if (ignore_case_) c = nt_upcase(c);
    const bool period = c == U'.';
    skip_empty(live, period ? star_ | dos_star_ | dos_qm_ : star_ | dos_star_);
    const States step = any_ | literal_states(c) | (period ? dos_dot_ : dos_qm_);
    const bool before_final_period = last_dot == std::string_view::npos || at <= last_dot;
    const States stay = before_final_period ? star_ | dos_star_ : star_;
    live = advance(live & step) | (live & stay);
    if (!any_state(live)) return false;
  }
  // At the end of the name every wildcard may match nothing.
  skip_empty(live, star_ | dos_star_ | dos_qm_ | dos_dot_);
  return has_state(live, length_);
}

bool is_name_in_expression(std::string_view name, std::string_view expression, bool ignore_case) {
  NameExpression compiled;
  if (NameExpression::compile(expression, compiled, ignore_case) != NtStatus::SUCCESS) {
    return false;
  }
  return compiled.matches(name);
}

}  // namespace smb::vfs
