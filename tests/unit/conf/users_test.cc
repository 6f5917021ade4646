#include "smbd/conf/users.hh"

#include <doctest/doctest.h>
#include <sys/stat.h>

#include "smbd/auth/nt_hash.hh"
#include "temp_dir.hh"

using namespace smb::conf;

namespace {

constexpr const char* kPasswordHash = "8846F7EAEE8FB117AD06BDD830B7586C";  // "password"
constexpr const char* kNoHash = "XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX";

// As Samba's smbpasswd writes them, with comments and an unparsable line between.
const std::string kSambaFile =
    "# smbpasswd written by Samba\n"
    "alice:1000:XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX:8846F7EAEE8FB117AD06BDD830B7586C:"
    "[U          ]:LCT-5F3A1B2C:\n"
    "Bob:1001:XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX:646fc30db73ec54d73639eec95360f04:"
    "[DUX        ]:LCT-60000000:\n"
    "this line is not an entry\n"
    "guest:65534:NO PASSWORDXXXXXXXXXXXXXXXXXXXXX:NO PASSWORDXXXXXXXXXXXXXXXXXXXXX:"
    "[NU         ]:LCT-00000000:\n"
    "nohash:1002:XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX:XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX:"
    "[U          ]:LCT-00000000:\n"
    "HOST1$:1003:XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX:8846F7EAEE8FB117AD06BDD830B7586C:"
    "[W          ]:LCT-00000000:\n"
    "oldformat:1004:XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX:8846F7EAEE8FB117AD06BDD830B7586C\n";

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t nl = text.find('\n', start);
    lines.push_back(text.substr(start, nl - start));
    if (nl == std::string::npos) break;
    start = nl + 1;
  }
  return lines;
}

bool looks_like_lct(const std::string& field) {
  if (field.size() != 12 || field.compare(0, 4, "LCT-") != 0) return false;
  return field.find_first_not_of("0123456789ABCDEF", 4) == std::string::npos;
}

}  // namespace

TEST_CASE("the NT hash the user database stores") {
  CHECK(UserDb::hash_hex(smb::auth::nt_hash("password")) == kPasswordHash);
}

TEST_CASE("parsing an smbpasswd file as Samba writes it") {
  std::vector<std::string> warnings;
  UserDb db = UserDb::parse(kSambaFile, &warnings);
  REQUIRE(warnings.size() == 1);
  CHECK(warnings[0] == "line 4: malformed entry ignored");

  auto alice = db.lookup("ALICE");
  REQUIRE(alice);
  CHECK(alice->name == "alice");
  CHECK(alice->uid == 1000);
  CHECK(UserDb::hash_hex(alice->nt_hash) == kPasswordHash);
  CHECK_FALSE(alice->disabled);
  CHECK_FALSE(alice->no_password);
  CHECK(alice->flags == "U");

  auto bob = db.lookup("bob");
  REQUIRE(bob);
  CHECK(bob->name == "Bob");
  CHECK(bob->disabled);
  CHECK(bob->flags == "DUX");
  CHECK(UserDb::hash_hex(bob->nt_hash) == "646FC30DB73EC54D73639EEC95360F04");

  auto guest = db.lookup("guest");
  REQUIRE(guest);
  CHECK(guest->no_password);
  CHECK_FALSE(guest->disabled);

  // No stored hash and no N flag: nobody can log on as this account.
  auto nohash = db.lookup("nohash");
  REQUIRE(nohash);
  CHECK(nohash->disabled);

  // Trust accounts are kept but are not users.
  CHECK_FALSE(db.lookup("HOST1$"));
  CHECK(db.contains("host1$"));

  auto old = db.lookup("oldformat");
  REQUIRE(old);
  CHECK(old->flags == "U");
  CHECK(UserDb::hash_hex(old->nt_hash) == kPasswordHash);

  CHECK_FALSE(db.lookup("nobody"));
  CHECK(db.list().size() == 6);
}

TEST_CASE("an account without a password logs on only with null passwords = yes") {
  std::vector<std::string> warnings;
  UserDb db = UserDb::parse(kSambaFile, &warnings);
  auto guest = db.lookup("guest");
  REQUIRE(guest);
  REQUIRE(guest->no_password);
  CHECK_FALSE(may_log_on(*guest, false));
  CHECK(may_log_on(*guest, true));
  auto alice = db.lookup("alice");
  REQUIRE(alice);
  CHECK(may_log_on(*alice, false));
  CHECK(may_log_on(*alice, true));
  auto bob = db.lookup("bob");  // disabled: never
  REQUIRE(bob);
  CHECK_FALSE(may_log_on(*bob, false));
  CHECK_FALSE(may_log_on(*bob, true));
}

TEST_CASE("an unchanged file is written back byte for byte") {
  CHECK(UserDb::parse(kSambaFile).serialize() == kSambaFile);
  std::string no_final_newline = "# only a comment\nx:1:" + std::string(kNoHash) + ":" +
                                 kPasswordHash + ":[U          ]:LCT-00000001:";
  CHECK(UserDb::parse(no_final_newline).serialize() == no_final_newline);
  std::string crlf =
      "a:1:" + std::string(kNoHash) + ":" + kPasswordHash + ":[U          ]:LCT-00000001:\r\n";
  UserDb db = UserDb::parse(crlf);
  CHECK(db.lookup("a"));
  CHECK(db.serialize() == crlf);
  CHECK(UserDb::parse("").serialize().empty());
}

TEST_CASE("changes touch only their own line") {
  UserDb db = UserDb::parse(kSambaFile);
  std::string error;
  REQUIRE(db.add("carol", 1005, "password", error));
  CHECK_FALSE(db.add("CAROL", 1006, "x", error));
  CHECK(error == "user 'CAROL' already exists");
  CHECK_FALSE(db.add("bad:name", 1, "x", error));
  CHECK_FALSE(db.add("", 1, "x", error));

  auto before = lines_of(kSambaFile);
  auto after = lines_of(db.serialize());
  REQUIRE(after.size() == before.size() + 1);
  for (std::size_t i = 0; i < before.size(); ++i) CHECK(after[i] == before[i]);
  const std::string& added = after.back();
  std::string expected_prefix =
      "carol:1005:" + std::string(kNoHash) + ":" + kPasswordHash + ":[U          ]:";
  CHECK(added.compare(0, expected_prefix.size(), expected_prefix) == 0);
  CHECK(looks_like_lct(added.substr(expected_prefix.size(), 12)));
  CHECK(added.back() == ':');
  CHECK(added.size() == expected_prefix.size() + 13);

  // Disabling Bob's neighbour leaves Bob's line alone, and back again.
  REQUIRE(db.set_disabled("alice", true));
  after = lines_of(db.serialize());
  CHECK(after[1].find(":[DU         ]:LCT-5F3A1B2C:") != std::string::npos);
  CHECK(after[2] == before[2]);
  CHECK(db.lookup("alice")->disabled);
  REQUIRE(db.set_disabled("alice", false));
  CHECK_FALSE(db.lookup("alice")->disabled);
  CHECK(lines_of(db.serialize())[1] == before[1]);

  // A new password clears N and sets a new change time.
  REQUIRE(db.set_password("guest", "password"));
  auto guest = db.lookup("guest");
  CHECK_FALSE(guest->no_password);
  CHECK(UserDb::hash_hex(guest->nt_hash) == kPasswordHash);
  std::string guest_line = lines_of(db.serialize())[4];
  CHECK(guest_line.compare(0, 13, "guest:65534:X") == 0);
  CHECK(guest_line.find(":[U          ]:LCT-") != std::string::npos);
  CHECK(guest_line.find("LCT-00000000") == std::string::npos);
  // The change time can be given instead of read from the clock.
  REQUIRE(db.set_password("guest", "password", 0x5F000001));
  CHECK(lines_of(db.serialize())[4].find(":[U          ]:LCT-5F000001:") != std::string::npos);

  CHECK_FALSE(db.set_password("nobody", "x"));
  CHECK_FALSE(db.set_password("nobody", "x", 1));
  CHECK_FALSE(db.set_disabled("nobody", true));

  REQUIRE(db.remove("BOB"));
  CHECK_FALSE(db.contains("bob"));
  CHECK_FALSE(db.remove("bob"));
  auto removed = lines_of(db.serialize());
  CHECK(removed.size() == before.size());  // one removed, one added
  CHECK(removed[0] == before[0]);
  CHECK(removed[2] == before[3]);
}

TEST_CASE("a changed file reads back to the same accounts") {
  UserDb db;
  std::string error;
  REQUIRE(db.add("dave", 2000, "s3cret!", error));
  REQUIRE(db.add("erin", 2001, "", error));
  REQUIRE(db.set_disabled("erin", true));
  UserDb again = UserDb::parse(db.serialize());
  auto dave = again.lookup("dave");
  REQUIRE(dave);
  CHECK(dave->uid == 2000);
  CHECK(UserDb::hash_hex(dave->nt_hash) == "646FC30DB73EC54D73639EEC95360F04");
  auto erin = again.lookup("erin");
  REQUIRE(erin);
  CHECK(erin->disabled);
  CHECK(again.serialize() == db.serialize());
}

TEST_CASE("duplicate names: the first entry counts the others are kept") {
  std::string text = "a:1:" + std::string(kNoHash) + ":" + kPasswordHash +
                     ":[U          ]:LCT-00000001:\n" + "A:2:" + kNoHash + ":" + kNoHash +
                     ":[U          ]:LCT-00000001:\n";
  std::vector<std::string> warnings;
  UserDb db = UserDb::parse(text, &warnings);
  CHECK(warnings.size() == 1);
  CHECK(db.lookup("a")->uid == 1);
  CHECK(db.serialize() == text);
}

TEST_CASE("save replaces the file atomically with mode 0600") {
  smb::conf::test::TempDir dir;
  auto path = dir / "smbpasswd";
  std::string error;
  auto missing = UserDb::load(path, error);
  CHECK_FALSE(missing);
  CHECK(error.find("No such file") != std::string::npos);
  auto db = UserDb::load(path, error, /*missing_ok=*/true);
  REQUIRE(db);
  REQUIRE(db->add("frank", 3000, "password", error));
  REQUIRE(db->save(path, error));
  struct stat st {};
  REQUIRE(::stat(path.c_str(), &st) == 0);
  CHECK((st.st_mode & 07777) == 0600);
  // Only the file itself is left in the directory.
  CHECK(std::distance(std::filesystem::directory_iterator(dir.path()),
                      std::filesystem::directory_iterator()) == 1);
  auto loaded = UserDb::load(path, error);
  REQUIRE(loaded);
  CHECK(UserDb::hash_hex(loaded->lookup("frank")->nt_hash) == kPasswordHash);

  // A file Samba wrote survives a save without changes.
  smb::conf::test::write_file(path, kSambaFile);
  ::chmod(path.c_str(), 0644);
  auto samba = UserDb::load(path, error);
  REQUIRE(samba);
  REQUIRE(samba->save(path, error));
  CHECK(smb::conf::test::read_file(path) == kSambaFile);
  REQUIRE(::stat(path.c_str(), &st) == 0);
  CHECK((st.st_mode & 07777) == 0600);

  CHECK_FALSE(samba->save(dir / "no-such-dir" / "smbpasswd", error));
  CHECK(error.find("no-such-dir") != std::string::npos);
}
