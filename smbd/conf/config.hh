// The server configuration: an smb.conf in Samba's syntax ([sections], `name = value`,
// # and ; comments, backslash continuation lines) read into plain structs.
//
// Parameter names compare case-insensitively with spaces insignificant, as Samba's do
// ("read only" == "ReadOnly"), and Samba's synonyms are understood. Share parameters in
// [global] become the defaults of every share, as in Samba.
#pragma once

#include <cstdint>
#include <filesystem>
#include <iosfwd>
#include <string>
#include <string_view>
#include <vector>

#include "smbd/crypto/algorithms.hh"

namespace smb::conf {

// `server signing`: SMB2 always offers signing; only MANDATORY makes the server require it.
enum class Signing { DEFAULT, MANDATORY, DISABLED };
// `smb encrypt`: DESIRED turns encryption on for clients that can; REQUIRED refuses others.
enum class Encrypt { DEFAULT, OFF, DESIRED, REQUIRED };
// `map to guest`: when a failed logon becomes a guest session.
enum class MapToGuest { NEVER, BAD_USER, BAD_PASSWORD };
// `kerberos method`: where the keys of the server's Kerberos principals come from. Without
// a keytab (NONE, Samba's "secrets only" on a server outside a domain) only NTLMSSP is
// offered.
enum class KerberosMethod { NONE, DEDICATED_KEYTAB, SYSTEM_KEYTAB };
// `inherit owner`: who owns a new file or directory. Without NT ACLs stored, "windows and
// unix" and "unix only" both give it the owner of its parent directory.
enum class InheritOwner { NO, WINDOWS_AND_UNIX, UNIX_ONLY };

// `mangled names`, Samba's values and default (ILLEGAL): with YES directory listings of
// the short-name classes carry the 8.3 name of every name that is not 8.3; with ILLEGAL
// and NO they carry none, as Samba's do (ILLEGAL's mangling of long names that hold
// characters NTFS forbids is not done here). FileAlternateNameInformation answers the
// 8.3 name whatever the setting, as Samba's does.
enum class MangledNames { NO, YES, ILLEGAL };

// Dialect revisions as carried in NEGOTIATE ([MS-SMB2] 2.2.3).
inline constexpr std::uint16_t kSmb2_02 = 0x0202;
inline constexpr std::uint16_t kSmb2_10 = 0x0210;
inline constexpr std::uint16_t kSmb3_00 = 0x0300;
inline constexpr std::uint16_t kSmb3_02 = 0x0302;
inline constexpr std::uint16_t kSmb3_11 = 0x0311;

struct Share {
  std::string name;
  std::string path;
  std::string comment;
  bool read_only = true;
  bool guest_ok = false;
  std::vector<std::string> valid_users;  // empty: everyone
  std::vector<std::string> invalid_users;
  bool browseable = true;
  std::uint32_t create_mask = 0744;
  std::uint32_t directory_mask = 0755;
  std::uint32_t force_create_mode = 0;     // ORed in after `create mask`
  std::uint32_t force_directory_mode = 0;  // ORed in after `directory mask`
  bool inherit_permissions = false;        // new entries take their mode from the parent
  InheritOwner inherit_owner = InheritOwner::NO;
  // Who the share's file operations run as (docs/security.md): `force user` replaces the
  // connecting user, `force group` (a leading '+': only for its members) the primary
  // group, and `admin users` (names, @group or +group) act as root.
  std::string force_user;
  std::string force_group;
  std::vector<std::string> admin_users;
  Encrypt smb_encrypt = Encrypt::DEFAULT;
  bool available = true;
  bool pmem = false;  // serve from the persistent-memory backend
  // `vfs objects = acl_xattr`: NT ACLs stored in security.NTACL and enforced on CREATE
  // (docs/security.md). Other vfs modules are not available and are ignored with a warning.
  bool acl_xattr = false;
  // `vfs objects = streams_xattr`: named streams ("file:name:$DATA") kept in
  // user.DosStream.* extended attributes the way Samba's vfs_streams_xattr keeps them
  // (vfs/streams.hh). Without it a ":" in a name is OBJECT_NAME_INVALID.
  bool streams_xattr = false;
  // `hide unreadable`: directory listings leave out entries the user may not read
  // (access-based enumeration, docs/security.md).
  bool hide_unreadable = false;
  // `store dos attributes` (Samba's name and default): DOS attributes and creation
  // times kept in Samba's user.DOSATTRIB (vfs/dos_attrib.hh).
  bool store_dos_attributes = true;
  // `ea support` (Samba's name and default): NT extended attributes as `user.` xattrs
  // (vfs/eas.hh); without it they answer EAS_NOT_SUPPORTED.
  bool ea_support = true;
  MangledNames mangled_names = MangledNames::ILLEGAL;
  // `kernel oplocks = yes` (Samba's parameter): oplocks only where the kernel grants a
  // lease on the file, for shares that local programs use too; no level II, no leases.
  // Default: the host table's oplocks and leases.
  bool kernel_oplocks = false;

  friend bool operator==(const Share&, const Share&) = default;
};

struct Global {
  std::vector<std::uint16_t> smb_ports{445};
  std::vector<std::string> interfaces;
  bool bind_interfaces_only = false;
  std::uint16_t server_min_protocol = kSmb2_02;
  std::uint16_t server_max_protocol = kSmb3_11;
  Signing server_signing = Signing::DEFAULT;
  Encrypt smb_encrypt = Encrypt::DEFAULT;
  // In order of preference; Samba's defaults.
  std::vector<crypto::Cipher> encryption_algorithms{
      crypto::Cipher::AES_128_GCM, crypto::Cipher::AES_128_CCM, crypto::Cipher::AES_256_GCM,
      crypto::Cipher::AES_256_CCM};
  std::vector<crypto::SigningAlgorithm> signing_algorithms{crypto::SigningAlgorithm::AES_GMAC,
                                                           crypto::SigningAlgorithm::AES_CMAC,
                                                           crypto::SigningAlgorithm::HMAC_SHA256};
  // Effective smbpasswd file: `passdb backend = smbpasswd:PATH` wins over `smb passwd
  // file`; without either it is state directory/smbpasswd.
  std::string smb_passwd_file;
  std::string guest_account = "nobody";
  std::string username_map;  // the file of `username map`; empty: names are used as given
  MapToGuest map_to_guest = MapToGuest::NEVER;
  KerberosMethod kerberos_method = KerberosMethod::NONE;
  std::string dedicated_keytab_file;  // for KerberosMethod::DEDICATED_KEYTAB
  std::string realm;                  // upper case; principals of other realms are refused
  // Accounts without a password (smbpasswd flag N) may log on: Samba's `null passwords`.
  bool null_passwords = false;
  int log_level = 0;
  std::string log_file;                   // empty: standard output
  std::uint64_t max_log_size_kib = 5000;  // accepted for compatibility
  unsigned max_connections = 0;           // 0: unlimited
  // Opens the host-wide table of open files holds, across all workers; an open beyond
  // them is refused with INSUFFICIENT_RESOURCES.
  unsigned open_file_table_size = 65536;
  std::string server_string;              // default "smb3d <version>"; %v and %h expanded
  // `server string` as written, before %v and %h are expanded: what dump_config prints,
  // so that reading the dump expands the same text once (an expanded "%%h" would be
  // expanded again). Empty: the default, "smb3d %v".
  std::string server_string_source;
  std::string workgroup = "WORKGROUP";
  std::string netbios_name;           // default: the host name, upper case, at most 15 characters
  unsigned deadtime_minutes = 10080;  // Samba's default: one week
  unsigned connection_idle_timeout = 0;    // seconds; 0: derived from deadtime
  unsigned connection_setup_timeout = 60;  // seconds a connection has to set up a user session
  std::uint32_t max_credits = 8192;
  // What one client may hold (docs/security.md, "Resource limits"): sessions on one
  // connection, tree connects and opens of one session, and the bytes of READ data one
  // connection has in memory at once (more READs wait for their turn).
  unsigned max_sessions_per_connection = 1024;
  unsigned max_trees_per_session = 1024;
  unsigned max_opens_per_session = 16384;
  // Seconds an open waits for a client to acknowledge an oplock or lease break before the
  // break takes effect anyway (`oplock break timeout`; Windows and Samba wait 35).
  unsigned oplock_break_timeout = 35;
  std::uint64_t max_read_memory = 64u << 20;
  std::uint32_t smb2_max_read = 8u << 20;
  std::uint32_t smb2_max_write = 8u << 20;
  std::uint32_t smb2_max_trans = 8u << 20;
  bool server_multi_channel_support = true;
  // `smbd:FSCTL_SMBTORTURE`: serve the test-only FSCTLs smbtorture uses to force server
  // behaviour (padded responses, an IOCTL that sleeps, a channel treated as unacknowledged).
  // Off by default: only test configurations turn it on, as with Samba's smbd.
  bool smbtorture_fsctls = false;
  // rdmaproxy: where it listens for SMB Direct (empty: 0.0.0.0, or 127.0.0.1 on the
  // soft fabric) and which fabric it drives.
  std::string rdma_address;
  std::string rdma_fabric = "verbs";
  std::uint16_t rdma_port = 5445;
  std::string rdma_proxy_socket;  // default: lock directory/rdmaproxy.sock
  std::string lock_directory = "/run/smb3d";
  std::string state_directory = "/var/lib/smb3d";
  std::string pid_directory = "/run/smb3d";

  // Seconds a connection may stay idle; 0 means forever.
  unsigned idle_timeout_seconds() const {
    return connection_idle_timeout != 0 ? connection_idle_timeout : deadtime_minutes * 60;
  }
  unsigned connection_setup_timeout_seconds() const { return connection_setup_timeout; }

  // The keytab the Kerberos acceptor reads; empty when Kerberos is off.
  std::string kerberos_keytab() const {
    switch (kerberos_method) {
      case KerberosMethod::DEDICATED_KEYTAB:
        return dedicated_keytab_file;
      case KerberosMethod::SYSTEM_KEYTAB:
        return "/etc/krb5.keytab";
      case KerberosMethod::NONE:
        break;
    }
    return {};
  }

  friend bool operator==(const Global&, const Global&) = default;
};

struct Config {
  Global global;
  std::vector<Share> shares;  // IPC$ is implicit and not listed here

  // Case-insensitive lookup; nullptr when absent.
  const Share* find_share(std::string_view name) const;
  Share* find_share(std::string_view name);

  // Every setting equal: what dump_config prints reads back to an equal Config.
  friend bool operator==(const Config&, const Config&) = default;
};

struct Diagnostic {
  enum class Severity { WARNING, ERROR };
  Severity severity = Severity::ERROR;
  std::string file;
  unsigned line = 0;  // 0: about the file as a whole
  std::string message;

  // "smb.conf:12: unknown parameter 'foo' in [share] ignored"
  std::string to_string() const;
};

struct LoadResult {
  Config config;
  std::vector<Diagnostic> diagnostics;

  bool ok() const;  // no errors (warnings allowed)
};

// Parses smb.conf text; `filename` names the source in diagnostics.
LoadResult parse_config(std::string_view text, std::string_view filename);
// Reads and parses a file; an unreadable file is an error.
LoadResult load_config(const std::filesystem::path& path);

// Prints the effective configuration in smb.conf syntax, as testparm does; the output
// parses back to the same configuration.
void dump_config(const Config& config, std::ostream& out);

// The first-run demo: share "demo" at state_dir/demo, users in state_dir/smbpasswd,
// listening on 127.0.0.1:port only, logging to standard output.
Config demo_config(const std::filesystem::path& state_dir, std::uint16_t port);
// Creates the demo directories and, unless it exists, the smbpasswd file with user
// "demo" (password "demo"). False with a message on failure.
bool prepare_demo(const std::filesystem::path& state_dir, std::string& error);

// Names as smb.conf spells them.
const char* protocol_name(std::uint16_t dialect);
const char* signing_name(Signing value);
const char* encrypt_name(Encrypt value);
const char* map_to_guest_name(MapToGuest value);
const char* inherit_owner_name(InheritOwner value);
const char* cipher_name(crypto::Cipher value);
const char* signing_algorithm_name(crypto::SigningAlgorithm value);

// The project version, "0.1.0".
const char* version();

}  // namespace smb::conf
