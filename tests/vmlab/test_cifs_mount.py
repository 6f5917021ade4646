#!/usr/bin/env python3
"""VM lab test 1: the Linux kernel SMB3 client (cifs.ko) against a server on the host.

Usage: test_cifs_mount.py --server ours|samba
The server listens on 127.0.0.1; the guest reaches it as //10.0.2.100/share through a
qemu guestfwd relay. For each mount variant (vers=3.1.1, vers=3.1.1,seal, vers=3.0) the
guest copies files of 0 B to 64 MiB both ways, lists a directory of 1,000 entries made
on the server and makes one of its own, renames and deletes, and unmounts. Every file is
compared by sha256 in the guest and again on the host, in the share directory.
Samba, the reference, runs the same checks with vers=3.1.1 only: enough to show that
the checks pass against an independent server, at a third of the time under emulation.
"""

import argparse
import os
import shutil

import vmlab

SIZES = [0, 1, 4095, 4096, 65537, 1 << 20, (8 << 20) + 3, 64 << 20]
VARIANTS = [("v311", "vers=3.1.1"), ("v311seal", "vers=3.1.1,seal"), ("v30", "vers=3.0")]
REFERENCE_VARIANTS = VARIANTS[:1]
MANY = 1000

GUEST = r"""
SRV=//10.0.2.100/share
CRED="username=$VM_USER,password=$VM_PASS"
modprobe cifs || fail "modprobe cifs"
mkdir -p /mnt/smb /tmp/up /tmp/down
# Local files to upload, hashed before they leave the guest.
for size in $SIZES; do
  head -c "$size" /dev/urandom > "/tmp/up/f$size"
done
(cd /tmp/up && sha256sum f* | sort -k2) > /tmp/up.sha256

for variant in $VARIANTS; do
  name=${variant%%:*} opts=${variant#*:}
  step "$name: mount -t cifs $SRV -o $opts"
  run_bounded 60 mount -t cifs "$SRV" /mnt/smb -o "$opts,$CRED,cache=strict" ||
    fail "$name: mount -t cifs -o $opts failed (dmesg: $(dmesg | grep -i cifs | tail -n 3 | tr '\n' ' '))"
  grep -q " /mnt/smb cifs " /proc/mounts || fail "$name: /mnt/smb is not a cifs mount"
  if [ "${opts#*seal}" != "$opts" ]; then
    grep " /mnt/smb cifs " /proc/mounts | grep -q seal || fail "$name: mount does not show seal"
  fi

  step "$name: download files 0 B .. 64 MiB"
  rm -rf /tmp/down/*
  for size in $SIZES; do
    run_bounded 300 cp "/mnt/smb/from-server/f$size" "/tmp/down/f$size" ||
      fail "$name: reading from-server/f$size failed"
  done
  (cd /tmp/down && sha256sum f* | sort -k2) > /tmp/down.sha256
  cmp -s /tmp/down.sha256 /vmlab/from-server.sha256 ||
    fail "$name: downloaded files differ from the server's: $(diff /vmlab/from-server.sha256 /tmp/down.sha256 | head -n 4 | tr '\n' ' ')"

  step "$name: upload files 0 B .. 64 MiB"
  mkdir /mnt/smb/$name || fail "$name: mkdir $name on the share failed"
  mkdir /mnt/smb/$name/up || fail "$name: mkdir $name/up failed"
  for size in $SIZES; do
    run_bounded 300 cp "/tmp/up/f$size" "/mnt/smb/$name/up/f$size" ||
      fail "$name: writing $name/up/f$size failed"
  done
  sync

  step "$name: list from-server/many ($MANY entries)"
  n=$(ls -1 /mnt/smb/from-server/many | wc -l)
  [ "$n" = "$MANY" ] || fail "$name: listing from-server/many gave $n entries, expected $MANY"
  ls -1 /mnt/smb/from-server/many | LC_ALL=C sort | cmp -s - /vmlab/many.list ||
    fail "$name: names listed in from-server/many differ from the server's"

  step "$name: create $MANY entries, list them, delete half"
  mkdir /mnt/smb/$name/many || fail "$name: mkdir $name/many failed"
  (cd /mnt/smb/$name/many && for i in $(seq -w 1 $MANY); do : > "entry-$i" || exit 1; done) ||
    fail "$name: creating $MANY files failed"
  n=$(ls -1 /mnt/smb/$name/many | wc -l)
  [ "$n" = "$MANY" ] || fail "$name: listing $name/many gave $n entries, expected $MANY"
  # One rm for all: a fork per file costs more than the deletes under emulation.
  (cd /mnt/smb/$name/many && seq -w 2 2 $MANY | sed 's/^/entry-/' | xargs rm) ||
    fail "$name: deleting files in $name/many failed"
  n=$(ls -1 /mnt/smb/$name/many | wc -l)
  [ "$n" = "$((MANY / 2))" ] || fail "$name: after deleting half, $name/many lists $n entries"

  step "$name: rename and delete"
  up=/mnt/smb/$name/up
  mv "$up/f1" "$up/f1.renamed" || fail "$name: rename f1 -> f1.renamed failed"
  mkdir "$up/sub" || fail "$name: mkdir up/sub failed"
  mv "$up/f4096" "$up/sub/f4096" || fail "$name: rename into a subdirectory failed"
  mv "$up/sub" "$up/sub2" || fail "$name: directory rename failed"
  rm "$up/f0" || fail "$name: delete f0 failed"
  [ ! -e "$up/f0" ] && [ ! -e "$up/f1" ] && [ -e "$up/f1.renamed" ] && [ -e "$up/sub2/f4096" ] ||
    fail "$name: names after rename/delete are wrong: $(cd $up && find . | sort | tr '\n' ' ')"
  mkdir "$up/gone" && : > "$up/gone/x" && rm "$up/gone/x" && rmdir "$up/gone" ||
    fail "$name: create/delete of a directory failed"

  step "$name: unmount, remount, read the uploads back"
  umount /mnt/smb || fail "$name: umount failed"
  grep -q " /mnt/smb " /proc/mounts && fail "$name: /mnt/smb still mounted after umount"
  run_bounded 60 mount -t cifs "$SRV" /mnt/smb -o "$opts,$CRED,cache=none" ||
    fail "$name: remount failed"
  # cache=none reads each read(2) from the server as it is asked: 4 MiB at a time, not
  # sha256sum's 32 KiB.
  (cd /mnt/smb/$name/up && for f in f* sub2/f4096; do
     echo "$(run_bounded 300 dd if="$f" bs=4M status=none | sha256sum | cut -d' ' -f1)  $f"
   done) | sort -k2 > /tmp/back.sha256
  (cd /tmp/up && sha256sum f* | sed 's| f1$| f1.renamed|; s| f4096$| sub2/f4096|' |
     grep -v ' f0$') | sort -k2 > /tmp/expect.sha256
  cmp -s /tmp/back.sha256 /tmp/expect.sha256 ||
    fail "$name: uploaded files read back differ: $(diff /tmp/expect.sha256 /tmp/back.sha256 | head -n 4 | tr '\n' ' ')"
  cp /tmp/expect.sha256 /vmlab/$name.sha256
  umount /mnt/smb || fail "$name: umount after read-back failed"
  grep -q " /mnt/smb " /proc/mounts && fail "$name: /mnt/smb still mounted"
  echo "$name: ok"
done
exit 0
"""


def test(kind):
    variants_run = VARIANTS if kind == "ours" else REFERENCE_VARIANTS
    a = vmlab.assets()
    work = vmlab.workdir(f"cifs-{kind}")
    server = vmlab.Server(kind, os.path.join(work, "server"))
    os.makedirs(server.base)
    os.makedirs(os.path.join(server.share_path, "from-server", "many"))
    # Files the guest downloads, hashed here.
    lines = []
    for size in SIZES:
        p = os.path.join(server.share_path, "from-server", f"f{size}")
        with open(p, "wb") as f:
            f.write(os.urandom(size))
        lines.append(f"{vmlab.sha256_file(p)}  f{size}")
    lines.sort(key=lambda ln: ln.split("  ", 1)[1])
    guest_dir = os.path.join(work, "guest")
    os.makedirs(guest_dir)
    with open(os.path.join(guest_dir, "from-server.sha256"), "w") as f:
        f.write("\n".join(lines) + "\n")
    names = sorted(f"srv-{i:04d}.dat" for i in range(MANY))
    for n in names:
        open(os.path.join(server.share_path, "from-server", "many", n), "w").close()
    with open(os.path.join(guest_dir, "many.list"), "w") as f:
        f.write("\n".join(names) + "\n")
    for root, dirs, files in os.walk(server.share_path):
        for d in dirs:
            os.chmod(os.path.join(root, d), 0o777)
    os.chmod(server.share_path, 0o777)

    sizes = " ".join(str(s) for s in SIZES)
    variants = " ".join(f"{n}:{o}" for n, o in variants_run)
    script = (f"VM_USER={server.user}\nVM_PASS='{server.password}'\nSIZES='{sizes}'\n"
              f"VARIANTS='{variants}'\nMANY={MANY}\n" + GUEST)
    with server:
        rc, out = vmlab.run_guest(guest_dir, script, fwds=[f"10.0.2.100:445={server.port}"],
                                  timeout=int(os.environ.get("SMB_VMLAB_GUEST_TIMEOUT", "2100")))
        if rc != 0:
            print(server.log_tail(), flush=True)
        vmlab.guest_result(rc, out, f"cifs.ko against {kind} smbd")

    # Host side: the server's files are what the guest wrote.
    for name, _ in variants_run:
        up = os.path.join(server.share_path, name, "up")
        want = {}
        for ln in open(os.path.join(guest_dir, f"{name}.sha256")):
            h, fn = ln.rstrip("\n").split("  ", 1)
            want[fn] = h
        got = {}
        for root, _, files in os.walk(up):
            for fn in files:
                p = os.path.join(root, fn)
                got[os.path.relpath(p, up)] = vmlab.sha256_file(p)
        if got != want:
            diff = sorted(set(got.items()) ^ set(want.items()))[:4]
            raise vmlab.Failure(f"{name}: files in the server's share differ from what the "
                                f"guest wrote: {diff}")
        many = os.listdir(os.path.join(server.share_path, name, "many"))
        if len(many) != MANY // 2:
            raise vmlab.Failure(f"{name}: server's {name}/many holds {len(many)} entries, "
                                f"expected {MANY // 2}")
    print(f"cifs.ko against {kind} smbd: {len(variants_run)} mount variants verified", flush=True)
    shutil.rmtree(work, ignore_errors=True)  # kept only when a check failed


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--server", choices=["ours", "samba"], required=True)
    args = ap.parse_args()
    vmlab.main(lambda: test(args.server))
