#!/usr/bin/python3
"""Compare two builds of this project's smbd on the same machine, in one run.

  ab.py BEFORE_BUILD_DIR AFTER_BUILD_DIR [--rows create-close,open-close,...] [--reps 3]
        [--acl-xattr] [--metadata]

Each build directory holds a built smbd and smbd-passwd (smbd/master/smbd,
smbd/conf/smbd-passwd); smbbench is the AFTER build's. Both servers are started by the
integration harness (tests/integration/smbtest.py) on free loopback ports with a tmpfs
share; every row of bench/compare.py named in --rows runs against one and then the other,
the order swapped every repetition. Printed per row and build: the median rate (MiB/s or
IOPS) and the median server CPU per unit (seconds per GiB or milliseconds per thousand
operations, over smbbench's measured window: compare.py's server_cpu_per_unit).

System Python, standard library only. Meant for a change's before/after figures.
"""

import argparse
import os
import statistics
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "tests", "integration"))
import compare  # noqa: E402
import smbtest  # noqa: E402


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("before")
    ap.add_argument("after")
    ap.add_argument("--rows", default="create-close,open-close,randread-qd1,seq-read-plain")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--acl-xattr", action="store_true",
                    help="both servers' share with `vfs objects = acl_xattr`, as compare.py's")
    ap.add_argument("--metadata", action="store_true",
                    help="both shares store DOS attributes and have streams_xattr, and the "
                         "stat, fstat, open-close and readdir files two named streams, as compare.py's")
    args = ap.parse_args(argv)
    builds = {"before": os.path.abspath(args.before), "after": os.path.abspath(args.after)}
    smbbench = os.path.join(args.after, "bench", "smbbench")
    rows = [w for w in compare.WORKLOADS if w.name in args.rows.split(",")]
    if not rows or any(w.tool != "smbbench" or w.smb_direct for w in rows):
        raise SystemExit("--rows names smbbench rows over TCP of bench/compare.py")
    if args.metadata:
        for w in rows:
            if w.name in compare.STREAM_ROWS:
                w.args += ["--streams", "2"]
    servers = {}
    scratch = tempfile.mkdtemp(prefix="smb-ab-", dir=smbtest.scratch_root())
    results = {k: {w.name: [] for w in rows} for k in builds}
    try:
        for kind, d in builds.items():
            os.environ["SMBD_BIN"] = os.path.join(d, "smbd", "master", "smbd")
            os.environ["SMBD_PASSWD_BIN"] = os.path.join(d, "smbd", "conf", "smbd-passwd")
            servers[kind] = compare.start_server("self", compare.share_lines(args))
        for rep in range(args.reps):
            order = list(builds) if rep % 2 == 0 else list(reversed(list(builds)))
            for w in rows:
                for kind in order:
                    r = compare.run_smbbench(smbbench, servers[kind], w, quick=False,
                                             verify=False, scratch=scratch, timeout=600)
                    if not r.get("ok"):
                        print(f"{kind} {w.name}: {r.get('error')}", flush=True)
                        continue
                    results[kind][w.name].append((r["value"], compare.server_cpu_per_unit(w, r)))
        for w in rows:
            unit = "s/GiB" if w.metric == "MiB/s" else "ms/1k ops"
            for kind in builds:
                runs = results[kind][w.name]
                if not runs:
                    print(f"{w.name:<18} {kind:<7} no run")
                    continue
                cpu = [c for _, c in runs if c is not None]
                print(f"{w.name:<18} {kind:<7} {statistics.median(v for v, _ in runs):>10,.1f} "
                      f"{w.metric:<6} server CPU {statistics.median(cpu) if cpu else float('nan'):8.3f} "
                      f"{unit}  (runs: {', '.join(f'{v:,.0f}' for v, _ in runs)})")
    finally:
        for s in servers.values():
            s.stop(check=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
