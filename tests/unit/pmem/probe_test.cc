#include <doctest/doctest.h>
#include <infiniband/verbs.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "pmem/probe.hh"

using namespace smb::pmem;

TEST_CASE("mountinfo lines parse, optional fields and escapes included") {
  MountInfo m;
  REQUIRE(parse_mountinfo_line(
      "36 35 259:0 / /mnt/pmem\\040dir rw,relatime shared:1 master:2 - ext4 /dev/pmem0 "
      "rw,dax=always",
      m));
  CHECK(m.major == 259);
  CHECK(m.minor == 0);
  CHECK(m.mount_point == "/mnt/pmem dir");
  CHECK(m.mount_options == "rw,relatime");
  CHECK(m.fs_type == "ext4");
  CHECK(m.source == "/dev/pmem0");
  CHECK(m.super_options == "rw,dax=always");
  CHECK(dax_option(m) == "always");

  REQUIRE(parse_mountinfo_line("22 1 0:21 / /tmp rw,nosuid - tmpfs tmpfs rw,size=100k", m));
  CHECK(m.fs_type == "tmpfs");
  CHECK(dax_option(m).empty());
  REQUIRE(parse_mountinfo_line("22 1 8:1 / /x rw - xfs /dev/sda1 rw,dax", m));
  CHECK(dax_option(m) == "always");  // the old bare option means always
  REQUIRE(parse_mountinfo_line("22 1 8:1 / /x rw - ext4 /dev/sda1 rw,dax=inode", m));
  CHECK(dax_option(m) == "inode");
  CHECK_FALSE(parse_mountinfo_line("22 1 8:1 / /x rw", m));
  CHECK_FALSE(parse_mountinfo_line("", m));
}

TEST_CASE("the mount of a real directory is found") {
  MountInfo m;
  REQUIRE(find_mount(std::filesystem::temp_directory_path().string(), m));
  CHECK_FALSE(m.fs_type.empty());
  CHECK(m.mount_point.front() == '/');
}

TEST_CASE("push mode registration: pin unless fs-dax, then ODP or bounce") {
  RdmaDevice plain{.name = "rxe0"};
  RdmaDevice odp{.name = "mlx5_0",
                 .odp = true,
                 .odp_implicit = true,
                 .rc_odp_caps = IBV_ODP_SUPPORT_SEND | IBV_ODP_SUPPORT_READ};
  RdmaDevice odp_no_read{.name = "x", .odp = true, .rc_odp_caps = IBV_ODP_SUPPORT_SEND};
  CHECK(choose_registration(DaxKind::none, plain) == Registration::pin);
  CHECK(choose_registration(DaxKind::devdax, plain) == Registration::pin);
  CHECK(choose_registration(DaxKind::fsdax, plain) == Registration::bounce);
  CHECK(choose_registration(DaxKind::fsdax, odp) == Registration::on_demand);
  CHECK(choose_registration(DaxKind::fsdax, odp_no_read) == Registration::bounce);
}

TEST_CASE("nd bus namespaces are read from sysfs") {
  namespace fs = std::filesystem;
  char tmpl[] = "/tmp/pmem_sysfs.XXXXXX";
  REQUIRE(::mkdtemp(tmpl) != nullptr);
  const fs::path root = tmpl;
  CHECK_FALSE(nd_info(root.string()).bus_present);

  const fs::path devs = root / "bus/nd/devices";
  fs::create_directories(devs / "ndbus0");
  fs::create_directories(devs / "region0");
  fs::create_directories(devs / "namespace0.0");
  fs::create_directories(devs / "pfn0.0/block/pmem0");
  std::ofstream(devs / "namespace0.0/mode") << "fsdax\n";
  std::ofstream(devs / "namespace0.0/size") << "536870912\n";
  std::ofstream(devs / "namespace0.0/holder") << "pfn0.0\n";
  const NdInfo info = nd_info(root.string());
  CHECK(info.bus_present);
  CHECK(info.buses == 1);
  REQUIRE(info.namespaces.size() == 1);
  CHECK(info.namespaces[0].name == "namespace0.0");
  CHECK(info.namespaces[0].mode == "fsdax");
  CHECK(info.namespaces[0].size == 536870912);
  CHECK(info.namespaces[0].device == "pmem0");
  fs::remove_all(root);
}
