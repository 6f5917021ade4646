// rdmaproxy: the SMB Direct front end of smbd. Reads the [global] section of smb.conf:
//   rdma port          = 5445                  (smb::conf)
//   rdma proxy socket  = LOCKDIR/rdmaproxy.sock (smb::conf; where smbd's master listens)
//   rdma fabric        = verbs | soft          (smb::conf; default verbs)
//   rdma address       = 0.0.0.0               (smb::conf; default 0.0.0.0, soft: 127.0.0.1)
// Command-line options override them. It is the only process that opens verbs devices.
#include <signal.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <map>

#include "rdmaproxy/channel/protocol.hh"
#include "rdmaproxy/daemon/proxy.hh"
#include "rdmaproxy/fabric/soft_fabric.hh"
#include "rdmaproxy/fabric/verbs_fabric.hh"
#include "smbd/base/service_notify.hh"
#include "smbd/conf/cmdline.hh"
#include "smbd/conf/config.hh"
#include "smbd/conf/log.hh"

namespace {

volatile std::sig_atomic_t g_stop = 0;

void usage() {
  std::cout << "usage: rdmaproxy [-s smb.conf] [--fabric verbs|soft] [--listen ADDRESS]\n"
               "                 [--port N] [--socket PATH] [-d LEVEL]\n"
               "Serves SMB Direct (MS-SMBD) and passes each connection to smbd.\n";
}

}  // namespace

int main(int argc, char** argv) {
  using namespace smb;
  const ServiceNotifier notifier = ServiceNotifier::from_environment();
  std::string config_file = conf::kDefaultConfigFile;
  std::map<std::string, std::string> overrides;
  std::optional<int> level;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::cerr << "rdmaproxy: " << a << " needs a value\n";
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "-s" || a == "--configfile") {
      config_file = value();
    } else if (a == "--fabric" || a == "--listen" || a == "--port" || a == "--socket") {
      overrides[a.substr(2)] = value();
    } else if (a == "-d") {
      level = std::atoi(value().c_str());
    } else if (a == "-h" || a == "--help") {
      usage();
      return 0;
    } else {
      std::cerr << "rdmaproxy: unknown option " << a << "\n";
      usage();
      return 2;
    }
  }

  auto loaded = conf::load_config(config_file);
  for (const auto& d : loaded.diagnostics) std::cerr << d.to_string() << "\n";
  if (!loaded.ok()) return 1;
  conf::Global global = loaded.config.global;
  if (level) global.log_level = *level;
  log::set_program_name("rdmaproxy");
  std::string error;
  if (!conf::configure_logging(global, error)) {
    std::cerr << "rdmaproxy: " << error << "\n";
    return 1;
  }

  std::string fabric_name = overrides.count("fabric") ? overrides["fabric"] : global.rdma_fabric;
  rdmaproxy::Settings settings;
  settings.address = overrides.count("listen")      ? overrides["listen"]
                     : !global.rdma_address.empty() ? global.rdma_address
                     : fabric_name == "soft"        ? "127.0.0.1"
                                                    : "0.0.0.0";
  settings.port = global.rdma_port;
  if (overrides.count("port")) {
    long p = std::strtol(overrides["port"].c_str(), nullptr, 10);
    if (p < 0 || p > 65535) {
      std::cerr << "rdmaproxy: bad port\n";
      return 2;
    }
    settings.port = static_cast<std::uint16_t>(p);
  }
  settings.smbd_socket = overrides.count("socket") ? overrides["socket"] : global.rdma_proxy_socket;
  // SMB3's usual SMB Direct limits: 1 MiB per RDMA transfer and per message.
  settings.engine.max_read_write_size = 1u << 20;

  std::unique_ptr<fabric::Fabric> fabric;
  if (fabric_name == "soft") {
    fabric = std::make_unique<fabric::SoftFabric>();
  } else if (fabric_name == "verbs") {
    fabric = std::make_unique<fabric::VerbsFabric>();
  } else {
    std::cerr << "rdmaproxy: unknown fabric '" << fabric_name << "' (verbs or soft)\n";
    return 2;
  }
  rdmaproxy::Proxy proxy(settings, std::move(fabric));
  if (!proxy.listen(error)) {
    std::cerr << "rdmaproxy: cannot listen on " << settings.address << ":" << settings.port << " ("
              << fabric_name << "): " << error << "\n";
    return 1;
  }
  std::printf("rdmaproxy listening on %s:%u (%s fabric), smbd at %s\n", settings.address.c_str(),
              proxy.port(), fabric_name.c_str(), settings.smbd_socket.c_str());
  std::fflush(stdout);
  log::notice(nullptr, "rdmaproxy listening on %s:%u (%s fabric)", settings.address.c_str(),
              proxy.port(), fabric_name.c_str());
  // smbd reports the interfaces of this address RDMA_CAPABLE while the lock is held.
  int published = rdmachannel::publish_listen_address(settings.smbd_socket, settings.address);
  if (published < 0)
    log::warning(nullptr, "rdmaproxy: cannot publish the listening address in %s: %s",
                 rdmachannel::address_file(settings.smbd_socket).c_str(), std::strerror(errno));

  struct sigaction sa {};
  sa.sa_handler = [](int) { g_stop = 1; };
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGINT, &sa, nullptr);
  ::signal(SIGPIPE, SIG_IGN);
  std::string notify_error;
  if (!notifier.send("READY=1\nMAINPID=" + std::to_string(::getpid()) + "\nSTATUS=listening on " +
                         settings.address + ":" + std::to_string(proxy.port()) + " (" +
                         fabric_name + " fabric)",
                     notify_error))
    log::warning(nullptr, "rdmaproxy: %s", notify_error.c_str());
  while (!g_stop) proxy.run_once(std::chrono::milliseconds(200));
  log::notice(nullptr, "rdmaproxy: shutting down");
  if (!notifier.send("STOPPING=1", notify_error))
    log::warning(nullptr, "rdmaproxy: %s", notify_error.c_str());
  if (published >= 0) {
    ::unlink(rdmachannel::address_file(settings.smbd_socket).c_str());
    ::close(published);
  }
  return 0;
}
