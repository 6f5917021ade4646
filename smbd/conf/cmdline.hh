// The smbd command line, in Samba's spelling where Samba has the option:
//
//   smbd [-s FILE] [-F] [-i] [-d N] [-p PORT] [--check] [--demo[=DIR]] [-V] [-h]
#pragma once

#include <cstdint>
#include <iosfwd>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "smbd/conf/config.hh"

namespace smb::conf {

inline constexpr const char* kDefaultConfigFile = "/etc/smb3d/smb.conf";
inline constexpr std::uint16_t kDefaultDemoPort = 4455;

struct Options {
  std::string config_file = kDefaultConfigFile;
  bool config_file_given = false;
  bool foreground = false;              // -F: do not detach
  bool interactive = false;             // -i: foreground and log to standard output
  std::optional<int> debug_level;       // -d: overrides `log level`
  std::optional<std::uint16_t> port;    // -p: overrides `smb ports`
  bool check = false;                   // --check: print the effective configuration
  std::optional<std::string> demo_dir;  // --demo[=DIR]; DIR defaults to ./demo-state
  bool version = false;
  bool help = false;
};

// Parses argv[1..argc-1]. nullopt with `error` set on a bad command line.
std::optional<Options> parse_command_line(const std::vector<std::string>& args, std::string& error);
std::optional<Options> parse_command_line(int argc, const char* const* argv, std::string& error);

std::string help_text(std::string_view program);

// Applies what the command line overrides: -p replaces `smb ports`, -d `log level`,
// -i sends the log to standard output.
void apply_options(const Options& options, Config& config);

// What smbd serves: the demo configuration (--demo, at the absolute form of its directory,
// port -p or kDefaultDemoPort) or the configuration file, with apply_options() done.
// The demo files themselves are made by prepare_demo().
LoadResult load_for_options(const Options& options);

// --check: prints the diagnostics to `err` and the effective configuration to `out`, as
// testparm does. Returns the exit status: 0, or 1 when there are errors.
int check_config(const Options& options, std::ostream& out, std::ostream& err);

// Points logging at the configured destination and level. False with `error` when the
// log file cannot be opened.
bool configure_logging(const Global& global, std::string& error);

}  // namespace smb::conf
