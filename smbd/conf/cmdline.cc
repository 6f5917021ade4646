#include "smbd/conf/cmdline.hh"

#include <ostream>

#include "smbd/conf/log.hh"
#include "smbd/conf/text.hh"

namespace smb::conf {

namespace {

enum class Takes { NOTHING, VALUE, OPTIONAL_VALUE };

struct OptionSpec {
  char short_name;  // 0: long only
  std::string_view long_name;
  Takes takes;
};

constexpr OptionSpec kSpecs[] = {
    {'s', "configfile", Takes::VALUE},    {'F', "foreground", Takes::NOTHING},
    {'i', "interactive", Takes::NOTHING}, {'d', "debuglevel", Takes::VALUE},
    {'p', "port", Takes::VALUE},          {'V', "version", Takes::NOTHING},
    {'h', "help", Takes::NOTHING},        {0, "check", Takes::NOTHING},
    {0, "demo", Takes::OPTIONAL_VALUE},
};

bool apply(Options& o, const OptionSpec& spec, const std::optional<std::string>& value,
           std::string& error) {
  std::string_view name = spec.long_name;
  if (name == "configfile") {
    if (value->empty()) {
      error = "-s needs a file name";
      return false;
    }
    o.config_file = *value;
    o.config_file_given = true;
  } else if (name == "foreground") {
    o.foreground = true;
  } else if (name == "interactive") {
    o.interactive = true;
    o.foreground = true;
  } else if (name == "debuglevel") {
    auto n = parse_number(*value, 0, 10);
    if (!n) {
      error = "bad debug level '" + *value + "' (expected 0 to 10)";
      return false;
    }
    o.debug_level = static_cast<int>(*n);
  } else if (name == "port") {
    auto n = parse_number(*value, 0, 65535);
    if (!n) {
      error = "bad port '" + *value + "' (expected 0 to 65535)";
      return false;
    }
    o.port = static_cast<std::uint16_t>(*n);
  } else if (name == "version") {
    o.version = true;
  } else if (name == "help") {
    o.help = true;
  } else if (name == "check") {
    o.check = true;
  } else if (name == "demo") {
    o.demo_dir = value && !value->empty() ? *value : std::string("demo-state");
  }
  return true;
}

}  // namespace

std::optional<Options> parse_command_line(const std::vector<std::string>& args,
                                          std::string& error) {
  Options o;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg.size() > 2 && arg.compare(0, 2, "--") == 0) {
      std::string_view body = std::string_view(arg).substr(2);
      std::size_t eq = body.find('=');
      std::string_view name = body.substr(0, eq);
      const OptionSpec* spec = nullptr;
      for (const auto& s : kSpecs)
        if (s.long_name == name) spec = &s;
      if (spec == nullptr) {
        error = "unknown option '--" + std::string(name) + "'";
        return std::nullopt;
      }
      std::optional<std::string> value;
      if (eq != std::string_view::npos) {
        if (spec->takes == Takes::NOTHING) {
          error = "option '--" + std::string(name) + "' takes no value";
          return std::nullopt;
        }
        value = std::string(body.substr(eq + 1));
      } else if (spec->takes == Takes::VALUE) {
        if (i + 1 >= args.size()) {
          error = "option '--" + std::string(name) + "' needs a value";
          return std::nullopt;
        }
        value = args[++i];
      }
      if (!apply(o, *spec, value, error)) return std::nullopt;
    } else if (arg.size() > 1 && arg[0] == '-' && arg != "--") {
      // Grouped short options ("-Fi"); a value follows attached ("-d3") or separately.
      for (std::size_t k = 1; k < arg.size(); ++k) {
        const OptionSpec* spec = nullptr;
        for (const auto& s : kSpecs)
          if (s.short_name != 0 && s.short_name == arg[k]) spec = &s;
        if (spec == nullptr) {
          error = std::string("unknown option '-") + arg[k] + "'";
          return std::nullopt;
        }
        std::optional<std::string> value;
        if (spec->takes == Takes::VALUE) {
          if (k + 1 < arg.size()) {
            value = arg.substr(k + 1);
          } else if (i + 1 < args.size()) {
            value = args[++i];
          } else {
            error = std::string("option '-") + arg[k] + "' needs a value";
            return std::nullopt;
          }
          k = arg.size();
        }
        if (!apply(o, *spec, value, error)) return std::nullopt;
      }
    } else {
      error = "unexpected argument '" + arg + "'";
      return std::nullopt;
    }
  }
  if (o.demo_dir && o.config_file_given) {
    error = "--demo and -s exclude each other";
    return std::nullopt;
  }
  return o;
}

std::optional<Options> parse_command_line(int argc, const char* const* argv, std::string& error) {
  std::vector<std::string> args;
  for (int i = 1; i < argc; ++i) args.emplace_back(argv[i]);
  return parse_command_line(args, error);
}

std::string help_text(std::string_view program) {
  std::string p(program);
  return "Usage: " + p +
         " [OPTIONS]\n"
         "SMB 2/3 file server.\n\n"
         "  -s, --configfile FILE  read the configuration from FILE (default " +
         std::string(kDefaultConfigFile) +
         ")\n"
         "  -F, --foreground       do not detach from the terminal\n"
         "  -i, --interactive      run in the foreground and log to standard output\n"
         "  -d, --debuglevel N     log level 0-10, overriding 'log level'\n"
         "  -p, --port PORT        listen on PORT, overriding 'smb ports'\n"
         "      --check            print the effective configuration and exit;\n"
         "                         the exit status is non-zero on errors\n"
         "      --demo[=DIR]       serve the built-in demo: share 'demo' in DIR/demo,\n"
         "                         user demo/demo, 127.0.0.1 only (DIR: ./demo-state)\n"
         "  -V, --version          print the version and exit\n"
         "  -h, --help             print this help and exit\n";
}

void apply_options(const Options& options, Config& config) {
  Global& g = config.global;
  if (options.port) g.smb_ports = {*options.port};
  if (options.debug_level) g.log_level = *options.debug_level;
  if (options.interactive) g.log_file.clear();
}

LoadResult load_for_options(const Options& options) {
  LoadResult result;
  if (options.demo_dir) {
    std::error_code ec;
    std::filesystem::path dir = std::filesystem::absolute(*options.demo_dir, ec);
    if (ec) dir = *options.demo_dir;
    result.config = demo_config(dir, options.port.value_or(kDefaultDemoPort));
  } else {
    result = load_config(options.config_file);
  }
  apply_options(options, result.config);
  return result;
}

int check_config(const Options& options, std::ostream& out, std::ostream& err) {
  LoadResult result = load_for_options(options);
  for (const auto& d : result.diagnostics)
    err << (d.severity == Diagnostic::Severity::ERROR ? "error: " : "warning: ") << d.to_string()
        << '\n';
  if (!result.ok()) return 1;
  err << "Loaded services file OK.\n";
  dump_config(result.config, out);
  return 0;
}

bool configure_logging(const Global& global, std::string& error) {
  log::set_level(global.log_level);
  if (global.log_file.empty()) {
    log::use_stdout();
    return true;
  }
  return log::open_file(global.log_file, error);
}

}  // namespace smb::conf
