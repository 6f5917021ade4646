"""Host side of the VM lab tests: assets, booting a guest, servers on the host loopback.

Tests exit 0 when every check passed, 1 with a FAIL line naming what broke, and 77
(CTest SKIP_RETURN_CODE) with a SKIPPED line naming the missing part; with
SMB_TEST_REQUIRE_ALL=1 (scripts/test.sh) a missing part fails the test instead.
"""

import hashlib
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
RUN_GUEST = os.path.join(HERE, "run-guest.sh")
SKIP = 77
REQUIRE_ALL = os.environ.get("SMB_TEST_REQUIRE_ALL", "0") not in ("", "0")
SAMBA_SMBD = "/usr/sbin/smbd"
SAMBA_SMBPASSWD = "/usr/bin/smbpasswd"


class Skip(Exception):
    pass


class Failure(Exception):
    pass


def main(fn):
    """Runs fn() and maps Skip/Failure to exit codes 77/1."""
    try:
        fn()
    except Skip as e:
        if REQUIRE_ALL:
            print(f"FAIL: {e} (SMB_TEST_REQUIRE_ALL=1: every part must be present)", flush=True)
            sys.exit(1)
        print(f"SKIPPED: {e}", flush=True)
        sys.exit(SKIP)
    except Failure as e:
        print(f"FAIL: {e}", flush=True)
        sys.exit(1)
    print("PASS", flush=True)
    sys.exit(0)


def cache_dir():
    return os.environ.get("SMB_VMLAB_CACHE") or os.path.expanduser("~/.cache/smb3d-vmlab")


def assets():
    """The current asset directory; Skip when qemu or the assets are missing."""
    if not shutil.which("qemu-system-x86_64"):
        raise Skip("qemu-system-x86_64 not installed (scripts/install-deps.sh)")
    if not shutil.which("socat"):
        raise Skip("socat not installed (scripts/install-deps.sh)")
    cur = os.path.realpath(os.path.join(cache_dir(), "current"))
    if not os.path.exists(os.path.join(cur, "complete")):
        raise Skip(f"guest assets not built in {cache_dir()} (tests/vmlab/build-assets.sh)")
    return cur


def smbdirect_assets(a):
    """Checks the SMB Direct module stage of the assets: Failure with its reason when the
    stage failed (a patch that does not apply, a build error: something to fix, not a
    part that is missing), Skip when the modules are absent otherwise."""
    d = os.path.join(a, "smbdirect")
    failed = os.path.join(d, "FAILED")
    if os.path.exists(failed):
        raise Failure("the SMB Direct cifs.ko/ksmbd.ko stage of the assets failed: "
                      + open(failed).read().strip())
    for m in ("cifs.ko", "ksmbd.ko"):
        if not os.path.exists(os.path.join(d, m)):
            raise Skip(f"SMB Direct {m} asset not built (tests/vmlab/build-assets.sh)")
    return d


def workdir(name):
    base = os.environ.get("SMB_VMLAB_WORK") or tempfile.gettempdir()
    d = tempfile.mkdtemp(prefix=f"vmlab-{name}-", dir=base)
    os.chmod(d, 0o755)
    return d


def run_guest(work, script, *, mem="2G", append="", fwds=(), timeout=600, files=()):
    """Writes script as work/run.sh, boots the guest; returns (rc, guest output)."""
    with open(os.path.join(work, "run.sh"), "w") as f:
        f.write("#!/bin/bash\nset -uo pipefail\n. /usr/local/lib/vmlab-lib.sh\n" + script)
    for src in files:
        shutil.copy(src, work)
    cmd = [RUN_GUEST, "--mem", mem, "--timeout", str(timeout)]
    if append:
        cmd += ["--append", append]
    for f in fwds:
        cmd += ["--fwd", f]
    cmd.append(work)
    print("+ " + " ".join(cmd), flush=True)
    rc = subprocess.run(cmd, timeout=timeout + 60).returncode
    log = os.path.join(work, "guest.log")
    out = open(log, errors="replace").read() if os.path.exists(log) else ""
    if rc in (124, 125, 126):
        tail = ""
        con = os.path.join(work, "console.log")
        if os.path.exists(con):
            tail = "".join(open(con, errors="replace").readlines()[-25:])
        what = {124: "the guest did not finish in time", 125: "the guest ended without an exit code",
                126: "qemu or a guest asset is missing"}[rc]
        raise Failure(f"{what} (console log {con})\n{tail}")
    return rc, out


def guest_result(rc, out, what):
    """Maps a guest script's exit code to the test result."""
    if rc == 0:
        return
    lines = [ln for ln in out.splitlines() if ln.startswith(("FAIL:", "SKIP:"))]
    msg = lines[-1].split(":", 1)[1].strip() if lines else f"guest script exited {rc}"
    if rc == SKIP:
        raise Skip(msg)
    raise Failure(f"{what}: {msg}")


def compile_static(src, out):
    cc = shutil.which("cc") or shutil.which("gcc")
    if not cc:
        raise Skip("no C compiler for the guest test program")
    r = subprocess.run([cc, "-static", "-O2", "-Wall", "-o", out, src], capture_output=True,
                       text=True, timeout=120)
    if r.returncode != 0:
        raise Failure(f"compiling {os.path.basename(src)} failed: {r.stderr}")
    return out


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_open(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def ensure_unix_user(name):
    try:
        return pwd.getpwnam(name)
    except KeyError:
        pass
    if os.geteuid() != 0:
        raise Skip(f"unix user {name} missing and not root to add it (Samba needs one)")
    r = subprocess.run(["useradd", "-M", "-s", "/usr/sbin/nologin", name], capture_output=True,
                       text=True, timeout=30)
    if r.returncode != 0 and "already exists" not in r.stderr:
        raise Failure(f"useradd -M {name} failed: {r.stderr.strip()}")
    return pwd.getpwnam(name)


class Server:
    """An SMB server on 127.0.0.1:<free port> with one share ("share").

    kind "ours":  $SMBD_BIN / $SMBD_PASSWD_BIN (this project's smbd, smbd-passwd)
    kind "samba": Debian's /usr/sbin/smbd with a private configuration
    """

    def __init__(self, kind, base, user="vmlab", password="Vm1ab-pass", share_lines=()):
        self.kind, self.base, self.user, self.password = kind, base, user, password
        self.share_lines = list(share_lines)
        self.proc = None
        if kind == "ours":
            self.smbd = os.environ.get("SMBD_BIN", "")
            self.passwd = os.environ.get("SMBD_PASSWD_BIN", "")
            if not self.smbd or not os.access(self.smbd, os.X_OK):
                raise Skip("smbd not built (SMBD_BIN unset or not executable)")
            if not self.passwd or not os.access(self.passwd, os.X_OK):
                raise Skip("smbd-passwd not built (SMBD_PASSWD_BIN unset or not executable)")
        elif kind == "samba":
            self.smbd, self.passwd = SAMBA_SMBD, SAMBA_SMBPASSWD
            if not os.access(self.smbd, os.X_OK):
                raise Skip(f"Samba's {SAMBA_SMBD} not installed (Debian package samba)")
        else:
            raise ValueError(kind)
        self.share_path = os.path.join(base, "share")

    def _conf(self):
        b = self.base
        g = ["[global]", f"smb ports = {self.port}", "interfaces = 127.0.0.1",
             "bind interfaces only = yes", f"smb passwd file = {b}/private/smbpasswd",
             f"log file = {b}/log/smbd.log", "log level = 1", f"lock directory = {b}/lock",
             "map to guest = never", "server min protocol = SMB2_02"]
        if self.kind == "samba":
            g += [f"state directory = {b}/state", f"cache directory = {b}/cache",
                  f"pid directory = {b}/pid", f"private dir = {b}/private",
                  f"ncalrpc dir = {b}/ncalrpc", f"binddns dir = {b}/binddns",
                  f"passdb backend = tdbsam:{b}/private/passdb.tdb", "disable netbios = yes",
                  "load printers = no", "printcap name = /dev/null", "disable spoolss = yes",
                  "workgroup = VMLAB", "server role = standalone server"]
        s = ["", "[share]", f"path = {self.share_path}", "read only = no", "guest ok = no"]
        return "\n".join(g + s + self.share_lines) + "\n"

    def start(self):
        for d in ("private", "log", "lock", "state", "cache", "pid", "ncalrpc", "binddns",
                  "share"):
            os.makedirs(os.path.join(self.base, d), exist_ok=True)
        os.chmod(os.path.join(self.base, "private"), 0o700)
        os.chmod(self.share_path, 0o777)
        if self.kind == "samba":
            ensure_unix_user(self.user)
        self.port = free_port()
        self.conf = os.path.join(self.base, "smb.conf")
        with open(self.conf, "w") as f:
            f.write(self._conf())
        pw = f"{self.password}\n{self.password}\n"
        if self.kind == "samba":
            cmd = [self.passwd, "-c", self.conf, "-a", "-s", self.user]
        else:
            cmd = [self.passwd, "-c", self.conf, "-s", "-a", self.user]
        r = subprocess.run(cmd, input=pw, capture_output=True, text=True, timeout=30)
        if r.returncode != 0:
            raise Failure(f"{self.passwd} -a {self.user} failed: {r.stdout}{r.stderr}")
        if self.kind == "samba":
            cmd = [self.smbd, "-F", "--no-process-group", "-s", self.conf, "--debug-stdout", "-d1"]
        else:
            cmd = [self.smbd, "-s", self.conf, "-F"]
        self.out = open(os.path.join(self.base, "log", "stdout.log"), "wb")
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=self.out,
                                     stderr=subprocess.STDOUT, start_new_session=True,
                                     cwd=self.base)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise Failure(f"{self.kind} smbd exited with {self.proc.returncode} at start:\n"
                              + self.log_tail())
            if port_open(self.port):
                return self
            time.sleep(0.1)
        raise Failure(f"{self.kind} smbd: port {self.port} not open after 30 s\n" + self.log_tail())

    def log_tail(self, n=30):
        text = ""
        for name in ("stdout.log", "smbd.log"):
            p = os.path.join(self.base, "log", name)
            if os.path.exists(p):
                text += "".join(open(p, errors="replace").readlines()[-n:])
        return text

    def stop(self):
        if not self.proc:
            return
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)  # its own session: the server and its children
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)
        self.out.close()
        self.proc = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
