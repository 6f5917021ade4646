// Names as SMB sees them: validation ([MS-FSCC] 2.1.5), case-insensitive comparison
// with the Unicode simple uppercase mapping of the BMP, and wildcard matching
// ([MS-FSA] 2.1.4.4).
#pragma once

#include <string>
#include <string_view>
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

// [MS-FSA] 2.1.4.4: FsRtlIsNameInExpression semantics over UTF-8 strings:
// '*' any run, '?' one character, '<' (DOS_STAR), '>' (DOS_QM), '"' (DOS_DOT).
bool is_name_in_expression(std::string_view name, std::string_view expression,
                           bool ignore_case = true);

}  // namespace smb::vfs
