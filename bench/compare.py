#!/usr/bin/python3
"""Compare this project's smbd with Samba's smbd on the same machine, in one run.

Both servers are started by the integration harness (tests/integration/smbtest.py) on
free loopback ports, each with a private configuration, a share directory on tmpfs and
the same user. The same workload matrix then runs against both, alternating server by
server for every workload, for several repetitions:

  smbbench   1 GiB sequential read and write (plain, signed AES-GMAC, encrypted
             AES-128-GCM), 4 KiB random read at QD 1 and QD 32 on 4 connections,
             create+close, open+close, echo and byte-range lock+unlock rates
  smbclient  get/put of a 1 GiB file (SMB3_11; plain, signed, encrypted), timed from
             process start to exit
  smbtorture smb2.bench.echo, smb2.bench.oplock1, smb2.bench.path-contention-shared as a
             neutral third-party load generator

and the machine is measured in the same run: memcpy, loopback TCP (iperf3, one stream),
AES-128-GCM (openssl speed). The medians, the ratios ours/Samba and the goals (met or
missed) are printed and written to docs/benchmarks.md.

One command from a fresh checkout (builds smbd, smbd-passwd and smbbench first):

  /usr/bin/python3 bench/compare.py                 # full run, writes docs/benchmarks.md
  /usr/bin/python3 bench/compare.py --quick         # small sizes, 1 repetition, no file

System Python, standard library only.
"""

import argparse
import contextlib
import datetime
import json
import os
import platform
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO, "tests", "integration"))
import smbtest  # noqa: E402

MiB = 1 << 20
GiB = 1 << 30
SMBTORTURE = "/usr/bin/smbtorture"
IPERF3 = "/usr/bin/iperf3"
KINDS = ("self", "samba")
KIND_NAMES = {"self": "this smbd", "samba": "Samba smbd"}

# Goals of this server against Samba (see docs/benchmarks.md).
GOAL_THROUGHPUT_RATIO = 1.5   # ours / Samba, every throughput and rate row
GOAL_P99_RATIO = 0.5          # ours / Samba, 4 KiB random read p99 latency
GOAL_LOOPBACK_FRACTION = 0.5  # 1 GiB sequential read / loopback TCP bandwidth


# ---------------------------------------------------------------- the matrix

class Workload:
    """One row of the matrix.

    tool      "smbbench", "smbclient" or "smbtorture"
    metric    "MiB/s" (throughput) or "IOPS" / "ops/s" (rates); higher is better
    p99       also compare the p99 latency (lower is better)
    """

    def __init__(self, name, title, tool, metric, *, args=(), quick_args=(), crypto="plain",
                 direction=None, test=None, p99=False, smb_direct=False, baseline=None):
        self.name, self.title, self.tool, self.metric = name, title, tool, metric
        self.args, self.quick_args = list(args), list(quick_args)
        self.crypto, self.direction, self.test, self.p99 = crypto, direction, test, p99
        # SMB Direct rows run against this server only (Samba has no SMB Direct), through
        # rdmaproxy on the software fabric, and are compared with the TCP row `baseline`.
        self.smb_direct, self.baseline = smb_direct, baseline


CRYPTO_BENCH_ARGS = {"plain": [], "signed": ["--sign"], "encrypted": ["--encrypt", "aes-128-gcm"]}
CRYPTO_TITLES = {"plain": "plain", "signed": "signed AES-GMAC",
                 "encrypted": "encrypted AES-128-GCM"}
# smbclient options per crypto mode (with -m SMB3_11).
CRYPTO_SMBCLIENT = {
    "plain": ["client signing=disabled", "client smb encrypt=off"],
    "signed": ["client signing=required", "client smb3 signing algorithms=AES-128-GMAC",
               "client smb encrypt=off"],
    "encrypted": ["client smb encrypt=required",
                  "client smb3 encryption algorithms=AES-128-GCM"],
}
# What smbbench must report having negotiated, per crypto mode: (signing, encryption).
CRYPTO_EXPECT = {"plain": ("none", "none"), "signed": ("AES-GMAC", "none"),
                 "encrypted": ("none", "AES-128-GCM")}

SEQ_FULL = ["--bs", "1M", "--size", "1G", "--ops", "1024", "--iodepth", "8"]
SEQ_QUICK = ["--bs", "1M", "--size", "16M", "--ops", "16", "--iodepth", "4"]
TIMED_FULL = ["--runtime", "5", "--ramp", "1"]
TIMED_QUICK = ["--runtime", "1"]
FOUR = ["--jobs", "4", "--connections", "4"]


def _matrix():
    rows = []
    for direction in ("read", "write"):
        for crypto in ("plain", "signed", "encrypted"):
            extra = ["--rw", direction] + CRYPTO_BENCH_ARGS[crypto]
            rows.append(Workload(
                f"seq-{direction}-{crypto}",
                f"1 GiB sequential {direction}, 1 MiB I/O QD 8, {CRYPTO_TITLES[crypto]}",
                "smbbench", "MiB/s", args=extra + SEQ_FULL, quick_args=extra + SEQ_QUICK,
                crypto=crypto, direction=direction))
    for qd in (1, 32):
        extra = ["--rw", "randread", "--bs", "4k", "--iodepth", str(qd)] + FOUR
        rows.append(Workload(
            f"randread-qd{qd}",
            f"4 KiB random read, QD {qd} on each of 4 connections (4 x 64 MiB files)",
            "smbbench", "IOPS", args=extra + ["--size", "64M"] + TIMED_FULL,
            quick_args=extra + ["--size", "4M"] + TIMED_QUICK, direction="read", p99=True))
    for wl, title in (("create-close", "create+close (overwrite-if), 4 connections QD 1"),
                      ("open-close", "open+close of existing files, 4 connections QD 1"),
                      ("echo", "echo, 4 connections QD 1")):
        extra = ["--workload", wl] + FOUR
        if wl != "echo":
            extra += ["--nrfiles", "64"]
        rows.append(Workload(wl, title, "smbbench", "IOPS", args=extra + TIMED_FULL,
                             quick_args=extra + TIMED_QUICK))
    for wl, title in (("stat", "stat of a path: CREATE+QUERY_INFO FileAllInformation+CLOSE "
                               "compound, 4 connections QD 1"),
                      ("fstat", "QUERY_INFO FileAllInformation of open files, 4 connections "
                                "QD 1")):
        extra = ["--workload", wl, "--nrfiles", "64"] + FOUR
        rows.append(Workload(wl, title, "smbbench", "IOPS", args=extra + TIMED_FULL,
                             quick_args=extra + TIMED_QUICK))
    extra = ["--workload", "readdir"]
    rows.append(Workload("readdir-10k", "listing a directory of 10,000 files, 1 connection QD 1",
                         "smbbench", "IOPS", args=extra + ["--nrfiles", "10000"] + TIMED_FULL,
                         quick_args=extra + ["--nrfiles", "1000"] + TIMED_QUICK))
    extra = ["--workload", "lock"] + FOUR
    rows.append(Workload("lock-unlock",
                         "4 clients locking and unlocking ranges of one file (LOCK+UNLOCK "
                         "pairs), QD 1", "smbbench", "IOPS", args=extra + TIMED_FULL,
                         quick_args=extra + TIMED_QUICK))
    extra = ["--workload", "alternate-open", "--jobs", "2", "--connections", "2"]
    rows.append(Workload("alternate-open",
                         "2 clients alternately opening one file exclusively with an RWH "
                         "lease (each open breaks the other's lease), QD 1", "smbbench",
                         "IOPS", args=extra + TIMED_FULL, quick_args=extra + TIMED_QUICK))
    for direction, verb in (("read", "get"), ("write", "put")):
        for crypto in ("plain", "signed", "encrypted"):
            rows.append(Workload(
                f"smbclient-{verb}-{crypto}",
                f"smbclient {verb} 1 GiB, SMB3_11, {CRYPTO_TITLES[crypto]}",
                "smbclient", "MiB/s", crypto=crypto, direction=direction))
    for direction in ("read", "write"):
        extra = ["--rw", direction, "--transport", "rdma", "--rdma-fabric", "soft",
                 "--rdma-channel", "v1"]
        rows.append(Workload(
            f"smbdirect-seq-{direction}-rdma",
            f"256 MiB sequential {direction}, 1 MiB I/O QD 8, SMB Direct (software fabric), "
            "RDMA channel",
            "smbbench", "MiB/s",
            args=extra + ["--bs", "1M", "--size", "256M", "--ops", "256", "--iodepth", "8"],
            quick_args=extra + SEQ_QUICK, direction=direction, smb_direct=True,
            baseline=f"seq-{direction}-plain"))
    # Multi-channel: one session over 2 TCP connections and 2 SMB Direct channels.
    extra = ["--rw", "read", "--multichannel", "--connections", "2", "--rdma-connections", "2",
             "--rdma-fabric", "soft", "--rdma-channel", "v1", "--jobs", "4"]
    rows.append(Workload(
        "smbdirect-multichannel-seq-read",
        "256 MiB sequential read, 1 MiB I/O QD 2 on each of 4 jobs, one session over 2 TCP "
        "and 2 SMB Direct channels (software fabric, RDMA channel)",
        "smbbench", "MiB/s",
        args=extra + ["--bs", "1M", "--size", "64M", "--ops", "256", "--iodepth", "2"],
        quick_args=extra + ["--bs", "1M", "--size", "4M", "--ops", "16", "--iodepth", "2"],
        direction="read", smb_direct=True, baseline="seq-read-plain"))
    rows.append(Workload("torture-echo", "smbtorture smb2.bench.echo, nprocs 4 qdepth 4",
                         "smbtorture", "ops/s", test="smb2.bench.echo"))
    rows.append(Workload("torture-oplock1", "smbtorture smb2.bench.oplock1",
                         "smbtorture", "ops/s", test="smb2.bench.oplock1"))
    rows.append(Workload("torture-path-contention-shared",
                         "smbtorture smb2.bench.path-contention-shared (opens), nprocs 4 qdepth 4",
                         "smbtorture", "ops/s", test="smb2.bench.path-contention-shared"))
    return rows


WORKLOADS = _matrix()


def smbbench_command(smbbench, server, workload, *, quick, verify, json_file=None):
    """The smbbench command line of `workload` against a started smbtest.Server."""
    args = workload.quick_args if quick else workload.args
    # SMB Direct rows go to rdmaproxy, but multi-channel ones start on TCP and bind their
    # SMB Direct channels (to --rdma-port) to that session.
    port = server.rdma_port if workload.smb_direct and "--multichannel" not in args \
        else server.port
    cmd = [smbbench, f"//{server.host}:{port}/{server.share}",
           "-U", f"{server.user}%{server.password}", "--dialect", "3.1.1", "--quiet",
           "--dir", f"bench-{workload.name}"]
    if workload.smb_direct and "--multichannel" in args:
        cmd += ["--rdma-port", str(server.rdma_port)]
    cmd += args
    if verify:
        cmd.append("--verify")
    if json_file:
        cmd += ["--json", json_file]
    return cmd


def share_lines(args):
    """The share options of --acl-xattr and --metadata, for both servers."""
    modules = (["acl_xattr"] if args.acl_xattr else []) + \
        (["streams_xattr"] if args.metadata else [])
    lines = [f"vfs objects = {' '.join(modules)}"] if modules else []
    if args.metadata:
        lines.append("store dos attributes = yes")
    return lines


# Rows whose files get named streams with --metadata.
STREAM_ROWS = ("stat", "fstat", "open-close", "readdir-10k")


def start_server(kind, extra=()):
    """A server for the comparison: the harness defaults (same user, tmpfs share, log
    level 1), encryption left at the server's default so that a client may ask for it;
    `extra` lines are added to the share of both servers (--acl-xattr, --metadata)."""
    return smbtest.Server(kind, encrypt=None, extra_share=list(extra)).start()


# ---------------------------------------------------------------- the servers' CPU time

_CLOCK_TICK = os.sysconf("SC_CLK_TCK")


def session_cpu_seconds(sid):
    """User and system CPU seconds of every process in session `sid` (a server and all it
    forked: smbtest starts each server in a session of its own), with the time of the
    children they have reaped (cutime, cstime), so that workers that exited still count."""
    ticks = 0
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat") as f:
                data = f.read()
        except OSError:
            continue  # gone meanwhile
        fields = data[data.rindex(")") + 2:].split()
        # After the command: state, ppid, pgrp, session, ..., utime (14th field of the
        # line), stime, cutime, cstime.
        if len(fields) < 15 or int(fields[3]) != sid:
            continue
        ticks += sum(int(x) for x in fields[11:15])
    return ticks / _CLOCK_TICK


class CpuSampler:
    """Samples a server's CPU seconds every `interval` seconds on a thread of its own, so
    that the CPU of an exact window (smbbench's measured part) can be read afterwards."""

    def __init__(self, sid, interval=0.05):
        self.sid, self.interval = sid, interval
        self.samples = []  # (time.monotonic(), cpu seconds)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _sample(self):
        self.samples.append((time.monotonic(), session_cpu_seconds(self.sid)))

    def _run(self):
        while not self._stop.wait(self.interval):
            self._sample()

    def __enter__(self):
        self._sample()
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self._sample()

    def at(self, t):
        """CPU seconds at monotonic time `t`, interpolated between the samples around it."""
        before = [x for x in self.samples if x[0] <= t]
        after = [x for x in self.samples if x[0] >= t]
        if not before:
            return self.samples[0][1]
        if not after:
            return self.samples[-1][1]
        (t0, c0), (t1, c1) = before[-1], after[0]
        return c0 if t1 == t0 else c0 + (c1 - c0) * (t - t0) / (t1 - t0)

    def between(self, start=None, end=None):
        """CPU seconds used from `start` to `end` (default: the whole sampling)."""
        first = self.samples[0][1] if start is None else self.at(start)
        last = self.samples[-1][1] if end is None else self.at(end)
        return max(0.0, last - first)


def server_cpu_per_unit(w, res):
    """The server's CPU per unit of work for one run: seconds per GiB moved (throughput
    rows) or milliseconds per thousand operations (rates); None when not measured."""
    cpu, amount = res.get("server_cpu_s"), res.get("work_done")
    if cpu is None or not amount:
        return None
    if w.metric == "MiB/s":
        return cpu / (amount / GiB)
    return cpu * 1000 / (amount / 1000)


# ---------------------------------------------------------------- running one row

def _tail(text, n=1500):
    text = (text or "").strip()
    return text if len(text) <= n else "..." + text[-n:]


def run_smbbench(smbbench, server, w, *, quick, verify, scratch, timeout):
    """Runs one smbbench workload; returns a result dict (see `result` below)."""
    jf = os.path.join(scratch, f"{server.kind}-{w.name}.json")
    with contextlib.suppress(FileNotFoundError):
        os.unlink(jf)
    cmd = smbbench_command(smbbench, server, w, quick=quick, verify=verify, json_file=jf)
    t0 = time.monotonic()
    try:
        with CpuSampler(server.pid) as cpu:
            p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"ok": False, "cmd": cmd, "error": f"timed out after {timeout} s"}
    res = {"cmd": cmd, "exit": p.returncode, "wall_s": time.monotonic() - t0,
           "output": p.stdout + p.stderr}
    if p.returncode != 0 or not os.path.exists(jf):
        res.update(ok=False, error=f"exit {p.returncode}: {_tail(p.stdout + p.stderr)}")
        return res
    with open(jf) as f:
        j = json.load(f)
    part = j.get(w.direction) if w.direction else j["all"]
    seconds = j["seconds"]
    if not seconds or seconds <= 0:
        # A rate over no time is no measurement: the row has no figure for this run.
        res.update(ok=False, error=f"smbbench measured {seconds!r} s: no rate can be derived")
        return res
    res.update(ok=True, json=j, seconds=seconds, negotiated=(j["signing"], j["encryption"]),
               dialect=j["dialect"], p99_us=part["lat_us"]["p99"],
               p50_us=part["lat_us"]["p50"], verify_failures=j["verify_failures"],
               errors=j["errors"],
               client_cpu=(j["cpu"]["user_s"] + j["cpu"]["system_s"]) / seconds)
    res["value"] = part["bytes"] / seconds / MiB if w.metric == "MiB/s" else part["iops"]
    # The server's CPU in smbbench's measured window only (set-up and layout left out).
    window = j.get("window") or {}
    if window.get("end_monotonic_s", 0) > window.get("start_monotonic_s", 0) > 0:
        res["server_cpu_s"] = cpu.between(window["start_monotonic_s"], window["end_monotonic_s"])
        res["work_done"] = part["bytes"] if w.metric == "MiB/s" else part["ops"]
    if w.crypto in CRYPTO_EXPECT and w.tool == "smbbench" and w.direction and \
            res["negotiated"] != CRYPTO_EXPECT[w.crypto]:
        res.update(ok=False, error=f"negotiated signing {j['signing']} encryption "
                                   f"{j['encryption']}, expected {CRYPTO_EXPECT[w.crypto]}")
    return res


def run_smbclient(server, w, *, local_file, size, verify, scratch, timeout):
    """smbclient put or get of `local_file`, timed with time.monotonic around the process
    (start-up, negotiation and authentication included)."""
    remote = f"sc-{w.name}.bin"
    remote_path = os.path.join(server.share_path, remote)
    got = os.path.join(scratch, f"got-{server.kind}.bin")
    opts = CRYPTO_SMBCLIENT[w.crypto]
    try:
        if w.direction == "read":  # the file to get is put there first, not timed
            shutil.copyfile(local_file, remote_path)
            os.chmod(remote_path, 0o666)
            cmds = f'get {remote} "{got}"'
        else:
            cmds = f'put "{local_file}" {remote}'
        t0 = time.monotonic()
        cpu0 = session_cpu_seconds(server.pid)
        r = server.smbclient(cmds, dialect="SMB3_11", options=opts, timeout=timeout,
                             check=False)
        elapsed = time.monotonic() - t0
        server_cpu = session_cpu_seconds(server.pid) - cpu0
        if elapsed <= 0:
            return {"ok": False, "cmd": [], "error": f"measured {elapsed} s: no rate"}
        out = r.stdout + r.stderr
        cmd = ["smbclient", server.unc, "-p", str(server.port), "-m", "SMB3_11", "-c", cmds] + \
            [f"--option={o}" for o in opts]
        res = {"cmd": cmd, "exit": r.returncode, "wall_s": elapsed}
        if r.returncode != 0 or "NT_STATUS_" in out:
            res.update(ok=False, error=f"exit {r.returncode}: {_tail(out)}")
            return res
        check = got if w.direction == "read" else remote_path
        actual = os.path.getsize(check) if os.path.exists(check) else -1
        if actual != size:
            res.update(ok=False, error=f"{check} has {actual} bytes, expected {size}")
            return res
        if verify:
            try:
                smbtest.assert_same_file(local_file, check, w.name)
            except AssertionError as e:
                res.update(ok=False, error=str(e))
                return res
        m = re.search(r"average ([\d.]+) KiloBytes/sec", out)
        res.update(ok=True, value=size / elapsed / MiB, server_cpu_s=server_cpu, work_done=size,
                   smbclient_avg=float(m.group(1)) * 1024 / MiB if m else None)
        return res
    except smbtest.ServerError as e:
        return {"ok": False, "cmd": [], "error": str(e)}
    except AssertionError as e:  # the harness's timeout
        return {"ok": False, "cmd": [], "error": _tail(str(e))}
    finally:
        for p in (remote_path, got):
            with contextlib.suppress(OSError):
                os.unlink(p)


_TORTURE_RATE = {
    "smb2.bench.echo": re.compile(r"second: echo\[num/s=(\d+)"),
    "smb2.bench.path-contention-shared": re.compile(r"second: open\[num/s=(\d+)"),
}
_OPS_PER_SECOND = re.compile(r"([\d.]+) ops/second")


def torture_command(server, w, *, timelimit, nprocs=4, qdepth=4):
    return [SMBTORTURE, f"//{server.host}/{server.share}", "-p", str(server.port),
            "-U", f"{server.user}%{server.password}", "--configfile", server.client_conf,
            "--format=subunit", "--option=torture:sharedelay=100000",
            "--option=torture:writetimeupdatedelay=500000",
            f"--option=torture:nprocs={nprocs}", f"--option=torture:qdepth={qdepth}",
            f"--option=torture:timelimit={timelimit}", w.test]


def run_smbtorture(server, w, *, timelimit, timeout):
    cmd = torture_command(server, w, timelimit=timelimit)
    cpu0 = session_cpu_seconds(server.pid)
    try:
        p = subprocess.run(["timeout", "-k", "5", str(timeout)] + cmd, capture_output=True,
                           text=True, timeout=timeout + 20, cwd=server.client_dir)
    except subprocess.TimeoutExpired:
        return {"ok": False, "cmd": cmd, "error": f"timed out after {timeout} s"}
    server_cpu = session_cpu_seconds(server.pid) - cpu0
    out = p.stdout + p.stderr
    short = w.test.rsplit(".", 1)[1]
    res = {"cmd": cmd, "exit": p.returncode}
    m = re.search(rf"^(failure|error): {re.escape(short)}(?: \[\n?(.*?)\n?\])?", out,
                  re.M | re.S)
    if m or not re.search(rf"^success: {re.escape(short)}", out, re.M):
        reason = (m.group(2) or "").strip() if m else f"no success reported, exit {p.returncode}"
        res.update(ok=False, error=f"{m.group(1) if m else 'error'}: {_tail(reason, 600)}")
        return res
    if w.test in _TORTURE_RATE:
        # A line per second, then one with the whole run's count / timelimit.
        rates = [int(x) for x in _TORTURE_RATE[w.test].findall(out)]
        value = rates[-1] if rates else None
    else:
        rates = _OPS_PER_SECOND.findall(out)
        value = float(rates[-1]) if rates else None
    if value is None:
        res.update(ok=False, error=f"no rate in the output: {_tail(out, 600)}")
        return res
    # The whole smbtorture run (its connections and set-up too) over the operations its
    # rate stands for (rate x time limit).
    res.update(ok=True, value=value, server_cpu_s=server_cpu, work_done=value * timelimit)
    return res


# ---------------------------------------------------------------- the machine

def _first(pattern, text, default="?"):
    m = re.search(pattern, text, re.M)
    return m.group(1).strip() if m else default


def _output(cmd, timeout=60):
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
        return p.stdout + p.stderr
    except (OSError, subprocess.TimeoutExpired):
        return ""


def memcpy_bandwidth(size=256 * MiB, rounds=5):
    """GiB/s of one large copy between two buffers (CPython slice assignment: memmove)."""
    a = bytearray(os.urandom(MiB)) * (size // MiB)
    b = bytearray(size)
    b[:] = a  # fault the pages in
    best = float("inf")
    for _ in range(rounds):
        t0 = time.perf_counter()
        b[:] = a
        best = min(best, time.perf_counter() - t0)
    return size / best / GiB


def loopback_bandwidth(seconds):
    """GiB/s of one TCP stream over 127.0.0.1 (iperf3), or None with the reason."""
    if not os.access(IPERF3, os.X_OK):
        return None, "iperf3 is not installed"
    port = smbtest.free_port()
    # No -1 and no probing connection: a probe would count as the one test of "-s -1".
    srv = subprocess.Popen([IPERF3, "-s", "-B", "127.0.0.1", "-p", str(port)],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                           start_new_session=True)
    try:
        error = "no answer"
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            p = subprocess.run([IPERF3, "-c", "127.0.0.1", "-p", str(port), "-t", str(seconds),
                                "-J"], capture_output=True, text=True, timeout=seconds + 30)
            try:
                j = json.loads(p.stdout)
                if "error" not in j:
                    return j["end"]["sum_received"]["bits_per_second"] / 8 / GiB, None
                error = j["error"]
            except (ValueError, KeyError) as e:
                error = f"unexpected output ({e})"
            time.sleep(0.2)
        return None, f"iperf3 failed: {error}"
    except subprocess.TimeoutExpired:
        return None, "iperf3 timed out"
    finally:
        if srv.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(srv.pid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            srv.wait(timeout=10)


def aes_gcm_speed(seconds):
    """GiB/s of `openssl speed -evp aes-128-gcm` on 16 KiB blocks, one core."""
    out = _output(["openssl", "speed", "-evp", "aes-128-gcm", "-bytes", "16384",
                   "-seconds", str(seconds)], timeout=seconds * 4 + 30)
    m = re.search(r"^AES-128-GCM\s+([\d.]+)k", out, re.M | re.I)
    return float(m.group(1)) * 1000 / GiB if m else None


def machine_description(build_dir):
    cpuinfo = open("/proc/cpuinfo").read()
    meminfo = open("/proc/meminfo").read()
    mem_kib = int(_first(r"^MemTotal:\s+(\d+)", meminfo, "0"))
    os_release = ""
    with contextlib.suppress(OSError):
        os_release = _first(r'^PRETTY_NAME="?([^"\n]*)', open("/etc/os-release").read())
    commit = _output(["git", "-C", REPO, "rev-parse", "--short=12", "HEAD"]).strip() or "?"
    if _output(["git", "-C", REPO, "status", "--porcelain", "--untracked-files=no"]).strip():
        commit += " (with local changes)"
    build_type, compiler = "?", "?"
    with contextlib.suppress(OSError):
        cache = open(os.path.join(build_dir, "CMakeCache.txt")).read()
        build_type = _first(r"^CMAKE_BUILD_TYPE:\w+=(.*)$", cache)
        cxx = _first(r"^CMAKE_CXX_COMPILER:\w+=(.*)$", cache)
        compiler = _output([cxx, "--version"]).splitlines()[0] if cxx != "?" else "?"
    return {
        "cpu": _first(r"^model name\s*:\s*(.*)$", cpuinfo),
        "cores": os.cpu_count(),
        "memory": f"{mem_kib / (1 << 20):.1f} GiB",
        "kernel": platform.release(),
        "os": os_release or platform.platform(),
        "samba": _first(r"^Version (.*)$", _output([smbtest.SAMBA_SMBD, "-V"])),
        "smbclient": _first(r"^Version (.*)$", _output([smbtest.SMBCLIENT, "-V"])),
        "iperf3": _first(r"^(iperf \S+)", _output([IPERF3, "--version"])),
        "openssl": _output(["openssl", "version"]).strip(),
        "commit": commit,
        "build": f"{build_type}, {compiler}",
    }


# ---------------------------------------------------------------- building

def build(build_dir):
    """cmake + ninja for the three programs; returns their paths."""
    t0 = time.monotonic()
    targets = ["smbd", "smbd-passwd", "smbbench", "rdmaproxy"]
    steps = [["cmake", "-S", REPO, "-B", build_dir, "-G", "Ninja",
              "-DCMAKE_BUILD_TYPE=Release"],
             ["ninja", "-C", build_dir] + targets]
    for cmd in steps:
        print("+", " ".join(cmd), flush=True)
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=3600)
        if p.returncode != 0:
            raise SystemExit(f"build failed: {' '.join(cmd)}\n{_tail(p.stdout + p.stderr, 4000)}")
    print(f"built in {time.monotonic() - t0:.0f} s", flush=True)
    return find_binaries(build_dir)


def _build_dir_of(path):
    """The CMake build directory a program was built in, or None."""
    d = os.path.dirname(os.path.abspath(path))
    while d != os.path.dirname(d):
        if os.path.exists(os.path.join(d, "CMakeCache.txt")):
            return d
        d = os.path.dirname(d)
    return None


def find_binaries(build_dir):
    found = {}
    for root, _dirs, files in os.walk(build_dir):
        for name in ("smbd", "smbd-passwd", "smbbench"):
            p = os.path.join(root, name)
            if name in files and name not in found and os.access(p, os.X_OK) \
                    and not os.path.isdir(p):
                found[name] = p
    missing = {"smbd", "smbd-passwd", "smbbench"} - set(found)
    if missing:
        raise SystemExit(f"not found in {build_dir}: {', '.join(sorted(missing))}")
    return found["smbd"], found["smbd-passwd"], found["smbbench"]


# ---------------------------------------------------------------- the report

def fmt(v, metric=None):
    if v is None:
        return "–"
    if metric and metric.startswith("server CPU") and abs(v) < 10:
        return f"{v:,.2f}"
    if metric in ("MiB/s", "of loopback TCP") or abs(v) < 100:
        return f"{v:,.1f}"
    return f"{v:,.0f}"


def median_of(results, key="value"):
    vals = [r[key] for r in results if r.get("ok") and r.get(key) is not None]
    return statistics.median(vals) if vals else None


def measured(results):
    """How many runs of a row produced a figure."""
    return sum(1 for r in results if r.get("ok") and r.get("value") is not None)


def short_rows(rows, results, reps):
    """{(kind, name): runs} for every row and server measured in fewer runs than asked."""
    return {(k, w.name): measured(results[k][w.name]) for w in rows for k in KINDS
            if measured(results[k][w.name]) < reps and not (w.smb_direct and k != "self")}


def evaluate(rows, results, loopback):
    """The comparison table: [(workload, metric, ours, samba, ratio, goal, verdict)]."""
    table = []

    def verdict(ratio, goal, higher):
        if ratio is None:
            return "not measured"
        return "met" if (ratio >= goal if higher else ratio <= goal) else "MISSED"

    by_name = {w.name: w for w in rows}
    for w in rows:
        if w.smb_direct:
            # Against this server's own TCP row of the same run: no Samba column.
            ours = median_of(results["self"][w.name])
            base = median_of(results["self"][w.baseline]) if w.baseline in by_name else None
            ratio = ours / base if ours and base else None
            table.append((w, f"{w.metric} (Samba column: this smbd over TCP)", ours, base,
                          ratio, "–", "info"))
            continue
        ours, samba = (median_of(results[k][w.name]) for k in KINDS)
        ratio = ours / samba if ours and samba else None
        table.append((w, w.metric, ours, samba, ratio, f"≥ {GOAL_THROUGHPUT_RATIO}×",
                      verdict(ratio, GOAL_THROUGHPUT_RATIO, True)))
        if w.p99:
            ours, samba = (median_of(results[k][w.name], "p99_us") for k in KINDS)
            ratio = ours / samba if ours and samba else None
            table.append((w, "p99 µs", ours, samba, ratio, f"≤ {GOAL_P99_RATIO}×",
                          verdict(ratio, GOAL_P99_RATIO, False)))
        cpus = []
        for k in KINDS:
            per_unit = [server_cpu_per_unit(w, r) for r in results[k][w.name] if r.get("ok")]
            per_unit = [x for x in per_unit if x is not None]
            cpus.append(statistics.median(per_unit) if per_unit else None)
        if any(c is not None for c in cpus):
            ratio = cpus[0] / cpus[1] if cpus[0] is not None and cpus[1] else None
            unit = "server CPU s/GiB" if w.metric == "MiB/s" else "server CPU ms/1k ops"
            table.append((w, unit, cpus[0], cpus[1], ratio, "lower", "info"))
    seq = next((w for w in rows if w.name == "seq-read-plain"), None)
    if seq is not None:
        lb = statistics.median(loopback) * GiB / MiB if loopback else None
        ours, samba = (median_of(results[k][seq.name]) for k in KINDS)
        frac = ours / lb if ours and lb else None
        table.append((seq, "of loopback TCP", ours, samba, frac,
                      f"≥ {GOAL_LOOPBACK_FRACTION:.0%}",
                      verdict(frac, GOAL_LOOPBACK_FRACTION, True)))
    return table


def markdown(args, machine, table, results, rows, loopback, aes, memcpy, started, elapsed,
             failures):
    out = []
    a = out.append
    mode = "quick" if args.quick else "full"
    a("# Benchmarks: this smbd against Samba's smbd")
    a("")
    a(f"Written by `bench/compare.py` ({mode} run, {args.reps} repetition(s), "
      f"{started:%Y-%m-%d %H:%M} UTC, {elapsed / 60:.1f} minutes). "
      "Regenerate with `/usr/bin/python3 bench/compare.py` from the top of the tree; "
      "it builds `smbd`, `smbd-passwd` and `smbbench`, starts both servers and rewrites "
      "this file.")
    a("")
    a("## Machine")
    a("")
    a("| | |")
    a("|---|---|")
    for key, label in (("cpu", "CPU"), ("cores", "cores"), ("memory", "memory"),
                       ("os", "system"), ("kernel", "kernel"), ("samba", "Samba"),
                       ("openssl", "OpenSSL"), ("iperf3", "iperf3"),
                       ("commit", "this tree"), ("build", "build"),
                       ("load", "1-minute load average at each repetition's start")):
        a(f"| {label} | {machine[key]} |")
    lb = statistics.median(loopback) if loopback else None
    a(f"| memcpy, 256 MiB buffers | {fmt(memcpy)} GiB/s |")
    a(f"| loopback TCP, one stream (iperf3, median of {len(loopback)}) | "
      f"{fmt(lb)} GiB/s ({', '.join(fmt(x) for x in loopback)}) |")
    a(f"| AES-128-GCM, one core (`openssl speed -evp aes-128-gcm`, 16 KiB) | "
      f"{fmt(aes)} GiB/s |")
    a("")
    a("## Setup")
    a("")
    a("- Both servers are started by `tests/integration/smbtest.py` on free ports of "
      "127.0.0.1, each with a private `smb.conf`, its share in a fresh directory on tmpfs "
      "(`/dev/shm`) and the same user; encryption and signing are left to the client "
      "(`smb encrypt` at the server's default, `server signing = auto`). Samba runs with "
      "its defaults otherwise.")
    if getattr(args, "acl_xattr", False):
        a("- Both shares have `vfs objects = acl_xattr` (`--acl-xattr`): NT ACLs are stored in "
          "`security.NTACL` and checked on every open, by both servers.")
    if getattr(args, "metadata", False):
        a("- Both shares have `store dos attributes = yes` and `vfs objects = streams_xattr` "
          "(`--metadata`); every file the stat, fstat, open-close and readdir rows lay out has two "
          "named streams of 64 bytes.")
    a("- One pair of servers serves the whole run. Every workload runs against one server "
      "and then the other, the order swapped every repetition; the shares are warmed up "
      "with one untimed 1 GiB write before the first repetition.")
    a("- smbbench (`bench/`, dialect 3.1.1) reports MiB/s = bytes / measured seconds, and "
      "IOPS; sequential rows are one pass over a 1 GiB file laid out before the timed part "
      "(the layout is not timed); timed rows run 5 s after 1 s of ramp. QD is per "
      "connection. smbclient rows are `smbclient -m SMB3_11` put/get of a 1 GiB file on "
      "tmpfs, timed from process start to exit (connection set-up included). smbtorture "
      "rows use `--option=torture:nprocs=4 --option=torture:qdepth=4 "
      "--option=torture:timelimit=5` (the rate of its final line, operations / time "
      "limit; oplock1: its last ops/second).")
    a("- Server CPU (rows `server CPU`, lower is better): the user and system time of "
      "the server's whole process tree (master, workers, helpers, and the children they "
      "reaped), read from /proc. For smbbench rows it is sampled every 50 ms and "
      "interpolated over smbbench's measured window (set-up, file layout and ramp left "
      "out), per GiB moved or per thousand operations counted in that window; for "
      "smbclient rows the whole transfer (connection set-up included) per GiB; for "
      "smbtorture rows the whole run per thousand operations of its reported rate. On a "
      "machine where client and server share the cores this is the steadier figure of "
      "efficiency.")
    a("- Medians over the repetitions; ratio = this smbd / Samba. Goals: ≥ "
      f"{GOAL_THROUGHPUT_RATIO}× Samba on every throughput and rate row, 4 KiB random read "
      f"p99 ≤ {GOAL_P99_RATIO}× Samba's, 1 GiB sequential read ≥ "
      f"{GOAL_LOOPBACK_FRACTION:.0%} of the loopback TCP bandwidth measured in the same run.")
    loads = [float(x) for x in machine.get("load", "").split(", ") if x and x != "–"]
    if loads and max(loads) > 0.5 * (machine["cores"] or 1):
        a(f"- **The machine was not idle**: the 1-minute load average at the start of the "
          f"repetitions was {machine['load']} on {machine['cores']} cores (other processes "
          "were running). Absolute figures are lower and noisier than on an idle machine; "
          "the ratios are the sturdier figures, since both servers alternate under the same "
          "conditions.")
    a("")
    a("## Results")
    a("")
    a("| workload | metric | this smbd | Samba | ratio | goal | |")
    a("|---|---|---:|---:|---:|---|---|")
    short = short_rows(rows, results, args.reps)

    def cell(kind, w, value, metric):
        n = short.get((kind, w.name))
        return fmt(value, metric) + (f" ({n} of {args.reps} runs)" if n is not None else "")

    for w, metric, ours, samba, ratio, goal, verdict in table:
        rs = "–" if ratio is None else (f"{ratio:.0%}" if metric == "of loopback TCP"
                                        else f"{ratio:.2f}")
        if metric == "of loopback TCP":
            lbm = lb * GiB / MiB if lb else None
            a(f"| {w.title} | MiB/s, fraction of loopback ({fmt(lbm, 'MiB/s')} MiB/s) | "
              f"{cell('self', w, ours, 'MiB/s')} | {cell('samba', w, samba, 'MiB/s')} | {rs} | "
              f"{goal} | {verdict} |")
        else:
            a(f"| {w.title} | {metric} | {cell('self', w, ours, metric)} | "
              f"{cell('samba', w, samba, metric)} | {rs} | {goal} | {verdict} |")
    missed = [t for t in table if t[6] == "MISSED"]
    met = [t for t in table if t[6] == "met"]
    unmeasured = [t for t in table if t[6] == "not measured"]
    a("")
    a(f"Goals: {len(met)} met, {len(missed)} missed, {len(unmeasured)} not measured "
      f"(of {sum(1 for t in table if t[6] != 'info')}).")
    if short:
        a("")
        a(f"Figures marked \"(n of {args.reps} runs)\" are medians of fewer repetitions than "
          "asked: the other runs failed (see Failures).")
    if failures:
        a("")
        a("## Failures")
        a("")
        a("Runs that did not complete: their rows have no figure for that server, or one from "
          "fewer repetitions than asked (marked in the table).")
        a("")
        seen = set()
        for kind, w, r in failures:
            name = w.name if w else "the server"  # no workload: a server process crashed
            key = (kind, name, r.get("error", "")[:200])
            if key in seen:
                continue
            seen.add(key)
            n = sum(1 for k2, w2, _ in failures if (k2, w2.name if w2 else "the server") ==
                    (kind, name))
            a(f"- **{KIND_NAMES[kind]}, {name}** ({n} of {args.reps} runs): "
              f"`{' '.join(_redact(r.get('cmd') or []))}`")
            a("")
            a("  ```")
            for line in (r.get("error") or "").splitlines()[:12]:
                a(f"  {line}")
            a("  ```")
    a("")
    a("## Every run")
    a("")
    a("Figures of each repetition (this smbd | Samba); p99 in µs for the random reads; "
      "`client CPU` is smbbench's own CPU time as a share of one core.")
    a("")
    a("| workload | metric | this smbd | Samba |")
    a("|---|---|---|---|")
    for w in rows:
        cells = []
        for kind in KINDS:
            cells.append(", ".join(fmt(r["value"], w.metric) if r.get("ok") else "failed"
                                   for r in results[kind][w.name]) or "–")
        a(f"| {w.name} | {w.metric} | {cells[0]} | {cells[1]} |")
        if w.p99:
            cells = [", ".join(fmt(r["p99_us"]) if r.get("ok") else "failed"
                               for r in results[kind][w.name]) or "–" for kind in KINDS]
            a(f"| {w.name} | p99 µs | {cells[0]} | {cells[1]} |")
        if w.tool == "smbbench":
            cells = [", ".join(f"{r['client_cpu']:.0%}" if r.get("ok") else "–"
                               for r in results[kind][w.name]) or "–" for kind in KINDS]
            a(f"| {w.name} | client CPU | {cells[0]} | {cells[1]} |")
    a("")
    a("## Commands")
    a("")
    a("Against each server (port, user and password from the harness):")
    a("")
    a("```")
    for w in rows:
        if w.tool == "smbbench":
            a(f"smbbench //127.0.0.1:PORT/share -U USER%PASS --dialect 3.1.1 --quiet "
              f"--dir bench-{w.name} {' '.join(w.quick_args if args.quick else w.args)}")
        elif w.tool == "smbclient":
            verb = "get" if w.direction == "read" else "put"
            a(f"smbclient //127.0.0.1/share -p PORT -U USER%PASS -m SMB3_11 -c '{verb} ...' "
              + " ".join(f"--option='{o}'" for o in CRYPTO_SMBCLIENT[w.crypto]))
        else:
            tl = 1 if args.quick else 5
            a(f"smbtorture //127.0.0.1/share -p PORT -U USER%PASS "
              f"--option=torture:nprocs=4 --option=torture:qdepth=4 "
              f"--option=torture:timelimit={tl} {w.test}")
    a("```")
    return "\n".join(out) + "\n"


def _redact(cmd):
    out = []
    for i, c in enumerate(cmd):
        if i > 0 and cmd[i - 1] == "-U" and "%" in c:
            c = c.split("%", 1)[0] + "%PASS"
        out.append(c)
    return out


def print_table(table, short=None, reps=1):
    print(f"\n{'workload':<34} {'metric':<16} {'this smbd':>11} {'Samba':>11} {'ratio':>7}  "
          f"{'goal':<7} verdict")
    short = short or {}
    for w, metric, ours, samba, ratio, goal, verdict in table:
        rs = "–" if ratio is None else (f"{ratio:.0%}" if metric == "of loopback TCP"
                                        else f"{ratio:.2f}")
        few = [f"{KIND_NAMES[k]} {short[(k, w.name)]} of {reps} runs" for k in KINDS
               if (k, w.name) in short]
        print(f"{w.name:<34} {metric:<16} {fmt(ours, metric):>11} {fmt(samba, metric):>11} "
              f"{rs:>7}  {goal:<7} {verdict}" + (f"  (measured: {', '.join(few)})" if few else ""))


# ---------------------------------------------------------------- main

def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--reps", type=int, default=None,
                    help="repetitions of the matrix (default 3; 1 with --quick)")
    ap.add_argument("--quick", action="store_true",
                    help="small sizes, short runs, 1 repetition; docs/ is not written "
                         "unless --out is given")
    ap.add_argument("--verify", action="store_true",
                    help="smbbench --verify, sha256 of smbclient transfers (costs client CPU)")
    ap.add_argument("--only", action="append", default=[],
                    help="run only workloads whose name contains this (repeatable)")
    ap.add_argument("--out", help="markdown report (default docs/benchmarks.md; none with "
                                  "--quick)")
    ap.add_argument("--json", help="raw results as JSON")
    ap.add_argument("--build-dir", default=os.path.join(REPO, "build-bench"),
                    help="where smbd, smbd-passwd and smbbench are built (default build-bench)")
    ap.add_argument("--no-build", action="store_true",
                    help="use the programs in --build-dir or SMBD_BIN, SMBD_PASSWD_BIN, "
                         "SMBBENCH_BIN as they are")
    ap.add_argument("--acl-xattr", action="store_true",
                    help="both shares with `vfs objects = acl_xattr`: NT ACLs stored and "
                         "checked on every open (the rows then include that work)")
    ap.add_argument("--metadata", action="store_true",
                    help="both shares with `store dos attributes = yes` and `vfs objects = "
                         "streams_xattr`, and two named streams on every file the stat, fstat, "
                         "open-close and readdir rows lay out")
    ap.add_argument("--max-minutes", type=float, default=30,
                    help="stop starting repetitions after this long (default 30)")
    args = ap.parse_args(argv)
    if args.reps is None:
        args.reps = 1 if args.quick else 3
    if args.out is None and not args.quick:
        args.out = os.path.join(REPO, "docs", "benchmarks.md")

    started = datetime.datetime.now(datetime.timezone.utc)
    t_start = time.monotonic()
    env_bins = [os.environ.get(v) for v in ("SMBD_BIN", "SMBD_PASSWD_BIN", "SMBBENCH_BIN")]
    if args.no_build and all(env_bins):
        smbd, smbd_passwd, smbbench = env_bins
    elif args.no_build:
        smbd, smbd_passwd, smbbench = find_binaries(args.build_dir)
    else:
        smbd, smbd_passwd, smbbench = build(args.build_dir)
    os.environ["SMBD_BIN"], os.environ["SMBD_PASSWD_BIN"] = smbd, smbd_passwd
    if not os.environ.get("RDMAPROXY_BIN"):
        proxy = os.path.join(_build_dir_of(smbd) or args.build_dir, "rdmaproxy", "rdmaproxy")
        if os.access(proxy, os.X_OK):
            os.environ["RDMAPROXY_BIN"] = proxy

    rows = [w for w in WORKLOADS if not args.only or any(o in w.name for o in args.only)]
    if args.metadata:
        for w in rows:
            if w.name in STREAM_ROWS:
                w.args += ["--streams", "2"]
                w.quick_args += ["--streams", "2"]
    if not rows:
        raise SystemExit("no workload matches --only")
    if any(w.smb_direct for w in rows) and not os.environ.get("RDMAPROXY_BIN"):
        if smbtest.REQUIRE_ALL:
            raise SystemExit("rdmaproxy is not built (RDMAPROXY_BIN), and "
                             "SMB_TEST_REQUIRE_ALL=1 requires every row")
        print("rdmaproxy not found: the SMB Direct rows are skipped")
        rows = [w for w in rows if not w.smb_direct]
    if not os.access(SMBTORTURE, os.X_OK):
        if smbtest.REQUIRE_ALL:
            raise SystemExit("smbtorture is not installed (samba-testsuite), and "
                             "SMB_TEST_REQUIRE_ALL=1 requires every row")
        print("smbtorture is not installed (samba-testsuite): its rows are skipped")
        rows = [w for w in rows if w.tool != "smbtorture"]
    quick = args.quick
    size = 16 * MiB if quick else GiB
    timelimit = 1 if quick else 5
    bench_timeout = 120 if quick else 600

    machine = machine_description(_build_dir_of(smbd) or args.build_dir)
    print(f"machine: {machine['cpu']}, {machine['cores']} cores, {machine['memory']}, "
          f"kernel {machine['kernel']}", flush=True)
    memcpy = memcpy_bandwidth(256 * MiB)
    aes = aes_gcm_speed(1 if quick else 3)
    print(f"memcpy {fmt(memcpy)} GiB/s, AES-128-GCM {fmt(aes)} GiB/s", flush=True)

    scratch = tempfile.mkdtemp(prefix="smb-compare-", dir=smbtest.scratch_root())
    results = {k: {w.name: [] for w in rows} for k in KINDS}
    failures = []
    loopback = []
    load = []  # 1-minute load average at the start of every repetition
    servers = {}
    try:
        local_file = os.path.join(scratch, "local.bin")
        if any(w.tool == "smbclient" for w in rows):
            smbtest.make_random_file(local_file, size)
        for kind in KINDS:
            print(f"starting {KIND_NAMES[kind]}", flush=True)
            servers[kind] = start_server(
                kind, share_lines(args))
            print(f"  port {servers[kind].port}, share {servers[kind].share_path}", flush=True)
        if any(w.smb_direct for w in rows):
            servers["self"].rdma_port = servers["self"].start_rdmaproxy("soft")
            print(f"  rdmaproxy (software fabric) on port {servers['self'].rdma_port}",
                  flush=True)
        # Warm the tmpfs shares up: write and delete 1 GiB once.
        warm = next(w for w in WORKLOADS if w.name == "seq-write-plain")
        for kind in KINDS:
            r = run_smbbench(smbbench, servers[kind], warm, quick=quick, verify=False,
                             scratch=scratch, timeout=bench_timeout)
            print(f"warm-up {kind}: {'ok' if r['ok'] else r['error']}", flush=True)

        for rep in range(args.reps):
            if rep > 0 and time.monotonic() - t_start > args.max_minutes * 60:
                print(f"--max-minutes reached: {rep} repetition(s) done", flush=True)
                args.reps = rep
                break
            load.append(os.getloadavg()[0])
            bw, err = loopback_bandwidth(1 if quick else 3)
            if bw is not None:
                loopback.append(bw)
            print(f"== repetition {rep + 1}/{args.reps}: loopback TCP "
                  f"{f'{fmt(bw)} GiB/s' if bw else err}", flush=True)
            order = KINDS if rep % 2 == 0 else tuple(reversed(KINDS))
            for w in rows:
                for kind in order:
                    if w.smb_direct and kind != "self":
                        continue
                    s = servers[kind]
                    if not s.alive():
                        r = {"ok": False, "cmd": [], "error": f"server exited "
                             f"(code {s.proc.returncode if s.proc else '?'})\n{s.log_tail(20)}"}
                    elif w.tool == "smbbench":
                        r = run_smbbench(smbbench, s, w, quick=quick, verify=args.verify,
                                         scratch=scratch, timeout=bench_timeout)
                    elif w.tool == "smbclient":
                        r = run_smbclient(s, w, local_file=local_file, size=size,
                                          verify=args.verify, scratch=scratch,
                                          timeout=bench_timeout)
                    else:
                        r = run_smbtorture(s, w, timelimit=timelimit,
                                           timeout=timelimit + 60)
                    results[kind][w.name].append(r)
                    if not r.get("ok"):
                        failures.append((kind, w, r))
                    extra = f"  p99 {fmt(r['p99_us'])} µs" if r.get("ok") and w.p99 else ""
                    print(f"  {w.name:<32} {kind:<6} "
                          + (f"{fmt(r['value'], w.metric):>10} {w.metric}{extra}" if r.get("ok")
                             else f"FAILED: {r.get('error', '').splitlines()[0][:150]}"),
                          flush=True)
    finally:
        for s in servers.values():
            # A server process that crashed during the run is a failure of the run.
            s.stop(check=False)
            for p in s.problems:
                failures.append((s.kind, None, {"cmd": [], "error": f"server process crashed: {p}"}))
        shutil.rmtree(scratch, ignore_errors=True)

    elapsed = time.monotonic() - t_start
    table = evaluate(rows, results, loopback)
    short = short_rows(rows, results, args.reps)
    print_table(table, short, args.reps)
    missed = sum(1 for t in table if t[6] == "MISSED")
    print(f"\ngoals: {sum(1 for t in table if t[6] == 'met')} met, {missed} missed, "
          f"{sum(1 for t in table if t[6] == 'not measured')} not measured; "
          f"{len(failures)} failed run(s); {elapsed:.0f} s")
    for kind, w, r in failures:
        print(f"failed: {kind} {w.name if w else 'server'}: "
              f"{' '.join(_redact(r.get('cmd') or []))}\n  {_tail(r.get('error', ''), 400)}")
    if args.out:
        machine["load"] = ", ".join(f"{x:.2f}" for x in load) or "–"
        text = markdown(args, machine, table, results, rows, loopback, aes, memcpy, started,
                        elapsed, failures)
        os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
        with open(args.out, "w") as f:
            f.write(text)
        print(f"wrote {args.out}")
    if args.json:
        raw = {"machine": machine, "load": load, "memcpy_gib_s": memcpy, "aes_gcm_gib_s": aes,
               "loopback_gib_s": loopback, "quick": quick, "reps": args.reps,
               "results": {k: {n: [{key: val for key, val in r.items()
                                    if key not in ("json", "output")} | {"cmd": _redact(
                                        r.get("cmd") or [])} for r in rs]
                               for n, rs in v.items()} for k, v in results.items()}}
        with open(args.json, "w") as f:
            json.dump(raw, f, indent=1, default=str)
    # A run that failed leaves its row without a figure (or with fewer repetitions): the
    # comparison is incomplete, and says so by its exit status too.
    if failures:
        print(f"{len(failures)} run(s) failed: exit 1")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
