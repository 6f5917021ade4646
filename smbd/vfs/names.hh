// Names as SMB sees them: validation ([MS-FSCC] 2.1.5), case-insensitive comparison
// with the Unicode simple uppercase mapping of the BMP, and wildcard matching
// ([MS-FSA] 2.1.4.4).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "smbd/base/ntstatus.hh"

namespace smb::vfs {

// [MS-FSCC] 2.1.5.2: a component is at most 255 UTF-16 code units.
inline constexpr std::size_t kMaxComponentUtf16 = 255;
// [MS-FSCC] 2.1.5: a full path name is at most 32,767 UTF-16 code units.
inline constexpr std::size_t kMaxPathUtf16 = 32767;

// Decodes strict UTF-8 (no overlongs, no surrogates). False on invalid input.
bool decode_utf8(std::string_view in, std::u32string& out);
// Number of UTF-16 code units `s` (valid UTF-8) needs.
std::size_t utf16_length(std::string_view s);

// Unicode simple uppercase mapping for the BMP; other code points map to themselves.
char32_t nt_upcase(char32_t c);
// Case-insensitive equality of two UTF-8 names (invalid UTF-8 compares bytewise).
bool names_equal_ci(std::string_view a, std::string_view b);

// Checks one path component: not empty, not "." or "..", no control characters or
// any of " * / : < > ? \ |, valid UTF-8, at most 255 UTF-16 units (all
// OBJECT_NAME_INVALID), and at most NAME_MAX bytes on disk (NAME_TOO_LONG).
NtStatus validate_component(std::string_view name);

// Splits an SMB path ("dir\sub\file", a leading backslash tolerated) into validated
// components. The empty path (the share root) yields no components.
NtStatus split_path(std::string_view smb_path, std::vector<std::string_view>& components);

// True when `expression` holds any of the wildcards * ? < > " ([MS-FSA] 2.1.4.3).
bool has_wildcards(std::string_view expression);

// [MS-FSA] 2.1.4.4 FsRtlIsNameInExpression over UTF-8 names: '*' any run, '?' one
// character, '<' (DOS_STAR) any run that does not pass the name's final period, '>'
// (DOS_QM) one character, or nothing at a period or the end, '"' (DOS_DOT) a period, or
// nothing at the end.
//
// An expression is compiled once (a search keeps it for all its entries) into a
// nondeterministic automaton with one state per expression position; a name is run
// through it one character at a time with the set of live states as a bit vector, so
// matching costs time linear in the name's length whatever the wildcards (no
// backtracking), and the expression's length only bounds the vector: at most 256 bits,
// because a search pattern must be a valid file name component ([MS-FSA] 2.1.5.6.3).
class NameExpression {
 public:
  // The longest expression, in UTF-16 code units: a component's limit ([MS-FSCC] 2.1.5.2).
  static constexpr std::size_t kMaxLength = kMaxComponentUtf16;

  // [MS-FSA] 2.1.5.6.3: the expression must be a valid file name component, except that
  // the wildcards * ? < > " and the names "." and ".." are allowed: OBJECT_NAME_INVALID
  // for invalid UTF-8, more than kMaxLength UTF-16 code units, control characters or any
  // of / : \ |. The empty expression matches only the empty name.
  static NtStatus compile(std::string_view expression, NameExpression& out,
                          bool ignore_case = true);

  // Part 1 special cases, then the automaton; false for a name that is not valid UTF-8.
  bool matches(std::string_view name) const;

 private:
  // One bit per expression position 0..length (bit p: the first p characters matched).
  using States = std::array<std::uint64_t, 4>;
  static_assert(kMaxLength + 1 <= 4 * 64);

  States literal_states(char32_t c) const;

  bool ignore_case_ = true;
  bool match_all_ = false;  // "*" or "*.*": every non-empty name
  bool empty_ = true;
  std::size_t length_ = 0;  // code points
  States star_{};           // '*': stays on any character, or steps over nothing
  States dos_star_{};       // '<': stays on characters up to the final period, or nothing
  States any_{};            // '?': steps over one character
  States dos_qm_{};         // '>': steps over a non-period, or nothing before a period or the end
  States dos_dot_{};        // '"': steps over a period, or nothing at the end
  // The positions of each literal character (upcased when ignoring case), by character.
  std::vector<std::pair<char32_t, States>> literals_;
};

// One-off form of NameExpression: false when the expression does not compile.
bool is_name_in_expression(std::string_view name, std::string_view expression,
                           bool ignore_case = true);

}  // namespace smb::vfs
