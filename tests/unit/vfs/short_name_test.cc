// 8.3 short names (vfs/short_name.hh) against what Samba 4.17's smbd (mangling method =
// hash2, mangle prefix = 1) answered here for the same names (smbclient `allinfo`, altname).
#include "smbd/vfs/short_name.hh"

#include <doctest/doctest.h>

#include <string>
#include <utility>
#include <vector>

using namespace smb::vfs;

TEST_CASE("short names: the names Samba mangles, mangled as Samba does") {
  const std::vector<std::pair<std::string, std::string>> samba = {
      {"Long File Name.txt", "LO7JQ0~4.TXT"},
      {"verylongname.html", "VG5WIA~V"},
      {".bashrc", "_J265M~E"},
      {"a.b.c", "A1KYDY~M.C"},
      {"abcdefghi", "AV0X4T~Y"},
      {"x.jpeg", "XYUHJ8~L"},
      {"My Documents", "MRP2NN~L"},
      {"foo bar.c", "F1QV9I~4.C"},
      {"r\xC3\xA9sum\xC3\xA9.doc", "RENYSR~M.DOC"},  // résumé.doc
      {"a+b.txt", "A0QZKZ~5.TXT"},
      {"-dash-name-long", "-8ETE7~T"},
      {"x.a b", "XU9Z8Y~Q"},
      {"CON", "CSHOFG~F"},
  };
  for (const auto& [name, expected] : samba) {
    CAPTURE(name);
    CHECK((!is_8_3(name) || name == "CON"));
    CHECK(short_name(name) == expected);
    CHECK(alternate_name(name) == expected);
  }
}

TEST_CASE("short names: 8.3 names are their own, and carry no short name in listings") {
  for (const char* name : {"README", "readme.txt", "UPPER.TXT", "file.tx~", "$money.tmp", "A",
                           "12345678.123", ".", ".."}) {
    CAPTURE(name);
    CHECK(is_8_3(name));
    CHECK(short_name(name).empty());
    CHECK(alternate_name(name) == name);
  }
  for (const char* name :
       {"123456789", "a.1234", "a.", "a..b", "a b", "a*b", "\xC3\xA9.txt", "name.", "a.b.c"}) {
    CAPTURE(name);
    CHECK(!is_8_3(name));
    CHECK(!short_name(name).empty());
  }
  // Reserved device names are mangled even though they look 8.3.
  CHECK(short_name("con.txt").size() == 12);
  CHECK(!short_name("LPT1").empty());
}

TEST_CASE("short names: shape of every mangled name") {
  for (const char* name : {"a very long name with spaces and.dots.extension", "\x01\x02",
                           "\xFF\xFE\xFD invalid utf-8", "....", "~", ".x", "x.", ""}) {
    CAPTURE(name);
    std::string s = mangle_8_3(name);
    REQUIRE(s.size() >= 8);
    CHECK(s.size() <= 12);
    CHECK(s[6] == '~');
    for (char c : s) {
      CHECK(((c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || c == '_' || c == '-' || c == '$' ||
             c == '~' || c == '.'));
    }
  }
  // The same name in another case has the same short name.
  CHECK(mangle_8_3("Long File Name.txt") == mangle_8_3("LONG FILE NAME.TXT"));
}
