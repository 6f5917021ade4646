// pmem_info PATH: what a pmem share at PATH (a directory or a file) would get: the file
// system and its DAX mode, MAP_SYNC, is_pmem (ours and libpmem's own verdict), the
// NVDIMM namespaces, and whether the RDMA devices could register a mapping of it.
#include <fcntl.h>
#include <libpmem.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>

#include "pmem/mapped_file.hh"
#include "pmem/probe.hh"
#include "smbd/base/unique_fd.hh"

namespace {

const char* yes_no(bool b) { return b ? "yes" : "no"; }

}  // namespace

int main(int argc, char** argv) {
  using namespace smb;
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s PATH\n", argv[0]);
    return 2;
  }
  const std::string path = argv[1];
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    std::fprintf(stderr, "pmem_info: %s: %s\n", path.c_str(), std::strerror(errno));
    return 1;
  }
  // A directory is probed through an unnamed file in it, as a new file of the share.
  smb::UniqueFd fd(S_ISDIR(st.st_mode) ? ::open(path.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600)
                                       : ::open(path.c_str(), O_RDWR | O_CLOEXEC));
  if (!fd && !S_ISDIR(st.st_mode)) fd.reset(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) {
    std::fprintf(stderr, "pmem_info: open %s: %s\n", path.c_str(), std::strerror(errno));
    return 1;
  }
  if (S_ISDIR(st.st_mode) && ::ftruncate(fd.get(), 4096) != 0) {
    std::fprintf(stderr, "pmem_info: ftruncate: %s\n", std::strerror(errno));
    return 1;
  }
  std::printf("path: %s\n", path.c_str());

  pmem::MountInfo mount;
  if (pmem::find_mount(path, mount)) {
    const std::string dax = pmem::dax_option(mount);
    std::printf("file system: %s on %s, mounted at %s (%s; %s)\n", mount.fs_type.c_str(),
                mount.source.c_str(), mount.mount_point.c_str(), mount.mount_options.c_str(),
                mount.super_options.c_str());
    std::printf("dax mount option: %s\n", dax.empty() ? "none" : dax.c_str());
  } else {
    std::printf("file system: unknown (not found in /proc/self/mountinfo)\n");
  }
  bool statx_known = false;
  const pmem::DaxKind kind = pmem::dax_kind(fd.get(), &statx_known);
  std::printf("dax access: %s%s\n", pmem::to_string(kind),
              statx_known ? "" : " (kernel does not report STATX_ATTR_DAX)");

  std::shared_ptr<pmem::MappedFile> file;
  const NtStatus status = pmem::MappedFile::open(fd.get(), file);
  if (status != NtStatus::SUCCESS) {
    std::printf("map: failed, NTSTATUS 0x%08x\n", static_cast<unsigned>(status));
  } else {
    std::printf("MAP_SYNC: %s\n", file->map_sync() ? "granted" : "refused (no DAX)");
    std::printf("is_pmem: %d (writes use %s)\n", file->is_pmem() ? 1 : 0,
                file->is_pmem() ? "pmem_memcpy_persist" : "memcpy + msync");
  }
  // libpmem's own verdict through pmem_map_file, as a cross-check of the one above.
  if (S_ISREG(st.st_mode) && st.st_size > 0) {
    std::size_t mapped = 0;
    int is_pmem = 0;
    void* addr = pmem_map_file(path.c_str(), 0, 0, 0, &mapped, &is_pmem);
    if (addr != nullptr) {
      std::printf("pmem_map_file: pmem_is_pmem=%d\n", is_pmem);
      pmem_unmap(addr, mapped);
    } else {
      std::printf("pmem_map_file: %s\n", pmem_errormsg());
    }
  } else if (S_ISDIR(st.st_mode)) {
    std::size_t mapped = 0;
    int is_pmem = 0;
    void* addr = pmem_map_file(path.c_str(), 4096, PMEM_FILE_CREATE | PMEM_FILE_TMPFILE, 0600,
                               &mapped, &is_pmem);
    if (addr != nullptr) {
      std::printf("pmem_map_file: pmem_is_pmem=%d\n", is_pmem);
      pmem_unmap(addr, mapped);
    } else {
      std::printf("pmem_map_file: %s\n", pmem_errormsg());
    }
  }

  const pmem::NdInfo nd = pmem::nd_info();
  if (!nd.bus_present) {
    std::printf("nvdimm: no /sys/bus/nd (libnvdimm not loaded)\n");
  } else {
    std::printf("nvdimm: %d bus(es), %zu namespace(s)\n", nd.buses, nd.namespaces.size());
    for (const auto& ns : nd.namespaces) {
      std::printf("  %s mode=%s size=%llu %s\n", ns.name.c_str(), ns.mode.c_str(),
                  static_cast<unsigned long long>(ns.size), ns.device.c_str());
    }
  }

  const pmem::RdmaInfo rdma = pmem::rdma_info();
  if (rdma.devices.empty()) {
    std::printf("rdma: no RDMA device%s%s\n", rdma.error.empty() ? "" : ": ", rdma.error.c_str());
    std::printf("ibv_reg_mr of the mapping: no RDMA device\n");
    return 0;
  }
  for (const auto& dev : rdma.devices) {
    const pmem::Registration reg = pmem::choose_registration(kind, dev);
    std::printf("rdma: %s odp=%s implicit=%s rc_odp_caps=0x%x -> push mode: %s\n", dev.name.c_str(),
                yes_no(dev.odp), yes_no(dev.odp_implicit), dev.rc_odp_caps, pmem::to_string(reg));
    // Try it for real on the first 4 KiB of the mapping (never extending a user's file).
    if (!file || !file->writable() || file->size() < 4096) continue;
    pmem::WriteRange range;
    if (file->range(0, 4096, range) != NtStatus::SUCCESS) continue;
    std::string error;
    const bool plain = pmem::try_register(dev.name, range.span().data(), 4096, false, error);
    std::printf("  ibv_reg_mr: %s\n", plain ? "ok" : error.c_str());
    if (!plain && dev.odp) {
      const bool odp = pmem::try_register(dev.name, range.span().data(), 4096, true, error);
      std::printf("  ibv_reg_mr ON_DEMAND: %s\n", odp ? "ok" : error.c_str());
    }
  }
  return 0;
}
