#include "pmem/probe.hh"

#include <fcntl.h>
#include <infiniband/verbs.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <vector>

namespace smb::pmem {

namespace {

// mountinfo escapes space, tab, newline and backslash as \ooo.
std::string unescape(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 3 < s.size() && s[i + 1] >= '0' && s[i + 1] <= '3' && s[i + 2] >= '0' &&
        s[i + 2] <= '7' && s[i + 3] >= '0' && s[i + 3] <= '7') {
      out.push_back(
          static_cast<char>((s[i + 1] - '0') * 64 + (s[i + 2] - '0') * 8 + (s[i + 3] - '0')));
      i += 3;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

std::string read_line(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::string line;
  std::getline(in, line);
  return line;
}

bool has_option(std::string_view options, std::string_view name) {
  while (!options.empty()) {
    const auto comma = options.find(',');
    if (options.substr(0, comma) == name) return true;
    if (comma == std::string_view::npos) break;
    options.remove_prefix(comma + 1);
  }
  return false;
}

struct ContextCloser {
  void operator()(ibv_context* c) const { ibv_close_device(c); }
};
struct PdDeallocator {
  void operator()(ibv_pd* pd) const { ibv_dealloc_pd(pd); }
};
struct DeviceListFreer {
  void operator()(ibv_device** l) const { ibv_free_device_list(l); }
};
using Context = std::unique_ptr<ibv_context, ContextCloser>;
using ProtectionDomain = std::unique_ptr<ibv_pd, PdDeallocator>;
using DeviceList = std::unique_ptr<ibv_device*[], DeviceListFreer>;

}  // namespace

bool parse_mountinfo_line(std::string_view line, MountInfo& out) {
  std::vector<std::string_view> fields;
  while (!line.empty()) {
    const auto sp = line.find(' ');
    fields.push_back(line.substr(0, sp));
    if (sp == std::string_view::npos) break;
    line.remove_prefix(sp + 1);
  }
  // id parent major:minor root mount-point mount-options [optional...] - type source super
  std::size_t dash = 6;
  while (dash < fields.size() && fields[dash] != "-") ++dash;
  if (dash + 2 >= fields.size()) return false;
  const std::string dev(fields[2]);
  unsigned major = 0, minor = 0;
  if (std::sscanf(dev.c_str(), "%u:%u", &major, &minor) != 2) return false;
  out.major = major;
  out.minor = minor;
  out.mount_point = unescape(fields[4]);
  out.mount_options = std::string(fields[5]);
  out.fs_type = std::string(fields[dash + 1]);
  out.source = unescape(fields[dash + 2]);
  out.super_options = dash + 3 < fields.size() ? std::string(fields[dash + 3]) : std::string();
  return true;
}

bool find_mount(const std::string& path, MountInfo& out) {
  std::error_code ec;
  const auto real = std::filesystem::canonical(path, ec);
  if (ec) return false;
  struct stat st {};
  if (::stat(real.c_str(), &st) != 0) return false;
  std::ifstream in("/proc/self/mountinfo");
  std::string line;
  bool found = false;
  std::size_t best = 0;
  const std::string r = real.string();
  while (std::getline(in, line)) {
    MountInfo m;
    if (!parse_mountinfo_line(line, m)) continue;
    if (m.major != major(st.st_dev) || m.minor != minor(st.st_dev)) continue;
    const std::string& mp = m.mount_point;
    const bool prefix =
        mp == "/" || r == mp ||
        (r.size() > mp.size() && r.compare(0, mp.size(), mp) == 0 && r[mp.size()] == '/');
    // Later lines of equal length win: they are mounted over the earlier ones.
    if (prefix && mp.size() >= best) {
      best = mp.size();
      out = std::move(m);
      found = true;
    }
  }
  return found;
}

std::string dax_option(const MountInfo& mount) {
  for (const std::string* opts : {&mount.super_options, &mount.mount_options}) {
    if (has_option(*opts, "dax=always") || has_option(*opts, "dax")) return "always";
    if (has_option(*opts, "dax=inode")) return "inode";
    if (has_option(*opts, "dax=never")) return "never";
  }
  return "";
}

const char* to_string(DaxKind kind) {
  switch (kind) {
    case DaxKind::fsdax:
      return "fsdax";
    case DaxKind::devdax:
      return "devdax";
    case DaxKind::none:
      break;
  }
  return "none";
}

DaxKind dax_kind(int fd, bool* statx_known) {
  if (statx_known != nullptr) *statx_known = false;
  struct statx stx {};
  if (::statx(fd, "", AT_EMPTY_PATH, STATX_TYPE, &stx) != 0) return DaxKind::none;
  if (S_ISCHR(stx.stx_mode)) {
    // /sys/dev/char/M:m/subsystem -> .../class/dax for a device-dax instance.
    const auto link = "/sys/dev/char/" + std::to_string(stx.stx_rdev_major) + ":" +
                      std::to_string(stx.stx_rdev_minor) + "/subsystem";
    std::error_code ec;
    const auto target = std::filesystem::read_symlink(link, ec);
    return !ec && target.filename() == "dax" ? DaxKind::devdax : DaxKind::none;
  }
  if (statx_known != nullptr) *statx_known = (stx.stx_attributes_mask & STATX_ATTR_DAX) != 0;
  return (stx.stx_attributes & STATX_ATTR_DAX) != 0 ? DaxKind::fsdax : DaxKind::none;
}

NdInfo nd_info(const std::string& sysfs) {
  namespace fs = std::filesystem;
  NdInfo info;
  const fs::path devices = fs::path(sysfs) / "bus/nd/devices";
  std::error_code ec;
  if (!fs::is_directory(fs::path(sysfs) / "bus/nd", ec)) return info;
  info.bus_present = true;
  for (const auto& entry : fs::directory_iterator(devices, ec)) {
    const std::string name = entry.path().filename().string();
    if (name.rfind("ndbus", 0) == 0) ++info.buses;
    if (name.rfind("namespace", 0) != 0) continue;
    NdNamespace ns;
    ns.name = name;
    ns.mode = read_line(entry.path() / "mode");
    ns.size = std::strtoull(read_line(entry.path() / "size").c_str(), nullptr, 10);
    // The block device hangs off the namespace (raw) or off the pfn device that
    // claimed it (fsdax); the dax device off the dax claim (devdax).
    const std::string holder = read_line(entry.path() / "holder");
    for (const fs::path& base : {entry.path(), devices / holder}) {
      for (const auto& child : fs::directory_iterator(base / "block", ec)) {
        ns.device = child.path().filename().string();
      }
      ec.clear();
      if (!ns.device.empty() || holder.empty()) break;
    }
    if (ns.device.empty()) ns.device = holder;  // devdax: the daxX.Y claim
    info.namespaces.push_back(std::move(ns));
  }
  return info;
}

RdmaInfo rdma_info() {
  RdmaInfo info;
  int count = 0;
  errno = 0;
  DeviceList list(ibv_get_device_list(&count));
  if (!list) {
    info.error = std::string("ibv_get_device_list: ") + std::strerror(errno);
    return info;
  }
  for (int i = 0; i < count; ++i) {
    RdmaDevice dev;
    dev.name = ibv_get_device_name(list[i]);
    Context ctx(ibv_open_device(list[i]));
    if (!ctx) {
      info.error = dev.name + ": ibv_open_device: " + std::strerror(errno);
      info.devices.push_back(std::move(dev));
      continue;
    }
    ibv_device_attr_ex attr{};
    if (ibv_query_device_ex(ctx.get(), nullptr, &attr) == 0) {
      dev.odp = (attr.odp_caps.general_caps & IBV_ODP_SUPPORT) != 0;
      dev.odp_implicit = (attr.odp_caps.general_caps & IBV_ODP_SUPPORT_IMPLICIT) != 0;
      dev.rc_odp_caps = attr.odp_caps.per_transport_caps.rc_odp_caps;
    }
    info.devices.push_back(std::move(dev));
  }
  return info;
}

const char* to_string(Registration r) {
  switch (r) {
    case Registration::pin:
      return "pin";
    case Registration::on_demand:
      return "on-demand";
    case Registration::bounce:
      return "bounce";
  }
  return "bounce";
}

Registration choose_registration(DaxKind kind, const RdmaDevice& device) {
  if (kind != DaxKind::fsdax) return Registration::pin;
  if (device.odp && (device.rc_odp_caps & IBV_ODP_SUPPORT_READ) != 0) {
    return Registration::on_demand;
  }
  return Registration::bounce;
}

bool try_register(const std::string& device, void* addr, std::size_t length, bool on_demand,
                  std::string& error) {
  int count = 0;
  DeviceList list(ibv_get_device_list(&count));
  if (!list) {
    error = std::string("ibv_get_device_list: ") + std::strerror(errno);
    return false;
  }
  for (int i = 0; i < count; ++i) {
    if (device != ibv_get_device_name(list[i])) continue;
    Context ctx(ibv_open_device(list[i]));
    if (!ctx) {
      error = std::string("ibv_open_device: ") + std::strerror(errno);
      return false;
    }
    ProtectionDomain pd(ibv_alloc_pd(ctx.get()));
    if (!pd) {
      error = std::string("ibv_alloc_pd: ") + std::strerror(errno);
      return false;
    }
    int access = IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_READ | IBV_ACCESS_REMOTE_WRITE;
    if (on_demand) access |= IBV_ACCESS_ON_DEMAND;
    ibv_mr* mr = ibv_reg_mr(pd.get(), addr, length, access);
    if (mr == nullptr) {
      error = std::string("ibv_reg_mr: ") + std::strerror(errno);
      return false;
    }
    ibv_dereg_mr(mr);
    return true;
  }
  error = "no device " + device;
  return false;
}

}  // namespace smb::pmem
