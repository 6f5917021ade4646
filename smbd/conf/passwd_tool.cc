#include "smbd/conf/passwd_tool.hh"

#include <pwd.h>
#include <unistd.h>

#include <array>
#include <filesystem>
#include <istream>
#include <ostream>

#include "smbd/conf/cmdline.hh"
#include "smbd/conf/config.hh"
#include "smbd/conf/users.hh"

namespace smb::conf {

namespace {

constexpr int kOk = 0;
constexpr int kFailed = 1;
constexpr int kUsage = 2;

enum class Action { NONE, ADD, DELETE, DISABLE, ENABLE, LIST, CHANGE };

struct Request {
  std::optional<std::string> config_file;
  std::optional<std::string> passwd_file;
  bool stdin_password = false;
  Action action = Action::NONE;
  std::string user;
};

bool set_action(Request& r, Action a, std::string user, std::string& error) {
  if (r.action != Action::NONE) {
    error = "only one of -a, -x, -d, -e, -L or USER may be given";
    return false;
  }
  r.action = a;
  r.user = std::move(user);
  return true;
}

std::optional<Request> parse(const std::vector<std::string>& args, std::string& error, bool& help) {
  Request r;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg == "-h" || arg == "--help") {
      help = true;
      return r;
    }
    if (arg.size() >= 2 && arg[0] == '-') {
      char opt = arg[1];
      bool takes_value = std::string_view("cfaxde").find(opt) != std::string_view::npos;
      if (!takes_value && arg.size() != 2) {
        error = "unknown option '" + arg + "'";
        return std::nullopt;
      }
      std::string value;
      if (takes_value) {
        if (arg.size() > 2) {
          value = arg.substr(2);
        } else if (i + 1 < args.size()) {
          value = args[++i];
        } else {
          error = "option '" + arg + "' needs a value";
          return std::nullopt;
        }
      }
      bool ok = true;
      switch (opt) {
        case 'c':
          r.config_file = value;
          break;
        case 'f':
          r.passwd_file = value;
          break;
        case 's':
          r.stdin_password = true;
          break;
        case 'a':
          ok = set_action(r, Action::ADD, value, error);
          break;
        case 'x':
          ok = set_action(r, Action::DELETE, value, error);
          break;
        case 'd':
          ok = set_action(r, Action::DISABLE, value, error);
          break;
        case 'e':
          ok = set_action(r, Action::ENABLE, value, error);
          break;
        case 'L':
          ok = set_action(r, Action::LIST, "", error);
          break;
        default:
          error = "unknown option '" + arg + "'";
          return std::nullopt;
      }
      if (!ok) return std::nullopt;
    } else if (!set_action(r, Action::CHANGE, arg, error)) {
      return std::nullopt;
    }
  }
  if (r.config_file && r.passwd_file) {
    error = "-c and -f exclude each other";
    return std::nullopt;
  }
  if (r.action == Action::NONE) {
    error = "no user and no action given";
    return std::nullopt;
  }
  if (r.action != Action::LIST && r.user.empty()) {
    error = "empty user name";
    return std::nullopt;
  }
  return r;
}

// The smbpasswd file named by -f, or by the configuration (-c, else the default file
// when it exists, else the built-in defaults).
std::optional<std::string> passwd_file(const Request& r, PasswdIo& io) {
  if (r.passwd_file) return *r.passwd_file;
  std::string path = r.config_file.value_or(kDefaultConfigFile);
  if (!r.config_file && !std::filesystem::exists(path))
    return Global{}.state_directory + "/smbpasswd";
  LoadResult loaded = load_config(path);
  for (const auto& d : loaded.diagnostics)
    if (d.severity == Diagnostic::Severity::ERROR) io.err << d.to_string() << '\n';
  if (!loaded.ok()) return std::nullopt;
  return loaded.config.global.smb_passwd_file;
}

std::optional<std::string> read_new_password(const Request& r, PasswdIo& io) {
  std::string first, second;
  if (r.stdin_password) {
    if (!std::getline(io.in, first)) {
      io.err << "no password on standard input\n";
      return std::nullopt;
    }
    if (!std::getline(io.in, second)) {
      io.err << "the password must be given twice on standard input\n";
      return std::nullopt;
    }
    for (std::string* s : {&first, &second})
      if (!s->empty() && s->back() == '\r') s->pop_back();
  } else {
    auto a = io.read_secret ? io.read_secret("New SMB password:") : std::nullopt;
    if (!a) {
      io.err << "cannot read a password from the terminal; use -s to read it from standard "
                "input\n";
      return std::nullopt;
    }
    auto b = io.read_secret("Retype new SMB password:");
    if (!b) {
      io.err << "cannot read a password from the terminal\n";
      return std::nullopt;
    }
    first = std::move(*a);
    second = std::move(*b);
  }
  if (first != second) {
    io.err << "Mismatch - password unchanged.\n";
    return std::nullopt;
  }
  return first;
}

// The owner recorded for a new account: the Unix user of that name, else the caller,
// whom the account then acts as (docs/security.md): said on standard error.
std::uint32_t uid_for(const std::string& name, PasswdIo& io) {
  passwd pw{};
  passwd* found = nullptr;
  std::array<char, 4096> buf{};
  if (::getpwnam_r(name.c_str(), &pw, buf.data(), buf.size(), &found) == 0 && found != nullptr)
    return found->pw_uid;
  io.err << "smbd-passwd: no Unix account '" << name << "': it gets your uid " << ::getuid()
         << " and its file operations run as that uid\n";
  return ::getuid();
}

}  // namespace

std::string smbd_passwd_usage() {
  return "Usage: smbd-passwd [-c SMB_CONF | -f SMBPASSWD_FILE] [-s] "
         "(-a USER | -x USER | -d USER | -e USER | -L | USER)\n"
         "  -c SMB_CONF        take the smbpasswd file from this configuration\n"
         "  -f SMBPASSWD_FILE  use this smbpasswd file\n"
         "  -s                 read the password from standard input: two equal lines\n"
         "  -a USER            add USER, or set the password of an existing USER\n"
         "  -x USER            delete USER\n"
         "  -d USER            disable USER\n"
         "  -e USER            enable USER\n"
         "  -L                 list the users\n"
         "  USER               change the password of USER\n";
}

int run_smbd_passwd(const std::vector<std::string>& args, PasswdIo& io) {
  std::string error;
  bool help = false;
  auto request = parse(args, error, help);
  if (help) {
    io.out << smbd_passwd_usage();
    return kOk;
  }
  if (!request) {
    io.err << "smbd-passwd: " << error << '\n' << smbd_passwd_usage();
    return kUsage;
  }
  const Request& r = *request;
  auto path = passwd_file(r, io);
  if (!path) return kFailed;

  bool missing_ok = r.action == Action::ADD || r.action == Action::LIST;
  std::vector<std::string> warnings;
  auto db = UserDb::load(*path, error, missing_ok, &warnings);
  if (!db) {
    io.err << "smbd-passwd: " << error << '\n';
    return kFailed;
  }
  for (const auto& w : warnings) io.err << *path << ": " << w << '\n';

  if (r.action == Action::LIST) {
    for (const User& u : db->list()) io.out << u.name << ':' << u.uid << ":[" << u.flags << "]\n";
    return kOk;
  }
  if (r.action != Action::ADD && !db->contains(r.user)) {
    io.err << "Failed to find entry for user " << r.user << ".\n";
    return kFailed;
  }

  const char* done = nullptr;
  switch (r.action) {
    case Action::ADD:
    case Action::CHANGE: {
      auto password = read_new_password(r, io);
      if (!password) return kFailed;
      if (db->contains(r.user)) {
        db->set_password(r.user, *password);
        done = "Password changed for user";
      } else {
        if (!db->add(r.user, uid_for(r.user, io), *password, error)) {
          io.err << "smbd-passwd: " << error << '\n';
          return kFailed;
        }
        done = "Added user";
      }
      break;
    }
    case Action::DELETE:
      db->remove(r.user);
      done = "Deleted user";
      break;
    case Action::DISABLE:
      db->set_disabled(r.user, true);
      done = "Disabled user";
      break;
    case Action::ENABLE:
      db->set_disabled(r.user, false);
      done = "Enabled user";
      break;
    case Action::NONE:
    case Action::LIST:
      break;
  }
  if (!db->save(*path, error)) {
    io.err << "smbd-passwd: " << error << '\n';
    return kFailed;
  }
  io.out << done << ' ' << r.user << ".\n";
  return kOk;
}

}  // namespace smb::conf
