#!/usr/bin/env python3
"""VM lab tests over soft-RoCE (rdma_rxe) inside the guest, all in one boot.

Usage: test_rdma.py [--part NAME] [--results DIR]
  without --part   boots once, runs every part in that guest and prints each result
  --part NAME      with --results DIR: the result of NAME from a boot that wrote DIR
                   (CTest: vmlab/rdma boots, the part tests report); without --results
                   it boots and runs NAME alone

Parts:
  rxe              rxe0 comes up on eth0, ibv_devices lists it, its GID table has a RoCE
                   v2 IPv4 entry, and rping and ib_write_bw run over it
  proxy-verbs      test 2: the SMB Direct integration tests (smbd, rdmaproxy and the
                   library's SMB Direct client) with the verbs fabric over rxe0, the RDMA
                   channel transfer 256 MiB each way, SHA-256 compared
  cifs-rdma-proxy  test 3: the rebuilt cifs.ko mounts this server (smbd + rdmaproxy on the
                   verbs fabric) with `rdma`, with and without `seal`; files both ways
  ksmbd-reference  the same mounts against the rebuilt ksmbd.ko: the reference
  ksmbd-peer       test 4: the load generator (TCP and SMB Direct) and the library's SMB
                   Direct client (RDMA channels, SHA-256) against ksmbd

RDMA cannot cross qemu's user-mode networking, so servers and clients all run in the
guest, over rxe0 on eth0 (10.0.2.15); the host-built binaries come in through the shared
directory. Under TCG, RDMA moves some tens of MB/s: the checks are functional, untimed.
"""

import argparse
import os
import shutil
import tempfile

import vmlab

PARTS = ["rxe", "proxy-verbs", "cifs-rdma-proxy", "ksmbd-reference", "ksmbd-peer"]
# Host binaries each part runs in the guest: (environment variable, what it is).
NEEDS = {
    "proxy-verbs": [("SMBD_BIN", "smbd"), ("SMBD_PASSWD_BIN", "smbd-passwd"),
                    ("RDMAPROXY_BIN", "rdmaproxy"),
                    ("SMBDIRECT_TEST_BIN", "the SMB Direct integration tests")],
    "cifs-rdma-proxy": [("SMBD_BIN", "smbd"), ("SMBD_PASSWD_BIN", "smbd-passwd"),
                        ("RDMAPROXY_BIN", "rdmaproxy")],
    "ksmbd-peer": [("SMB_BENCH_BIN", "the load generator smbbench"),
                   ("SMBDIRECT_PEER_BIN", "smbdirect_peer_check (the SMB Direct client)")],
}
NEEDS_MODULES = {"cifs-rdma-proxy", "ksmbd-reference", "ksmbd-peer"}
RDMA_MIB = 256       # test 2: RDMA channel transfer each way
PEER_MIB = 64        # test 4: RDMA channel transfer each way against ksmbd
COPY_SIZES = [0, 4095, 1048577, (16 << 20) + 3]  # tests 3 and the reference, each way

GUEST = r"""
IP=10.0.2.15
BIN=/vmlab/bin
VM_USER=vmlab VM_PASS='Vm1ab-pass'
mkdir -p /vmlab/results /vmlab/logs
# A kernel oops (e.g. in cifs.ko) would leave the part hung in D state until the guest
# times out: panic instead, which ends the boot at once with the oops on the console.
sysctl -qw kernel.panic_on_oops=1

# Runs part_$1 in a subshell (its fail/skip end only that part); its output goes to the
# console and results/$1.log, its exit code to results/$1.rc.
run_part() {
  local name=$1 fn=part_${1//-/_} start=$SECONDS
  echo "=== part $name"
  ( $fn ) 2>&1 | tee /vmlab/results/$name.log
  local rc=${PIPESTATUS[0]}
  echo "$rc $((SECONDS - start))" > /vmlab/results/$name.rc
  echo "=== part $name: exit $rc after $((SECONDS - start)) s"
}

# Background servers of a part, stopped when its subshell exits.
PIDS=""
# SIGTERM, then SIGKILL to whatever has not exited within 10 s.
stop_servers() {
  [ -n "$PIDS" ] && kill $PIDS 2>/dev/null
  local i=0 p left
  while :; do
    left=""
    for p in $PIDS; do kill -0 $p 2>/dev/null && left="$left $p"; done
    [ -z "$left" ] && break
    i=$((i + 1)); [ $i -gt 100 ] && { kill -9 $left 2>/dev/null; break; }
    sleep 0.1
  done
  PIDS=""
}

part_rxe() {
  step "soft-RoCE on eth0"
  rxe_up
  ibv_devices | grep -qw rxe0 || fail "ibv_devices does not list rxe0"
  ibv_devinfo -d rxe0 | grep -q 'PORT_ACTIVE' || fail "rxe0 port is not active: $(ibv_devinfo -d rxe0 | grep state)"
  # GID index 1: RoCE v2 on the IPv4 address (what the verbs fabric and perftest use).
  port=/sys/class/infiniband/rxe0/ports/1
  gid1="$(cat $port/gid_attrs/types/1 2>/dev/null) $(cat $port/gids/1)"
  [ "$gid1" = "RoCE v2 0000:0000:0000:0000:0000:ffff:0a00:020f" ] ||
    fail "rxe0 GID index 1 is '$gid1', expected RoCE v2 for 10.0.2.15"
  step "RDMA-CM ping-pong over rxe0 (rping)"
  rping -s -a $IP -C 10 -S 4096 >/tmp/rping-server.log 2>&1 &
  sp=$!
  sleep 1
  run_bounded 60 rping -c -a $IP -C 10 -S 4096 -v > /tmp/rping.log 2>&1 ||
    fail "rping client over rxe0 failed: $(tail -n 3 /tmp/rping.log | tr '\n' ' ')"
  wait $sp || fail "rping server failed: $(tail -n 3 /tmp/rping-server.log | tr '\n' ' ')"
  n=$(grep -c 'ping data' /tmp/rping.log)
  [ "$n" = 10 ] || fail "rping exchanged $n of 10 messages"
  step "RDMA write bandwidth over rxe0 (ib_write_bw, 4 MiB x 16)"
  ib_write_bw -d rxe0 -x 1 -s 4194304 -n 16 -F >/tmp/bw-server.log 2>&1 &
  sp=$!
  sleep 1
  run_bounded 120 ib_write_bw -d rxe0 -x 1 -s 4194304 -n 16 -F $IP >/tmp/bw.log 2>&1 ||
    fail "ib_write_bw over rxe0 failed: $(tail -n 3 /tmp/bw.log | tr '\n' ' ')"
  wait $sp
  grep -A1 'BW average' /tmp/bw.log | tail -n 1
}

part_proxy_verbs() {
  rxe_up
  step "SMB Direct integration tests, verbs fabric on rxe0 ($IP), RDMA channels $RDMA_MIB MiB"
  cd /tmp
  export SMBD_BIN=$BIN/smbd SMBD_PASSWD_BIN=$BIN/smbd-passwd RDMAPROXY_BIN=$BIN/rdmaproxy \
         SMBDIRECT_FABRIC=verbs SMBDIRECT_ADDRESS=$IP SMBDIRECT_RDMA_MIB=$RDMA_MIB
  T=$BIN/smbdirect_integration_test
  n=$($T --count | sed -n 's/.*passing the current filters: \([0-9]*\).*/\1/p')
  [ -n "$n" ] && [ "$n" -ge 4 ] || fail "smbdirect_integration_test lists ${n:-no} test cases"
  # Each test case in a process of its own, as CTest runs them: verbs state a process
  # made does not survive fork(), and one test forks a client.
  failed=""
  : > /tmp/it.log
  for i in $(seq 1 $n); do
    name=$($T --first=$i --last=$i --list-test-cases | sed -n '3p')
    run_bounded 600 $T --first=$i --last=$i --no-colors=true > /tmp/it-$i.log 2>&1
    rc=$?
    cat /tmp/it-$i.log >> /tmp/it.log
    if [ $rc = 0 ]; then
      echo "ok: $name"
    else
      echo "FAILED (exit $rc): $name"
      grep -A6 -E '\.cc:[0-9]+: (ERROR|FATAL)' /tmp/it-$i.log | head -n 20
      failed="$failed; $name: $(grep -m1 -E '\.cc:[0-9]+: (ERROR|FATAL)' /tmp/it-$i.log || echo "exit $rc")"
    fi
  done
  cp /tmp/it.log /vmlab/logs/integration-verbs.log
  [ -z "$failed" ] || fail "SMB Direct integration tests over the verbs fabric failed${failed}"
  grep -q "$RDMA_MIB MiB over RDMA channels (verbs fabric" /tmp/it.log ||
    fail "the RDMA channel test did not move $RDMA_MIB MiB over the verbs fabric: $(grep 'RDMA channels' /tmp/it.log)"
}

# cifs_copy NAME OPTS SHARE_DIR: mounts //$IP/share with OPTS, copies the files of
# /tmp/up there and back, compares them by sha256 in the guest and in SHARE_DIR.
cifs_copy() {
  local name=$1 opts=$2 dir=$3
  step "$name: mount -t cifs //$IP/share -o $opts"
  run_bounded 90 mount -t cifs //$IP/share /mnt/smb -o "$opts,username=$VM_USER,password=$VM_PASS" ||
    fail "$name: mount -o $opts failed (dmesg: $(dmesg | grep -iE 'cifs|smbd|ksmbd' | tail -n 4 | tr '\n' ' '))"
  grep " /mnt/smb cifs " /proc/mounts | grep -q rdma || fail "$name: /mnt/smb is not an rdma cifs mount: $(grep /mnt/smb /proc/mounts)"
  if [ "${opts#*seal}" != "$opts" ]; then
    grep " /mnt/smb cifs " /proc/mounts | grep -q seal || fail "$name: mount does not show seal"
  fi
  mkdir /mnt/smb/$name || fail "$name: mkdir on the share failed"
  step "$name: upload $UP_DESC"
  for f in /tmp/up/*; do
    run_bounded 180 cp $f /mnt/smb/$name/ || fail "$name: upload of $(basename $f) failed (dmesg: $(dmesg | tail -n 3 | tr '\n' ' '))"
  done
  sync
  step "$name: download"
  rm -rf /tmp/down; mkdir /tmp/down
  for f in /tmp/up/*; do
    run_bounded 180 cp /mnt/smb/$name/$(basename $f) /tmp/down/ || fail "$name: download of $(basename $f) failed (dmesg: $(dmesg | tail -n 3 | tr '\n' ' '))"
  done
  (cd /tmp/down && sha256sum * | sort -k2) > /tmp/down.sha256
  cmp -s /tmp/up.sha256 /tmp/down.sha256 ||
    fail "$name: files read back over SMB Direct differ: $(diff /tmp/up.sha256 /tmp/down.sha256 | head -n 4 | tr '\n' ' ')"
  (cd $dir/$name && sha256sum * | sort -k2) > /tmp/srv.sha256
  cmp -s /tmp/up.sha256 /tmp/srv.sha256 ||
    fail "$name: files in the server's share differ from the uploads: $(diff /tmp/up.sha256 /tmp/srv.sha256 | head -n 4 | tr '\n' ' ')"
  umount /mnt/smb || fail "$name: umount failed"
  grep -q " /mnt/smb " /proc/mounts && fail "$name: /mnt/smb still mounted after umount"
  echo "$name: ok"
}

make_uploads() {
  mkdir -p /mnt/smb /tmp/up
  [ -e /tmp/up.sha256 ] && return
  for size in $COPY_SIZES; do head -c $size /dev/urandom > /tmp/up/f$size; done
  (cd /tmp/up && sha256sum * | sort -k2) > /tmp/up.sha256
}

part_cifs_rdma_proxy() {
  rxe_up
  load_smbdirect_module cifs
  make_uploads
  trap stop_servers EXIT
  S=/srv/ours L=/vmlab/logs/ours  # logs on the shared directory: kept when the guest dies
  mkdir -p $S/share $S/lock $S/private $L
  chmod 777 $S/share
  cat > $S/smb.conf <<CONF
[global]
	smb ports = 445
	interfaces = $IP
	bind interfaces only = yes
	smb passwd file = $S/private/smbpasswd
	log file = $L/smbd.log
	log level = $OURS_LOG_LEVEL
	lock directory = $S/lock
	rdma port = 5445
	rdma fabric = verbs
	rdma address = $IP
	map to guest = never
[share]
	path = $S/share
	read only = no
CONF
  step "smbd and rdmaproxy (verbs fabric on $IP:5445)"
  printf '%s\n%s\n' "$VM_PASS" "$VM_PASS" | $BIN/smbd-passwd -c $S/smb.conf -s -a $VM_USER >/dev/null ||
    fail "smbd-passwd -a $VM_USER failed"
  $BIN/smbd -s $S/smb.conf -F > $L/smbd.out 2>&1 &
  PIDS="$PIDS $!"
  i=0
  until [ -S $S/lock/rdmaproxy.sock ]; do
    i=$((i + 1)); [ $i -gt 100 ] && fail "smbd did not create $S/lock/rdmaproxy.sock: $(tail -n 5 $L/smbd.out | tr '\n' ' ')"
    sleep 0.1
  done
  $BIN/rdmaproxy -s $S/smb.conf -d $OURS_LOG_LEVEL > $L/proxy.out 2>&1 &
  PIDS="$PIDS $!"
  i=0
  until grep -q "listening on $IP:5445" $L/proxy.out; do
    i=$((i + 1)); [ $i -gt 100 ] && fail "rdmaproxy is not listening on $IP:5445: $(tail -n 5 $L/proxy.out | tr '\n' ' ')"
    sleep 0.1
  done
  failed=""
  for variant in $CIFS_VARIANTS; do
    ( cifs_copy ${variant%%:*} ${variant#*:} $S/share ) || {
      failed="$failed ${variant%%:*}"
      mountpoint -q /mnt/smb && umount -f /mnt/smb
      tail -n 20 $L/smbd.log $L/proxy.out
    }
  done
  [ -z "$failed" ] || fail "cifs.ko over SMB Direct to this server failed:$failed (see above)"
}

ksmbd_up() {
  [ -e /tmp/ksmbd.up ] && return
  rxe_up
  load_smbdirect_module ksmbd
  T=/vmlab-assets/smbdirect/ksmbd-tools
  export LD_LIBRARY_PATH=$T/usr/lib/x86_64-linux-gnu
  mkdir -p /etc/ksmbd /srv/ksmbd
  chmod 777 /srv/ksmbd
  cat > /etc/ksmbd/ksmbd.conf <<CONF
[global]
	server signing = auto
	bind interfaces only = no
[share]
	path = /srv/ksmbd
	read only = no
	writeable = yes
CONF
  useradd -M $VM_USER 2>/dev/null
  $T/usr/sbin/ksmbd.adduser -a $VM_USER -p "$VM_PASS" >/dev/null || fail "ksmbd.adduser failed"
  $T/usr/sbin/ksmbd.mountd || fail "ksmbd.mountd did not start"
  i=0
  until ss -ltn | grep -q ':445 '; do
    i=$((i + 1)); [ $i -gt 100 ] && fail "ksmbd is not listening on TCP 445"
    sleep 0.1
  done
  sleep 1  # its SMB Direct listener comes up with the TCP one
  touch /tmp/ksmbd.up
}

part_ksmbd_reference() {
  load_smbdirect_module cifs
  make_uploads
  ksmbd_up
  failed=""
  for variant in $CIFS_VARIANTS; do
    ( cifs_copy ${variant%%:*}-ksmbd ${variant#*:} /srv/ksmbd ) || {
      failed="$failed ${variant%%:*}"
      mountpoint -q /mnt/smb && umount -f /mnt/smb
    }
  done
  [ -z "$failed" ] || fail "cifs.ko over SMB Direct to ksmbd failed:$failed (see above)"
}

part_ksmbd_peer() {
  ksmbd_up
  B="$BIN/smbbench //$IP/share -U $VM_USER%$VM_PASS --quiet"
  # ksmbd listens for SMB Direct on port 445 on RoCE/InfiniBand (5445 only on iWARP).
  R="$BIN/smbbench //$IP:445/share -U $VM_USER%$VM_PASS --quiet --transport rdma"
  step "smbbench over TCP to ksmbd: rw 64k QD4 with verification"
  run_bounded 300 $B --rw randrw --bs 64k --size 16M --ops 1024 --iodepth 4 --verify ||
    fail "smbbench over TCP to ksmbd failed (exit $?)"
  step "smbbench over TCP to ksmbd: create-delete, readdir"
  run_bounded 300 $B --workload create-delete --ops 300 ||
    fail "smbbench create-delete over TCP to ksmbd failed (exit $?)"
  run_bounded 300 $B --workload readdir --nrfiles 64 --ops 20 ||
    fail "smbbench readdir over TCP to ksmbd failed (exit $?)"
  step "smbbench over SMB Direct (rxe0) to ksmbd: rw 64k QD4 with verification, signed and sealed"
  run_bounded 300 $R --rw randrw --bs 64k --size 16M --ops 1024 --iodepth 4 --verify ||
    fail "smbbench over SMB Direct to ksmbd failed (exit $?)"
  run_bounded 300 $R --rw write --bs 64k --size 8M --ops 128 --iodepth 4 --verify --sign ||
    fail "smbbench signed over SMB Direct to ksmbd failed (exit $?)"
  run_bounded 300 $R --rw read --bs 64k --size 8M --ops 128 --iodepth 4 --verify --encrypt aes-128-gcm ||
    fail "smbbench sealed over SMB Direct to ksmbd failed (exit $?)"
  step "SMB Direct client against ksmbd: RDMA channels, $PEER_MIB MiB each way (sha256)"
  run_bounded 600 $BIN/smbdirect_peer_check --fabric verbs --mib $PEER_MIB $IP 445 share $VM_USER "$VM_PASS" ||
    fail "the SMB Direct client against ksmbd failed (see above)"
}

for p in $PARTS; do run_part $p; done
exit 0
"""


def host_skip(part):
    """Why the host cannot provide what the part needs, or None."""
    for var, what in NEEDS.get(part, []):
        path = os.environ.get(var, "")
        if not path or not os.access(path, os.X_OK):
            return f"{what} not built ({var} unset or not executable)"
    return None


def write_result(results, part, rc, text):
    with open(os.path.join(results, f"{part}.rc"), "w") as f:
        f.write(f"{rc} 0\n")
    with open(os.path.join(results, f"{part}.log"), "w") as f:
        f.write(text + "\n")


def boot(parts, results):
    """Boots one guest for `parts`; every part gets results/<part>.rc and .log."""
    shutil.rmtree(results, ignore_errors=True)
    os.makedirs(results)
    try:
        a = vmlab.assets()
    except vmlab.Skip as e:
        for p in parts:
            write_result(results, p, vmlab.SKIP, f"SKIP: {e}")
        raise
    # The parts that need the SMB Direct modules skip when they are absent and fail when
    # their build failed.
    modules = None
    try:
        vmlab.smbdirect_assets(a)
    except vmlab.Skip as e:
        modules = (vmlab.SKIP, f"SKIP: {e}")
    except vmlab.Failure as e:
        modules = (1, f"FAIL: {e}")
    run = []
    for p in parts:
        why = host_skip(p)
        if why:
            write_result(results, p, vmlab.SKIP, f"SKIP: {why}")
        elif modules and p in NEEDS_MODULES:
            write_result(results, p, *modules)
        else:
            run.append(p)
    if not run:
        why = "; ".join(f"{p}: {open(os.path.join(results, p + '.log')).read().strip()}"
                        for p in parts)
        if modules and modules[0] != vmlab.SKIP:
            raise vmlab.Failure("no part can run: " + why)
        raise vmlab.Skip("every part lacks something: " + why)
    work = vmlab.workdir("rdma")
    bindir = os.path.join(work, "bin")
    os.makedirs(bindir)
    for var, name in [("SMBD_BIN", "smbd"), ("SMBD_PASSWD_BIN", "smbd-passwd"),
                      ("RDMAPROXY_BIN", "rdmaproxy"), ("SMB_BENCH_BIN", "smbbench"),
                      ("SMBDIRECT_TEST_BIN", "smbdirect_integration_test"),
                      ("SMBDIRECT_PEER_BIN", "smbdirect_peer_check")]:
        path = os.environ.get(var, "")
        if path and os.access(path, os.X_OK):
            shutil.copy(path, os.path.join(bindir, name))
    sizes = " ".join(str(s) for s in COPY_SIZES)
    # Sealed I/O is never offloaded to RDMA by cifs.ko 6.1, and two of its limits show:
    # - it bounds rsize/wsize by the SMB Direct fragment sizes only when it signs, so
    #   sealed READs of MaxReadWriteSize exceed its own MaxFragmentedSize: rsize=131072;
    # - smbd_send() cuts each page of a request into max_send_size pieces without
    #   stopping at the page's end, so a sealed WRITE of more than one page goes out
    #   corrupted (the server cannot decrypt it): wsize=4096.
    # The same options are used against either server.
    variants = ("rdma:vers=3.1.1,rdma "
                "rdmaseal:vers=3.1.1,rdma,seal,rsize=131072,wsize=4096")
    script = (f"PARTS='{' '.join(run)}'\nRDMA_MIB={RDMA_MIB}\nPEER_MIB={PEER_MIB}\n"
              f"OURS_LOG_LEVEL={os.environ.get('SMB_VMLAB_LOG_LEVEL', '1')}\n"
              f"COPY_SIZES='{sizes}'\nUP_DESC='{len(COPY_SIZES)} files, 0 B .. "
              f"{max(COPY_SIZES) >> 20} MiB'\nCIFS_VARIANTS='{variants}'\n" + GUEST)
    if os.environ.get("SMB_VMLAB_TRACE") == "1":
        script = "set -x\n" + script  # every guest command in the guest log
    failure = None
    try:
        vmlab.run_guest(work, script, timeout=int(os.environ.get("SMB_VMLAB_GUEST_TIMEOUT", "1500")))
    except vmlab.Failure as e:
        failure = str(e)
        print(f"FAIL: {failure}", flush=True)
    for p in run:
        src = os.path.join(work, "results")
        if os.path.exists(os.path.join(src, f"{p}.rc")):
            for ext in ("rc", "log"):
                shutil.copy(os.path.join(src, f"{p}.{ext}"), results)
        else:
            write_result(results, p, 1, f"FAIL: {p} did not run to its end in the guest: "
                                        f"{failure or 'guest script ended early'}")
    return work, failure


def result(results, part):
    """Maps results/<part> to the test outcome (Skip/Failure), printing the part's log."""
    rc_file = os.path.join(results, f"{part}.rc")
    if not os.path.exists(rc_file):
        raise vmlab.Failure(f"{part}: no result in {results} (did vmlab/rdma run?)")
    rc, secs = (open(rc_file).read().split() + ["0"])[:2]
    log = open(os.path.join(results, f"{part}.log"), errors="replace").read()
    print(log, end="", flush=True)
    if rc != "0":
        print(f"({part}: {secs} s in the guest)", flush=True)
    vmlab.guest_result(int(rc), log, part)
    print(f"{part}: passed in {secs} s in the guest", flush=True)


def main(args):
    if args.part and args.results:
        result(args.results, args.part)
        return
    parts = [args.part] if args.part else PARTS
    results = args.results or os.path.join(
        os.environ.get("SMB_VMLAB_WORK") or tempfile.gettempdir(), "rdma-results")
    work, failure = boot(parts, results)
    failed, skipped = [], []
    for p in parts:
        try:
            result(results, p)
        except vmlab.Skip as e:
            skipped.append(f"{p}: {e}")
        except vmlab.Failure as e:
            failed.append(str(e))
    if failed or failure:
        raise vmlab.Failure("; ".join(failed or [failure]) + f" (guest logs in {work})")
    if skipped and len(skipped) == len(parts):
        raise vmlab.Skip("; ".join(skipped))
    for s in skipped:
        print(f"SKIPPED part {s}", flush=True)
    shutil.rmtree(work, ignore_errors=True)  # kept only when a part failed


def boot_only(results):
    """CTest vmlab/rdma: boots and records the parts' results; they report them."""
    work, failure = boot(PARTS, results)
    rcs = {}
    for p in PARTS:
        rc = open(os.path.join(results, f"{p}.rc")).read().split()
        rcs[p] = rc[0]
        print(f"{p}: exit {rc[0]} ({rc[1]} s)", flush=True)
    if failure:
        raise vmlab.Failure(f"{failure} (guest logs in {work})")
    if any(rc not in ("0", str(vmlab.SKIP)) for rc in rcs.values()):
        print(f"guest logs in {work}", flush=True)
    else:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--part", choices=PARTS)
    ap.add_argument("--results", help="results directory of a boot (CTest)")
    ap.add_argument("--boot-only", action="store_true",
                    help="boot, run every part and record the results in --results")
    args = ap.parse_args()
    if args.boot_only:
        vmlab.main(lambda: boot_only(args.results))
    else:
        vmlab.main(lambda: main(args))
