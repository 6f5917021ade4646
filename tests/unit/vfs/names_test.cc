#include <doctest/doctest.h>

#include "smbd/vfs/names.hh"

#include <random>
#include <string>
#include <vector>

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

namespace {

// MS-FSA 2.1.4.4 part 2 read literally, by recursion over (expression, name) positions:
// exponential, so only for short inputs, and independent of the automaton it checks.
bool reference_match(std::string_view name, std::string_view expr, std::size_t p, std::size_t n) {
  if (p == expr.size()) return n == name.size();
  const bool at_end = n == name.size();
  const std::size_t last_dot = name.rfind('.');
  switch (expr[p]) {
    case '*':
      return reference_match(name, expr, p + 1, n) ||
             (!at_end && reference_match(name, expr, p, n + 1));
    case '?':
      return !at_end && reference_match(name, expr, p + 1, n + 1);
    case '>':
      return !at_end && name[n] != '.' ? reference_match(name, expr, p + 1, n + 1)
                                       : reference_match(name, expr, p + 1, n);
    case '<':
      return reference_match(name, expr, p + 1, n) ||
             (!at_end && (last_dot == std::string_view::npos || n <= last_dot) &&
              reference_match(name, expr, p, n + 1));
    case '"':
      return at_end ? reference_match(name, expr, p + 1, n)
                    : name[n] == '.' && reference_match(name, expr, p + 1, n + 1);
    default:
      return !at_end && name[n] == expr[p] && reference_match(name, expr, p + 1, n + 1);
  }
}

bool reference(std::string_view name, std::string_view expr) {
  if (name.empty()) return expr.empty();
  if (expr.empty()) return false;
  if (expr == "*" || expr == "*.*") return true;
  return reference_match(name, expr, 0, 0);
}

}  // namespace

TEST_CASE("names: the compiled expression agrees with the definition") {
  const std::string expr_chars = "ab.*?<>\"";
  const std::string name_chars = "ab.";
  // All strings over `chars` of up to `max` characters.
  auto all_strings = [](const std::string& chars, std::size_t max) {
    std::vector<std::string> out{""};
    for (std::size_t len = 1, from = 0; len <= max; ++len) {
      const std::size_t to = out.size();
      for (std::size_t i = from; i < to; ++i)
        for (char c : chars) out.push_back(out[i] + c);
      from = to;
    }
    return out;
  };
  std::size_t mismatches = 0;
  auto compare = [&](const std::vector<std::string>& names, const std::string& e) {
    NameExpression compiled;
    const bool ok = NameExpression::compile(e, compiled, false) == NtStatus::SUCCESS;
    for (const auto& n : names) {
      if ((!ok || compiled.matches(n) != reference(n, e)) && ++mismatches <= 10)
        FAIL_CHECK("name '" << n << "' expression '" << e << "'");
    }
  };
  // Every expression of up to 4 characters against every name of up to 4 (the
  // alphabets have no case, so case-sensitively).
  const auto names = all_strings(name_chars, 4);
  for (const auto& e : all_strings(expr_chars, 4)) compare(names, e);
  // Longer ones, drawn with a fixed seed.
  std::mt19937 random(20240229);
  auto draw = [&](const std::string& chars, std::size_t max) {
    std::string out(random() % (max + 1), ' ');
    for (char& c : out) c = chars[random() % chars.size()];
    return out;
  };
  for (int i = 0; i < 20000; ++i) compare({draw(name_chars, 12)}, draw(expr_chars, 9));
  CHECK(mismatches == 0);
}

TEST_CASE("names: a search pattern is a file name component with wildcards (MS-FSA 2.1.5.6.3)") {
  NameExpression e;
  CHECK(NameExpression::compile("*", e) == NtStatus::SUCCESS);
  CHECK(NameExpression::compile(".", e) == NtStatus::SUCCESS);
  CHECK(NameExpression::compile("..", e) == NtStatus::SUCCESS);
  CHECK(NameExpression::compile("<\">?*", e) == NtStatus::SUCCESS);
  // 255 UTF-16 code units is a component's limit ([MS-FSCC] 2.1.5.2); one more is not.
  CHECK(NameExpression::compile(std::string(255, 'a'), e) == NtStatus::SUCCESS);
  CHECK(NameExpression::compile(std::string(256, 'a'), e) == NtStatus::OBJECT_NAME_INVALID);
  CHECK(NameExpression::compile(std::string(256, '*'), e) == NtStatus::OBJECT_NAME_INVALID);
  CHECK(NameExpression::compile(std::string(32767, '*'), e) == NtStatus::OBJECT_NAME_INVALID);
  // U+1F600 needs two UTF-16 code units: 127 of them fit, 128 do not.
  std::string emoji;
  for (int i = 0; i < 127; ++i) emoji += "\xf0\x9f\x98\x80";
  CHECK(NameExpression::compile(emoji + "a", e) == NtStatus::SUCCESS);
  CHECK(NameExpression::compile(emoji + "\xf0\x9f\x98\x80", e) == NtStatus::OBJECT_NAME_INVALID);
  // Characters no component may hold, other than the wildcards.
  for (const char* bad : {"a\\b", "a/b", "a:b", "a|b", "a\x01"})
    CHECK(NameExpression::compile(bad, e) == NtStatus::OBJECT_NAME_INVALID);
  CHECK(NameExpression::compile("\xff", e) == NtStatus::OBJECT_NAME_INVALID);  // not UTF-8
  CHECK_FALSE(is_name_in_expression("a:b", "a:b"));
}

TEST_CASE("names: adversarial expressions and names at the length limits") {
  // Expressions that make a backtracking matcher explore every split of the name, and a
  // table-filling one do |expression| * |name| work per entry; the automaton reads each
  // name once.
  std::string stars;
  for (int i = 0; i < 127; ++i) stars += "*a";
  const std::string long_a(255, 'a');
  NameExpression e;
  REQUIRE(NameExpression::compile(stars + "b", e) == NtStatus::SUCCESS);
  CHECK_FALSE(e.matches(long_a));
  CHECK(e.matches(long_a + "b"));
  REQUIRE(NameExpression::compile(stars, e) == NtStatus::SUCCESS);
  CHECK(e.matches(long_a));
  CHECK_FALSE(e.matches(std::string(126, 'a')));
  // Runs of wildcards that match nothing across all four words of live states.
  REQUIRE(NameExpression::compile(std::string(254, '<') + "b", e) == NtStatus::SUCCESS);
  CHECK(e.matches("b"));
  CHECK(e.matches(long_a + "b"));
  CHECK_FALSE(e.matches("a.b.c"));
  CHECK(e.matches("a.b.b"));
  REQUIRE(NameExpression::compile(std::string(254, '>') + "\"", e) == NtStatus::SUCCESS);
  CHECK(e.matches("x"));
  CHECK(e.matches(std::string(254, 'x')));
  CHECK(e.matches(std::string(254, 'x') + "."));
  CHECK_FALSE(e.matches(std::string(255, 'x')));
  std::string questions(255, '?');
  REQUIRE(NameExpression::compile(questions, e) == NtStatus::SUCCESS);
  CHECK(e.matches(long_a));
  CHECK_FALSE(e.matches(std::string(254, 'a')));
  CHECK_FALSE(e.matches(std::string(256, 'a')));
  // A state in the last word (position 255) is reached and accepted.
  REQUIRE(NameExpression::compile(std::string(254, '*') + "a", e) == NtStatus::SUCCESS);
  CHECK(e.matches(long_a));
  CHECK_FALSE(e.matches(std::string(255, 'b')));
  // Multi-byte characters in names and expressions, ignoring case.
  std::string upper_eacute;
  std::string lower_eacute;
  for (int i = 0; i < 200; ++i) {
    upper_eacute += "\xc3\x89";  // É
    lower_eacute += "\xc3\xa9";  // é
  }
  REQUIRE(NameExpression::compile("*" + lower_eacute.substr(0, 20) + "?", e) == NtStatus::SUCCESS);
  CHECK(e.matches(upper_eacute + "x"));
  CHECK_FALSE(e.matches(upper_eacute.substr(0, 10)));
  // A name that is not valid UTF-8 matches nothing but "*".
  REQUIRE(NameExpression::compile("a*", e) == NtStatus::SUCCESS);
  CHECK_FALSE(e.matches("a\xff"));
}
