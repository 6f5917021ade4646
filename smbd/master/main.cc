// smbd: the SMB2/3 file server. Reads the configuration, binds, and runs the master,
// which forks a worker per client.
#include <openssl/rand.h>
#include <unistd.h>

#include <cstdio>
#include <iostream>
#include <memory>

#include "smbd/conf/cmdline.hh"
#include "smbd/conf/config.hh"
#include "smbd/conf/log.hh"
#include "smbd/conf/username_map.hh"
#include "smbd/conf/users.hh"
#include "smbd/master/master.hh"
#include "smbd/worker/worker.hh"

namespace {

using namespace smb;

struct Loaded {
  std::shared_ptr<server::ServerConfig> config;
  bool ok = false;
};

// Loads the configuration and the user database; diagnostics go to stderr.
Loaded load(const conf::Options& options, bool quiet_warnings) {
  Loaded result;
  conf::Config config;
  if (options.demo_dir) {
    std::string error;
    if (!conf::prepare_demo(*options.demo_dir, error)) {
      std::cerr << "smbd: cannot prepare the demo in " << *options.demo_dir << ": " << error
                << "\n";
      return result;
    }
    config = conf::demo_config(*options.demo_dir, options.port.value_or(4455));
  } else {
    auto loaded = conf::load_config(options.config_file);
    for (const auto& d : loaded.diagnostics) {
      if (quiet_warnings && d.severity == conf::Diagnostic::Severity::WARNING) continue;
      std::cerr << d.to_string() << "\n";
    }
    if (!loaded.ok()) return result;
    config = std::move(loaded.config);
  }
  conf::apply_options(options, config);

  auto server_config = std::make_shared<server::ServerConfig>();
  server_config->conf = std::move(config);
  std::string error;
  const std::string& passdb = server_config->conf.global.smb_passwd_file;
  // A missing user file means no users yet: guests and anonymous may still connect.
  auto users = conf::UserDb::load(passdb, error, true);
  if (!users) {
    std::cerr << "smbd: " << error << "\n";
    return result;
  }
  server_config->users = std::make_shared<const conf::UserDb>(std::move(*users));
  if (const std::string& map_file = server_config->conf.global.username_map; !map_file.empty()) {
    std::vector<std::string> warnings;
    auto map = conf::UsernameMap::load(map_file, error, &warnings);
    if (!map) {
      std::cerr << "smbd: " << error << "\n";
      return result;
    }
    if (!quiet_warnings)
      for (const auto& w : warnings) std::cerr << w << "\n";
    server_config->username_map = std::make_shared<const conf::UsernameMap>(std::move(*map));
  }
  result.config = std::move(server_config);
  result.ok = true;
  return result;
}

std::vector<server::ListenAddress> listen_addresses(const conf::Global& g) {
  std::vector<std::string> hosts;
  if (g.bind_interfaces_only && !g.interfaces.empty()) {
    for (const auto& i : g.interfaces) {
      // Interfaces may be written "addr", "addr/mask" or a name; names other than "lo"
      // mean the wildcard address of their family here.
      std::string host = i.substr(0, i.find('/'));
      if (host == "lo") {
        hosts.push_back("127.0.0.1");
        hosts.push_back("::1");
      } else {
        hosts.push_back(host);
      }
    }
  } else {
    hosts = {"0.0.0.0", "::"};
  }
  std::vector<server::ListenAddress> out;
  for (const auto& h : hosts)
    for (std::uint16_t port : g.smb_ports) out.push_back({h, port});
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  // Taken before anything forks: the workers must not see the service manager's socket.
  const ServiceNotifier notifier = ServiceNotifier::from_environment();
  std::string parse_error;
  auto parsed = conf::parse_command_line(argc, argv, parse_error);
  if (!parsed) {
    std::cerr << "smbd: " << parse_error << "\n" << conf::help_text("smbd");
    return 2;
  }
  const conf::Options& options = *parsed;
  if (options.help) {
    std::cout << conf::help_text("smbd");
    return 0;
  }
  if (options.version) {
    std::cout << "smbd version " << conf::version() << "\n";
    return 0;
  }
  if (options.check) {
    auto loaded = conf::load_config(options.config_file);
    for (const auto& d : loaded.diagnostics) std::cerr << d.to_string() << "\n";
    conf::dump_config(loaded.config, std::cout);
    return loaded.ok() ? 0 : 1;
  }

  Loaded loaded = load(options, false);
  if (!loaded.ok) return 1;
  const auto& global = loaded.config->conf.global;
  log::set_program_name("smbd");
  std::string log_error;
  if (!conf::configure_logging(global, log_error)) {
    std::cerr << "smbd: " << log_error << "\n";
    return 1;
  }

  RAND_bytes(loaded.config->server_guid.data(),
             static_cast<int>(loaded.config->server_guid.size()));

  // The host's open file table, mapped before any worker is forked so that all share it.
  std::string segment_error;
  loaded.config->open_segment =
      hostwide::OpenSegment::create(global.open_file_table_size, segment_error);
  if (!loaded.config->open_segment) {
    std::cerr << "smbd: cannot create the open file table: " << segment_error << "\n";
    return 1;
  }

  // The host's byte-range locks, beside it: as many locks, and as many waiting requests,
  // as the table has opens.
  loaded.config->lock_segment = hostwide::LockSegment::create(
      global.open_file_table_size, global.open_file_table_size, segment_error);
  if (!loaded.config->lock_segment) {
    std::cerr << "smbd: cannot create the byte-range lock table: " << segment_error << "\n";
    return 1;
  }

  server::MasterSettings settings;
  settings.open_segment = loaded.config->open_segment;
  settings.lock_segment = loaded.config->lock_segment;
  settings.listen = listen_addresses(global);
  settings.max_connections = global.max_connections;
  settings.rdma_proxy_socket = global.rdma_proxy_socket;
  settings.status_socket = global.lock_directory + "/smbstatus.sock";

  std::shared_ptr<const server::ServerConfig> current = loaded.config;
  auto reload = [&options, &current]() -> std::shared_ptr<const server::ServerConfig> {
    Loaded fresh = load(options, true);
    if (!fresh.ok) {
      log::error(nullptr, "configuration reload failed; keeping the current one");
      return nullptr;
    }
    fresh.config->server_guid = current->server_guid;
    fresh.config->open_segment = current->open_segment;
    fresh.config->lock_segment = current->lock_segment;
    std::string reload_error;
    if (!conf::configure_logging(fresh.config->conf.global, reload_error))
      log::error(nullptr, "%s", reload_error.c_str());
    current = fresh.config;
    return current;
  };

  server::Master master(
      settings,
      [&current, &reload](UniqueFd control) {
        server::Worker worker(current, std::move(control), reload);
        return worker.run();
      },
      [&reload, &current]() {
        reload();
        server::MasterSettings s;
        s.max_connections = current->conf.global.max_connections;
        return s;
      });
  std::string error;
  if (!master.bind(error)) {
    std::cerr << "smbd: " << error << "\n";
    return 1;
  }
  if (options.demo_dir) {
    std::uint16_t port = master.bound_ports().front();
    std::printf(
        "smbd %s serving share 'demo' (%s/demo) on 127.0.0.1:%u\n"
        "Connect with:\n  smbclient //127.0.0.1/demo -p %u -U demo%%demo\n"
        "Stop with Ctrl-C.\n",
        conf::version(), options.demo_dir->c_str(), port, port);
    std::fflush(stdout);
  }
  log::notice(nullptr, "smbd %s started, listening on %zu address(es)", conf::version(),
              settings.listen.size());
  if (!options.foreground && !options.interactive && !options.demo_dir) {
    if (::daemon(1, 0) != 0) {
      std::perror("smbd: daemon");
      return 1;
    }
  }
  return master.run(notifier);
}
