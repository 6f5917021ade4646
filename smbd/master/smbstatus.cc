// smbstatus: who is connected, to which shares, with which files open. Asks the running
// smbd's master (the socket `smbstatus.sock` in the lock directory, root's alone), which
// gathers every worker's report; see status.cc. Samba's main options:
//   -b  sessions only      -S  shares only      -L  open files only
//   --json                 the same as one JSON object
//   -s FILE                the smb.conf that names the lock directory
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <iostream>
#include <map>
#include <string>
#include <vector>

#include "smbd/base/status_lines.hh"
#include "smbd/base/unique_fd.hh"
#include "smbd/conf/cmdline.hh"
#include "smbd/conf/config.hh"

namespace {

using Record = std::vector<std::string>;

void usage(std::ostream& out) {
  out << "usage: smbstatus [-s smb.conf] [-b] [-S] [-L] [--json]\n"
         "Lists the sessions, tree connects and open files of the running smbd.\n"
         "  -b, --brief     sessions only\n"
         "  -S, --shares    tree connects only\n"
         "  -L, --locks     open files only\n"
         "  -j, --json      print JSON\n"
         "  -s, --configfile FILE   (default " << smb::conf::kDefaultConfigFile << ")\n";
}

std::string json_string(const std::string& s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (c < 0x20) {
          char escaped[8];
          std::snprintf(escaped, sizeof escaped, "\\u%04x", c);
          out += escaped;
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  return out + "\"";
}

// "key": value pairs of strings, numbers where the field is one.
std::string json_object(const std::vector<std::pair<std::string, std::string>>& fields,
                        const std::vector<std::string>& numeric = {}) {
  std::string out = "{";
  for (std::size_t i = 0; i < fields.size(); ++i) {
    bool number = false;
    for (const auto& n : numeric) number |= n == fields[i].first;
    if (i) out += ", ";
    out += json_string(fields[i].first) + ": ";
    out += number && !fields[i].second.empty() ? fields[i].second : json_string(fields[i].second);
  }
  return out + "}";
}

}  // namespace

int main(int argc, char** argv) {
  std::string config_file = smb::conf::kDefaultConfigFile;
  bool sessions = false, shares = false, opens = false, json = false;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "-b" || a == "--brief" || a == "-p" || a == "--processes") {
      sessions = true;
    } else if (a == "-S" || a == "--shares") {
      shares = true;
    } else if (a == "-L" || a == "--locks") {
      opens = true;
    } else if (a == "-j" || a == "--json") {
      json = true;
    } else if ((a == "-s" || a == "--configfile") && i + 1 < argc) {
      config_file = argv[++i];
    } else if (a.rfind("--configfile=", 0) == 0) {
      config_file = a.substr(13);
    } else if (a == "-h" || a == "--help") {
      usage(std::cout);
      return 0;
    } else {
      std::cerr << "smbstatus: unknown option " << a << "\n";
      usage(std::cerr);
      return 2;
    }
  }
  if (!sessions && !shares && !opens) sessions = shares = opens = true;

  auto loaded = smb::conf::load_config(config_file);
  if (!loaded.ok()) {
    for (const auto& d : loaded.diagnostics) std::cerr << d.to_string() << "\n";
    return 1;
  }
  std::string path = loaded.config.global.lock_directory + "/smbstatus.sock";
  smb::UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_un sa{};
  sa.sun_family = AF_UNIX;
  if (!fd || path.size() >= sizeof sa.sun_path) {
    std::cerr << "smbstatus: cannot make a socket for " << path << "\n";
    return 1;
  }
  std::memcpy(sa.sun_path, path.c_str(), path.size() + 1);
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) {
    std::cerr << "smbstatus: cannot reach smbd at " << path << ": " << std::strerror(errno)
              << (errno == ENOENT || errno == ECONNREFUSED ? " (is smbd running?)" : "") << "\n";
    return 1;
  }
  std::string answer;
  char buffer[65536];
  for (;;) {
    ssize_t n = ::read(fd.get(), buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    answer.append(buffer, static_cast<std::size_t>(n));
  }

  Record server;
  std::vector<Record> session_records, channel_records, tree_records, open_records;
  std::vector<std::string> truncated;
  std::size_t start = 0;
  while (start < answer.size()) {
    std::size_t end = answer.find('\n', start);
    if (end == std::string::npos) break;  // a cut last line is dropped
    Record r = smb::split_status_line(std::string_view(answer).substr(start, end - start));
    start = end + 1;
    const std::string& kind = r[0];
    if (kind == "server" && r.size() >= 5) server = r;
    else if (kind == "session" && r.size() >= 10) session_records.push_back(r);
    else if (kind == "channel" && r.size() >= 5) channel_records.push_back(r);
    else if (kind == "tree" && r.size() >= 5) tree_records.push_back(r);
    else if (kind == "open" && r.size() >= 9) open_records.push_back(r);
    else if (kind == "truncated" && r.size() >= 2) truncated.push_back(r[1]);
  }
  if (server.empty()) {
    std::cerr << "smbstatus: no answer from smbd at " << path << "\n";
    return 1;
  }
  const bool complete = server[3] == server[4] && truncated.empty();

  if (json) {
    char when[64];
    std::time_t now = std::time(nullptr);
    std::strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%S%z", std::localtime(&now));
    std::string out = "{\n  \"timestamp\": " + json_string(when) +
                      ",\n  \"version\": " + json_string(server[2]) + ",\n  \"server\": " +
                      json_object({{"pid", server[1]},
                                   {"workers_asked", server[3]},
                                   {"workers_answered", server[4]},
                                   {"table_opens", server.size() > 5 ? server[5] : "0"}},
                                  {"pid", "workers_asked", "workers_answered", "table_opens"}) +
                      ",\n  \"complete\": " + (complete ? "true" : "false");
    if (sessions) {
      out += ",\n  \"sessions\": [";
      for (std::size_t i = 0; i < session_records.size(); ++i) {
        const Record& s = session_records[i];
        std::string channels = "[";
        for (const Record& c : channel_records)
          if (c[1] == s[1] && c[2] == s[2])
            channels += std::string(channels.size() > 1 ? ", " : "") +
                        json_object({{"remote_address", c[3]}, {"transport", c[4]}});
        channels += "]";
        std::string session = json_object(
            {{"pid", s[1]}, {"session_id", s[2]}, {"username", s[3]}, {"domain", s[4]},
             {"remote_machine", s[5]}, {"dialect", s[6]}, {"signing", s[7]},
             {"encryption", s[8]}, {"logon", s[9]}},
            {"pid", "session_id"});
        session.insert(session.size() - 1, ", \"channels\": " + channels);
        out += std::string(i ? ",\n    " : "\n    ") + session;
      }
      out += "\n  ]";
    }
    if (shares) {
      out += ",\n  \"tcons\": [";
      for (std::size_t i = 0; i < tree_records.size(); ++i) {
        const Record& t = tree_records[i];
        out += std::string(i ? ",\n    " : "\n    ") +
               json_object({{"pid", t[1]}, {"session_id", t[2]}, {"tcon_id", t[3]},
                            {"service", t[4]}},
                           {"pid", "session_id", "tcon_id"});
      }
      out += "\n  ]";
    }
    if (opens) {
      out += ",\n  \"open_files\": [";
      for (std::size_t i = 0; i < open_records.size(); ++i) {
        const Record& o = open_records[i];
        out += std::string(i ? ",\n    " : "\n    ") +
               json_object({{"pid", o[1]}, {"session_id", o[2]}, {"tcon_id", o[3]},
                            {"service", o[4]}, {"path", o[5]}, {"access_mask", o[6]},
                            {"share_access", o[7]}, {"oplock", o[8]}},
                           {"pid", "session_id", "tcon_id"});
      }
      out += "\n  ]";
    }
    std::cout << out << "\n}\n";
    return complete ? 0 : 3;
  }

  std::printf("smb3d version %s (master pid %s)\n", server[2].c_str(), server[1].c_str());
  if (sessions) {
    std::printf("\n%-8s %-20s %-12s %-26s %-9s %-5s %-5s %-8s %s\n", "PID", "Username",
                "Domain", "Machine", "Protocol", "Sign", "Enc", "Logon", "Channels");
    std::printf("%s\n", std::string(120, '-').c_str());
    for (const Record& s : session_records) {
      std::string channels;
      for (const Record& c : channel_records)
        if (c[1] == s[1] && c[2] == s[2])
          channels += (channels.empty() ? "" : ", ") + c[3] + " " + c[4];
      std::printf("%-8s %-20s %-12s %-26s %-9s %-5s %-5s %-8s %s\n", s[1].c_str(), s[3].c_str(),
                  s[4].c_str(), s[5].c_str(), s[6].c_str(), s[7].c_str(), s[8].c_str(),
                  s[9].c_str(), channels.c_str());
    }
  }
  if (shares) {
    std::printf("\n%-20s %-8s %-12s %s\n", "Service", "PID", "Session", "Tree id");
    std::printf("%s\n", std::string(60, '-').c_str());
    for (const Record& t : tree_records)
      std::printf("%-20s %-8s %-12s %s\n", t[4].c_str(), t[1].c_str(), t[2].c_str(), t[3].c_str());
  }
  if (opens) {
    std::printf("\nOpen files:\n%-8s %-10s %-10s %-10s %-20s %s\n", "PID", "Access",
                "ShareMode", "Oplock", "Service", "Name");
    std::printf("%s\n", std::string(100, '-').c_str());
    for (const Record& o : open_records)
      std::printf("%-8s %-10s %-10s %-10s %-20s %s\n", o[1].c_str(), o[6].c_str(),
                  o[7].c_str(), o[8].c_str(), o[4].c_str(), o[5].c_str());
  }
  if (!complete)
    std::printf("\nIncomplete: %s of %s workers answered%s.\n", server[4].c_str(),
                server[3].c_str(), truncated.empty() ? "" : ", some reports were cut short");
  return complete ? 0 : 3;
}
