#include "smbd/conf/config.hh"

#include <unistd.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <fstream>
#include <iomanip>
#include <optional>
#include <sstream>

#include "smbd/conf/text.hh"

namespace smb::conf {

namespace {

// What a parameter setter reports besides success.
struct Outcome {
  std::string error;    // the value is rejected
  std::string warning;  // the value is accepted with a remark
};

// [global] settings that only take effect once the whole file is read.
struct GlobalState {
  Global& g;
  std::string passdb_file;  // from `passdb backend = smbpasswd:PATH`
  std::string passwd_file;  // from `smb passwd file`
  unsigned protocol_line = 0;
  unsigned kerberos_line = 0;  // of `kerberos method`, for its errors
};

using GlobalSetter = void (*)(GlobalState&, std::string_view, Outcome&);
using ShareSetter = void (*)(Share&, std::string_view, Outcome&);

struct GlobalParam {
  std::string_view name;
  GlobalSetter set;
};
struct ShareParam {
  std::string_view name;
  ShareSetter set;
};

void set_bool(bool& out, std::string_view v, Outcome& o) {
  if (auto b = parse_bool(v))
    out = *b;
  else
    o.error = "expected yes or no";
}

template <typename T>
void set_uint(T& out, std::string_view v, Outcome& o, std::uint64_t min, std::uint64_t max,
              bool suffix = false) {
  if (auto n = parse_number(v, min, max, suffix))
    out = static_cast<T>(*n);
  else
    o.error = "expected a number from " + std::to_string(min) + " to " + std::to_string(max);
}

void set_octal(std::uint32_t& out, std::string_view v, Outcome& o) {
  v = trim(v);
  std::uint32_t n = 0;
  bool ok = !v.empty() && v.size() <= 6;
  for (char c : v) {
    if (c < '0' || c > '7') ok = false;
    n = n * 8 + static_cast<std::uint32_t>(c - '0');
  }
  if (ok && n <= 07777)
    out = n;
  else
    o.error = "expected an octal mode such as 0755";
}

template <typename E, std::size_t N>
void set_enum(E& out, std::string_view v, Outcome& o,
              const std::array<std::pair<std::string_view, E>, N>& names, const char* expected) {
  std::string key = normalize_name(v);
  for (const auto& [name, value] : names) {
    if (key == normalize_name(name)) {
      out = value;
      return;
    }
  }
  o.error = std::string("expected ") + expected;
}

constexpr std::array<std::pair<std::string_view, Encrypt>, 21> kEncryptNames{{
    {"default", Encrypt::DEFAULT},
    {"auto", Encrypt::DEFAULT},
    {"off", Encrypt::OFF},
    {"disabled", Encrypt::OFF},
    {"no", Encrypt::OFF},
    {"false", Encrypt::OFF},
    {"0", Encrypt::OFF},
    {"desired", Encrypt::DESIRED},
    {"if_required", Encrypt::DESIRED},
    {"enabled", Encrypt::DESIRED},
    {"yes", Encrypt::DESIRED},
    {"true", Encrypt::DESIRED},
    {"1", Encrypt::DESIRED},
    {"on", Encrypt::DESIRED},
    {"required", Encrypt::REQUIRED},
    {"mandatory", Encrypt::REQUIRED},
    {"force", Encrypt::REQUIRED},
    {"forced", Encrypt::REQUIRED},
    {"enforced", Encrypt::REQUIRED},
    {"if required", Encrypt::DESIRED},
    {"ifrequired", Encrypt::DESIRED},
}};

void set_encrypt(Encrypt& out, std::string_view v, Outcome& o) {
  set_enum(out, v, o, kEncryptNames, "default, off, desired or required");
}

constexpr std::array<std::pair<std::string_view, Signing>, 19> kSigningNames{{
    {"default", Signing::DEFAULT},     {"auto", Signing::DEFAULT},
    {"if_required", Signing::DEFAULT}, {"enabled", Signing::DEFAULT},
    {"yes", Signing::DEFAULT},         {"true", Signing::DEFAULT},
    {"1", Signing::DEFAULT},           {"on", Signing::DEFAULT},
    {"desired", Signing::DEFAULT},     {"mandatory", Signing::MANDATORY},
    {"required", Signing::MANDATORY},  {"force", Signing::MANDATORY},
    {"forced", Signing::MANDATORY},    {"enforced", Signing::MANDATORY},
    {"disabled", Signing::DISABLED},   {"off", Signing::DISABLED},
    {"no", Signing::DISABLED},         {"false", Signing::DISABLED},
    {"0", Signing::DISABLED},
}};

constexpr std::array<std::pair<std::string_view, MapToGuest>, 3> kMapToGuestNames{{
    {"never", MapToGuest::NEVER},
    {"bad user", MapToGuest::BAD_USER},
    {"bad password", MapToGuest::BAD_PASSWORD},
}};

constexpr std::array<std::pair<std::string_view, KerberosMethod>, 4> kKerberosMethodNames{{
    {"default", KerberosMethod::NONE},
    {"secrets only", KerberosMethod::NONE},
    {"dedicated keytab", KerberosMethod::DEDICATED_KEYTAB},
    {"system keytab", KerberosMethod::SYSTEM_KEYTAB},
}};

constexpr std::array<std::pair<std::string_view, InheritOwner>, 8> kInheritOwnerNames{{
    {"no", InheritOwner::NO},
    {"false", InheritOwner::NO},
    {"0", InheritOwner::NO},
    {"windows and unix", InheritOwner::WINDOWS_AND_UNIX},
    {"yes", InheritOwner::WINDOWS_AND_UNIX},
    {"true", InheritOwner::WINDOWS_AND_UNIX},
    {"1", InheritOwner::WINDOWS_AND_UNIX},
    {"unix only", InheritOwner::UNIX_ONLY},
}};

constexpr std::array<std::pair<std::string_view, MangledNames>, 7> kMangledNamesNames{{
    {"no", MangledNames::NO},
    {"false", MangledNames::NO},
    {"0", MangledNames::NO},
    {"yes", MangledNames::YES},
    {"true", MangledNames::YES},
    {"1", MangledNames::YES},
    {"illegal", MangledNames::ILLEGAL},
}};

constexpr std::array<std::pair<std::string_view, std::uint16_t>, 7> kProtocolNames{{
    {"SMB2_02", kSmb2_02},
    {"SMB2_10", kSmb2_10},
    {"SMB3_00", kSmb3_00},
    {"SMB3_02", kSmb3_02},
    {"SMB3_11", kSmb3_11},
    {"SMB2", kSmb2_10},  // Samba: "SMB2" selects the SMB2_10 variant
    {"SMB3", kSmb3_11},  // Samba: "SMB3" selects the SMB3_11 variant
}};

bool is_smb1_protocol(std::string_view v) {
  for (std::string_view n : {"NT1", "LANMAN1", "LANMAN2", "CORE", "COREPLUS"})
    if (iequals(trim(v), n)) return true;
  return false;
}

constexpr std::array<std::pair<std::string_view, crypto::Cipher>, 4> kCipherNames{{
    {"AES-128-GCM", crypto::Cipher::AES_128_GCM},
    {"AES-128-CCM", crypto::Cipher::AES_128_CCM},
    {"AES-256-GCM", crypto::Cipher::AES_256_GCM},
    {"AES-256-CCM", crypto::Cipher::AES_256_CCM},
}};

constexpr std::array<std::pair<std::string_view, crypto::SigningAlgorithm>, 3> kSignerNames{{
    {"AES-128-GMAC", crypto::SigningAlgorithm::AES_GMAC},
    {"AES-128-CMAC", crypto::SigningAlgorithm::AES_CMAC},
    {"HMAC-SHA256", crypto::SigningAlgorithm::HMAC_SHA256},
}};

template <typename E, std::size_t N>
void set_enum_list(std::vector<E>& out, std::string_view v, Outcome& o,
                   const std::array<std::pair<std::string_view, E>, N>& names) {
  std::vector<E> result;
  for (const std::string& item : split_list(v)) {
    E value{};
    Outcome one;
    set_enum(value, item, one, names, "");
    if (!one.error.empty()) {
      o.error = "unknown algorithm '" + item + "'";
      return;
    }
    if (std::find(result.begin(), result.end(), value) == result.end()) result.push_back(value);
  }
  if (result.empty()) {
    o.error = "the list is empty";
    return;
  }
  out = std::move(result);
}

void set_protocol(std::uint16_t& out, std::string_view v, Outcome& o, bool is_min) {
  if (is_smb1_protocol(v)) {
    if (is_min) {
      out = kSmb2_02;
      o.warning = "SMB1 is not supported; using SMB2_02";
    } else {
      o.error = "SMB1 is not supported";
    }
    return;
  }
  set_enum(out, v, o, kProtocolNames, "SMB2_02, SMB2_10, SMB3_00, SMB3_02, SMB3_11, SMB2 or SMB3");
}

// `valid users` and the like: names, compared case-insensitively by the server.
void set_list(std::vector<std::string>& out, std::string_view v, Outcome&) { out = split_list(v); }

void set_path(std::string& out, std::string_view v, Outcome& o) {
  v = trim(v);
  if (!v.empty() && v.front() != '/')
    o.warning = "relative path '" + std::string(v) + "' is taken from the working directory";
  out = std::string(v);
}

const std::array<GlobalParam, 50> kGlobalParams{{
    {"smb ports",
     [](GlobalState& s, std::string_view v, Outcome& o) {
       std::vector<std::uint16_t> ports;
       for (const std::string& item : split_list(v)) {
         auto n = parse_number(item, 0, 65535);
         if (!n) {
           o.error = "bad port '" + item + "'";
           return;
         }
         ports.push_back(static_cast<std::uint16_t>(*n));
       }
       if (ports.empty()) o.error = "no port given";
       s.g.smb_ports = std::move(ports);
     }},
    {"interfaces",
     [](GlobalState& s, std::string_view v, Outcome& o) { set_list(s.g.interfaces, v, o); }},
    {"bind interfaces only", [](GlobalState& s, std::string_view v,
                                Outcome& o) { set_bool(s.g.bind_interfaces_only, v, o); }},
    {"server min protocol", [](GlobalState& s, std::string_view v,
                               Outcome& o) { set_protocol(s.g.server_min_protocol, v, o, true); }},
    {"min protocol", [](GlobalState& s, std::string_view v,
                        Outcome& o) { set_protocol(s.g.server_min_protocol, v, o, true); }},
    {"server max protocol", [](GlobalState& s, std::string_view v,
                               Outcome& o) { set_protocol(s.g.server_max_protocol, v, o, false); }},
    {"max protocol", [](GlobalState& s, std::string_view v,
                        Outcome& o) { set_protocol(s.g.server_max_protocol, v, o, false); }},
    {"protocol", [](GlobalState& s, std::string_view v,
                    Outcome& o) { set_protocol(s.g.server_max_protocol, v, o, false); }},
    {"server signing",
     [](GlobalState& s, std::string_view v, Outcome& o) {
       set_enum(s.g.server_signing, v, o, kSigningNames, "default, mandatory or disabled");
     }},
    {"smb encrypt",
     [](GlobalState& s, std::string_view v, Outcome& o) { set_encrypt(s.g.smb_encrypt, v, o); }},
    {"server smb encrypt",
     [](GlobalState& s, std::string_view v, Outcome& o) { set_encrypt(s.g.smb_encrypt, v, o); }},
    {"server smb3 encryption algorithms",
     [](GlobalState& s, std::string_view v, Outcome& o) {
       set_enum_list(s.g.encryption_algorithms, v, o, kCipherNames);
     }},
    {"server smb3 signing algorithms",
     [](GlobalState& s, std::string_view v, Outcome& o) {
       set_enum_list(s.g.signing_algorithms, v, o, kSignerNames);
     }},
    {"passdb backend",
     [](GlobalState& s, std::string_view v, Outcome& o) {
       v = trim(v);
       std::string_view kind = v.substr(0, v.find(':'));
       if (!iequals(trim(kind), "smbpasswd")) {
         o.error = "backend '" + std::string(trim(kind)) + "' is not supported (only smbpasswd)";
         return;
       }
       s.passdb_file =
           kind.size() < v.size() ? std::string(trim(v.substr(kind.size() + 1))) : std::string();
     }},
    {"smb passwd file",
     [](GlobalState& s, std::string_view v, Outcome& o) { set_path(s.passwd_file, v, o); }},
    {"username map",
     [](GlobalState& s, std::string_view v, Outcome& o) { set_path(s.g.username_map, v, o); }},
    {"guest account",
     [](GlobalState& s, std::string_view v, Outcome& o) {
       s.g.guest_account = std::string(trim(v));
       if (s.g.guest_account.empty()) o.error = "empty account name";
     }},
    {"map to guest",
     [](GlobalState& s, std::string_view v, Outcome& o) {
       set_enum(s.g.map_to_guest, v, o, kMapToGuestNames, "never, bad user or bad password");
     }},
    {"kerberos method",
     [](GlobalState& s, std::string_view v, Outcome& o) {
       set_enum(s.g.kerberos_method, v, o, kKerberosMethodNames,
                "default, secrets only, dedicated keytab or system keytab");
     }},
    {"dedicated keytab file",
     [](GlobalState& s, std::string_view v, Outcome& o) {
       set_path(s.g.dedicated_keytab_file, v, o);
     }},
    {"realm",
     [](GlobalState& s, std::string_view v, Outcome&) {
       s.g.realm = std::string(trim(v));
       for (char& c : s.g.realm) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
     }},
    {"null passwords",
     [](GlobalState& s, std::string_view v, Outcome& o) { set_bool(s.g.null_passwords, v, o); }},
    {"log level",
     [](GlobalState& s, std::string_view v, Outcome& o) {
       // Samba allows per-class levels after the first ("3 auth:5"); those are ignored.
       auto items = split_list(v);
       if (items.empty()) {
         o.error = "expected a level from 0 to 10";
         return;
       }
       set_uint(s.g.log_level, items.front(), o, 0, 10);
     }},
    {"debug level",
     [](GlobalState& s, std::string_view v, Outcome& o) {
       auto items = split_list(v);
       set_uint(s.g.log_level, items.empty() ? std::string_view() : items.front(), o, 0, 10);
     }},
    {"log file",
     [](GlobalState& s, std::string_view v, Outcome& o) { set_path(s.g.log_file, v, o); }},
    {"max log size", [](GlobalState& s, std::string_view v,
                        Outcome& o) { set_uint(s.g.max_log_size_kib, v, o, 0, 1ull << 40); }},
    {"max connections", [](GlobalState& s, std::string_view v,
                           Outcome& o) { set_uint(s.g.max_connections, v, o, 0, 1000000); }},
    {"open file table size",
     [](GlobalState& s, std::string_view v, Outcome& o) {
       set_uint(s.g.open_file_table_size, v, o, 16, 1u << 22);
     }},
    {"server string",
     [](GlobalState& s, std::string_view v, Outcome&) { s.g.server_string_source = trim(v); }},
    {"workgroup",
     [](GlobalState& s, std::string_view v, Outcome& o) {
       s.g.workgroup = trim(v);
       if (s.g.workgroup.empty() || s.g.workgroup.size() > 15)
         o.error = "expected 1 to 15 characters";
     }},
    {"netbios name",
     [](GlobalState& s, std::string_view v, Outcome& o) {
       s.g.netbios_name = trim(v);
       if (s.g.netbios_name.empty() || s.g.netbios_name.size() > 15)
         o.error = "expected 1 to 15 characters";
     }},
    {"deadtime", [](GlobalState& s, std::string_view v,
                    Outcome& o) { set_uint(s.g.deadtime_minutes, v, o, 0, 1000000); }},
    {"connection idle timeout",
     [](GlobalState& s, std::string_view v, Outcome& o) {
       set_uint(s.g.connection_idle_timeout, v, o, 0, 60000000);
     }},
    {"connection setup timeout",
     [](GlobalState& s, std::string_view v, Outcome& o) {
       set_uint(s.g.connection_setup_timeout, v, o, 1, 3600);
     }},
    {"max credits", [](GlobalState& s, std::string_view v,
                       Outcome& o) { set_uint(s.g.max_credits, v, o, 1, 65535); }},
    {"smb2 max credits", [](GlobalState& s, std::string_view v,
                            Outcome& o) { set_uint(s.g.max_credits, v, o, 1, 65535); }},
    {"max sessions per connection",
     [](GlobalState& s, std::string_view v, Outcome& o) {
       set_uint(s.g.max_sessions_per_connection, v, o, 1, 65535);
     }},
    {"max tree connects per session",
     [](GlobalState& s, std::string_view v, Outcome& o) {
       set_uint(s.g.max_trees_per_session, v, o, 1, 65535);
     }},
    {"oplock break timeout",
     [](GlobalState& s, std::string_view v, Outcome& o) {
       set_uint(s.g.oplock_break_timeout, v, o, 1, 3600);
     }},
    {"max opens per session",
     [](GlobalState& s, std::string_view v, Outcome& o) {
       set_uint(s.g.max_opens_per_session, v, o, 1, 1000000);
     }},
    // At least the largest READ, so that one READ always fits.
    {"max read memory per connection",
     [](GlobalState& s, std::string_view v, Outcome& o) {
       set_uint(s.g.max_read_memory, v, o, 16u << 20, 1ull << 40, true);
     }},
    // MS-SMB2 3.3.5.4: at least 64 KiB; beyond 16 MiB only memory is wasted.
    {"smb2 max read",
     [](GlobalState& s, std::string_view v, Outcome& o) {
       set_uint(s.g.smb2_max_read, v, o, 65536, 16u << 20, true);
     }},
    {"smb2 max write",
     [](GlobalState& s, std::string_view v, Outcome& o) {
       set_uint(s.g.smb2_max_write, v, o, 65536, 16u << 20, true);
     }},
    {"smb2 max trans",
     [](GlobalState& s, std::string_view v, Outcome& o) {
       set_uint(s.g.smb2_max_trans, v, o, 65536, 16u << 20, true);
     }},
    {"server multi channel support",
     [](GlobalState& s, std::string_view v, Outcome& o) {
       set_bool(s.g.server_multi_channel_support, v, o);
     }},
    {"smbd:FSCTL_SMBTORTURE",
     [](GlobalState& s, std::string_view v, Outcome& o) { set_bool(s.g.smbtorture_fsctls, v, o); }},
    {"rdma port", [](GlobalState& s, std::string_view v,
                     Outcome& o) { set_uint(s.g.rdma_port, v, o, 1, 65535); }},
    {"rdma proxy socket",
     [](GlobalState& s, std::string_view v, Outcome& o) { set_path(s.g.rdma_proxy_socket, v, o); }},
    {"rdma fabric",
     [](GlobalState& s, std::string_view v, Outcome& o) {
       std::string_view fabric = trim(v);
       if (iequals(fabric, "verbs")) {
         s.g.rdma_fabric = "verbs";
       } else if (iequals(fabric, "soft")) {
         s.g.rdma_fabric = "soft";
       } else {
         o.error = "expected verbs or soft";
       }
     }},
    {"rdma address",
     [](GlobalState& s, std::string_view v, Outcome&) { s.g.rdma_address = std::string(trim(v)); }},
}};

// Directory parameters and their Samba spellings.
const std::array<GlobalParam, 4> kDirectoryParams{{
    {"lock directory",
     [](GlobalState& s, std::string_view v, Outcome& o) { set_path(s.g.lock_directory, v, o); }},
    {"lock dir",
     [](GlobalState& s, std::string_view v, Outcome& o) { set_path(s.g.lock_directory, v, o); }},
    {"state directory",
     [](GlobalState& s, std::string_view v, Outcome& o) { set_path(s.g.state_directory, v, o); }},
    {"pid directory",
     [](GlobalState& s, std::string_view v, Outcome& o) { set_path(s.g.pid_directory, v, o); }},
}};

const std::array<ShareParam, 34> kShareParams{{
    {"path", [](Share& s, std::string_view v, Outcome& o) { set_path(s.path, v, o); }},
    {"directory", [](Share& s, std::string_view v, Outcome& o) { set_path(s.path, v, o); }},
    {"comment", [](Share& s, std::string_view v, Outcome&) { s.comment = trim(v); }},
    {"read only", [](Share& s, std::string_view v, Outcome& o) { set_bool(s.read_only, v, o); }},
    // writeable and its spellings are the inverse of read only.
    {"writeable",
     [](Share& s, std::string_view v, Outcome& o) {
       bool w = false;
       set_bool(w, v, o);
       if (o.error.empty()) s.read_only = !w;
     }},
    {"writable",
     [](Share& s, std::string_view v, Outcome& o) {
       bool w = false;
       set_bool(w, v, o);
       if (o.error.empty()) s.read_only = !w;
     }},
    {"write ok",
     [](Share& s, std::string_view v, Outcome& o) {
       bool w = false;
       set_bool(w, v, o);
       if (o.error.empty()) s.read_only = !w;
     }},
    {"guest ok", [](Share& s, std::string_view v, Outcome& o) { set_bool(s.guest_ok, v, o); }},
    {"public", [](Share& s, std::string_view v, Outcome& o) { set_bool(s.guest_ok, v, o); }},
    {"valid users",
     [](Share& s, std::string_view v, Outcome& o) { set_list(s.valid_users, v, o); }},
    {"invalid users",
     [](Share& s, std::string_view v, Outcome& o) { set_list(s.invalid_users, v, o); }},
    {"browseable", [](Share& s, std::string_view v, Outcome& o) { set_bool(s.browseable, v, o); }},
    {"browsable", [](Share& s, std::string_view v, Outcome& o) { set_bool(s.browseable, v, o); }},
    {"create mask",
     [](Share& s, std::string_view v, Outcome& o) { set_octal(s.create_mask, v, o); }},
    {"create mode",
     [](Share& s, std::string_view v, Outcome& o) { set_octal(s.create_mask, v, o); }},
    {"directory mask",
     [](Share& s, std::string_view v, Outcome& o) { set_octal(s.directory_mask, v, o); }},
    {"directory mode",
     [](Share& s, std::string_view v, Outcome& o) { set_octal(s.directory_mask, v, o); }},
    {"force create mode",
     [](Share& s, std::string_view v, Outcome& o) { set_octal(s.force_create_mode, v, o); }},
    {"force directory mode",
     [](Share& s, std::string_view v, Outcome& o) { set_octal(s.force_directory_mode, v, o); }},
    {"inherit permissions",
     [](Share& s, std::string_view v, Outcome& o) { set_bool(s.inherit_permissions, v, o); }},
    {"inherit owner",
     [](Share& s, std::string_view v, Outcome& o) {
       set_enum(s.inherit_owner, v, o, kInheritOwnerNames, "no, windows and unix or unix only");
     }},
    {"mangled names",
     [](Share& s, std::string_view v, Outcome& o) {
       set_enum(s.mangled_names, v, o, kMangledNamesNames, "yes, no or illegal");
     }},
    {"force user",
     [](Share& s, std::string_view v, Outcome&) { s.force_user = std::string(trim(v)); }},
    {"force group",
     [](Share& s, std::string_view v, Outcome&) { s.force_group = std::string(trim(v)); }},
    // Samba's older spelling of force group.
    {"group", [](Share& s, std::string_view v, Outcome&) { s.force_group = std::string(trim(v)); }},
    {"admin users",
     [](Share& s, std::string_view v, Outcome& o) { set_list(s.admin_users, v, o); }},
    {"available", [](Share& s, std::string_view v, Outcome& o) { set_bool(s.available, v, o); }},
    {"pmem", [](Share& s, std::string_view v, Outcome& o) { set_bool(s.pmem, v, o); }},
    {"hide unreadable",
     [](Share& s, std::string_view v, Outcome& o) { set_bool(s.hide_unreadable, v, o); }},
    {"ea support", [](Share& s, std::string_view v, Outcome& o) { set_bool(s.ea_support, v, o); }},
    {"store dos attributes",
     [](Share& s, std::string_view v, Outcome& o) { set_bool(s.store_dos_attributes, v, o); }},
    {"kernel oplocks",
     [](Share& s, std::string_view v, Outcome& o) { set_bool(s.kernel_oplocks, v, o); }},
    {"vfs objects",
     [](Share& s, std::string_view v, Outcome& o) {
       s.acl_xattr = false;
       s.streams_xattr = false;
       std::string ignored;
       for (const std::string& module : split_list(v)) {
         if (module == "acl_xattr")
           s.acl_xattr = true;
         else if (module == "streams_xattr")
           s.streams_xattr = true;
         else
           ignored += (ignored.empty() ? "" : ", ") + module;
       }
       if (!ignored.empty()) o.warning = "vfs objects not available here, ignored: " + ignored;
     }},
    // "smb encrypt" is both: in [global] it is the server-wide setting (kGlobalParams).
    {"server smb encrypt",
     [](Share& s, std::string_view v, Outcome& o) { set_encrypt(s.smb_encrypt, v, o); }},
}};

const ShareParam kShareEncrypt{"smb encrypt", [](Share& s, std::string_view v, Outcome& o) {
                                 set_encrypt(s.smb_encrypt, v, o);
                               }};

const GlobalParam* find_global(const std::string& key) {
  for (const auto& p : kGlobalParams)
    if (normalize_name(p.name) == key) return &p;
  for (const auto& p : kDirectoryParams)
    if (normalize_name(p.name) == key) return &p;
  return nullptr;
}

const ShareParam* find_share_param(const std::string& key) {
  if (key == normalize_name(kShareEncrypt.name)) return &kShareEncrypt;
  for (const auto& p : kShareParams)
    if (normalize_name(p.name) == key) return &p;
  return nullptr;
}

std::string host_name() {
  std::array<char, 256> buf{};
  if (gethostname(buf.data(), buf.size() - 1) != 0) return "localhost";
  return std::string(buf.data());
}

std::string default_netbios_name() {
  std::string name = host_name();
  name = name.substr(0, name.find('.'));
  if (name.size() > 15) name.resize(15);
  for (char& c : name)
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  return name.empty() ? "SMB3D" : name;
}

// Samba's %v (version) and %h (host name) in `server string`.
std::string substitute(std::string_view text) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '%' && i + 1 < text.size() && (text[i + 1] == 'v' || text[i + 1] == 'h')) {
      out += text[i + 1] == 'v' ? std::string(version()) : host_name();
      ++i;
    } else {
      out.push_back(text[i]);
    }
  }
  return out;
}

bool valid_share_name(std::string_view name) {
  if (name.empty() || name.size() > 80) return false;
  for (char c : name) {
    if (static_cast<unsigned char>(c) < 0x20) return false;
    if (std::string_view("\"\\/[]:|<>+=;,*?").find(c) != std::string_view::npos) return false;
  }
  return true;
}

class Parser {
 public:
  Parser(std::string_view filename, LoadResult& result)
      : file_(filename), result_(result), state_{result.config.global, {}, {}, 0} {}

  void run(std::string_view text) {
    if (text.substr(0, 3) == "\xEF\xBB\xBF") text.remove_prefix(3);  // UTF-8 BOM
    unsigned line_no = 0;
    std::string logical;
    unsigned logical_start = 0;
    bool continuing = false;
    while (!text.empty()) {
      std::size_t nl = text.find('\n');
      std::string_view raw = text.substr(0, nl);
      text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
      ++line_no;
      std::string_view line = raw;
      while (!line.empty() && (line.back() == '\r' || line.back() == ' ' || line.back() == '\t'))
        line.remove_suffix(1);
      if (!continuing) {
        std::string_view first = trim(line);
        // Comments are whole lines; they do not continue.
        if (first.empty() || first.front() == '#' || first.front() == ';') continue;
        logical.clear();
        logical_start = line_no;
      } else {
        line = trim(line);
      }
      continuing = !line.empty() && line.back() == '\\';
      if (continuing) line.remove_suffix(1);
      logical += line;
      if (!continuing) handle_line(logical, logical_start);
    }
    if (continuing) handle_line(logical, logical_start);
    finish();
  }

 private:
  enum class Section { GLOBAL, SHARE, IGNORED };

  void diag(Diagnostic::Severity severity, unsigned line, std::string message) {
    result_.diagnostics.push_back({severity, std::string(file_), line, std::move(message)});
  }
  void error(unsigned line, std::string message) {
    diag(Diagnostic::Severity::ERROR, line, std::move(message));
  }
  void warning(unsigned line, std::string message) {
    diag(Diagnostic::Severity::WARNING, line, std::move(message));
  }

  void handle_line(std::string_view line, unsigned line_no) {
    line = trim(line);
    if (line.front() == '[') {
      std::size_t close = line.find(']');
      if (close == std::string_view::npos) {
        error(line_no, "malformed section header '" + std::string(line) + "': missing ']'");
        section_ = Section::IGNORED;
        return;
      }
      if (!trim(line.substr(close + 1)).empty()) {
        error(line_no, "malformed section header '" + std::string(line) + "': text after ']'");
      }
      open_section(trim(line.substr(1, close - 1)), line_no);
      return;
    }
    std::size_t eq = line.find('=');
    if (eq == std::string_view::npos) {
      error(line_no,
            "malformed line '" + std::string(line) + "': expected '[section]' or 'name = value'");
      return;
    }
    std::string_view name = trim(line.substr(0, eq));
    if (name.empty()) {
      error(line_no, "malformed line '" + std::string(line) + "': no parameter name");
      return;
    }
    set_parameter(name, trim(line.substr(eq + 1)), line_no);
  }

  void open_section(std::string_view name, unsigned line_no) {
    if (iequals(name, "global")) {
      section_ = Section::GLOBAL;
      section_name_ = "global";
      return;
    }
    section_name_ = std::string(name);
    if (iequals(name, "IPC$")) {
      warning(line_no, "[IPC$] is built in; section ignored");
      section_ = Section::IGNORED;
      return;
    }
    if (iequals(name, "homes") || iequals(name, "printers") || iequals(name, "print$")) {
      warning(line_no, "section [" + std::string(name) + "] is not supported; ignored");
      section_ = Section::IGNORED;
      return;
    }
    if (!valid_share_name(name)) {
      error(line_no, "invalid share name '" + std::string(name) + "'");
      section_ = Section::IGNORED;
      return;
    }
    section_ = Section::SHARE;
    // Samba merges sections of the same name.
    auto& shares = result_.config.shares;
    for (std::size_t i = 0; i < shares.size(); ++i) {
      if (iequals(shares[i].name, name)) {
        share_index_ = i;
        return;
      }
    }
    Share share = defaults_;
    share.name = std::string(name);
    shares.push_back(std::move(share));
    share_lines_.push_back(line_no);
    share_index_ = shares.size() - 1;
  }

  void set_parameter(std::string_view name, std::string_view value, unsigned line_no) {
    if (section_ == Section::IGNORED) return;
    std::string key = normalize_name(name);
    Outcome outcome;
    if (section_ == Section::GLOBAL) {
      if (const GlobalParam* p = find_global(key)) {
        p->set(state_, value, outcome);
        if (key.find("protocol") != std::string::npos) state_.protocol_line = line_no;
        if (key == normalize_name("kerberos method")) state_.kerberos_line = line_no;
      } else if (const ShareParam* sp = find_share_param(key)) {
        sp->set(defaults_, value, outcome);  // a default for the shares that follow
      } else {
        warning(line_no, "unknown parameter '" + std::string(name) + "' in [global] ignored");
        return;
      }
    } else {
      Share& share = result_.config.shares[share_index_];
      if (const ShareParam* sp = find_share_param(key)) {
        sp->set(share, value, outcome);
      } else if (find_global(key) != nullptr) {
        warning(line_no,
                "global parameter '" + std::string(name) + "' in [" + share.name + "] ignored");
        return;
      } else {
        warning(line_no,
                "unknown parameter '" + std::string(name) + "' in [" + share.name + "] ignored");
        return;
      }
    }
    if (!outcome.error.empty())
      error(line_no, "bad value '" + std::string(value) + "' for '" + std::string(name) +
                         "': " + outcome.error);
    else if (!outcome.warning.empty())
      warning(line_no, "'" + std::string(name) + "': " + outcome.warning);
  }

  void finish() {
    Global& g = result_.config.global;
    if (!state_.passdb_file.empty())
      g.smb_passwd_file = state_.passdb_file;
    else if (!state_.passwd_file.empty())
      g.smb_passwd_file = state_.passwd_file;
    else
      g.smb_passwd_file = g.state_directory + "/smbpasswd";
    if (g.rdma_proxy_socket.empty()) g.rdma_proxy_socket = g.lock_directory + "/rdmaproxy.sock";
    if (g.netbios_name.empty()) g.netbios_name = default_netbios_name();
    if (g.server_string_source.empty()) g.server_string_source = "smb3d %v";
    g.server_string = substitute(g.server_string_source);
    if (g.kerberos_method == KerberosMethod::DEDICATED_KEYTAB && g.dedicated_keytab_file.empty())
      error(state_.kerberos_line,
            "kerberos method = dedicated keytab needs a dedicated keytab file");
    if (g.kerberos_method != KerberosMethod::NONE && g.realm.empty())
      error(state_.kerberos_line, "Kerberos needs a realm: set `realm`");
    if (g.server_min_protocol > g.server_max_protocol)
      error(state_.protocol_line,
            std::string("server min protocol ") + protocol_name(g.server_min_protocol) +
                " is above server max protocol " + protocol_name(g.server_max_protocol));
    const auto& shares = result_.config.shares;
    for (std::size_t i = 0; i < shares.size(); ++i)
      if (shares[i].path.empty())
        error(share_lines_[i], "share [" + shares[i].name + "] has no path");
  }

  std::string_view file_;
  LoadResult& result_;
  GlobalState state_;
  Share defaults_;
  Section section_ = Section::GLOBAL;  // parameters before any section are global
  std::string section_name_ = "global";
  std::size_t share_index_ = 0;
  std::vector<unsigned> share_lines_;
};

const char* yes_no(bool b) { return b ? "Yes" : "No"; }

std::string join(const std::vector<std::string>& items, const char* sep) {
  std::string out;
  for (const auto& item : items) {
    if (!out.empty()) out += sep;
    // Quote names holding a separator so that they read back as one item: split_list
    // splits at commas and at every white space character trim() knows.
    out += item.find_first_of(" \t\r\n\f,") != std::string::npos ? "\"" + item + "\"" : item;
  }
  return out;
}

std::string octal(std::uint32_t v) {
  std::ostringstream s;
  s << std::oct << std::setw(4) << std::setfill('0') << v;
  return s.str();
}

}  // namespace

const Share* Config::find_share(std::string_view name) const {
  for (const Share& s : shares)
    if (iequals(s.name, name)) return &s;
  return nullptr;
}

Share* Config::find_share(std::string_view name) {
  for (Share& s : shares)
    if (iequals(s.name, name)) return &s;
  return nullptr;
}

std::string Diagnostic::to_string() const {
  std::string out = file;
  if (line != 0) out += ":" + std::to_string(line);
  return out + ": " + message;
}

bool LoadResult::ok() const {
  for (const auto& d : diagnostics)
    if (d.severity == Diagnostic::Severity::ERROR) return false;
  return true;
}

LoadResult parse_config(std::string_view text, std::string_view filename) {
  LoadResult result;
  Parser(filename, result).run(text);
  return result;
}

LoadResult load_config(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    LoadResult result;
    result.diagnostics.push_back(
        {Diagnostic::Severity::ERROR, path.string(), 0, "cannot open configuration file"});
    return result;
  }
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) {
    LoadResult result;
    result.diagnostics.push_back(
        {Diagnostic::Severity::ERROR, path.string(), 0, "cannot read configuration file"});
    return result;
  }
  return parse_config(text.str(), path.string());
}

const char* protocol_name(std::uint16_t dialect) {
  for (const auto& [name, value] : kProtocolNames)
    if (value == dialect) return name.data();
  return "unknown";
}

const char* signing_name(Signing value) {
  switch (value) {
    case Signing::DEFAULT:
      return "default";
    case Signing::MANDATORY:
      return "mandatory";
    case Signing::DISABLED:
      return "disabled";
  }
  return "default";
}

const char* encrypt_name(Encrypt value) {
  switch (value) {
    case Encrypt::DEFAULT:
      return "default";
    case Encrypt::OFF:
      return "off";
    case Encrypt::DESIRED:
      return "desired";
    case Encrypt::REQUIRED:
      return "required";
  }
  return "default";
}

const char* kerberos_method_name(KerberosMethod value) {
  switch (value) {
    case KerberosMethod::DEDICATED_KEYTAB:
      return "dedicated keytab";
    case KerberosMethod::SYSTEM_KEYTAB:
      return "system keytab";
    case KerberosMethod::NONE:
      break;
  }
  return "secrets only";
}

const char* map_to_guest_name(MapToGuest value) {
  switch (value) {
    case MapToGuest::NEVER:
      return "Never";
    case MapToGuest::BAD_USER:
      return "Bad User";
    case MapToGuest::BAD_PASSWORD:
      return "Bad Password";
  }
  return "Never";
}

const char* mangled_names_name(MangledNames value) {
  switch (value) {
    case MangledNames::NO:
      return "no";
    case MangledNames::YES:
      return "yes";
    case MangledNames::ILLEGAL:
      return "illegal";
  }
  return "illegal";
}

const char* inherit_owner_name(InheritOwner value) {
  switch (value) {
    case InheritOwner::NO:
      return "no";
    case InheritOwner::WINDOWS_AND_UNIX:
      return "windows and unix";
    case InheritOwner::UNIX_ONLY:
      return "unix only";
  }
  return "no";
}

const char* cipher_name(crypto::Cipher value) {
  for (const auto& [name, v] : kCipherNames)
    if (v == value) return name.data();
  return "unknown";
}

const char* signing_algorithm_name(crypto::SigningAlgorithm value) {
  for (const auto& [name, v] : kSignerNames)
    if (v == value) return name.data();
  return "unknown";
}

const char* version() { return SMB3D_VERSION; }

void dump_config(const Config& config, std::ostream& out) {
  const Global& g = config.global;
  auto param = [&out](std::string_view name, const std::string& value) {
    out << '\t' << name << " = " << value;
    // A value ending in a backslash would read as a continuation swallowing the next
    // line. It can only have been written as a doubled backslash ending the line and an
    // empty continuation line: write it back that way.
    if (!value.empty() && value.back() == '\\') out << "\\\n";
    out << '\n';
  };
  std::vector<std::string> ports, ciphers, signers;
  for (auto p : g.smb_ports) ports.push_back(std::to_string(p));
  for (auto c : g.encryption_algorithms) ciphers.emplace_back(cipher_name(c));
  for (auto s : g.signing_algorithms) signers.emplace_back(signing_algorithm_name(s));

  out << "# Global parameters\n[global]\n";
  param("bind interfaces only", yes_no(g.bind_interfaces_only));
  param("connection idle timeout", std::to_string(g.connection_idle_timeout));
  param("connection setup timeout", std::to_string(g.connection_setup_timeout));
  param("deadtime", std::to_string(g.deadtime_minutes));
  param("dedicated keytab file", g.dedicated_keytab_file);
  param("guest account", g.guest_account);
  param("interfaces", join(g.interfaces, " "));
  param("kerberos method", kerberos_method_name(g.kerberos_method));
  param("lock directory", g.lock_directory);
  param("log file", g.log_file);
  param("log level", std::to_string(g.log_level));
  param("map to guest", map_to_guest_name(g.map_to_guest));
  param("max connections", std::to_string(g.max_connections));
  param("max credits", std::to_string(g.max_credits));
  param("max log size", std::to_string(g.max_log_size_kib));
  param("max opens per session", std::to_string(g.max_opens_per_session));
  param("oplock break timeout", std::to_string(g.oplock_break_timeout));
  param("max read memory per connection", std::to_string(g.max_read_memory));
  param("max sessions per connection", std::to_string(g.max_sessions_per_connection));
  param("max tree connects per session", std::to_string(g.max_trees_per_session));
  param("netbios name", g.netbios_name);
  param("null passwords", yes_no(g.null_passwords));
  param("open file table size", std::to_string(g.open_file_table_size));
  param("pid directory", g.pid_directory);
  param("rdma address", g.rdma_address);
  param("rdma fabric", g.rdma_fabric);
  param("rdma port", std::to_string(g.rdma_port));
  param("rdma proxy socket", g.rdma_proxy_socket);
  param("realm", g.realm);
  param("server max protocol", protocol_name(g.server_max_protocol));
  param("server min protocol", protocol_name(g.server_min_protocol));
  param("server multi channel support", yes_no(g.server_multi_channel_support));
  param("server signing", signing_name(g.server_signing));
  param("server smb3 encryption algorithms", join(ciphers, " "));
  param("server smb3 signing algorithms", join(signers, " "));
  param("server string", g.server_string_source.empty() ? "smb3d %v" : g.server_string_source);
  param("smb encrypt", encrypt_name(g.smb_encrypt));
  param("smbd:FSCTL_SMBTORTURE", yes_no(g.smbtorture_fsctls));
  param("smb passwd file", g.smb_passwd_file);
  param("smb ports", join(ports, " "));
  param("smb2 max read", std::to_string(g.smb2_max_read));
  param("smb2 max trans", std::to_string(g.smb2_max_trans));
  param("smb2 max write", std::to_string(g.smb2_max_write));
  param("state directory", g.state_directory);
  param("username map", g.username_map);
  param("workgroup", g.workgroup);

  for (const Share& s : config.shares) {
    out << "\n[" << s.name << "]\n";
    param("path", s.path);
    if (!s.comment.empty()) param("comment", s.comment);
    if (!s.admin_users.empty()) param("admin users", join(s.admin_users, ", "));
    param("available", yes_no(s.available));
    param("browseable", yes_no(s.browseable));
    param("create mask", octal(s.create_mask));
    param("directory mask", octal(s.directory_mask));
    param("force create mode", octal(s.force_create_mode));
    param("force directory mode", octal(s.force_directory_mode));
    if (!s.force_group.empty()) param("force group", s.force_group);
    if (!s.force_user.empty()) param("force user", s.force_user);
    param("ea support", yes_no(s.ea_support));
    param("guest ok", yes_no(s.guest_ok));
    param("inherit owner", inherit_owner_name(s.inherit_owner));
    param("inherit permissions", yes_no(s.inherit_permissions));
    param("kernel oplocks", yes_no(s.kernel_oplocks));
    if (!s.invalid_users.empty()) param("invalid users", join(s.invalid_users, ", "));
    param("mangled names", mangled_names_name(s.mangled_names));
    param("pmem", yes_no(s.pmem));
    param("read only", yes_no(s.read_only));
    param("smb encrypt", encrypt_name(s.smb_encrypt));
    param("store dos attributes", yes_no(s.store_dos_attributes));
    if (!s.valid_users.empty()) param("valid users", join(s.valid_users, ", "));
    if (s.acl_xattr || s.streams_xattr) {
      std::vector<std::string> modules;
      if (s.acl_xattr) modules.emplace_back("acl_xattr");
      if (s.streams_xattr) modules.emplace_back("streams_xattr");
      param("vfs objects", join(modules, " "));
    }
    if (s.hide_unreadable) param("hide unreadable", yes_no(s.hide_unreadable));
  }
}

Config demo_config(const std::filesystem::path& state_dir, std::uint16_t port) {
  Config c;
  Global& g = c.global;
  g.smb_ports = {port};
  g.interfaces = {"127.0.0.1"};
  g.bind_interfaces_only = true;
  g.state_directory = state_dir.string();
  g.lock_directory = state_dir.string();
  g.pid_directory = state_dir.string();
  g.smb_passwd_file = (state_dir / "smbpasswd").string();
  g.rdma_proxy_socket = (state_dir / "rdmaproxy.sock").string();
  g.log_file.clear();
  g.log_level = 1;
  g.map_to_guest = MapToGuest::NEVER;
  g.netbios_name = default_netbios_name();
  g.server_string_source = "smb3d %v demo";
  g.server_string = substitute(g.server_string_source);
  Share demo;
  demo.name = "demo";
  demo.path = (state_dir / "demo").string();
  demo.comment = "smb3d demo share";
  demo.read_only = false;
  c.shares.push_back(std::move(demo));
  return c;
}

}  // namespace smb::conf
