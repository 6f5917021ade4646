#include "smbd/conf/config.hh"

#include <doctest/doctest.h>

#include <sstream>

#include "smbd/conf/users.hh"
#include "temp_dir.hh"

using namespace smb::conf;
using smb::crypto::Cipher;
using smb::crypto::SigningAlgorithm;

namespace {

std::vector<std::string> messages(const LoadResult& r, Diagnostic::Severity severity) {
  std::vector<std::string> out;
  for (const auto& d : r.diagnostics)
    if (d.severity == severity) out.push_back(d.to_string());
  return out;
}
std::vector<std::string> errors(const LoadResult& r) {
  return messages(r, Diagnostic::Severity::ERROR);
}
std::vector<std::string> warnings(const LoadResult& r) {
  return messages(r, Diagnostic::Severity::WARNING);
}

// Parses one [global] parameter and returns the result.
LoadResult global_with(const std::string& line) {
  return parse_config("[global]\n" + line + "\n", "smb.conf");
}

// The error text for one bad [global] value, or "" when it was accepted.
std::string global_error(const std::string& line) {
  auto r = global_with(line);
  auto e = errors(r);
  return e.empty() ? "" : e.front();
}

}  // namespace

TEST_CASE("an empty file gives the defaults") {
  auto r = parse_config("", "smb.conf");
  CHECK(r.ok());
  CHECK(r.diagnostics.empty());
  const Global& g = r.config.global;
  CHECK(g.smb_ports == std::vector<std::uint16_t>{445});
  CHECK(g.server_min_protocol == kSmb2_02);
  CHECK(g.server_max_protocol == kSmb3_11);
  CHECK(g.server_signing == Signing::DEFAULT);
  CHECK(g.smb_encrypt == Encrypt::DEFAULT);
  CHECK(g.map_to_guest == MapToGuest::NEVER);
  CHECK_FALSE(g.null_passwords);
  CHECK(g.max_credits == 8192);
  CHECK(g.smb2_max_read == 8u * 1024 * 1024);
  CHECK(g.smb2_max_write == 8u * 1024 * 1024);
  CHECK(g.smb2_max_trans == 8u * 1024 * 1024);
  CHECK(g.rdma_port == 5445);
  CHECK(g.smb_passwd_file == g.state_directory + "/smbpasswd");
  CHECK(g.rdma_proxy_socket == g.lock_directory + "/rdmaproxy.sock");
  CHECK_FALSE(g.netbios_name.empty());
  CHECK(g.netbios_name.size() <= 15);
  CHECK(g.server_string == std::string("smb3d ") + version());
  CHECK(g.encryption_algorithms.front() == Cipher::AES_128_GCM);
  CHECK(g.signing_algorithms.front() == SigningAlgorithm::AES_GMAC);
  CHECK(g.idle_timeout_seconds() == 10080u * 60);
  CHECK(r.config.shares.empty());
}

TEST_CASE("every global section option") {
  const char* text =
      "[global]\n"
      "smb ports = 4455 1445\n"
      "interfaces = 127.0.0.1, 192.168.1.0/24 eth0\n"
      "bind interfaces only = yes\n"
      "server min protocol = SMB2_10\n"
      "server max protocol = SMB3_02\n"
      "server signing = mandatory\n"
      "smb encrypt = desired\n"
      "server smb3 encryption algorithms = AES-256-GCM, aes-128-ccm\n"
      "server smb3 signing algorithms = AES-128-CMAC HMAC-SHA256\n"
      "smb passwd file = /srv/private/smbpasswd\n"
      "guest account = guest\n"
      "map to guest = Bad User\n"
      "log level = 3 auth:5\n"
      "log file = /var/log/smb3d/log.smbd\n"
      "max log size = 1000\n"
      "max connections = 50\n"
      "server string = File server %v\n"
      "workgroup = EXAMPLE\n"
      "netbios name = FILER\n"
      "deadtime = 15\n"
      "max credits = 512\n"
      "smb2 max read = 1048576\n"
      "smb2 max write = 4M\n"
      "smb2 max trans = 64k\n"
      "server multi channel support = no\n"
      "rdma port = 15445\n"
      "rdma proxy socket = /run/x/rdma.sock\n"
      "lock directory = /run/x\n"
      "state directory = /var/lib/x\n"
      "pid directory = /run/x/pid\n"
      "connection setup timeout = 10\n";
  auto r = parse_config(text, "smb.conf");
  INFO((r.diagnostics.empty() ? std::string() : r.diagnostics.front().to_string()));
  CHECK(r.diagnostics.empty());
  const Global& g = r.config.global;
  CHECK(g.smb_ports == std::vector<std::uint16_t>{4455, 1445});
  CHECK(g.interfaces == std::vector<std::string>{"127.0.0.1", "192.168.1.0/24", "eth0"});
  CHECK(g.bind_interfaces_only);
  CHECK(g.server_min_protocol == kSmb2_10);
  CHECK(g.server_max_protocol == kSmb3_02);
  CHECK(g.server_signing == Signing::MANDATORY);
  CHECK(g.smb_encrypt == Encrypt::DESIRED);
  CHECK(g.encryption_algorithms == std::vector<Cipher>{Cipher::AES_256_GCM, Cipher::AES_128_CCM});
  CHECK(g.signing_algorithms ==
        std::vector<SigningAlgorithm>{SigningAlgorithm::AES_CMAC, SigningAlgorithm::HMAC_SHA256});
  CHECK(g.smb_passwd_file == "/srv/private/smbpasswd");
  CHECK(g.guest_account == "guest");
  CHECK(g.map_to_guest == MapToGuest::BAD_USER);
  CHECK(g.log_level == 3);
  CHECK(g.log_file == "/var/log/smb3d/log.smbd");
  CHECK(g.max_log_size_kib == 1000);
  CHECK(g.max_connections == 50);
  CHECK(g.server_string == std::string("File server ") + version());
  CHECK(g.workgroup == "EXAMPLE");
  CHECK(g.netbios_name == "FILER");
  CHECK(g.deadtime_minutes == 15);
  CHECK(g.idle_timeout_seconds() == 900);
  CHECK(g.max_credits == 512);
  CHECK(g.smb2_max_read == 1048576);
  CHECK(g.smb2_max_write == 4u << 20);
  CHECK(g.smb2_max_trans == 65536);
  CHECK_FALSE(g.server_multi_channel_support);
  CHECK(g.rdma_port == 15445);
  CHECK(g.rdma_proxy_socket == "/run/x/rdma.sock");
  CHECK(g.lock_directory == "/run/x");
  CHECK(g.state_directory == "/var/lib/x");
  CHECK(g.pid_directory == "/run/x/pid");
  CHECK(g.connection_setup_timeout_seconds() == 10);
}

TEST_CASE("connection idle timeout overrides deadtime and deadtime 0 means none") {
  auto r = parse_config("deadtime = 5\nconnection idle timeout = 42\n", "smb.conf");
  CHECK(r.ok());
  CHECK(r.config.global.idle_timeout_seconds() == 42);
  r = parse_config("deadtime = 0\n", "smb.conf");
  CHECK(r.config.global.idle_timeout_seconds() == 0);
}

TEST_CASE("null passwords") {
  CHECK(global_with("null passwords = yes").config.global.null_passwords);
  CHECK_FALSE(global_with("null passwords = no").config.global.null_passwords);
  CHECK(global_error("null passwords = perhaps") != "");
}

TEST_CASE("enumerated values and their Samba spellings") {
  struct Case {
    const char* value;
    Signing expected;
  };
  for (auto [value, expected] :
       {Case{"default", Signing::DEFAULT}, Case{"auto", Signing::DEFAULT},
        Case{"Mandatory", Signing::MANDATORY}, Case{"required", Signing::MANDATORY},
        Case{"disabled", Signing::DISABLED}, Case{"off", Signing::DISABLED}}) {
    auto r = global_with(std::string("server signing = ") + value);
    CHECK(r.ok());
    CHECK(r.config.global.server_signing == expected);
  }
  struct EncCase {
    const char* value;
    Encrypt expected;
  };
  for (auto [value, expected] :
       {EncCase{"default", Encrypt::DEFAULT}, EncCase{"auto", Encrypt::DEFAULT},
        EncCase{"off", Encrypt::OFF}, EncCase{"disabled", Encrypt::OFF},
        EncCase{"desired", Encrypt::DESIRED}, EncCase{"if_required", Encrypt::DESIRED},
        EncCase{"required", Encrypt::REQUIRED}, EncCase{"MANDATORY", Encrypt::REQUIRED}}) {
    auto r = global_with(std::string("server smb encrypt = ") + value);
    CHECK(r.ok());
    CHECK(r.config.global.smb_encrypt == expected);
  }
  CHECK(global_with("map to guest = never").config.global.map_to_guest == MapToGuest::NEVER);
  CHECK(global_with("map to guest = bad password").config.global.map_to_guest ==
        MapToGuest::BAD_PASSWORD);
  CHECK(global_with("map to guest = BadUser").config.global.map_to_guest == MapToGuest::BAD_USER);
}

TEST_CASE("protocol names and aliases") {
  CHECK(global_with("server max protocol = SMB2").config.global.server_max_protocol == kSmb2_10);
  CHECK(global_with("server max protocol = smb3").config.global.server_max_protocol == kSmb3_11);
  CHECK(global_with("server min protocol = SMB3_00").config.global.server_min_protocol == kSmb3_00);
  CHECK(global_with("protocol = SMB2_02").config.global.server_max_protocol == kSmb2_02);
  // SMB1 as the minimum is Samba's old default: accepted with a warning.
  auto r = global_with("server min protocol = NT1");
  CHECK(r.ok());
  CHECK(r.config.global.server_min_protocol == kSmb2_02);
  CHECK(warnings(r).size() == 1);
  CHECK(global_error("server max protocol = NT1") ==
        "smb.conf:2: bad value 'NT1' for 'server max protocol': SMB1 is not supported");
  r = parse_config("server max protocol = SMB2_10\nserver min protocol = SMB3_00\n", "smb.conf");
  REQUIRE(errors(r).size() == 1);
  CHECK(errors(r).front() ==
        "smb.conf:2: server min protocol SMB3_00 is above server max protocol SMB2_10");
}

TEST_CASE("parameter names ignore case and spaces and booleans in every spelling") {
  const char* text =
      "[a]\npath = /a\nReadOnly = no\n"
      "[b]\npath = /b\n  READ   ONLY = No\n"
      "[c]\npath = /c\nread only = false\n"
      "[d]\npath = /d\nread only = 0\n"
      "[e]\npath = /e\nread only = off\n"
      "[f]\npath = /f\nread only = on\n"
      "[g]\npath = /g\nread only = TRUE\n"
      "[h]\npath = /h\nread only = 1\n";
  auto r = parse_config(text, "smb.conf");
  CHECK(r.diagnostics.empty());
  for (const char* name : {"a", "b", "c", "d", "e"})
    CHECK_FALSE(r.config.find_share(name)->read_only);
  for (const char* name : {"f", "g", "h"}) CHECK(r.config.find_share(name)->read_only);
}

TEST_CASE("every share option and the synonyms") {
  const char* text =
      "[Data]\n"
      "path = /srv/data\n"
      "comment = Team data\n"
      "read only = no\n"
      "guest ok = yes\n"
      "valid users = alice, bob \"carol smith\"\n"
      "invalid users = mallory eve\n"
      "browseable = no\n"
      "create mask = 0640\n"
      "directory mask = 750\n"
      "smb encrypt = required\n"
      "available = no\n"
      "pmem = yes\n"
      "[w1]\ndirectory = /w1\nwriteable = yes\npublic = yes\nbrowsable = no\n"
      "create mode = 0600\ndirectory mode = 0700\nserver smb encrypt = desired\n"
      "[w2]\npath = /w2\nwritable = yes\n"
      "[w3]\npath = /w3\nwrite ok = no\n";
  auto r = parse_config(text, "smb.conf");
  INFO((r.diagnostics.empty() ? std::string() : r.diagnostics.front().to_string()));
  CHECK(r.diagnostics.empty());
  REQUIRE(r.config.shares.size() == 4);
  const Share* s = r.config.find_share("data");
  REQUIRE(s != nullptr);
  CHECK(s->name == "Data");
  CHECK(s->path == "/srv/data");
  CHECK(s->comment == "Team data");
  CHECK_FALSE(s->read_only);
  CHECK(s->guest_ok);
  CHECK(s->valid_users == std::vector<std::string>{"alice", "bob", "carol smith"});
  CHECK(s->invalid_users == std::vector<std::string>{"mallory", "eve"});
  CHECK_FALSE(s->browseable);
  CHECK(s->create_mask == 0640);
  CHECK(s->directory_mask == 0750);
  CHECK(s->smb_encrypt == Encrypt::REQUIRED);
  CHECK_FALSE(s->available);
  CHECK(s->pmem);
  const Share* w1 = r.config.find_share("W1");
  REQUIRE(w1 != nullptr);
  CHECK(w1->path == "/w1");
  CHECK_FALSE(w1->read_only);
  CHECK(w1->guest_ok);
  CHECK_FALSE(w1->browseable);
  CHECK(w1->create_mask == 0600);
  CHECK(w1->directory_mask == 0700);
  CHECK(w1->smb_encrypt == Encrypt::DESIRED);
  CHECK_FALSE(r.config.find_share("w2")->read_only);
  CHECK(r.config.find_share("w3")->read_only);
  // The server-wide setting is untouched by share settings.
  CHECK(r.config.global.smb_encrypt == Encrypt::DEFAULT);
}

TEST_CASE("share defaults") {
  auto r = parse_config("[s]\npath = /s\n", "smb.conf");
  const Share& s = r.config.shares.at(0);
  CHECK(s.read_only);
  CHECK_FALSE(s.guest_ok);
  CHECK(s.browseable);
  CHECK(s.available);
  CHECK_FALSE(s.pmem);
  CHECK(s.create_mask == 0744);
  CHECK(s.directory_mask == 0755);
  CHECK(s.smb_encrypt == Encrypt::DEFAULT);
  CHECK(s.valid_users.empty());
}

TEST_CASE("the options of who files belong to") {
  const char* text =
      "[t]\npath = /t\nforce user = alice\nforce group = +staff\n"
      "admin users = root, @wheel \"Jo Doe\"\nforce create mode = 0060\n"
      "force directory mode = 2000\ninherit permissions = yes\ninherit owner = unix only\n"
      "[u]\npath = /u\ngroup = users\ninherit owner = yes\n"
      "[v]\npath = /v\ninherit owner = windows and unix\n";
  auto r = parse_config(text, "smb.conf");
  INFO((r.diagnostics.empty() ? std::string() : r.diagnostics.front().to_string()));
  CHECK(r.diagnostics.empty());
  const Share* t = r.config.find_share("t");
  REQUIRE(t != nullptr);
  CHECK(t->force_user == "alice");
  CHECK(t->force_group == "+staff");
  CHECK(t->admin_users == std::vector<std::string>{"root", "@wheel", "Jo Doe"});
  CHECK(t->force_create_mode == 0060);
  CHECK(t->force_directory_mode == 02000);
  CHECK(t->inherit_permissions);
  CHECK(t->inherit_owner == InheritOwner::UNIX_ONLY);
  CHECK(r.config.find_share("u")->force_group == "users");
  CHECK(r.config.find_share("u")->inherit_owner == InheritOwner::WINDOWS_AND_UNIX);
  CHECK(r.config.find_share("v")->inherit_owner == InheritOwner::WINDOWS_AND_UNIX);
  // Defaults: the connecting user, masks only, nothing inherited.
  auto d = parse_config("[d]\npath = /d\n", "smb.conf");
  const Share& s = d.config.shares.at(0);
  CHECK(s.force_user.empty());
  CHECK(s.force_group.empty());
  CHECK(s.admin_users.empty());
  CHECK(s.force_create_mode == 0);
  CHECK(s.force_directory_mode == 0);
  CHECK_FALSE(s.inherit_permissions);
  CHECK(s.inherit_owner == InheritOwner::NO);
  auto bad =
      parse_config("[b]\npath = /b\ninherit owner = maybe\nforce create mode = 9\n", "smb.conf");
  CHECK_FALSE(bad.ok());
  REQUIRE(bad.diagnostics.size() == 2);
  CHECK(bad.diagnostics[0].to_string() ==
        "smb.conf:3: bad value 'maybe' for 'inherit owner': expected no, windows and unix or "
        "unix only");
  CHECK(bad.diagnostics[1].to_string() ==
        "smb.conf:4: bad value '9' for 'force create mode': expected an octal mode such as 0755");
}

TEST_CASE("share parameters in global section are defaults for later shares") {
  auto r = parse_config(
      "[global]\nread only = no\ncreate mask = 0600\n[a]\npath = /a\n"
      "[b]\npath = /b\nread only = yes\n",
      "smb.conf");
  CHECK(r.diagnostics.empty());
  CHECK_FALSE(r.config.find_share("a")->read_only);
  CHECK(r.config.find_share("a")->create_mask == 0600);
  CHECK(r.config.find_share("b")->read_only);
  CHECK(r.config.find_share("b")->create_mask == 0600);
}

TEST_CASE("comments blank lines and continuation lines") {
  const char* text =
      "# a comment\n"
      "; another comment\n"
      "\n"
      "   # indented comment\n"
      "[global]\r\n"
      "interfaces = 127.0.0.1, \\\n"
      "             10.0.0.1 \\\n"
      "             10.0.0.2\n"
      "workgroup = W\n"
      "[s]\n"
      "path = /very/long\\\n"
      "/path\n"
      "comment = keeps # and ; inside a value\n"
      "valid users = alice \\\n"
      "   bob\n"
      "bogus = 1\n";
  auto r = parse_config(text, "smb.conf");
  CHECK(r.config.global.interfaces ==
        std::vector<std::string>{"127.0.0.1", "10.0.0.1", "10.0.0.2"});
  CHECK(r.config.global.workgroup == "W");
  const Share* s = r.config.find_share("s");
  REQUIRE(s != nullptr);
  CHECK(s->path == "/very/long/path");
  CHECK(s->comment == "keeps # and ; inside a value");
  CHECK(s->valid_users == std::vector<std::string>{"alice", "bob"});
  // Line numbers count physical lines.
  REQUIRE(warnings(r).size() == 1);
  CHECK(warnings(r).front() == "smb.conf:16: unknown parameter 'bogus' in [s] ignored");
}

TEST_CASE("unknown parameters are warnings naming file and line") {
  std::string text = "[global]\n";
  for (int i = 0; i < 9; ++i) text += "workgroup = W\n";
  text += "[share]\npath = /x\nfoo = bar\nworkgroup = W\n";
  auto r = parse_config(text, "smb.conf");
  CHECK(r.ok());
  auto w = warnings(r);
  REQUIRE(w.size() == 2);
  CHECK(w[0] == "smb.conf:13: unknown parameter 'foo' in [share] ignored");
  CHECK(w[1] == "smb.conf:14: global parameter 'workgroup' in [share] ignored");
  r = parse_config("[global]\nload printers = no\n", "/etc/x.conf");
  CHECK(warnings(r).at(0) ==
        "/etc/x.conf:2: unknown parameter 'load printers' in [global] ignored");
  r = parse_config("[s]\npath = /s\nsmb ports = 1\n", "smb.conf");
  CHECK(warnings(r).at(0) == "smb.conf:3: global parameter 'smb ports' in [s] ignored");
  CHECK(r.config.global.smb_ports == std::vector<std::uint16_t>{445});
}

TEST_CASE("malformed lines are errors naming file and line") {
  auto r = parse_config("[global]\nworkgroup = W\nthis is not valid\n", "smb.conf");
  CHECK_FALSE(r.ok());
  REQUIRE(errors(r).size() == 1);
  CHECK(errors(r)[0] ==
        "smb.conf:3: malformed line 'this is not valid': expected '[section]' or 'name = value'");
  r = parse_config("\n[share\npath = /x\n", "smb.conf");
  REQUIRE(errors(r).size() == 1);
  CHECK(errors(r)[0] == "smb.conf:2: malformed section header '[share': missing ']'");
  r = parse_config("= value\n", "smb.conf");
  CHECK(errors(r).at(0) == "smb.conf:1: malformed line '= value': no parameter name");
  r = parse_config("[bad/name]\npath = /x\n", "smb.conf");
  CHECK(errors(r).at(0) == "smb.conf:1: invalid share name 'bad/name'");
}

TEST_CASE("bad values are errors naming file line parameter and value") {
  CHECK(global_error("bind interfaces only = perhaps") ==
        "smb.conf:2: bad value 'perhaps' for 'bind interfaces only': expected yes or no");
  CHECK(global_error("server max protocol = SMB4") != "");
  CHECK(global_error("server signing = sometimes") != "");
  CHECK(global_error("smb encrypt = always") != "");
  CHECK(global_error("map to guest = bad luck") != "");
  CHECK(global_error("smb ports = 445 http") ==
        "smb.conf:2: bad value '445 http' for 'smb ports': bad port 'http'");
  CHECK(global_error("smb ports = 70000") != "");
  CHECK(global_error("log level = 11") ==
        "smb.conf:2: bad value '11' for 'log level': expected a number from 0 to 10");
  CHECK(global_error("max credits = 0") != "");
  CHECK(global_error("smb2 max read = 1000") != "");
  CHECK(global_error("smb2 max write = 32M") != "");
  CHECK(global_error("deadtime = -1") != "");
  CHECK(global_error("rdma port = 0") != "");
  CHECK(global_error("netbios name = MUCH-TOO-LONG-A-NAME") != "");
  CHECK(global_error("server smb3 encryption algorithms = AES-512-GCM") ==
        "smb.conf:2: bad value 'AES-512-GCM' for 'server smb3 encryption algorithms': unknown "
        "algorithm 'AES-512-GCM'");
  CHECK(global_error("server smb3 signing algorithms = ") != "");
  CHECK(global_error("passdb backend = tdbsam") ==
        "smb.conf:2: bad value 'tdbsam' for 'passdb backend': backend 'tdbsam' is not "
        "supported (only smbpasswd)");
  auto r = parse_config("[s]\npath = /s\ncreate mask = 0999\nread only = maybe\n", "smb.conf");
  auto e = errors(r);
  REQUIRE(e.size() == 2);
  CHECK(e[0] ==
        "smb.conf:3: bad value '0999' for 'create mask': expected an octal mode such as 0755");
  CHECK(e[1] == "smb.conf:4: bad value 'maybe' for 'read only': expected yes or no");
}

TEST_CASE("a share without a path is an error") {
  auto r = parse_config("[global]\n\n[nopath]\ncomment = x\n", "smb.conf");
  CHECK_FALSE(r.ok());
  REQUIRE(errors(r).size() == 1);
  CHECK(errors(r)[0] == "smb.conf:3: share [nopath] has no path");
}

TEST_CASE("IPC is implicit and special sections are ignored and sections of one name merge") {
  auto r = parse_config(
      "[IPC$]\npath = /tmp\n[homes]\ncomment = x\n[s]\npath = /a\n"
      "[S]\ncomment = merged\n",
      "smb.conf");
  CHECK(r.ok());
  CHECK(warnings(r).size() == 2);
  REQUIRE(r.config.shares.size() == 1);
  CHECK(r.config.find_share("IPC$") == nullptr);
  CHECK(r.config.find_share("s")->comment == "merged");
  CHECK(r.config.find_share("s")->path == "/a");
  CHECK(r.config.find_share("missing") == nullptr);
}

TEST_CASE("smbpasswd file: passdb backend wins over smb passwd file") {
  auto r = parse_config("passdb backend = smbpasswd:/a/smbpasswd\nsmb passwd file = /b/smbpasswd\n",
                        "smb.conf");
  CHECK(r.ok());
  CHECK(r.config.global.smb_passwd_file == "/a/smbpasswd");
  r = parse_config("passdb backend = smbpasswd\nsmb passwd file = /b/smbpasswd\n", "smb.conf");
  CHECK(r.config.global.smb_passwd_file == "/b/smbpasswd");
  r = parse_config("state directory = /st\n", "smb.conf");
  CHECK(r.config.global.smb_passwd_file == "/st/smbpasswd");
}

TEST_CASE("load_config reads a file and names it in diagnostics") {
  test::TempDir dir;
  auto path = dir / "smb.conf";
  test::write_file(path, "[global]\nworkgroup = FROMFILE\nfoo = 1\n[s]\npath = /s\n");
  auto r = load_config(path);
  CHECK(r.ok());
  CHECK(r.config.global.workgroup == "FROMFILE");
  CHECK(warnings(r).at(0) == path.string() + ":3: unknown parameter 'foo' in [global] ignored");
  auto missing = load_config(dir / "absent.conf");
  CHECK_FALSE(missing.ok());
  CHECK(errors(missing).at(0) ==
        (dir / "absent.conf").string() + ": cannot open configuration file");
}

TEST_CASE("dump_config prints what parses back to the same configuration") {
  const char* text =
      "[global]\nsmb ports = 4455 445\ninterfaces = lo \"odd name\"\nserver signing = required\n"
      "smb encrypt = off\nserver smb3 encryption algorithms = AES-256-CCM\n"
      "server min protocol = SMB3\nmap to guest = bad user\nlog file = /l\n"
      "[data]\npath = /srv/data\ncomment = Data\nvalid users = a b\ninvalid users = c\n"
      "read only = no\ncreate mask = 0600\nsmb encrypt = desired\npmem = yes\n"
      "force user = alice\nforce group = +staff\nadmin users = root @wheel\n"
      "force create mode = 0060\nforce directory mode = 02770\ninherit permissions = yes\n"
      "inherit owner = unix only\nvfs objects = acl_xattr\n";
  auto first = parse_config(text, "smb.conf");
  REQUIRE(first.ok());
  std::ostringstream dumped;
  dump_config(first.config, dumped);
  CHECK(dumped.str().find("[global]\n") != std::string::npos);
  CHECK(dumped.str().find("\tserver signing = mandatory\n") != std::string::npos);
  CHECK(dumped.str().find("\n[data]\n\tpath = /srv/data\n") != std::string::npos);
  CHECK(dumped.str().find("\tforce user = alice\n") != std::string::npos);
  CHECK(dumped.str().find("\tforce group = +staff\n") != std::string::npos);
  CHECK(dumped.str().find("\tadmin users = root, @wheel\n") != std::string::npos);
  CHECK(dumped.str().find("\tforce create mode = 0060\n") != std::string::npos);
  CHECK(dumped.str().find("\tforce directory mode = 2770\n") != std::string::npos);
  CHECK(dumped.str().find("\tinherit permissions = Yes\n") != std::string::npos);
  CHECK(dumped.str().find("\tinherit owner = unix only\n") != std::string::npos);
  CHECK(dumped.str().find("\tvfs objects = acl_xattr\n") != std::string::npos);
  auto second = parse_config(dumped.str(), "dump");
  CHECK(second.diagnostics.empty());
  std::ostringstream again;
  dump_config(second.config, again);
  CHECK(again.str() == dumped.str());
  const Global& g = second.config.global;
  CHECK(g.smb_ports == std::vector<std::uint16_t>{4455, 445});
  CHECK(g.interfaces == std::vector<std::string>{"lo", "odd name"});
  CHECK(g.server_min_protocol == kSmb3_11);
  CHECK(g.encryption_algorithms == std::vector<Cipher>{Cipher::AES_256_CCM});
  CHECK(second.config.find_share("data")->valid_users == std::vector<std::string>{"a", "b"});
  CHECK(second.config.find_share("data")->smb_encrypt == Encrypt::DESIRED);
}

namespace {

// dump_config, then parse_config of the dump: the text and the configuration read back.
struct RoundTrip {
  std::string dumped;
  LoadResult reread;
};
RoundTrip round_trip(const Config& config) {
  std::ostringstream out;
  dump_config(config, out);
  return {out.str(), parse_config(out.str(), "dump")};
}

}  // namespace

// `server string` expands %v and %h when read. The dump printed the expanded text, which
// the next read expanded again: "%%h" became "%" + host name, and on a host whose name
// begins with v or h ("vm") the reread turned that "%v..." into the version. The dump
// prints the text as written, so every read expands the same template.
TEST_CASE("dump_config prints server string unexpanded so a reread expands it once") {
  auto first = parse_config("[global]\nserver string = %%h: %h (smb3d %v) 100%\n", "smb.conf");
  REQUIRE(first.ok());
  RoundTrip rt = round_trip(first.config);
  CHECK(rt.dumped.find("\tserver string = %%h: %h (smb3d %v) 100%\n") != std::string::npos);
  REQUIRE(rt.reread.ok());
  CHECK(rt.reread.config.global.server_string == first.config.global.server_string);
  CHECK(rt.reread.config == first.config);
  CHECK(round_trip(rt.reread.config).dumped == rt.dumped);

  // The expansion itself is unchanged: a literal '%' before the host name stays literal.
  const std::string& expanded = first.config.global.server_string;
  CHECK(expanded.rfind("%", 0) == 0);
  CHECK(expanded.find(std::string(" (smb3d ") + version() + ") 100%") != std::string::npos);

  // The form the fuzzer found (it needs a host name beginning with v or h to show).
  auto found =
      parse_config("[global]\nworkgroup = EXAMPLE\nserver string = %%h server\n", "smb.conf");
  REQUIRE(found.ok());
  RoundTrip again = round_trip(found.config);
  REQUIRE(again.reread.ok());
  CHECK(again.reread.config == found.config);
  CHECK(round_trip(again.reread.config).dumped == again.dumped);
}

// A value may end in a backslash (a continuation followed by an empty line). Written as
// it is, that backslash would join the next dumped line onto the value.
TEST_CASE("dump_config writes a value ending in a backslash so that it reads back") {
  auto first = parse_config(
      "[global]\nworkgroup = W\\\\\n\n[s]\npath = /srv/s\\\\\n\ncomment = c\\\\\n\n", "smb.conf");
  REQUIRE(first.ok());
  CHECK(first.config.global.workgroup == "W\\");
  REQUIRE(first.config.find_share("s") != nullptr);
  CHECK(first.config.find_share("s")->path == "/srv/s\\");
  CHECK(first.config.find_share("s")->comment == "c\\");
  RoundTrip rt = round_trip(first.config);
  INFO(rt.dumped);
  REQUIRE(rt.reread.ok());
  CHECK(rt.reread.diagnostics.empty());
  CHECK(rt.reread.config == first.config);
  CHECK(round_trip(rt.reread.config).dumped == rt.dumped);
}

// List items are split at any white space, not only at blanks and tabs: an item holding
// a form feed or a carriage return (possible inside quotes) is quoted in the dump.
TEST_CASE("dump_config quotes list items holding any white space") {
  auto first = parse_config(
      "[global]\ninterfaces = \"a\fb\" \"c\rd\" e\n[s]\npath = /s\nvalid users = \"x\fy\", z\n",
      "smb.conf");
  REQUIRE(first.ok());
  CHECK(first.config.global.interfaces == std::vector<std::string>{"a\fb", "c\rd", "e"});
  RoundTrip rt = round_trip(first.config);
  REQUIRE(rt.reread.ok());
  CHECK(rt.reread.config.global.interfaces == first.config.global.interfaces);
  CHECK(rt.reread.config == first.config);
}

TEST_CASE("demo configuration") {
  test::TempDir dir;
  Config c = demo_config(dir.path(), 4455);
  CHECK(c.global.smb_ports == std::vector<std::uint16_t>{4455});
  CHECK(c.global.interfaces == std::vector<std::string>{"127.0.0.1"});
  CHECK(c.global.bind_interfaces_only);
  CHECK(c.global.log_file.empty());
  CHECK(c.global.smb_passwd_file == (dir / "smbpasswd").string());
  REQUIRE(c.shares.size() == 1);
  CHECK(c.shares[0].name == "demo");
  CHECK(c.shares[0].path == (dir / "demo").string());
  CHECK_FALSE(c.shares[0].read_only);

  std::string error;
  REQUIRE(prepare_demo(dir.path(), error));
  CHECK(std::filesystem::is_directory(dir / "demo"));
  auto db = UserDb::load(c.global.smb_passwd_file, error);
  REQUIRE(db);
  auto demo = db->lookup("demo");
  REQUIRE(demo);
  // NT hash of "demo" (MD4 of its UTF-16LE form).
  CHECK(UserDb::hash_hex(demo->nt_hash) == "527C9C819B286EFB8EC4EBB5B5AE71CF");
  CHECK_FALSE(demo->disabled);
  // A second run keeps the file as it is.
  std::string before = test::read_file(dir / "smbpasswd");
  REQUIRE(prepare_demo(dir.path(), error));
  CHECK(test::read_file(dir / "smbpasswd") == before);
  // The dump of the demo configuration is itself a valid smb.conf.
  std::ostringstream dumped;
  dump_config(c, dumped);
  CHECK(parse_config(dumped.str(), "demo").diagnostics.empty());
}

TEST_CASE("the example smb.conf parses without remarks") {
  auto r = load_config(SMB_EXAMPLE_CONF);
  std::string remarks;
  for (const auto& d : r.diagnostics) remarks += d.to_string() + "\n";
  INFO(remarks);
  CHECK(r.diagnostics.empty());
  CHECK(r.config.shares.size() == 6);
  CHECK(r.config.global.smb_passwd_file == "/var/lib/smb3d/private/smbpasswd");
  CHECK(r.config.global.encryption_algorithms.size() == 4);
  CHECK(r.config.find_share("secret")->smb_encrypt == Encrypt::REQUIRED);
  CHECK_FALSE(r.config.find_share("projects")->read_only);
  CHECK(r.config.find_share("fast")->pmem);
  CHECK(r.config.find_share("projects")->force_group == "projects");
  CHECK(r.config.find_share("scans")->force_user == "scanner");
  CHECK(r.config.find_share("dropbox")->inherit_owner == InheritOwner::WINDOWS_AND_UNIX);
}

TEST_CASE("Kerberos: a keytab and a realm, or nothing") {
  auto r = parse_config(
      "kerberos method = dedicated keytab\ndedicated keytab file = /etc/smb3d/smb.keytab\n"
      "realm = example.com\n",
      "smb.conf");
  REQUIRE(r.ok());
  CHECK(r.config.global.kerberos_keytab() == "/etc/smb3d/smb.keytab");
  CHECK(r.config.global.realm == "EXAMPLE.COM");

  r = parse_config("kerberos method = system keytab\nrealm = EXAMPLE.COM\n", "smb.conf");
  REQUIRE(r.ok());
  CHECK(r.config.global.kerberos_keytab() == "/etc/krb5.keytab");

  // The default: no keytab, NTLMSSP only.
  CHECK(parse_config("", "smb.conf").config.global.kerberos_keytab().empty());
  CHECK(parse_config("kerberos method = secrets only\n", "smb.conf")
            .config.global.kerberos_keytab()
            .empty());

  auto missing_file =
      errors(parse_config("kerberos method = dedicated keytab\nrealm = X\n", "smb.conf"));
  REQUIRE(missing_file.size() == 1);
  CHECK(missing_file.front().find("dedicated keytab file") != std::string::npos);
  auto missing_realm = errors(parse_config("kerberos method = system keytab\n", "smb.conf"));
  REQUIRE(missing_realm.size() == 1);
  CHECK(missing_realm.front().find("realm") != std::string::npos);
  CHECK(global_error("kerberos method = secrets and keytab").find("dedicated keytab") !=
        std::string::npos);
}

TEST_CASE("vfs objects: acl_xattr and streams_xattr, other modules are named and ignored") {
  auto r = parse_config("[s]\npath = /s\nvfs objects = streams_xattr acl_xattr xattr_tdb fruit\n",
                        "smb.conf");
  REQUIRE(r.ok());
  REQUIRE(r.config.shares.size() == 1);
  CHECK(r.config.shares[0].acl_xattr);
  CHECK(r.config.shares[0].streams_xattr);
  REQUIRE(warnings(r).size() == 1);
  CHECK(warnings(r).front().find("ignored: xattr_tdb, fruit") != std::string::npos);
  auto none = parse_config("[s]\npath = /s\nvfs objects = acl_xattr streams_xattr\nvfs objects =\n",
                           "smb.conf");
  REQUIRE(none.ok());
  CHECK(!none.config.shares[0].acl_xattr);
  CHECK(!none.config.shares[0].streams_xattr);
  CHECK(warnings(none).empty());
  auto streams = parse_config("[s]\npath = /s\nvfs objects = streams_xattr\n", "smb.conf");
  REQUIRE(streams.ok());
  CHECK(!streams.config.shares[0].acl_xattr);
  CHECK(streams.config.shares[0].streams_xattr);
  CHECK(warnings(streams).empty());
}

TEST_CASE("hide unreadable: off unless set") {
  auto r = parse_config("[a]\npath = /a\n[b]\npath = /b\nhide unreadable = yes\n", "smb.conf");
  REQUIRE(r.ok());
  REQUIRE(r.config.shares.size() == 2);
  CHECK(!r.config.shares[0].hide_unreadable);
  CHECK(r.config.shares[1].hide_unreadable);
  CHECK(warnings(r).empty());
}
