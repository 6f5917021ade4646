#!/usr/bin/env python3
"""VM lab test 5: emulated persistent memory.

Usage: test_pmem.py --part dax|backend
  dax      boots with memmap=512M!1G, finds /dev/pmem0 (nd_e820, nd_pmem), makes an ext4
           with 4 KiB blocks, mounts it -o dax (dax=always) and checks that MAP_SYNC works
           there and is refused with EOPNOTSUPP on tmpfs
  backend  the pmem backend's checks on real DAX (pmem = yes share, pmem_is_pmem, the
           crash test): skipped until the pmem backend is built (PMEM_CRASH_TEST_BIN)
"""

import argparse
import os

import vmlab

GUEST_DAX = r"""
step "emulated pmem: /dev/pmem0"
grep -q 'memmap=512M!1G' /proc/cmdline || fail "kernel command line lacks memmap=512M!1G"
modprobe -a nd_e820 nd_pmem || fail "modprobe nd_e820 nd_pmem"
i=0
while [ ! -b /dev/pmem0 ]; do
  i=$((i + 1)); [ $i -gt 100 ] && fail "/dev/pmem0 did not appear (memmap=512M!1G, nd_e820, nd_pmem)"
  sleep 0.1
done
size=$(blockdev --getsize64 /dev/pmem0)
[ "$size" = $((512 << 20)) ] || fail "/dev/pmem0 is $size bytes, expected 512 MiB"
step "ext4 -b 4096 on /dev/pmem0, mount -o dax"
mkfs.ext4 -q -F -b 4096 /dev/pmem0 || fail "mkfs.ext4 on /dev/pmem0"
mkdir -p /mnt/pmem
mount -o dax /dev/pmem0 /mnt/pmem || fail "mount -o dax /dev/pmem0 (dmesg: $(dmesg | tail -n 3 | tr '\n' ' '))"
grep " /mnt/pmem " /proc/mounts | grep -q 'dax=always' ||
  fail "/mnt/pmem is not mounted with dax=always: $(grep ' /mnt/pmem ' /proc/mounts)"
step "MAP_SYNC on fsdax ext4 and on tmpfs"
/vmlab/mapsync_check /mnt/pmem/mapsync.dat ok || fail "MAP_SYNC on fsdax ext4 does not work"
/vmlab/mapsync_check /tmp/mapsync.dat eopnotsupp || fail "MAP_SYNC on tmpfs not refused with EOPNOTSUPP"
step "data on pmem survives a remount (sha256)"
head -c $((32 << 20)) /dev/urandom > /tmp/blob
want=$(sha256sum < /tmp/blob)
cp /tmp/blob /mnt/pmem/blob && sync
umount /mnt/pmem || fail "umount /mnt/pmem"
mount -o dax /dev/pmem0 /mnt/pmem || fail "remount -o dax"
got=$(sha256sum < /mnt/pmem/blob)
[ "$got" = "$want" ] || fail "file on fsdax ext4 changed across a remount"
umount /mnt/pmem
exit 0
"""


def test(part):
    if part == "backend":
        crash = os.environ.get("PMEM_CRASH_TEST_BIN", "")
        if not crash or not os.access(crash, os.X_OK):
            raise vmlab.Skip("pmem backend not built (PMEM_CRASH_TEST_BIN unset; pmem/ has no "
                             "crash test target yet)")
        raise vmlab.Skip("pmem backend present, but its VM lab checks (pmem = yes share, "
                         "pmem_is_pmem, crash test on DAX) are not written yet")
    vmlab.assets()
    work = vmlab.workdir("pmem")
    vmlab.compile_static(os.path.join(vmlab.HERE, "src", "mapsync_check.c"),
                         os.path.join(work, "mapsync_check"))
    rc, out = vmlab.run_guest(work, GUEST_DAX, mem="3G", append="memmap=512M!1G", timeout=600)
    vmlab.guest_result(rc, out, "emulated pmem")


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--part", choices=["dax", "backend"], required=True)
    args = ap.parse_args()
    vmlab.main(lambda: test(args.part))
