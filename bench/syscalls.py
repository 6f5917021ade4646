#!/usr/bin/python3
"""System calls a server makes per operation of an smbbench workload.

  syscalls.py [--kind self|samba] [--build-dir build-bench] [--acl-xattr] [--metadata]
              [--workload open-close] [--ops 500,1500]

A server (this project's smbd from --build-dir, or Samba's) is started by the
integration harness (tests/integration/smbtest.py) on a free loopback port with a tmpfs
share. smbbench (one connection, QD 1, 64 files) runs twice, for N1 and N2 operations,
each run under `strace -f -c` attached to the server's first process (so the worker or
smbd process it forks for the connection is counted too). The difference of the two
counts divided by N2 - N1 is the cost of one operation, whatever the start and the end
of a run cost. Printed: the calls per operation, by name, and their total.

Needs strace and the right to trace the server (root). System Python, standard library.
"""

import argparse
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "integration"))
import smbtest  # noqa: E402

# One line of strace -c's table: % time, seconds, usecs/call, calls, [errors,] name.
LINE = re.compile(r"\s*[\d.]+\s+[\d.]+\s+\d+\s+(\d+)\s+(?:\d+\s+)?(\w+)$")


def counts(path):
    out = {}
    with open(path) as f:
        for line in f:
            m = LINE.match(line)
            if m and m.group(2) != "total":
                out[m.group(2)] = int(m.group(1))
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--kind", choices=("self", "samba"), default="self")
    ap.add_argument("--build-dir", default="build-bench")
    ap.add_argument("--acl-xattr", action="store_true",
                    help="the share with `vfs objects = acl_xattr`, as compare.py's")
    ap.add_argument("--metadata", action="store_true",
                    help="DOS attributes stored, streams_xattr and two named streams per "
                         "file, as compare.py --metadata")
    ap.add_argument("--workload", default="open-close")
    ap.add_argument("--ops", default="500,1500", help="N1,N2")
    args = ap.parse_args(argv)
    n1, n2 = (int(x) for x in args.ops.split(","))
    if n2 <= n1:
        raise SystemExit("--ops N1,N2 with N2 > N1")
    build = os.path.abspath(args.build_dir)
    os.environ.setdefault("SMBD_BIN", os.path.join(build, "smbd", "master", "smbd"))
    os.environ.setdefault("SMBD_PASSWD_BIN", os.path.join(build, "smbd", "conf", "smbd-passwd"))
    smbbench = os.path.join(build, "bench", "smbbench")
    modules = (["acl_xattr"] if args.acl_xattr else []) + \
        (["streams_xattr"] if args.metadata else [])
    share = [f"vfs objects = {' '.join(modules)}"] if modules else []
    if args.metadata:
        share.append("store dos attributes = yes")
    server = smbtest.Server(args.kind, encrypt=None, extra_share=share)
    server.start()
    scratch = tempfile.mkdtemp(prefix="smb-syscalls-", dir=smbtest.scratch_root())
    try:
        cmd = [smbbench, f"//{server.host}:{server.port}/{server.share}", "-U",
               f"{server.user}%{server.password}", "--workload", args.workload, "--nrfiles",
               "64", "--connections", "1", "--quiet", "--keep"]
        if args.metadata:
            cmd += ["--streams", "2"]
        # The files exist before either counted run.
        subprocess.run(cmd + ["--ops", "200"], check=True, stdout=subprocess.DEVNULL)
        runs = []
        for n in (n1, n2):
            out = os.path.join(scratch, f"strace-{n}.txt")
            tracer = subprocess.Popen(["strace", "-f", "-c", "-o", out, "-p", str(server.pid)],
                                      stderr=subprocess.DEVNULL)
            time.sleep(1.0)  # attached before the connection is made
            subprocess.run(cmd + ["--ops", str(n)], check=True, stdout=subprocess.DEVNULL)
            time.sleep(0.5)  # the connection's end is in both runs alike
            tracer.send_signal(signal.SIGINT)
            tracer.wait()
            runs.append(counts(out))
    finally:
        server.stop(check=False)
        shutil.rmtree(scratch, ignore_errors=True)
    per_op = {name: (runs[1].get(name, 0) - runs[0].get(name, 0)) / (n2 - n1)
              for name in set(runs[0]) | set(runs[1])}
    total = sum(per_op.values())
    for name, v in sorted(per_op.items(), key=lambda kv: -kv[1]):
        if abs(v) >= 0.05:
            print(f"{name:<20} {v:6.2f}")
    what = args.kind + (", acl_xattr" if args.acl_xattr else "") + \
        (", metadata" if args.metadata else "")
    print(f"{'total':<20} {total:6.2f}  per {args.workload} ({what})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
