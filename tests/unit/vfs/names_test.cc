#include <doctest/doctest.h>

#include "smbd/vfs/names.hh"

using smb::NtStatus;
using namespace smb::vfs;

TEST_CASE("names: component validation follows MS-FSCC 2.1.5") {
  CHECK(validate_component("file.txt") == NtStatus::SUCCESS);
  CHECK(validate_component("with space ") == NtStatus::SUCCESS);
  CHECK(validate_component("\xc3\xa9t\xc3\xa9") == NtStatus::SUCCESS);  // été
  CHECK(validate_component("") == NtStatus::OBJECT_NAME_INVALID);
  CHECK(validate_component(".") == NtStatus::OBJECT_NAME_INVALID);
  CHECK(validate_component("..") == NtStatus::OBJECT_NAME_INVALID);
  for (char c : std::string("\"*/:<>?\\|")) {
    CAPTURE(c);
    CHECK(validate_component(std::string("a") + c + "b") == NtStatus::OBJECT_NAME_INVALID);
  }
  CHECK(validate_component(std::string("a\x01", 2)) == NtStatus::OBJECT_NAME_INVALID);
  CHECK(validate_component(std::string("a\0b", 3)) == NtStatus::OBJECT_NAME_INVALID);
  CHECK(validate_component("\xff\xfe") == NtStatus::OBJECT_NAME_INVALID);      // not UTF-8
  CHECK(validate_component("\xc0\xae") == NtStatus::OBJECT_NAME_INVALID);      // overlong '.'
  CHECK(validate_component("\xed\xa0\x80") == NtStatus::OBJECT_NAME_INVALID);  // surrogate
  CHECK(validate_component(std::string(255, 'a')) == NtStatus::SUCCESS);
  CHECK(validate_component(std::string(256, 'a')) == NtStatus::OBJECT_NAME_INVALID);
  // 100 x U+00E9: 100 UTF-16 units (legal NT name) but 200 bytes: fits NAME_MAX.
  std::string e100;
  for (int i = 0; i < 100; ++i) e100 += "\xc3\xa9";
  CHECK(validate_component(e100) == NtStatus::SUCCESS);
  // 200 x U+20AC: 200 UTF-16 units (legal NT name) but 600 bytes on disk.
  std::string euro200;
  for (int i = 0; i < 200; ++i) euro200 += "\xe2\x82\xac";
  CHECK(validate_component(euro200) == NtStatus::NAME_TOO_LONG);
}

TEST_CASE("names: path splitting") {
  std::vector<std::string_view> parts;
  REQUIRE(split_path("", parts) == NtStatus::SUCCESS);
  CHECK(parts.empty());
  REQUIRE(split_path("\\", parts) == NtStatus::SUCCESS);
  CHECK(parts.empty());
  REQUIRE(split_path("a\\b\\c.txt", parts) == NtStatus::SUCCESS);
  REQUIRE(parts.size() == 3);
  CHECK(parts[0] == "a");
  CHECK(parts[2] == "c.txt");
  REQUIRE(split_path("\\a\\b", parts) == NtStatus::SUCCESS);
  CHECK(parts.size() == 2);
  CHECK(split_path("a\\\\b", parts) == NtStatus::OBJECT_NAME_INVALID);
  CHECK(split_path("a\\", parts) == NtStatus::OBJECT_NAME_INVALID);
  CHECK(split_path("a\\..\\b", parts) == NtStatus::OBJECT_NAME_INVALID);
  CHECK(split_path("..", parts) == NtStatus::OBJECT_NAME_INVALID);
  CHECK(split_path("a/../b", parts) == NtStatus::OBJECT_NAME_INVALID);
  CHECK(split_path("/etc/passwd", parts) == NtStatus::OBJECT_NAME_INVALID);
  CHECK(split_path("file:stream", parts) == NtStatus::OBJECT_NAME_INVALID);
  std::string deep;
  for (int i = 0; i < 1000; ++i) deep += "abcd\\";
  deep += "x";
  CHECK(split_path(deep, parts) == NtStatus::NAME_TOO_LONG);
}

TEST_CASE("names: Unicode simple uppercase mapping") {
  CHECK(nt_upcase(U'a') == U'A');
  CHECK(nt_upcase(U'z') == U'Z');
  CHECK(nt_upcase(U'A') == U'A');
  CHECK(nt_upcase(U'1') == U'1');
  CHECK(nt_upcase(0x00E9) == 0x00C9);  // é
  CHECK(nt_upcase(0x00FF) == 0x0178);  // ÿ
  CHECK(nt_upcase(0x00DF) == 0x00DF);  // ß has no single-character uppercase
  CHECK(nt_upcase(0x0101) == 0x0100);  // Latin Extended-A pairs
  CHECK(nt_upcase(0x0100) == 0x0100);
  CHECK(nt_upcase(0x03B1) == 0x0391);  // Greek alpha
  CHECK(nt_upcase(0x03C2) == 0x03A3);  // final sigma
  CHECK(nt_upcase(0x0430) == 0x0410);  // Cyrillic a
  CHECK(nt_upcase(0x0451) == 0x0401);  // ё
  CHECK(nt_upcase(0x0561) == 0x0531);  // Armenian
  CHECK(nt_upcase(0x24D0) == 0x24B6);  // circled a
  CHECK(nt_upcase(0xFF41) == 0xFF21);  // fullwidth a
  CHECK(nt_upcase(0x1F600) == 0x1F600);
  CHECK(names_equal_ci("ReadMe.TXT", "readme.txt"));
  CHECK(names_equal_ci("\xd0\x9f\xd1\x80\xd0\xb8\xd0\xb2\xd0\xb5\xd1\x82",
                       "\xd0\xbf\xd0\xa0\xd0\x98\xd0\x92\xd0\x95\xd0\xa2"));  // Привет / пРИВЕТ
  CHECK_FALSE(names_equal_ci("a", "b"));
  CHECK_FALSE(names_equal_ci("abc", "abcd"));
}

TEST_CASE("names: MS-FSA 2.1.4.4 wildcard matching") {
  // Part 1 special cases.
  CHECK(is_name_in_expression("", ""));
  CHECK_FALSE(is_name_in_expression("", "*"));
  CHECK_FALSE(is_name_in_expression("a", ""));
  CHECK(is_name_in_expression("anything", "*"));
  CHECK(is_name_in_expression("noext", "*.*"));
  // '*' and '?'.
  CHECK(is_name_in_expression("report.doc", "*.doc"));
  CHECK(is_name_in_expression("report.DOC", "*.doc"));
  CHECK_FALSE(is_name_in_expression("report.docx", "*.doc"));
  CHECK(is_name_in_expression("a.b.c", "*.c"));
  CHECK(is_name_in_expression("abc", "a?c"));
  CHECK_FALSE(is_name_in_expression("ac", "a?c"));
  CHECK_FALSE(is_name_in_expression("abbc", "a?c"));
  CHECK(is_name_in_expression("abbc", "a*c"));
  CHECK(is_name_in_expression("ac", "a*c"));
  CHECK(is_name_in_expression("x.tar.gz", "*.*.*"));
  CHECK_FALSE(is_name_in_expression("x.gz", "*.*.*"));
  CHECK(is_name_in_expression("Quarter 1 Report.xls", "Quarter ? Report.xls"));
  CHECK(is_name_in_expression(".", "*"));
  CHECK(is_name_in_expression("..", "*"));
  CHECK_FALSE(is_name_in_expression("..", "a*"));
  CHECK(is_name_in_expression("exact", "EXACT"));
  CHECK_FALSE(is_name_in_expression("exact", "EXACT", false));
  // DOS_QM '>': one character, or nothing at a period or the end of the name.
  CHECK(is_name_in_expression("ab", ">>>"));
  CHECK(is_name_in_expression("abc", ">>>"));
  CHECK_FALSE(is_name_in_expression("abcd", ">>>"));
  CHECK(is_name_in_expression("ab.txt", ">>>.txt"));
  CHECK_FALSE(is_name_in_expression("abcd.txt", ">>>.txt"));
  // "????????.???" as Win32 hands it down: >>>>>>>>">>>
  CHECK(is_name_in_expression("readme.txt", ">>>>>>>>\">>>"));
  CHECK(is_name_in_expression("readme", ">>>>>>>>\">>>"));
  CHECK_FALSE(is_name_in_expression("readme.text", ">>>>>>>>\">>>"));
  CHECK_FALSE(is_name_in_expression("toolongname.txt", ">>>>>>>>\">>>"));
  // DOS_DOT '"': a period, or nothing at the end.
  CHECK(is_name_in_expression("abc", "abc\""));
  CHECK(is_name_in_expression("abc.", "abc\""));
  CHECK_FALSE(is_name_in_expression("abcd", "abc\""));
  // DOS_STAR '<': any run up to the final period. "*.*" as <"* and "*." as <".
  CHECK(is_name_in_expression("a.b.txt", "<.txt"));
  CHECK(is_name_in_expression("noext", "<\"*"));
  CHECK(is_name_in_expression("a.b", "<\"*"));
  CHECK(is_name_in_expression("noext", "<\""));
  CHECK_FALSE(is_name_in_expression("has.ext", "<\""));
  CHECK(is_name_in_expression("abc", "<"));
  CHECK_FALSE(is_name_in_expression("a.b", "<"));
  CHECK(is_name_in_expression("a.b", "<b"));
  // Case-insensitive beyond ASCII.
  CHECK(is_name_in_expression("\xc3\x89t\xc3\xa9.txt", "\xc3\xa9T\xc3\x89*"));  // Été / éTÉ*
  // Pathological expressions stay polynomial.
  CHECK_FALSE(is_name_in_expression(std::string(200, 'a') + "b",
                                    "*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*c"));
}
