#!/usr/bin/python3
"""smbtorture's smb2.ioctl on a share whose file system clones blocks (XFS with reflink).

On tmpfs, where the other suites run, FSCTL_DUPLICATE_EXTENTS_TO_FILE cannot share blocks
and the volume does not report FILE_SUPPORTS_BLOCK_REFCOUNTING, so smbtorture skips its
dup_extents subtests. This makes a small XFS file system in an image (mkfs.xfs, reflink on
by default), mounts it through a loop device, and runs run_smbtorture.py with the share
there (SMBTEST_TMPDIR) against smbtorture-expected-failures-reflink.txt; the image is
unmounted and removed afterwards whatever happened.

Needs root, XFS in the kernel, xfsprogs and a loop device: without them it exits 77
(CTest's skip) saying which is missing; with SMB_TEST_REQUIRE_ALL=1 (scripts/test.sh) a
missing tool or kernel module fails instead, as elsewhere, while a machine that lends no
loop device (a container) still skips.

Run: SMBD_BIN=... SMBD_PASSWD_BIN=... /usr/bin/python3 reflink_share.py [--kind samba]
"""

import argparse
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
SKIP = 77


def skip(why, environment=False):
    """Skips; a missing prerequisite fails with SMB_TEST_REQUIRE_ALL=1 unless it is the
    machine's (`environment`) rather than an installable one."""
    if os.environ.get("SMB_TEST_REQUIRE_ALL", "0") not in ("", "0") and not environment:
        print(f"reflink share: {why} (SMB_TEST_REQUIRE_ALL=1: every prerequisite must be present)")
        sys.exit(1)
    print(f"reflink share: skipped: {why}")
    sys.exit(SKIP)


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--kind", default="self")
    ap.add_argument("--out", default=os.environ.get("SMBTEST_WORKDIR", "smbtorture-results"))
    args = ap.parse_args()
    if os.geteuid() != 0:
        skip("needs root to mount a file system", environment=True)
    if shutil.which("mkfs.xfs") is None:
        skip("mkfs.xfs (xfsprogs) is not installed")
    with open("/proc/filesystems") as f:
        if "xfs" not in f.read().split():
            skip("the kernel has no XFS")
    work = tempfile.mkdtemp(prefix="smbtest-reflink-")
    os.chmod(work, 0o755)  # the share's user walks through it
    image = os.path.join(work, "xfs.img")
    mount = os.path.join(work, "mnt")
    os.mkdir(mount)
    mounted = False
    try:
        with open(image, "wb") as f:
            f.truncate(320 << 20)  # XFS's smallest file system is 300 MiB
        subprocess.run(["mkfs.xfs", "-q", "-m", "reflink=1", image], check=True)
        r = subprocess.run(["mount", "-o", "loop", image, mount], capture_output=True, text=True)
        if r.returncode != 0:
            skip(f"cannot mount a loop device here: {r.stderr.strip()}", environment=True)
        mounted = True
        os.chmod(mount, 0o755)
        env = dict(os.environ, SMBTEST_TMPDIR=mount)
        return subprocess.run(
            [sys.executable, os.path.join(HERE, "run_smbtorture.py"), "--kind", args.kind,
             "--suite", "smb2.ioctl", "--timeout", "240", "--out",
             os.path.join(args.out, "reflink"), "--expected",
             os.path.join(HERE, "smbtorture-expected-failures-reflink.txt"
                          if args.kind == "self" else
                          "smbtorture-expected-failures-samba.txt")],
            env=env).returncode
    finally:
        if mounted:
            subprocess.run(["umount", mount], check=False)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
