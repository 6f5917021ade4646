#include "smbd/conf/passwd_tool.hh"

#include <doctest/doctest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <sstream>

#include "smbd/conf/users.hh"
#include "temp_dir.hh"

using namespace smb::conf;
using smb::conf::test::TempDir;

namespace {

constexpr const char* kPasswordHash = "8846F7EAEE8FB117AD06BDD830B7586C";  // "password"

struct Run {
  int status;
  std::string out;
  std::string err;
};

// Runs the tool with `input` on standard input and, for terminal prompts, `tty` answers.
Run run(const std::vector<std::string>& args, const std::string& input = "",
        std::vector<std::string> tty = {}) {
  std::istringstream in(input);
  std::ostringstream out, err;
  std::size_t next = 0;
  PasswdIo io{in, out, err, [&](const char*) -> std::optional<std::string> {
                if (next >= tty.size()) return std::nullopt;
                return tty[next++];
              }};
  int status = run_smbd_passwd(args, io);
  return {status, out.str(), err.str()};
}

std::optional<User> user_in(const std::filesystem::path& file, const std::string& name) {
  std::string error;
  auto db = UserDb::load(file, error);
  if (!db) return std::nullopt;
  return db->lookup(name);
}

}  // namespace

TEST_CASE("smbd-passwd adds changes disables enables lists and deletes") {
  TempDir dir;
  std::string file = (dir / "smbpasswd").string();

  auto r = run({"-f", file, "-s", "-a", "alice"}, "password\npassword\n");
  CHECK(r.status == 0);
  CHECK(r.out == "Added user alice.\n");
  auto alice = user_in(file, "alice");
  REQUIRE(alice);
  CHECK(UserDb::hash_hex(alice->nt_hash) == kPasswordHash);

  // -a on an existing user sets the password.
  r = run({"-f", file, "-s", "-a", "ALICE"}, "s3cret!\ns3cret!\n");
  CHECK(r.status == 0);
  CHECK(r.out == "Password changed for user ALICE.\n");
  CHECK(UserDb::hash_hex(user_in(file, "alice")->nt_hash) == "646FC30DB73EC54D73639EEC95360F04");

  // A plain user name changes the password, here read from the terminal.
  r = run({"-f", file, "alice"}, "", {"password", "password"});
  CHECK(r.status == 0);
  CHECK(UserDb::hash_hex(user_in(file, "alice")->nt_hash) == kPasswordHash);

  r = run({"-f", file, "-d", "alice"});
  CHECK(r.status == 0);
  CHECK(r.out == "Disabled user alice.\n");
  CHECK(user_in(file, "alice")->disabled);

  r = run({"-f", file, "-L"});
  CHECK(r.status == 0);
  CHECK(r.out == "alice:" + std::to_string(user_in(file, "alice")->uid) + ":[DU]\n");

  r = run({"-f", file, "-e", "alice"});
  CHECK(r.status == 0);
  CHECK(r.out == "Enabled user alice.\n");
  CHECK_FALSE(user_in(file, "alice")->disabled);

  r = run({"-f", file, "-x", "alice"});
  CHECK(r.status == 0);
  CHECK(r.out == "Deleted user alice.\n");
  CHECK_FALSE(user_in(file, "alice"));
}

TEST_CASE("smbd-passwd failures") {
  TempDir dir;
  std::string file = (dir / "smbpasswd").string();
  REQUIRE(run({"-f", file, "-s", "-a", "bob"}, "pw\npw\n").status == 0);
  std::string before = smb::conf::test::read_file(file);

  auto r = run({"-f", file, "-s", "-a", "bob"}, "one\ntwo\n");
  CHECK(r.status == 1);
  CHECK(r.err == "Mismatch - password unchanged.\n");
  r = run({"-f", file, "-s", "-a", "bob"}, "only one line\n");
  CHECK(r.status == 1);
  r = run({"-f", file, "-s", "carol"}, "pw\npw\n");
  CHECK(r.status == 1);
  CHECK(r.err == "Failed to find entry for user carol.\n");
  r = run({"-f", file, "-x", "carol"});
  CHECK(r.status == 1);
  r = run({"-f", file, "bob"}, "", {});
  CHECK(r.status == 1);
  CHECK(r.err.find("use -s") != std::string::npos);
  CHECK(smb::conf::test::read_file(file) == before);

  // Only -a creates the file.
  r = run({"-f", (dir / "absent").string(), "-d", "bob"});
  CHECK(r.status == 1);
  CHECK_FALSE(std::filesystem::exists(dir / "absent"));

  CHECK(run({"-f", file, "-a"}).status == 2);
  CHECK(run({"-f", file}).status == 2);
  CHECK(run({"-f", file, "-a", "x", "-x", "y"}).status == 2);
  CHECK(run({"-f", file, "-c", "smb.conf", "-L"}).status == 2);
  CHECK(run({"-f", file, "-q", "bob"}).status == 2);
  r = run({"-h"});
  CHECK(r.status == 0);
  CHECK(r.out.find("Usage: smbd-passwd") == 0);
}

TEST_CASE("smbd-passwd takes the file from the configuration") {
  TempDir dir;
  auto conf = dir / "smb.conf";
  smb::conf::test::write_file(
      conf, "[global]\nsmb passwd file = " + (dir / "private.pw").string() + "\n[s]\npath = /s\n");
  auto r = run({"-c", conf.string(), "-s", "-a", "dave"}, "password\npassword\n");
  CHECK(r.status == 0);
  CHECK(user_in(dir / "private.pw", "dave"));

  smb::conf::test::write_file(
      conf, "[global]\npassdb backend = smbpasswd:" + (dir / "backend.pw").string() + "\n");
  r = run({"-c", conf.string(), "-s", "-a", "erin"}, "password\npassword\n");
  CHECK(r.status == 0);
  CHECK(user_in(dir / "backend.pw", "erin"));

  smb::conf::test::write_file(conf, "[global]\nnonsense line\n");
  r = run({"-c", conf.string(), "-L"});
  CHECK(r.status == 1);
  CHECK(r.err.find(":2: malformed line") != std::string::npos);
}

TEST_CASE("the smbd-passwd program reads two lines with -s") {
  TempDir dir;
  auto file = dir / "smbpasswd";
  std::string command = "printf 'password\\npassword\\n' | '" + std::string(SMBD_PASSWD_BIN) +
                        "' -f '" + file.string() + "' -s -a grace >/dev/null";
  int status = std::system(command.c_str());
  REQUIRE(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
  auto grace = user_in(file, "grace");
  REQUIRE(grace);
  CHECK(UserDb::hash_hex(grace->nt_hash) == kPasswordHash);

  command = "printf 'a\\nb\\n' | '" + std::string(SMBD_PASSWD_BIN) + "' -f '" + file.string() +
            "' -s grace 2>/dev/null";
  status = std::system(command.c_str());
  REQUIRE(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 1);
}

TEST_CASE("smbd-passwd records the uid of the Unix account of the name, else says whose") {
  TempDir dir;
  std::string file = (dir / "smbpasswd").string();
  auto r = run({"-f", file, "-s", "-a", "root"}, "password\npassword\n");
  CHECK(r.status == 0);
  CHECK(r.err.empty());
  CHECK(user_in(file, "root")->uid == 0);
  // No such Unix account: the caller's uid, which the account's file operations run as.
  r = run({"-f", file, "-s", "-a", "no-such-account-here"}, "password\npassword\n");
  CHECK(r.status == 0);
  CHECK(user_in(file, "no-such-account-here")->uid == ::getuid());
  CHECK(r.err == "smbd-passwd: no Unix account 'no-such-account-here': it gets your uid " +
                     std::to_string(::getuid()) + " and its file operations run as that uid\n");
}
