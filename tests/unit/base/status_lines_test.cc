#include "smbd/base/status_lines.hh"

#include <doctest/doctest.h>

#include <string>
#include <vector>

TEST_CASE("status lines: any field comes back as it went, tabs, newlines and backslashes too") {
  std::vector<std::string> fields = {"open", "1234", "dir\\with\ttab", "line\nbreak", "", "\\"};
  std::string out;
  smb::append_status_line(out, fields);
  REQUIRE(out.back() == '\n');
  CHECK(out.find('\n') == out.size() - 1);  // one line, whatever the fields hold
  CHECK(smb::split_status_line(std::string_view(out).substr(0, out.size() - 1)) == fields);
}

TEST_CASE("status lines: a stray backslash at the end of a line is kept, never read past") {
  CHECK(smb::split_status_line("a\tb\\") == std::vector<std::string>{"a", "b\\"});
  CHECK(smb::split_status_line("") == std::vector<std::string>{""});
}
