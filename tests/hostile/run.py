#!/usr/bin/env python3
"""Runs one hostile-client case against the project's smbd.

For each case this driver
  1. starts the server (smbtest.Server, kind "self") with the configuration the case needs,
     and prepares what it needs outside the server (a 1 MiB tmpfs, a read-only bind mount);
  2. records the master's descriptors and children before anything connects;
  3. starts a well-behaved client (`smb_hostile victim`: one connection writing, reading
     back and comparing 64 KiB blocks without pause) and waits until it is served;
  4. runs `smb_hostile <case>`, the hostile client, which prints one line per check;
  5. stops the well-behaved client and requires that it was served the whole time;
  6. requires that the server is left as it was: the master alive, no worker process left,
     the master's descriptors back to their count, and a new smbclient can put and get a
     file;
  7. stops the server and fails on the harness's health check (smbtest.Server.stop): a
     server process that died of a signal (other than the SIGKILL the kill-worker case
     sends itself) or a sanitizer report in its logs.

Usage: run.py --case NAME [--keep]      (environment: SMBD_BIN, SMBD_PASSWD_BIN,
                                         SMB_HOSTILE_BIN)
Exit code 0 pass, 1 fail, 77 skipped (the case needs root or mount(2)); with
SMB_TEST_REQUIRE_ALL=1 a case that cannot run fails instead of skipping.
"""

import argparse
import contextlib
import os
import re
import signal
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
import smbtest  # noqa: E402

SKIP = 77

# name: server options, hostile arguments, binary case (default: the name)
CASES = {
    "foreign-ids": {},
    "channel-hijack": {},
    "bind-abuse": {},
    "before-negotiate": {},
    "bad-input": {},
    "compound-teardown": {},
    "teardown-with-io": {},
    "credits": {"global": ["smb2 max credits = 512"], "args": {"max_credits": "512"}},
    "read-flood": {"global": ["smb2 max credits = 512"],
                   "args": {"max_credits": "512", "rss_limit_mib": "128"}},
    "huge-output": {},
    "conn-burst": {"global": ["max connections = 64"],
                   "args": {"count": "10000", "seconds": "300"}, "max_connections": 64},
    # The setup timeout outlasts the master's handling of the burst, so that the number of
    # workers is read before any served connection ends (hostile.cc).
    "idle-conns": {"global": ["max connections = 100", "connection setup timeout = 20"],
                   "args": {"count": "1000", "max_connections": "100", "setup_timeout": "20"},
                   "max_connections": 100},
    # The idle timeout far beyond the setup timeout: the idle session must still be open
    # when the setup timeout has closed the connections without a session.
    "idle-timeouts": {"global": ["connection setup timeout = 3", "connection idle timeout = 15"],
                      "args": {"setup_timeout": "3", "idle_timeout": "15"}},
    # The same, with the idle timeout left at its default (deadtime, one week).
    "negotiate-idle": {"binary_case": "idle-timeouts",
                       "global": ["connection setup timeout = 3"],
                       "args": {"setup_timeout": "3", "idle_timeout": "0"}},
    "slow-client": {"global": ["connection setup timeout = 3", "connection idle timeout = 4"],
                    "args": {"setup_timeout": "3", "idle_timeout": "4"}},
    "signing-required": {"server": {"signing": "mandatory"}},
    "encryption-required": {"server": {"encrypt": "required"}},
    "guest": {"global": ["map to guest = bad user", "guest account = nobody"],
              "shares": {"public": ["path = %(base)s/public", "guest ok = yes",
                                    "read only = yes"],
                         "restricted": ["path = %(base)s/restricted", "guest ok = yes",
                                        "valid users = someoneelse", "read only = no"]}},
    "path-escape": {},
    "kill-worker": {"killed": True},
    "kill-master": {"master_killed": True},
    "disk-full": {"root": True, "shares": {"small": ["path = %(base)s/small",
                                                     "read only = no"]}},
    "read-only-fs": {"root": True, "shares": {"rofs": ["path = %(base)s/rofs",
                                                       "read only = no"]}},
    # Enough credits for a message of 10,000 ECHOs.
    "compound-depth": {"global": ["smb2 max credits = 16384"]},
    "dir-pipeline": {"args": {"entries": "5000", "queries": "32"}},
    "failed-second-leg": {},
    "failed-reauth": {},
    # Wrong passwords are slowed after the first few: 10 attempts, each later one at
    # least 500 ms (smbd/worker/logon_delay.hh).
    "logon-rate": {"args": {"attempts": "10", "free_attempts": "3", "min_delay_ms": "500"}},
    # Sessions encrypt (smb encrypt = desired): every request and answer is encrypted.
    "reply-after-logoff": {"server": {"encrypt": "desired"}},
    "transform-session": {"server": {"encrypt": "desired"}},
    # An smbpasswd account with flag N and no password; null passwords left at no.
    "null-password": {"nopw_user": "smbnopw", "args": {"nopw_user": "smbnopw"},
                      "server": {"log_level": 2}},
    # Small bounds, reached in a few seconds; hostile.cc checks each at its value.
    "resource-limits": {"global": ["max opens per session = 300",
                                   "max tree connects per session = 24",
                                   "max sessions per connection = 12"],
                        "args": {"max_opens": "300", "max_trees": "24", "max_sessions": "12",
                                 "rss_limit_mib": "256"}},
    # Enough credits for a compound of 32 READs of 8 MiB (the default largest READ); the
    # READ memory bound is its default (64 MiB).
    "read-memory": {"global": ["smb2 max credits = 4096"],
                    "args": {"max_credits": "4096", "rss_limit_mib": "200"},
                    "small_quarantine": True},
    "guid-claim": {"global": ["max opens per session = 1000"],
                   "args": {"max_opens": "1000", "rss_limit_mib": "256"},
                   "small_quarantine": True},
}


def log(msg):
    sys.stdout.write(msg + "\n")
    sys.stdout.flush()


def proc_stat(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            line = f.read()
    except OSError:
        return None
    rest = line[line.rindex(")") + 2:].split()
    return rest[0], int(rest[1]), int(rest[3])  # state, ppid, session


def children(pid):
    out = []
    for name in os.listdir("/proc"):
        if name.isdigit():
            s = proc_stat(int(name))
            if s and s[1] == pid and s[0] != "Z":
                out.append(int(name))
    return out


def session_members(sid):
    out = []
    for name in os.listdir("/proc"):
        if name.isdigit():
            s = proc_stat(int(name))
            if s and s[2] == sid and s[0] != "Z":
                out.append(int(name))
    return out


def fd_count(pid):
    try:
        return len(os.listdir(f"/proc/{pid}/fd"))
    except OSError:
        return -1


def skip(why):
    """A case that cannot run here: skipped, or with SMB_TEST_REQUIRE_ALL=1 failed."""
    if smbtest.REQUIRE_ALL:
        log(f"FAIL: {why} (SMB_TEST_REQUIRE_ALL=1: every prerequisite must be present)")
        return 1
    log(f"SKIP: {why}")
    return SKIP


def wait_for(pred, timeout, step=0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(step)
    return pred()


class Mounts:
    """tmpfs and bind mounts made for a case, undone in reverse order."""

    def __init__(self):
        self.points = []

    def mount(self, args, point):
        r = subprocess.run(["mount"] + args + [point], capture_output=True, text=True,
                           timeout=30)
        if r.returncode != 0:
            raise OSError(f"mount {' '.join(args)} {point}: {r.stderr.strip()}")
        self.points.append(point)

    def undo(self):
        for p in reversed(self.points):
            subprocess.run(["umount", "-l", p], capture_output=True, timeout=30)
        self.points = []


class Runner:
    def __init__(self, name, keep=False):
        self.name = name
        self.spec = CASES[name]
        self.keep = keep
        self.failures = []
        self.victim_said = []
        self.binary = os.environ.get("SMB_HOSTILE_BIN")
        if not self.binary or not os.access(self.binary, os.X_OK):
            raise SystemExit("SMB_HOSTILE_BIN must name the smb_hostile executable")

    def fail(self, msg):
        self.failures.append(msg)
        log(f"FAIL: {msg}")

    def ok(self, cond, msg):
        if cond:
            log(f"ok:   {msg}")
        else:
            self.fail(msg)
        return cond

    def common_args(self, server):
        return ["--port", str(server.port), "--user", server.user, "--password", server.password,
                "--share", server.share, "--share-path", server.share_path, "--base", server.base,
                "--master", str(server.pid)]

    def run(self):
        spec = self.spec
        if spec.get("root") and os.geteuid() != 0:
            return skip(f"{self.name} needs root (mount)")
        if spec.get("small_quarantine"):
            # Under ASan freed memory waits in a quarantine (256 MiB by default) before it
            # is reused; cases that bound the worker's RSS measure the server's memory, not
            # the quarantine's. Without ASan the option is not read.
            asan = os.environ.get("ASAN_OPTIONS", "")
            os.environ["ASAN_OPTIONS"] = (asan + ":" if asan else "") + "quarantine_size_mb=16"
        server_kw = dict(spec.get("server", {}))
        if spec.get("nopw_user"):
            smbtest.ensure_unix_user(spec["nopw_user"])
            server_kw["extra_users"] = {spec["nopw_user"]: "replaced-by-no-password"}
        server = smbtest.Server("self", extra_global=spec.get("global", []),
                                extra_shares=spec.get("shares"), **server_kw)
        if spec.get("killed"):
            server.expect_signal(signal.SIGKILL)
        mounts = Mounts()
        started = time.monotonic()
        try:
            server.start()
        except smbtest.ServerError as e:
            log(f"FAIL: server did not start: {e}")
            return 1
        try:
            rc = self.prepare_and_exercise(server, mounts)
        finally:
            mounts.undo()
            # The health check: a crash during the case fails it whatever it found.
            server.stop(remove=not self.keep, check=False)
            log(f"{self.name}: {time.monotonic() - started:.1f}s")
        for p in server.problems:
            log(f"FAIL: server process crashed: {p}")
        if server.problems:
            log(f"{self.name}: FAILED (a server process crashed)")
            return 1
        return rc

    def prepare_and_exercise(self, server, mounts):
        extra = []
        try:
            if self.name == "disk-full":
                mounts.mount(["-t", "tmpfs", "-o", "size=1m,mode=0777", "tmpfs"],
                             os.path.join(server.base, "small"))
            elif self.name == "read-only-fs":
                src = os.path.join(server.base, "rosrc")
                os.makedirs(src, exist_ok=True)
                with open(os.path.join(src, "existing.txt"), "w") as f:
                    f.write("READ-ONLY")
                os.chmod(src, 0o777)
                point = os.path.join(server.base, "rofs")
                mounts.mount(["--bind", "-o", "ro", src], point)
                extra = ["--arg", f"ro_path={point}"]
            elif self.spec.get("nopw_user"):
                self.make_no_password(server, self.spec["nopw_user"])
            elif self.name == "guest":
                for d in ("public", "restricted"):
                    os.makedirs(os.path.join(server.base, d), exist_ok=True)
        except OSError as e:
            return skip(str(e))
        return self.exercise(server, extra)

    def make_no_password(self, server, user):
        """Turns `user`'s smbpasswd entry into one without a password (flag N, no hash),
        as `smbpasswd -n` writes it, and has the server reload it."""
        path = os.path.join(server.base, "private", "smbpasswd")
        with open(path) as f:
            lines = f.read().splitlines()
        out = []
        for line in lines:
            fields = line.split(":")
            if fields and fields[0] == user and len(fields) >= 6:
                fields[2] = "NO PASSWORD" + "X" * 21
                fields[3] = "NO PASSWORD" + "X" * 21
                fields[4] = "[NU         ]"
            out.append(":".join(fields))
        with open(path, "w") as f:
            f.write("\n".join(out) + "\n")
        marks = server.log_text().count("reloading configuration")
        server.reload()
        if not wait_for(lambda: server.log_text().count("reloading configuration") > marks, 20):
            raise OSError("the server did not reload its smbpasswd file")

    def exercise(self, server, extra):
        spec = self.spec
        master = server.pid
        self.ok(wait_for(lambda: not children(master), 20),
                f"no worker before the case ({children(master)})")
        fds0 = fd_count(master)
        kids0 = len(children(master))
        log(f"master {master}: {fds0} descriptors, {kids0} children before the case")

        victim = subprocess.Popen([self.binary, "victim"] + self.common_args(server),
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  stderr=subprocess.STDOUT, text=True)
        ready = victim.stdout.readline().strip()
        if ready != "READY":
            self.fail(f"the well-behaved client did not start: {ready}")
            victim.kill()
            victim.wait()
            return 1

        # Peak number of workers while the case runs.
        peak = [0]
        sampling = [True]

        def sample():
            while sampling[0]:
                if server.alive():
                    peak[0] = max(peak[0], len(children(master)))
                time.sleep(0.05)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()

        args = []
        for k, v in spec.get("args", {}).items():
            args += ["--arg", f"{k}={v}"]
        cmd = [self.binary, spec.get("binary_case", self.name)] + self.common_args(server) + \
            args + extra
        t0 = time.monotonic()
        try:
            r = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
            out, rc = r.stdout + r.stderr, r.returncode
        except subprocess.TimeoutExpired as e:
            out = (e.stdout or b"").decode(errors="replace") if isinstance(e.stdout, bytes) \
                else (e.stdout or "")
            rc = -1
        sampling[0] = False
        sampler.join(timeout=5)
        sys.stdout.write(out)
        log(f"hostile client: exit {rc} after {time.monotonic() - t0:.1f}s; "
            f"peak {peak[0]} workers")
        if rc != 0:
            self.failures.append(f"hostile client exit {rc}")
        if "max_connections" in spec:
            limit = spec["max_connections"]
            # Workers that closed their connection may not have exited yet.
            self.ok(peak[0] <= limit + 32,
                    f"workers stay near max connections: peak {peak[0]} (limit {limit})")

        # The well-behaved client was served all along: every one of its requests was
        # answered within its client's timeout (else it reports a failure and exits 1), and
        # it keeps being served after the case: its count of operations grows.
        after_case = self.victim_ops(victim)
        if after_case is not None:
            grew = wait_for(lambda: (self.victim_ops(victim) or 0) > after_case, 60)
            self.ok(grew, f"well-behaved client served after the case ({after_case} operations "
                          "when it ended)")
        try:
            vout, _ = victim.communicate(input="", timeout=60)
        except subprocess.TimeoutExpired:
            victim.kill()
            vout, _ = victim.communicate()
        vout = "\n".join(self.victim_said + [ln for ln in vout.strip().splitlines()
                                             if not re.fullmatch(r"victim ops=\d+", ln)])
        m = re.search(r"victim ops=(\d+) worst_ms=(\d+)", vout)
        if spec.get("master_killed"):
            # Its worker lost the master: it is still served (checked by the case) and the
            # connection ends normally.
            self.ok(victim.returncode == 0, f"well-behaved client: {vout}")
        else:
            self.ok(victim.returncode == 0 and m and int(m.group(1)) > 0,
                    f"well-behaved client served during the case: {vout}")

        if spec.get("master_killed"):
            self.restart(server)
            master = server.pid
            fds0 = None

        # The server is left as it was.
        self.ok(server.alive(), "the master is alive")
        gone = wait_for(lambda: not children(master), 20)
        self.ok(gone, f"no worker left behind ({len(children(master))} remain: "
                      f"{children(master)})")
        if fds0 is not None:
            # A leak shows as more descriptors; the baseline itself may include one in
            # flight (a connection being handed to a new worker), so fewer is fine.
            settled = wait_for(lambda: fd_count(master) <= fds0, 10)
            self.ok(settled, f"master descriptors back to at most {fds0} (now {fd_count(master)})")
        # Workers that died of a signal are the harness's health check (Server.stop); the
        # worker this case killed must show in the master's log.
        if spec.get("killed"):
            killed = re.findall(r"worker (\d+) killed by signal (\d+)", server.log_text())
            self.ok(any(k[1] == "9" for k in killed), "the master logged the killed worker")
        self.roundtrip(server)
        gone = wait_for(lambda: not children(master), 20)
        self.ok(gone, "no worker left after the final check")

        if self.failures:
            log(f"{self.name}: FAILED ({len(self.failures)} failures)")
            for f in self.failures:
                log(f"  - {f}")
            if not self.keep:
                sys.stderr.write("--- server log (tail) ---\n" + server.log_tail(80) + "\n")
            return 1
        log(f"{self.name}: passed")
        return 0

    def victim_ops(self, victim):
        """Asks the well-behaved client how many operations it has done; None when it has
        stopped answering (it failed: what it said is kept for the report)."""
        try:
            victim.stdin.write("ops\n")
            victim.stdin.flush()
        except (BrokenPipeError, OSError):
            return None
        line = victim.stdout.readline()
        m = re.fullmatch(r"victim ops=(\d+)\n?", line)
        if not m:
            self.victim_said.append(line.strip())
            return None
        return int(m.group(1))

    def restart(self, server):
        """The master was killed by the case: reap it and start the server again."""
        with contextlib.suppress(Exception):
            server.proc.wait(timeout=10)
        left = wait_for(lambda: not session_members(server.pid), 15)
        self.ok(left, f"no process of the killed server remains: {session_members(server.pid)}")
        smbd, _ = server._binaries()
        server.proc = subprocess.Popen(server._command(smbd), stdin=subprocess.DEVNULL,
                                       stdout=server._stdout, stderr=subprocess.STDOUT,
                                       start_new_session=True, cwd=server.base)
        try:
            server._wait_ready()
            self.ok(True, "a restarted server serves again on the same port")
        except smbtest.ServerError as e:
            self.fail(f"restart: {e}")

    def roundtrip(self, server):
        src = os.path.join(server.client_dir, "roundtrip.bin")
        back = os.path.join(server.client_dir, "roundtrip.back")
        smbtest.make_random_file(src, 1 << 20)
        try:
            server.smbclient(f'put "{src}" roundtrip.bin; get roundtrip.bin "{back}"; '
                             'del roundtrip.bin', timeout=60)
            smbtest.assert_same_file(src, back, "smbclient round trip")
            self.ok(True, "a new smbclient puts and gets a 1 MiB file")
        except AssertionError as e:
            self.fail(f"smbclient round trip after the case: {e}")


def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--case", required=True, choices=sorted(CASES))
    p.add_argument("--keep", action="store_true", help="keep the server directory")
    a = p.parse_args()
    sys.exit(Runner(a.case, a.keep).run())


if __name__ == "__main__":
    main()
