// What the machine offers a pmem share: the file system and its DAX mode, the NVDIMM
// namespaces the kernel knows, and whether an RDMA device can register a mapping of the
// share's files for push mode.
//
// Registering memory for RDMA pins its pages for as long as the registration lives
// (FOLL_LONGTERM). The kernel refuses that for fs-dax files (EOPNOTSUPP): the file
// system could not move or free their blocks while a device holds them. Device-dax
// and page-cache files can be pinned. Without pinning, a device with On-Demand Paging
// (IBV_ACCESS_ON_DEMAND) can still address fs-dax memory; otherwise push mode falls
// back to a registered bounce buffer and one copy into the mapping.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace smb::pmem {

// One line of /proc/self/mountinfo (proc(5)).
struct MountInfo {
  unsigned major = 0;
  unsigned minor = 0;
  std::string mount_point;    // unescaped (\040 -> ' ')
  std::string mount_options;  // per-mount options ("rw,relatime")
  std::string fs_type;        // "ext4", "xfs", "tmpfs"
  std::string source;
  std::string super_options;  // per-superblock options ("rw,dax=always")
};
bool parse_mountinfo_line(std::string_view line, MountInfo& out);
// The mount holding `path` (longest mount point that is a prefix of its real path,
// on the same device). false when none is found.
bool find_mount(const std::string& path, MountInfo& out);
// The DAX mount option: "always" (also for the old bare "dax"), "inode", "never", or
// "" when the mount names none.
std::string dax_option(const MountInfo& mount);

enum class DaxKind { none, fsdax, devdax };
const char* to_string(DaxKind kind);
// How the file behind `fd` is accessed: a character device of the dax class is
// device-dax; a regular file in DAX state (statx STATX_ATTR_DAX, Linux 5.8) is fs-dax.
// `statx_known` tells whether the kernel reports the DAX attribute at all.
DaxKind dax_kind(int fd, bool* statx_known = nullptr);

// /sys/bus/nd: the libnvdimm bus and its namespaces ("namespace0.0", mode "fsdax",
// block device "pmem0").
struct NdNamespace {
  std::string name;
  std::string mode;
  std::uint64_t size = 0;
  std::string device;  // the block device (raw, fsdax, sector), else the claiming device
};
struct NdInfo {
  bool bus_present = false;  // /sys/bus/nd exists (libnvdimm loaded)
  int buses = 0;             // ndbusN
  std::vector<NdNamespace> namespaces;
};
NdInfo nd_info(const std::string& sysfs = "/sys");

struct RdmaDevice {
  std::string name;
  bool odp = false;               // IBV_ODP_SUPPORT
  bool odp_implicit = false;      // IBV_ODP_SUPPORT_IMPLICIT
  std::uint32_t rc_odp_caps = 0;  // IBV_ODP_SUPPORT_* for RC queue pairs
};
struct RdmaInfo {
  std::vector<RdmaDevice> devices;
  std::string error;  // why a device could not be queried
};
RdmaInfo rdma_info();

enum class Registration {
  pin,        // plain ibv_reg_mr of the mapping
  on_demand,  // ibv_reg_mr with IBV_ACCESS_ON_DEMAND
  bounce,     // no registration of the mapping: RDMA into a bounce buffer, then copy
};
const char* to_string(Registration r);
// Push mode: the proxy issues RDMA READs whose responses the device writes into the
// registered mapping, so on-demand paging must cover RC READ on the requester side.
Registration choose_registration(DaxKind kind, const RdmaDevice& device);

// Really registers [addr, addr + length) on `device` with local write and remote
// read/write access, plainly or with IBV_ACCESS_ON_DEMAND, and deregisters it. On
// failure `error` holds the step and strerror.
bool try_register(const std::string& device, void* addr, std::size_t length, bool on_demand,
                  std::string& error);

}  // namespace smb::pmem
