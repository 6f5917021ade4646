#include "smbd/conf/cmdline.hh"

#include <doctest/doctest.h>

#include <sstream>

#include "temp_dir.hh"

using namespace smb::conf;

namespace {
std::optional<Options> parse(std::vector<std::string> args, std::string* error_out = nullptr) {
  std::string error;
  auto o = parse_command_line(args, error);
  if (error_out != nullptr) *error_out = error;
  return o;
}
}  // namespace

TEST_CASE("command line defaults") {
  auto o = parse({});
  REQUIRE(o);
  CHECK(o->config_file == kDefaultConfigFile);
  CHECK_FALSE(o->config_file_given);
  CHECK_FALSE(o->foreground);
  CHECK_FALSE(o->interactive);
  CHECK_FALSE(o->debug_level);
  CHECK_FALSE(o->port);
  CHECK_FALSE(o->check);
  CHECK_FALSE(o->demo_dir);
}

TEST_CASE("short and long options") {
  auto o = parse({"-s", "/etc/x.conf", "-F", "-d", "3", "-p", "4455"});
  REQUIRE(o);
  CHECK(o->config_file == "/etc/x.conf");
  CHECK(o->config_file_given);
  CHECK(o->foreground);
  CHECK(o->debug_level == 3);
  CHECK(o->port == 4455);

  o = parse({"--configfile=/a.conf", "--interactive", "--debuglevel=10", "--port", "0", "--check"});
  REQUIRE(o);
  CHECK(o->config_file == "/a.conf");
  CHECK(o->interactive);
  CHECK(o->foreground);  // -i implies -F
  CHECK(o->debug_level == 10);
  CHECK(o->port == 0);
  CHECK(o->check);

  o = parse({"-Fi", "-d1", "-s/b.conf"});
  REQUIRE(o);
  CHECK(o->interactive);
  CHECK(o->debug_level == 1);
  CHECK(o->config_file == "/b.conf");

  CHECK(parse({"-V"})->version);
  CHECK(parse({"--help"})->help);
  CHECK(parse({"-h"})->help);
}

TEST_CASE("--demo with and without a directory") {
  CHECK(parse({"--demo"})->demo_dir == "demo-state");
  CHECK(parse({"--demo=/tmp/d", "-p", "4455"})->demo_dir == "/tmp/d");
  std::string error;
  CHECK_FALSE(parse({"--demo", "-s", "/x.conf"}, &error));
  CHECK(error == "--demo and -s exclude each other");
}

TEST_CASE("bad command lines") {
  std::string error;
  CHECK_FALSE(parse({"-d", "11"}, &error));
  CHECK(error == "bad debug level '11' (expected 0 to 10)");
  CHECK_FALSE(parse({"-p", "65536"}, &error));
  CHECK(error == "bad port '65536' (expected 0 to 65535)");
  CHECK_FALSE(parse({"-p", "http"}, &error));
  CHECK_FALSE(parse({"-s"}, &error));
  CHECK(error == "option '-s' needs a value");
  CHECK_FALSE(parse({"--configfile"}, &error));
  CHECK_FALSE(parse({"--bogus"}, &error));
  CHECK(error == "unknown option '--bogus'");
  CHECK_FALSE(parse({"-x"}, &error));
  CHECK(error == "unknown option '-x'");
  CHECK_FALSE(parse({"--check=yes"}, &error));
  CHECK_FALSE(parse({"stray"}, &error));
  CHECK(error == "unexpected argument 'stray'");
}

TEST_CASE("argc/argv form and the help text") {
  const char* argv[] = {"smbd", "-F", "-p", "1445"};
  std::string error;
  auto o = parse_command_line(4, argv, error);
  REQUIRE(o);
  CHECK(o->port == 1445);
  std::string help = help_text("smbd");
  CHECK(help.find("Usage: smbd [OPTIONS]") == 0);
  for (const char* option : {"--configfile", "--foreground", "--interactive", "--debuglevel",
                             "--port", "--check", "--demo", "--version", "--help"})
    CHECK(help.find(option) != std::string::npos);
}

TEST_CASE("options override the configuration") {
  Config c;
  c.global.smb_ports = {445, 139};
  c.global.log_level = 1;
  c.global.log_file = "/var/log/smbd.log";
  Options o;
  apply_options(o, c);
  CHECK(c.global.smb_ports == std::vector<std::uint16_t>{445, 139});
  CHECK(c.global.log_file == "/var/log/smbd.log");
  o.port = 4455;
  o.debug_level = 5;
  o.interactive = true;
  apply_options(o, c);
  CHECK(c.global.smb_ports == std::vector<std::uint16_t>{4455});
  CHECK(c.global.log_level == 5);
  CHECK(c.global.log_file.empty());
}

TEST_CASE("check_config prints the effective configuration or the errors") {
  smb::conf::test::TempDir dir;
  auto path = dir / "smb.conf";
  smb::conf::test::write_file(path, "[global]\nsmb ports = 445\nfoo = 1\n[s]\npath = /s\n");
  std::string error;
  auto o = parse_command_line({"--check", "-s", path.string(), "-p", "1445", "-d", "4"}, error);
  REQUIRE(o);
  std::ostringstream out, err;
  CHECK(check_config(*o, out, err) == 0);
  CHECK(err.str() == "warning: " + path.string() +
                         ":3: unknown parameter 'foo' in [global] ignored\n"
                         "Loaded services file OK.\n");
  CHECK(out.str().find("\tsmb ports = 1445\n") != std::string::npos);
  CHECK(out.str().find("\tlog level = 4\n") != std::string::npos);
  CHECK(out.str().find("\n[s]\n\tpath = /s\n") != std::string::npos);

  smb::conf::test::write_file(path, "[s]\ncomment = no path\n");
  std::ostringstream out2, err2;
  CHECK(check_config(*o, out2, err2) == 1);
  CHECK(err2.str() == "error: " + path.string() + ":1: share [s] has no path\n");
  CHECK(out2.str().empty());
}

TEST_CASE("load_for_options serves the demo configuration") {
  std::string error;
  auto o = parse_command_line({"--demo=rel-demo"}, error);
  REQUIRE(o);
  LoadResult r = load_for_options(*o);
  CHECK(r.ok());
  CHECK(r.config.global.smb_ports == std::vector<std::uint16_t>{kDefaultDemoPort});
  REQUIRE(r.config.shares.size() == 1);
  CHECK(std::filesystem::path(r.config.shares[0].path).is_absolute());
  CHECK(std::filesystem::path(r.config.shares[0].path).filename() == "demo");
  o = parse_command_line({"--demo=/d", "-p", "5555"}, error);
  CHECK(load_for_options(*o).config.global.smb_ports == std::vector<std::uint16_t>{5555});
}
