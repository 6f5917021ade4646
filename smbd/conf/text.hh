// Small text helpers shared by the smb.conf and smbpasswd readers. ASCII only: smb.conf
// keywords and values we interpret are ASCII; other bytes pass through untouched.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace smb::conf {

char ascii_lower(char c);
bool iequals(std::string_view a, std::string_view b);
std::string_view trim(std::string_view s);
// Lower case with all white space removed: Samba's rule for parameter names.
std::string normalize_name(std::string_view name);

// yes/no, true/false, 1/0, on/off in any case.
std::optional<bool> parse_bool(std::string_view value);
// A decimal number in [min, max]; an optional K/M/G suffix multiplies by 1024^n when
// `allow_suffix` is set.
std::optional<std::uint64_t> parse_number(std::string_view value, std::uint64_t min,
                                          std::uint64_t max, bool allow_suffix = false);
// Samba's list syntax: items separated by commas or white space, double quotes group.
std::vector<std::string> split_list(std::string_view value);

}  // namespace smb::conf
