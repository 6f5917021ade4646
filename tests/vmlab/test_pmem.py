#!/usr/bin/env python3
"""VM lab test 5: emulated persistent memory.

Usage: test_pmem.py --part dax|backend
  dax      boots with memmap=512M!1G, finds /dev/pmem0 (nd_e820, nd_pmem), makes an ext4
           with 4 KiB blocks, mounts it -o dax (dax=always) and checks that MAP_SYNC works
           there and is refused with EOPNOTSUPP on tmpfs
  backend  the pmem backend on that DAX mount, in the guest: pmem_crash_test (MAP_SYNC
           granted, pmem_is_pmem, every acknowledged record survives SIGKILL), then this
           project's smbd with a `pmem = yes` share on /mnt/pmem: its log must report
           MAP_SYNC for the share and for each file opened; files of 0 B, 1 B, 1 MiB+1
           and 64 MiB go up and down with the guest's smbclient (sha256 through SMB and
           on the DAX file), one is overwritten by a shorter one, and after smbd stops
           and the file system is remounted every file still has its sha256; and a
           `pmem = yes` share on the root file system (a virtio disk, no DAX), which takes
           the page cache + msync path: files written through it are, once acknowledged,
           read back byte for byte past the page cache (drop_caches, then O_DIRECT through
           the file system, and the file's extents read from the block device itself)
"""

import argparse
import os
import shutil

import vmlab

GUEST_PMEM_SETUP = r"""
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
"""

GUEST_DAX = GUEST_PMEM_SETUP + r"""
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


GUEST_BACKEND = GUEST_PMEM_SETUP + r"""
step "pmem_crash_test on the DAX mount: MAP_SYNC, then the msync path"
out=$(run_bounded 120 /vmlab/pmem_crash_test /mnt/pmem 8) ||
  fail "pmem_crash_test on /mnt/pmem: $(echo "$out" | grep -v '^round' | tail -n 3 | tr '\n' ' ')"
echo "$out" | head -n 1
echo "$out" | head -n 1 | grep -q 'pmem_is_pmem=1 MAP_SYNC=granted' ||
  fail "pmem_crash_test on fsdax ext4 did not get MAP_SYNC: $(echo "$out" | head -n 1)"
echo "$out" | tail -n 1
out=$(run_bounded 120 /vmlab/pmem_crash_test /mnt/pmem 4 --no-map-sync) ||
  fail "pmem_crash_test --no-map-sync on /mnt/pmem: $(echo "$out" | tail -n 3 | tr '\n' ' ')"
echo "$out" | tail -n 1

step "smbd with a pmem = yes share on /mnt/pmem"
S=/tmp/smbd
mkdir -p $S/private $S/lock $S/client /mnt/pmem/share /tmp/up /tmp/down /srv/msync
cat > $S/smb.conf <<CONF
[global]
smb ports = 4455
interfaces = 127.0.0.1
bind interfaces only = yes
smb passwd file = $S/private/smbpasswd
log level = 5
lock directory = $S/lock
map to guest = never

[pmem]
path = /mnt/pmem/share
pmem = yes
read only = no
guest ok = no

[msync]
path = /srv/msync
pmem = yes
read only = no
guest ok = no
CONF
cat > $S/client.conf <<CONF
[global]
lock directory = $S/client
state directory = $S/client
cache directory = $S/client
private dir = $S/client
ncalrpc dir = $S/client
disable netbios = yes
CONF
printf 'Vm1ab-pass\nVm1ab-pass\n' | /vmlab/smbd-passwd -c $S/smb.conf -s -a vmlab >/dev/null ||
  fail "smbd-passwd -a vmlab"
/vmlab/smbd -s $S/smb.conf -F -i -d 5 >/vmlab/smbd.log 2>&1 &
smbd_pid=$!
sc() {  # COMMANDS [SHARE]
  local out
  out=$(run_bounded 600 smbclient //127.0.0.1/${2:-pmem} -p 4455 -U vmlab%Vm1ab-pass \
        --configfile $S/client.conf -c "$1" 2>&1)
  local rc=$?
  if [ $rc -ne 0 ] || echo "$out" | grep -q NT_STATUS_; then
    echo "$out" | tail -n 5
    return 1
  fi
}
i=0
until sc ls >/dev/null; do
  i=$((i + 1)); [ $i -gt 60 ] && fail "smbd does not answer on 127.0.0.1:4455 ($(tail -n 3 /vmlab/smbd.log | tr '\n' ' '))"
  kill -0 $smbd_pid 2>/dev/null || fail "smbd exited: $(tail -n 5 /vmlab/smbd.log | tr '\n' ' ')"
  sleep 1
done
grep -q 'share \[pmem\]: pmem: MAP_SYNC' /vmlab/smbd.log ||
  fail "smbd does not report MAP_SYNC for the share: $(grep 'share \[pmem\]' /vmlab/smbd.log)"
grep 'share \[pmem\]' /vmlab/smbd.log

step "files of 0 B, 1 B, 1 MiB+1, 64 MiB up and down (sha256)"
: > /tmp/up/empty.bin
head -c 1 /dev/urandom > /tmp/up/one.bin
head -c $(((1 << 20) + 1)) /dev/urandom > /tmp/up/mib1.bin
head -c $((64 << 20)) /dev/urandom > /tmp/up/big.bin
for f in empty one mib1 big; do
  sc "put /tmp/up/$f.bin $f.bin" || fail "put $f.bin"
done
for f in empty one mib1 big; do
  want=$(sha256sum < /tmp/up/$f.bin)
  [ "$(sha256sum < /mnt/pmem/share/$f.bin)" = "$want" ] || fail "$f.bin on the DAX file system differs"
  sc "get $f.bin /tmp/down/$f.bin" || fail "get $f.bin"
  [ "$(sha256sum < /tmp/down/$f.bin)" = "$want" ] || fail "$f.bin read back through SMB differs"
  echo "$f.bin: $(stat -c %s /mnt/pmem/share/$f.bin) B, sha256 equal up, on pmem and down"
done
grep -q "'big.bin' served from a mapping (pmem: MAP_SYNC)" /vmlab/smbd.log ||
  fail "the open of big.bin is not reported as a MAP_SYNC mapping"
step "overwrite big.bin with a shorter file"
sc "put /tmp/up/mib1.bin big.bin" || fail "overwrite big.bin"
[ "$(stat -c %s /mnt/pmem/share/big.bin)" = $(((1 << 20) + 1)) ] ||
  fail "big.bin is $(stat -c %s /mnt/pmem/share/big.bin) B after the overwrite"
[ "$(sha256sum < /mnt/pmem/share/big.bin)" = "$(sha256sum < /tmp/up/mib1.bin)" ] ||
  fail "big.bin differs after the overwrite"
cp /tmp/up/mib1.bin /tmp/up/big.bin

step "msync path: a pmem = yes share on the root file system (virtio disk, no DAX)"
dev=$(findmnt -n -o SOURCE -T /srv/msync)
[ -b "$dev" ] || fail "/srv/msync is not on a block device ($dev)"
# The bytes of FILE as the block device holds them, past the file system and every page
# cache: its extents (filefrag, in 4 KiB blocks) read from the device with O_DIRECT.
# Delayed or unwritten extents mean the data never reached the device.
device_sha256() {
  local file=$1 size raw=/tmp/raw.bin
  size=$(stat -c %s "$file")
  : > $raw
  filefrag -e -b4096 "$file" > /tmp/extents || return 1
  if grep -qE 'delalloc|unknown_loc|unwritten|inline|encoded' /tmp/extents; then
    echo "extents not on the device: $(grep -E 'delalloc|unknown_loc|unwritten' /tmp/extents | head -n 2)" >&2
    return 1
  fi
  sed -n 's/^ *[0-9]*: *\([0-9]*\)\.\. *[0-9]*: *\([0-9]*\)\.\. *[0-9]*: *\([0-9]*\):.*/\1 \2 \3/p' /tmp/extents |
    while read -r logical physical length; do
      dd if="$dev" of=$raw iflag=direct bs=4096 skip="$physical" seek="$logical" count="$length" \
        conv=notrunc status=none || exit 1
    done || return 1
  truncate -s "$size" $raw
  sha256sum < $raw
}
# The check catches data that is only in the page cache: a file written without sync.
head -c $((1 << 20)) /dev/urandom > /srv/msync/unsynced.bin
if got=$(device_sha256 /srv/msync/unsynced.bin 2>/dev/null) &&
   [ "$got" = "$(sha256sum < /srv/msync/unsynced.bin)" ]; then
  fail "device_sha256 found an unsynced file on the device: the check proves nothing"
fi
rm -f /srv/msync/unsynced.bin
head -c $((16 << 20)) /dev/urandom > /tmp/up/m16.bin
head -c $((3 << 20)) /dev/urandom > /tmp/up/m3.bin
for f in one mib1 m16 m3; do
  sc "put /tmp/up/$f.bin $f.bin" msync || fail "put $f.bin to [msync]"
done
# The worker reports a share's path at its first tree connect.
grep -q 'share \[msync\]: page cache + msync' /vmlab/smbd.log ||
  fail "smbd does not report the msync path for [msync]: $(grep 'share \[msync\]' /vmlab/smbd.log)"
grep 'share \[msync\]' /vmlab/smbd.log | head -n 1
grep -q "'m16.bin' served from a mapping (page cache + msync)" /vmlab/smbd.log ||
  fail "the open of m16.bin on [msync] is not reported as a page cache + msync mapping"
# Acknowledged: on the device now, while smbd still runs and nothing else synced.
for f in one mib1 m16 m3; do
  want=$(sha256sum < /tmp/up/$f.bin)
  got=$(device_sha256 /srv/msync/$f.bin) || fail "$f.bin on [msync]: its extents cannot be read from $dev"
  [ "$got" = "$want" ] || fail "$f.bin on [msync] differs on the block device after its WRITEs were acknowledged"
done
echo 3 > /proc/sys/vm/drop_caches
for f in one mib1 m16 m3; do
  want=$(sha256sum < /tmp/up/$f.bin)
  got=$(dd if=/srv/msync/$f.bin iflag=direct bs=1M status=none | sha256sum)
  [ "$got" = "$want" ] || fail "$f.bin on [msync] read with O_DIRECT after drop_caches differs"
  echo "$f.bin: $(stat -c %s /srv/msync/$f.bin) B via msync, sha256 equal on the device and with O_DIRECT"
done

step "stop smbd, remount, sha256 again"
kill -TERM $smbd_pid
wait $smbd_pid
kill -0 $smbd_pid 2>/dev/null && fail "smbd did not stop"
grep -qE 'killed by signal (7|11)$' /vmlab/smbd.log &&
  fail "a worker crashed: $(grep -E 'killed by signal (7|11)$' /vmlab/smbd.log | head -n 2)"
umount /mnt/pmem || fail "umount /mnt/pmem"
mount -o dax /dev/pmem0 /mnt/pmem || fail "remount -o dax"
for f in empty one mib1 big; do
  [ "$(sha256sum < /mnt/pmem/share/$f.bin)" = "$(sha256sum < /tmp/up/$f.bin)" ] ||
    fail "$f.bin changed across the remount"
done
umount /mnt/pmem
exit 0
"""

BACKEND_BINARIES = [
    ("SMBD_BIN", "smbd", "smbd not built"),
    ("SMBD_PASSWD_BIN", "smbd-passwd", "smbd-passwd not built"),
    ("PMEM_CRASH_TEST_BIN", "pmem_crash_test", "pmem_crash_test (tests/unit/pmem) not built"),
]


def test(part):
    if part == "backend":
        binaries = []
        for var, name, what in BACKEND_BINARIES:
            path = os.environ.get(var, "")
            if not path or not os.access(path, os.X_OK):
                raise vmlab.Skip(f"{what} ({var} unset or not executable)")
            binaries.append((path, name))
        vmlab.assets()
        work = vmlab.workdir("pmem-backend")
        # Host builds run in the guest: same Debian release, and the rootfs carries
        # their libraries (libuv, OpenSSL, libpmem, verbs).
        for path, name in binaries:
            shutil.copy(path, os.path.join(work, name))
        rc, out = vmlab.run_guest(work, GUEST_BACKEND, mem="3G", append="memmap=512M!1G",
                                  timeout=1500)
        print(out, flush=True)
        log = os.path.join(work, "smbd.log")
        if rc != 0 and os.path.exists(log):
            tail = "".join(open(log, errors="replace").readlines()[-20:])
            print(f"--- smbd log in the guest ({log}), last lines ---\n{tail}", flush=True)
        vmlab.guest_result(rc, out, "pmem backend on fsdax ext4")
        return
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
