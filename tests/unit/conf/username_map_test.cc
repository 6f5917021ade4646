#include "smbd/conf/username_map.hh"

#include <doctest/doctest.h>

using smb::conf::UsernameMap;

TEST_CASE("username map: names on the right stand for the Unix name on the left") {
  std::vector<std::string> warnings;
  auto map = UsernameMap::parse(
      "# comment\n"
      "; another\n"
      "root = admin Administrator\n"
      "alice = \"Alice Smith\" asmith\n",
      "users.map", &warnings);
  CHECK(warnings.empty());
  CHECK(map.map("admin") == "root");
  CHECK(map.map("ADMINISTRATOR") == "root");
  CHECK(map.map("Alice Smith") == "alice");
  CHECK(map.map("alice smith") == "alice");
  CHECK(map.map("asmith") == "alice");
  CHECK(map.map("bob") == "bob");  // no line: the name itself
  CHECK(map.map("Alice") == "Alice");
}

TEST_CASE("username map: the last matching line wins unless a ! line matched first") {
  auto map = UsernameMap::parse(
      "first = carol\n"
      "second = carol\n"
      "!stop = dave\n"
      "later = dave\n"
      "guest = *\n");
  CHECK(map.map("carol") == "guest");  // '*' on a later line matches too
  CHECK(map.map("dave") == "stop");    // the ! line ends the search
  CHECK(map.map("anyone") == "guest");
}

TEST_CASE("username map: lines it cannot use are reported, never half-used") {
  std::vector<std::string> warnings;
  auto map = UsernameMap::parse(
      "no equals sign here\n"
      " = orphan\n"
      "bad = \"unclosed\n"
      "staff = @wheel +admins &nis eve\n",
      "users.map", &warnings);
  REQUIRE(warnings.size() == 6);
  CHECK(warnings[0] == "users.map:1: no '=': line ignored");
  CHECK(warnings[1].find("no Unix name") != std::string::npos);
  CHECK(warnings[2].find("unclosed quote") != std::string::npos);
  CHECK(warnings[3].find("'@wheel' is not supported") != std::string::npos);
  CHECK(map.map("eve") == "staff");
  CHECK(map.map("@wheel") == "@wheel");
  CHECK(map.map("orphan") == "orphan");
  CHECK(map.map("unclosed") == "unclosed");
}

TEST_CASE("username map: a missing file is an error that names it") {
  std::string error;
  CHECK_FALSE(UsernameMap::load("/nonexistent/users.map", error));
  CHECK(error.find("/nonexistent/users.map") != std::string::npos);
}
