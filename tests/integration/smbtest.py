"""Harness for the integration tests: start an SMB server, drive it with real clients.

A `Server` is a context manager that writes a private smb.conf, adds a user, starts the
server on a free loopback port with a temporary share, waits until it answers and stops
it again. Two kinds of server are supported:

  kind="self"   the project's smbd (SMBD_BIN, SMBD_PASSWD_BIN from the environment)
  kind="samba"  Samba's /usr/sbin/smbd with every state directory private

The kind defaults to the environment variable SMBTEST_KIND, else "self".
Standard library only.
"""

import contextlib
import fcntl
import hashlib
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest

SAMBA_SMBD = "/usr/sbin/smbd"
SAMBA_SMBPASSWD = "/usr/bin/smbpasswd"
SMBCLIENT = "/usr/bin/smbclient"

DEFAULT_USER = "smbtest"
DEFAULT_PASSWORD = "Sm8-test-pw"
DEFAULT_SHARE = "share"

# smbclient -m names, in negotiation order.
DIALECTS = ["SMB2_02", "SMB2_10", "SMB3_00", "SMB3_02", "SMB3_11"]

# Logs of every server stopped in this process, printed by main() when a test fails.
_stopped_logs = []
# Servers started and not yet stopped, and the health problems of every server stopped
# (see Server.health_problems): main() fails the run on any, even when the exception
# stop() raised was swallowed on the way.
_running = []
_health_failures = []

# A test that needs a tool, a privilege or an asset the machine lacks skips on a
# developer's machine, saying why; with SMB_TEST_REQUIRE_ALL=1 (set by scripts/test.sh,
# as CI installs everything) it fails instead.
REQUIRE_ALL = os.environ.get("SMB_TEST_REQUIRE_ALL", "0") not in ("", "0")
_unavailable = []

# What in a server's output says that one of its processes died of a signal or that a
# sanitizer caught something. The master logs each worker that ended by a signal; Samba
# logs "INTERNAL ERROR: Signal N" and then panics; ASan, LSan and UBSan write their
# reports to standard error, which the harness keeps with the log.
WORKER_SIGNAL = re.compile(rb"worker (\d+) killed by signal (\d+)")
SAMBA_FAULT = re.compile(r"INTERNAL ERROR: Signal (\d+)|PANIC \(pid \d+\)")
SANITIZER_REPORT = re.compile(r"ERROR: (?:AddressSanitizer|LeakSanitizer|MemorySanitizer|"
                              r"ThreadSanitizer)|WARNING: ThreadSanitizer|"
                              r"SUMMARY: UndefinedBehaviorSanitizer|: runtime error: ")


def default_kind():
    kind = os.environ.get("SMBTEST_KIND", "self")
    if kind not in ("self", "samba"):
        raise ValueError(f"SMBTEST_KIND must be 'self' or 'samba', not {kind!r}")
    return kind


def scratch_root():
    """A directory for share and client files: tmpfs when available.

    On ext4 an xattr block changes the AllocationSize of empty files, which some
    smbtorture tests check; tmpfs keeps the share free of that effect.
    """
    root = os.environ.get("SMBTEST_TMPDIR")
    if root:
        return root
    if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK):
        return "/dev/shm"
    return tempfile.gettempdir()


def free_port():
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_open(port, host="127.0.0.1", timeout=0.5):
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


# ---------------------------------------------------------------- files and hashes

def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while True:
            block = f.read(1 << 20)
            if not block:
                break
            h.update(block)
    return h.hexdigest()


def sha256_bytes(data):
    return hashlib.sha256(data).hexdigest()


def make_random_file(path, size):
    """Write `size` random bytes to `path`; return the sha256 hex digest."""
    h = hashlib.sha256()
    with open(path, "wb") as f:
        left = size
        while left > 0:
            block = os.urandom(min(left, 1 << 20))
            f.write(block)
            h.update(block)
            left -= len(block)
    return h.hexdigest()


def assert_same_file(expected_path, actual_path, what=""):
    """Raise AssertionError naming both files unless they are equal byte for byte."""
    if not os.path.exists(actual_path):
        raise AssertionError(f"{what}: {actual_path} does not exist")
    es, as_ = os.path.getsize(expected_path), os.path.getsize(actual_path)
    eh, ah = sha256_file(expected_path), sha256_file(actual_path)
    if (es, eh) != (as_, ah):
        raise AssertionError(
            f"{what}: {actual_path} ({as_} B, sha256 {ah}) differs from "
            f"{expected_path} ({es} B, sha256 {eh})")


def run(cmd, *, timeout, input=None, check=False, env=None):
    """subprocess.run with a timeout and captured text output; never hangs."""
    try:
        return subprocess.run(cmd, input=input, capture_output=True, text=True,
                              timeout=timeout, check=check, env=env)
    except subprocess.TimeoutExpired as e:
        out = e.stdout.decode(errors="replace") if isinstance(e.stdout, bytes) else (e.stdout or "")
        err = e.stderr.decode(errors="replace") if isinstance(e.stderr, bytes) else (e.stderr or "")
        raise AssertionError(f"timed out after {timeout}s: {' '.join(cmd)}\n{out}\n{err}") from None


# ---------------------------------------------------------------- unix user (Samba)

def ensure_unix_user(name):
    """Create a unix account without home directory when missing (Samba needs one)."""
    try:
        return pwd.getpwnam(name)
    except KeyError:
        pass
    lock_path = os.path.join(tempfile.gettempdir(), "smbtest-useradd.lock")
    with open(lock_path, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            return pwd.getpwnam(name)
        except KeyError:
            pass
        r = run(["useradd", "-M", "-s", "/usr/sbin/nologin", name], timeout=30)
        if r.returncode not in (0, 9):  # 9: the name exists already
            raise RuntimeError(f"useradd -M {name} failed: {r.stderr.strip()}")
    return pwd.getpwnam(name)


# ---------------------------------------------------------------- the server

SAMBA_VFS_DIR = "/usr/lib/x86_64-linux-gnu/samba/vfs"
TORTURE_VFS_MODULES = ("acl_xattr", "streams_xattr", "xattr_tdb")


def samba_vfs_modules():
    """The vfs modules smbtorture's share wants that this Samba has: they come with the
    samba-vfs-modules package, and a share naming a missing module refuses every tree
    connect. Without them the acls/streams tests fail for reasons outside the server."""
    moddir = SAMBA_VFS_DIR
    r = subprocess.run([SAMBA_SMBD, "-b"], capture_output=True, text=True, timeout=30)
    m = re.search(r"MODULESDIR:\s*(\S+)", r.stdout)
    if m:
        moddir = os.path.join(m.group(1), "vfs")
    b = re.search(r"Builtin modules:\s*\n(.*)", r.stdout)
    builtin = b.group(1).split() if b else []
    return [mod for mod in TORTURE_VFS_MODULES
            if os.path.exists(os.path.join(moddir, f"{mod}.so")) or f"vfs_{mod}" in builtin]


class ServerError(RuntimeError):
    pass


class ServerHealthError(AssertionError):
    """A process of the server died of a signal or a sanitizer reported an error while
    it ran: raised by Server.stop(), so that the test using the server fails."""


def unavailable(test, why):
    """What a test does when the machine lacks something it needs (a tool, a privilege):
    skips, naming it, or with SMB_TEST_REQUIRE_ALL=1 fails. `test` is the running
    unittest.TestCase."""
    _unavailable.append(f"{test.id()}: {why}")
    if REQUIRE_ALL:
        test.fail(f"{why} (SMB_TEST_REQUIRE_ALL=1: every prerequisite must be present)")
    test.skipTest(why)


class Server:
    """An SMB server on 127.0.0.1:<free port> with one share in a temporary directory.

    Options:
      kind           "self" or "samba" (default: SMBTEST_KIND or "self")
      user/password  the account added to the server
      share          share name; the directory is `share_path`
      signing        "auto" | "mandatory" (server signing)
      encrypt        "off" | "desired" | "required" (global smb encrypt); None leaves
                     it at the server's default (a share may still require encryption)
      share_encrypt  None or a value for the share's smb encrypt
      min_protocol, max_protocol   e.g. "SMB2_02", "SMB3_11"
      torture        configure the share the way smbtorture expects
      extra_global   list of extra [global] lines
      extra_share    list of extra lines for the share
      extra_shares   {name: [lines]} additional shares; "%(base)s" in a line is the
                     server's temporary directory
      log_level      server log level
      host           address the server listens on and clients dial ("::1": IPv6)
      map_to_guest   the [global] `map to guest` value
      extra_users    {user: password} accounts added before the server starts
    Attributes once started: host, port, share, share_path, user, password, conf,
    base (temporary directory), pid, unc, log_text().
    """

    def __init__(self, kind=None, *, user=DEFAULT_USER, password=DEFAULT_PASSWORD,
                 share=DEFAULT_SHARE, signing="auto", encrypt="off", share_encrypt=None,
                 min_protocol=None, max_protocol=None, torture=False,
                 extra_global=(), extra_share=(), extra_shares=None, log_level=1,
                 start_timeout=30.0, stop_timeout=10.0, host="127.0.0.1",
                 map_to_guest="never", extra_users=None):
        self.kind = kind or default_kind()
        if self.kind not in ("self", "samba"):
            raise ValueError(f"unknown server kind {self.kind!r}")
        self.host = host
        self.map_to_guest = map_to_guest
        self.extra_users = dict(extra_users or {})
        self.user, self.password, self.share = user, password, share
        self.signing, self.encrypt, self.share_encrypt = signing, encrypt, share_encrypt
        self.min_protocol, self.max_protocol = min_protocol, max_protocol
        self.torture = torture
        self.extra_global, self.extra_share = list(extra_global), list(extra_share)
        self.extra_shares = dict(extra_shares or {})
        self.log_level = log_level
        self.start_timeout, self.stop_timeout = start_timeout, stop_timeout
        self.proc = None
        self.port = None
        self.base = None
        self._stdout = None
        # Signals a test sends to the server's processes itself: {signal number}; a
        # worker ending by one of them is not a crash (see expect_signal).
        self.expected_signals = set()
        self.problems = []
        self.killed = False

    # -- paths
    @property
    def unc(self):
        return f"//{self.host}/{self.share}"

    @property
    def pid(self):
        return self.proc.pid if self.proc else None

    def _binaries(self):
        if self.kind == "samba":
            return SAMBA_SMBD, SAMBA_SMBPASSWD
        smbd = os.environ.get("SMBD_BIN")
        passwd = os.environ.get("SMBD_PASSWD_BIN")
        if not smbd or not passwd:
            raise ServerError("kind 'self' needs SMBD_BIN and SMBD_PASSWD_BIN in the environment")
        for b in (smbd, passwd):
            if not os.access(b, os.X_OK):
                raise ServerError(f"{b} is not an executable file")
        return smbd, passwd

    # -- configuration
    def _conf_text(self):
        b = self.base
        g = [
            "[global]",
            f"smb ports = {self.port}",
            f"interfaces = {self.host}",
            "bind interfaces only = yes",
            f"smb passwd file = {b}/private/smbpasswd",
            f"log file = {b}/log/smbd.log",
            f"log level = {self.log_level}",
            f"server signing = {self.signing}",
            f"lock directory = {b}/lock",
            f"map to guest = {self.map_to_guest}",
        ]
        if self.encrypt is not None:  # None: the server's default
            g.append(f"smb encrypt = {self.encrypt}")
        if self.min_protocol:
            g.append(f"server min protocol = {self.min_protocol}")
        if self.max_protocol:
            g.append(f"server max protocol = {self.max_protocol}")
        if self.torture and self.kind != "samba":
            g.append("smbd:FSCTL_SMBTORTURE = yes")  # as the Samba peer has it below
        if self.kind == "samba":
            g += [
                f"state directory = {b}/state",
                f"cache directory = {b}/cache",
                f"pid directory = {b}/pid",
                f"private dir = {b}/private",
                f"ncalrpc dir = {b}/ncalrpc",
                f"binddns dir = {b}/binddns",
                f"passdb backend = tdbsam:{b}/private/passdb.tdb",
                "disable netbios = yes",
                "load printers = no",
                "printcap name = /dev/null",
                "disable spoolss = yes",
                "workgroup = SMBTEST",
                "server role = standalone server",
            ]
            if self.torture:
                g += [
                    "kernel oplocks = no",
                    "kernel share modes = no",
                    "posix locking = no",
                    "kernel change notify = no",
                    "smbd:sharedelay = 100000",
                    "smbd:writetimeupdatedelay = 500000",
                    "smbd:FSCTL_SMBTORTURE = yes",
                ]
        g += self.extra_global

        def share_lines(name, path, extra, hide_unreadable=False):
            s = ["", f"[{name}]", f"path = {path}", "read only = no", "guest ok = no",
                 "browseable = yes"]
            if self.share_encrypt:
                s.append(f"smb encrypt = {self.share_encrypt}")
            if self.kind == "samba" and self.torture:
                mods = samba_vfs_modules()
                if mods:
                    s.append(f"vfs objects = {' '.join(mods)}")
                s += ["ea support = yes", "store dos attributes = yes"]
                if hide_unreadable:
                    s.append("hide unreadable = yes")
            return s + list(extra)

        text = g + share_lines(self.share, self.share_path, self.extra_share)
        if self.torture and self.kind == "samba":
            # Shares some smbtorture suites look for.
            text += share_lines("hideunread", self.share_path, [], hide_unreadable=True)
        if self.torture:
            # smb2.ioctl.bug14788 connects to it: a directory nobody may enter (mode 000).
            text += share_lines("noperm", f"{b}/noperm", [])
        for name, lines in self.extra_shares.items():
            text += ["", f"[{name}]"] + [ln % {"base": b} for ln in lines]
        return "\n".join(text) + "\n"

    def _prepare(self):
        self.base = tempfile.mkdtemp(prefix=f"smbtest-{self.kind}-", dir=scratch_root())
        os.chmod(self.base, 0o755)
        for d in ("private", "log", "lock", "state", "cache", "pid", "ncalrpc", "binddns",
                  "share", "client"):
            os.makedirs(os.path.join(self.base, d), exist_ok=True)
        os.chmod(os.path.join(self.base, "private"), 0o700)
        self.share_path = os.path.join(self.base, "share")
        self.client_dir = os.path.join(self.base, "client")
        if self.kind == "samba":
            pw = ensure_unix_user(self.user)
            os.chown(self.share_path, pw.pw_uid, pw.pw_gid)
        if self.torture:
            os.makedirs(os.path.join(self.base, "noperm"), mode=0o000, exist_ok=True)
            os.chmod(os.path.join(self.base, "noperm"), 0o000)
        os.chmod(self.share_path, 0o777)
        # Directories of extra shares exist before the server reads its configuration.
        for lines in self.extra_shares.values():
            for ln in lines:
                key, _, value = (ln % {"base": self.base}).partition("=")
                if key.strip() == "path":
                    os.makedirs(value.strip(), exist_ok=True)
                    os.chmod(value.strip(), 0o777)
        self.conf = os.path.join(self.base, "smb.conf")
        with open(self.conf, "w") as f:
            f.write(self._conf_text())
        # A private client configuration keeps smbclient away from /etc/samba and the
        # system cache and lock directories.
        self.client_conf = os.path.join(self.base, "client.conf")
        cb = os.path.join(self.base, "client")
        with open(self.client_conf, "w") as f:
            f.write("[global]\n"
                    f"lock directory = {cb}\nstate directory = {cb}\n"
                    f"cache directory = {cb}\nprivate dir = {cb}\n"
                    f"ncalrpc dir = {cb}\nlog file = {cb}/client.log\n"
                    "disable netbios = yes\nworkgroup = SMBTEST\n")

    def _add_user(self, passwd_bin):
        pw_input = f"{self.password}\n{self.password}\n"
        r = run([passwd_bin, "-c", self.conf, "-s", "-a", self.user], input=pw_input,
                timeout=30)
        if r.returncode != 0:
            raise ServerError(f"{passwd_bin} -a {self.user} failed ({r.returncode}): "
                              f"{r.stdout}{r.stderr}")

    def _command(self, smbd):
        if self.kind == "samba":
            return [smbd, "-F", "--no-process-group", "-s", self.conf,
                    "--debug-stdout", f"-d{self.log_level}"]
        return [smbd, "-s", self.conf, "-F", "-i", "-d", str(self.log_level)]

    def start(self):
        smbd, passwd_bin = self._binaries()
        last_error = None
        for _attempt in range(3):  # another process may take the free port first
            self.killed, self.problems, self._stop_marks = False, [], {}
            self.port = free_port()
            self._prepare()
            self._add_user(passwd_bin)
            for user, password in self.extra_users.items():
                self.add_user(user, password)
            self._stdout = open(os.path.join(self.base, "log", "stdout.log"), "wb")
            # A session of its own, so that stop() reaches the workers the server forks.
            self.proc = subprocess.Popen(self._command(smbd), stdin=subprocess.DEVNULL,
                                         stdout=self._stdout, stderr=subprocess.STDOUT,
                                         start_new_session=True, cwd=self.base)
            _running.append(self)
            try:
                self._wait_ready()
                return self
            except ServerError as e:
                last_error = e
                bound_elsewhere = "Address already in use" in self.log_text()
                # The error names what went wrong; a crash found in the log is in it.
                self.stop(check=False)
                if not bound_elsewhere:
                    break
        raise last_error

    def _exited(self):
        """Whether the server's first process has ended, without reaping it: until stop()
        reaps it, its pid, and so its process group id, cannot be taken by another
        process, which stop()'s SIGKILL to the group would otherwise reach."""
        try:
            return os.waitid(os.P_PID, self.proc.pid,
                             os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None
        except ChildProcessError:
            return True  # already reaped

    def _wait_ready(self):
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            if self._exited():
                raise ServerError(f"{self.kind} smbd exited during start-up\n{self.log_tail()}")
            if port_open(self.port, self.host):
                break
            time.sleep(0.1)
        else:
            raise ServerError(f"{self.kind} smbd: port {self.port} not open after "
                              f"{self.start_timeout}s\n{self.log_tail()}")
        last = None
        while time.monotonic() < deadline:
            r = self.smbclient("ls", timeout=15, check=False)
            if r.returncode == 0:
                return
            last = r
            if self._exited():
                break
            time.sleep(0.2)
        raise ServerError(f"{self.kind} smbd does not answer smbclient ls: "
                          f"{last.stdout if last else ''}{last.stderr if last else ''}\n"
                          f"{self.log_tail()}")

    def alive(self):
        return self.proc is not None and not self._exited()

    def expect_signal(self, signum):
        """The test itself sends `signum` to a worker: a worker ending by it is no crash."""
        self.expected_signals.add(signum)

    def start_rdmaproxy(self, fabric="soft", timeout=20.0):
        """Starts rdmaproxy (RDMAPROXY_BIN) beside this server (kind self): SMB Direct on
        127.0.0.1 over `fabric` ("soft": the project's software fabric), handing its
        connections to this smbd through the lock directory's socket. Returns the port it
        listens on. It is stopped with the server; its output goes to log/rdmaproxy.out,
        which the health check reads with the other logs."""
        if self.kind != "self":
            raise ServerError("rdmaproxy serves this project's smbd only")
        binary = os.environ.get("RDMAPROXY_BIN")
        if not binary or not os.access(binary, os.X_OK):
            raise ServerError("start_rdmaproxy needs RDMAPROXY_BIN")
        out_path = os.path.join(self.base, "log", "rdmaproxy.out")
        out = open(out_path, "ab")
        self._proxy = subprocess.Popen(
            [binary, "-s", self.conf, "--fabric", fabric,
             "--listen", "127.0.0.1", "--port", "0"],
            stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, cwd=self.base)
        out.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with open(out_path, errors="replace") as f:
                m = re.search(r"listening on 127\.0\.0\.1:(\d+)", f.read())
            if m:
                return int(m.group(1))
            if self._proxy.poll() is not None:
                break
            time.sleep(0.05)
        with open(out_path, errors="replace") as f:
            said = f.read()[-2000:]
        self._stop_proxy()
        raise ServerError(f"rdmaproxy did not start listening:\n{said}")

    def _stop_proxy(self):
        proxy, self._proxy = getattr(self, "_proxy", None), None
        if proxy is None:
            return
        proxy.terminate()
        try:
            proxy.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proxy.kill()
            proxy.wait(timeout=10)

    def stop(self, remove=True, check=True):
        """SIGTERM to the server's process group, SIGKILL after stop_timeout.

        Then the health check (health_problems): with check=True a problem raises
        ServerHealthError, so a test fails when any server process died of a signal or a
        sanitizer reported an error during it; the problems stay in self.problems."""
        if self in _running:
            _running.remove(self)
        self._stop_proxy()
        if self.proc is not None:
            pgid = self.proc.pid  # start_new_session: the group id is the server's pid
            # Where the logs end before the server is told to stop: a worker that dies of
            # SIGTERM after this was stopped by it (before installing its handler).
            self._stop_marks = self._log_sizes()
            self.exited_early = self._exited()
            if not self.exited_early:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(pgid, signal.SIGTERM)
                deadline = time.monotonic() + self.stop_timeout
                while not self._exited() and time.monotonic() < deadline:
                    time.sleep(0.05)
                if not self._exited():
                    with contextlib.suppress(ProcessLookupError):
                        os.killpg(pgid, signal.SIGKILL)
                    self.killed = True
            # Children forked per connection may outlive the parent briefly. The first
            # process is not reaped yet, so the group id is still this server's.
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pgid, signal.SIGKILL)
            self.proc.wait(timeout=30)
            self.exit_code = self.proc.returncode
            self.proc = None
        if self._stdout:
            self._stdout.close()
            self._stdout = None
        title = f"{self.kind} smbd port {self.port} ({self.base})"
        self.problems = self.health_problems()
        if self.problems:
            _health_failures.append((title, list(self.problems)))
        if self.base:
            _stopped_logs.append((title, self.log_tail(200)))
            if remove and not os.environ.get("SMBTEST_KEEP"):
                shutil.rmtree(self.base, ignore_errors=True)
                self.base = None
        if check and self.problems:
            raise ServerHealthError(f"{title}: " + "; ".join(self.problems))

    def _log_sizes(self):
        sizes = {}
        logdir = os.path.join(self.base or "", "log")
        with contextlib.suppress(OSError):
            for name in os.listdir(logdir):
                with contextlib.suppress(OSError):
                    sizes[name] = os.path.getsize(os.path.join(logdir, name))
        return sizes

    def health_problems(self):
        """Crashes of the server while it ran, as text; [] when there were none.

        - the master (or Samba's parent) ended by a signal other than the SIGTERM stop()
          sent, or with a non-zero code, or did not stop within stop_timeout of SIGTERM;
        - a worker ended by a signal (the master's "worker N killed by signal S"), other
          than one the test declared (expect_signal) and other than SIGTERM once stop()
          had sent it;
        - Samba's "INTERNAL ERROR: Signal N" / "PANIC";
        - a sanitizer report in any log.
        """
        if not self.base or not hasattr(self, "exit_code"):
            return []
        problems = []
        code = self.exit_code
        early = " before it was stopped" if self.exited_early else ""
        if self.killed:
            problems.append(f"the server did not stop within {self.stop_timeout}s of "
                            "SIGTERM (killed)")
        elif code is not None and code < 0:
            # Samba's parent ends by the SIGTERM stop() sends it, re-raised after its
            # clean-up; ours exits 0. Any other signal, or SIGTERM before stop(), is a
            # crash.
            stopped_by_us = -code == signal.SIGTERM and not self.exited_early
            if -code not in self.expected_signals and not stopped_by_us:
                problems.append(f"the server ended by signal {-code}{early}")
        elif code not in (None, 0):
            problems.append(f"the server exited with code {code}{early}")
        marks = getattr(self, "_stop_marks", {})
        logdir = os.path.join(self.base, "log")
        with contextlib.suppress(OSError):
            for name in sorted(os.listdir(logdir)):
                try:
                    with open(os.path.join(logdir, name), "rb") as f:
                        data = f.read()
                except OSError:
                    continue
                mark = marks.get(name, len(data))
                for m in WORKER_SIGNAL.finditer(data):
                    sig = int(m.group(2))
                    after_stop = m.start() >= mark
                    if sig in self.expected_signals or (after_stop and sig == signal.SIGTERM):
                        continue
                    problems.append(f"{name}: {m.group(0).decode()}")
                text = data.decode(errors="replace")
                for m in SAMBA_FAULT.finditer(text):
                    problems.append(f"{name}: {m.group(0)}")
                for m in SANITIZER_REPORT.finditer(text):
                    line_start = text.rfind("\n", 0, m.start()) + 1
                    line_end = text.find("\n", m.end())
                    problems.append(f"{name}: sanitizer: "
                                    f"{text[line_start:line_end if line_end >= 0 else None][:300]}")
        return problems

    def log_text(self):
        """Everything the server logged: its stdout and its log files."""
        if not self.base:
            return ""
        parts = []
        logdir = os.path.join(self.base, "log")
        with contextlib.suppress(OSError):
            for name in sorted(os.listdir(logdir)):
                with contextlib.suppress(OSError), \
                        open(os.path.join(logdir, name), "rb") as f:
                    parts.append(f"==> {name} <==\n" + f.read().decode(errors="replace"))
        return "\n".join(parts)

    def log_tail(self, lines=60):
        text = self.log_text().splitlines()
        return "\n".join(text[-lines:])

    # -- changes while running
    def account_owner(self):
        """(uid, gid) of what the test account creates in the share: the POSIX user the
        server acts as for it (docs/security.md), the owner a file the test prepares needs
        for the account to change it."""
        name = f"owner-probe-{os.getpid()}"
        self.smbclient(f'mkdir "{name}"')
        path = os.path.join(self.share_path, name)
        st = os.stat(path)
        os.rmdir(path)
        return st.st_uid, st.st_gid

    def add_user(self, user, password):
        """Add an account, or set the password of an existing one, with the server's own
        tool (smbd-passwd -a / Samba's smbpasswd -a); Samba also needs a unix account."""
        _smbd, passwd_bin = self._binaries()
        if self.kind == "samba":
            ensure_unix_user(user)
        r = run([passwd_bin, "-c", self.conf, "-s", "-a", user],
                input=f"{password}\n{password}\n", timeout=30)
        if r.returncode != 0:
            raise ServerError(f"{passwd_bin} -a {user} failed ({r.returncode}): "
                              f"{r.stdout}{r.stderr}")

    def rewrite_conf(self, text=None):
        """Replace smb.conf: with `text`, or else with the configuration the current
        attributes (extra_shares, extra_global, ...) describe, creating the directories
        of extra shares. The file is renamed into place, so that a reload never reads
        half of it."""
        if text is None:
            for lines in self.extra_shares.values():
                for ln in lines:
                    key, _, value = (ln % {"base": self.base}).partition("=")
                    if key.strip() == "path":
                        os.makedirs(value.strip(), exist_ok=True)
                        os.chmod(value.strip(), 0o777)
            text = self._conf_text()
        tmp = self.conf + ".new"
        with open(tmp, "w") as f:
            f.write(text)
        os.replace(tmp, self.conf)

    def reload(self):
        """SIGHUP to the server's main process: both servers reload smb.conf (and this
        project's smbd its smbpasswd file) for the connections that follow."""
        os.kill(self.proc.pid, signal.SIGHUP)

    def __enter__(self):
        return self.start()

    def __exit__(self, exc_type, exc, tb):
        if exc_type is not None:
            sys.stderr.write(f"\n--- {self.kind} smbd log (port {self.port}) ---\n"
                             f"{self.log_tail(200)}\n--- end of log ---\n")
        # A crash found while another exception is on its way is reported with the log
        # above and by main(); it does not replace that exception.
        self.stop(check=exc_type is None)
        return False

    # -- clients
    def smbclient(self, commands=None, *, dialect=None, options=(), user=None,
                  password=None, share=None, args=(), timeout=120, check=True, port=None):
        """Run smbclient against the share. dialect pins min and max protocol; port
        overrides the server's port (a WireTap in front of it).

        Returns the CompletedProcess; with check=True raises AssertionError when the
        exit code is not 0 or the output reports an NT_STATUS error.
        """
        user = self.user if user is None else user
        password = self.password if password is None else password
        cmd = [SMBCLIENT, f"//{self.host}/{share or self.share}", "-p", str(port or self.port),
               "-U", f"{user}%{password}", "--configfile", self.client_conf]
        if dialect:
            cmd += ["-m", dialect, f"--option=client min protocol={dialect}"]
        for o in options:
            cmd.append(f"--option={o}")
        cmd += list(args)
        if commands is not None:
            cmd += ["-c", commands]
        r = run(cmd, timeout=timeout)
        if check:
            out = r.stdout + r.stderr
            if r.returncode != 0 or "NT_STATUS_" in out:
                raise AssertionError(
                    f"smbclient failed (exit {r.returncode}) for {commands!r} "
                    f"dialect={dialect} options={list(options)}:\n{out.strip()}")
        return r

    def smbclient_list(self, *, options=(), timeout=60):
        """smbclient -L: the share names the server announces."""
        cmd = [SMBCLIENT, "-L", f"//{self.host}", "-p", str(self.port),
               "-U", f"{self.user}%{self.password}", "--configfile", self.client_conf,
               "-g"]
        cmd += [f"--option={o}" for o in options]
        return run(cmd, timeout=timeout)


# ---------------------------------------------------------------- wire tap

SMB2_NEGOTIATE, SMB2_SESSION_SETUP = 0x0000, 0x0001
SMB2_FLAGS_SERVER_TO_REDIR, SMB2_FLAGS_SIGNED = 0x1, 0x8
STATUS_PENDING = 0x00000103


class Frame:
    """One NetBIOS session message seen by the tap, described from its first bytes."""

    __slots__ = ("to_server", "protocol", "command", "flags", "status", "dialect", "size")

    def __init__(self, to_server, data, size):
        self.to_server = to_server
        self.size = size
        self.protocol = data[:4]
        self.command = self.flags = self.status = self.dialect = None
        if self.protocol == b"\xfeSMB" and len(data) >= 64:
            self.status = int.from_bytes(data[8:12], "little")
            self.command = int.from_bytes(data[12:14], "little")
            self.flags = int.from_bytes(data[16:20], "little")
            if self.command == SMB2_NEGOTIATE and not to_server and len(data) >= 70:
                self.dialect = int.from_bytes(data[68:70], "little")

    @property
    def encrypted(self):
        return self.protocol == b"\xfdSMB"

    @property
    def signed(self):
        return self.flags is not None and bool(self.flags & SMB2_FLAGS_SIGNED)


class WireTap:
    """A TCP relay on 127.0.0.1 in front of a server that records every SMB2 frame.

    Clients connect to `tap.port`; the frames are in `tap.frames` (all connections).
    It shows what a client and a server really negotiated: dialect, signing, encryption.
    """

    def __init__(self, target_port, host="127.0.0.1"):
        import threading
        self._threading = threading
        self.target = (host, target_port)
        self.frames = []
        self._lock = threading.Lock()
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind((host, 0))
        self._listener.listen(16)
        self._listener.settimeout(0.2)
        self.port = self._listener.getsockname()[1]
        self._stop = False
        self._threads = []
        self._socks = []

    def __enter__(self):
        t = self._threading.Thread(target=self._accept_loop, daemon=True)
        t.start()
        self._threads.append(t)
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def close(self):
        self._stop = True
        for s in self._socks:
            with contextlib.suppress(OSError):
                s.close()
        with contextlib.suppress(OSError):
            self._listener.close()
        for t in self._threads:
            t.join(timeout=5)

    def reset(self):
        with self._lock:
            self.frames = []

    def _accept_loop(self):
        while not self._stop:
            try:
                client, _ = self._listener.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.target, timeout=10)
            except OSError:
                client.close()
                continue
            client.settimeout(None)
            upstream.settimeout(None)
            self._socks += [client, upstream]
            for src, dst, to_server in ((client, upstream, True), (upstream, client, False)):
                t = self._threading.Thread(target=self._pump, args=(src, dst, to_server),
                                           daemon=True)
                t.start()
                self._threads.append(t)

    @staticmethod
    def _read_exact(sock, n):
        buf = bytearray(n)
        view = memoryview(buf)
        got = 0
        while got < n:
            k = sock.recv_into(view[got:], n - got)
            if k == 0:
                return None
            got += k
        return buf

    def _pump(self, src, dst, to_server):
        try:
            while True:
                head = self._read_exact(src, 4)
                if head is None:
                    break
                length = int.from_bytes(head[1:4], "big")
                body = self._read_exact(src, length) if length else bytearray()
                if body is None:
                    break
                frame = Frame(to_server, bytes(body[:72]), length)
                with self._lock:
                    self.frames.append(frame)
                dst.sendall(head + body)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)

    # -- summaries
    def dialects(self):
        return {f.dialect for f in self.frames if f.dialect is not None}

    def after_session_setup(self):
        """Frames after the first successful SESSION_SETUP response of each connection
        are not told apart; this returns every frame that is not NEGOTIATE or
        SESSION_SETUP (encrypted frames included)."""
        return [f for f in self.frames
                if f.encrypted or f.command not in (SMB2_NEGOTIATE, SMB2_SESSION_SETUP)]


# ---------------------------------------------------------------- smbclient output

_LS_LINE = re.compile(r"^\s{2}(?P<name>.+?)\s+(?P<attr>[ADHSRNI]*)\s+(?P<size>\d+)\s+"
                      r"\w{3} \w{3}\s+\d+ \d\d:\d\d:\d\d \d{4}$")


def parse_ls(output):
    """{name: (attributes, size)} from smbclient `ls` output."""
    entries = {}
    for line in output.splitlines():
        m = _LS_LINE.match(line)
        if m:
            entries[m.group("name")] = (m.group("attr"), int(m.group("size")))
    return entries


# ---------------------------------------------------------------- waiting

def wait_until(condition, what, timeout=30.0, interval=0.1):
    """Evaluate `condition` until it returns a true value and return that value; raise
    AssertionError naming `what` (and the last value) when `timeout` seconds pass first.
    For changes a server makes on its own time (a reload after SIGHUP): the condition is
    what the test observes, never the time that passed."""
    deadline = time.monotonic() + timeout
    last = None
    while True:
        last = condition()
        if last:
            return last
        if time.monotonic() >= deadline:
            raise AssertionError(f"{what}: not so after {timeout} s (last: {last!r})")
        time.sleep(interval)


# ---------------------------------------------------------------- running tests

def check_health():
    """Stops the servers still running and returns every health problem of every server
    of this process: [(server, [problem])]. Runners other than main() call it last."""
    for server in list(_running):
        server.stop(check=False)
    return list(_health_failures)


def main():
    """unittest.main that prints the logs of the servers when a test failed, and fails
    the run when a server crashed (check_health) even if no test noticed.

    Exit code 77 (CTest SKIP_RETURN_CODE) when every test passed but some skipped for a
    missing prerequisite (smbtest.unavailable): the run is reported skipped, not passed."""
    prog = unittest.main(exit=False, verbosity=2)
    ok = prog.result.wasSuccessful()
    crashed = check_health()
    for title, problems in crashed:
        sys.stderr.write(f"\nSERVER CRASHED: {title}\n" + "".join(
            f"  {p}\n" for p in problems))
    if not ok or crashed:
        for title, log in _stopped_logs:
            sys.stderr.write(f"\n--- log of {title} ---\n{log}\n")
        sys.exit(1)
    if _unavailable:
        sys.stderr.write("\nSKIPPED (missing prerequisites; SMB_TEST_REQUIRE_ALL=1 makes "
                         "these failures):\n" + "".join(f"  {u}\n" for u in _unavailable))
        sys.exit(77)
    sys.exit(0)
