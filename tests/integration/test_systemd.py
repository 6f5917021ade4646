#!/usr/bin/python3
"""Running under systemd: readiness notifications and the installed units.

smbd and rdmaproxy are `Type=notify` services: with NOTIFY_SOCKET set they send READY=1
once their listening sockets are open, and STOPPING=1 when they begin to stop. The test
is the service manager: it binds the notification socket, starts the server, and checks
that READY=1 arrives exactly once, naming the server's pid, at a moment when the port
already accepts connections, through a client's connection (which forks a worker) and a
reload. The units `cmake --install` writes are checked by `systemd-analyze verify`.

The readiness test also runs against Samba's smbd (SMBTEST_KIND=samba), which notifies
systemd the same way, except that its READY=1 may come before its port is open; the
rdmaproxy and unit tests are this project's only.

Run: SMBD_BIN=... SMBD_PASSWD_BIN=... RDMAPROXY_BIN=... SMB_BUILD_DIR=... \
     /usr/bin/python3 test_systemd.py
"""

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import unittest

import smbtest
from smbtest import Server

KIND = smbtest.default_kind()


class NotifySocket:
    """The service manager's end: a datagram socket whose messages are kept with what the
    test saw at the moment each arrived (`probe()`, e.g. whether a port is open)."""

    def __init__(self, directory, probe):
        self.path = os.path.join(directory, "notify.sock")
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.path)
        self.sock.settimeout(0.2)
        self.probe = probe
        self.messages = []  # (fields dict, probe result)
        self.lock = threading.Lock()
        self.running = True
        self.thread = threading.Thread(target=self._receive, daemon=True)
        self.thread.start()

    def _receive(self):
        while self.running:
            try:
                data = self.sock.recv(4096)
            except socket.timeout:
                continue
            except OSError:
                return
            fields = dict(line.split("=", 1) for line in data.decode().splitlines()
                          if "=" in line)
            seen = self.probe() if "READY" in fields else None
            with self.lock:
                self.messages.append((fields, seen))

    def with_field(self, name, value=None):
        with self.lock:
            return [(f, seen) for f, seen in self.messages
                    if name in f and (value is None or f[name] == value)]

    def close(self):
        self.running = False
        self.thread.join(timeout=5)
        self.sock.close()


class Readiness(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="smb-notify-")
        self.addCleanup(shutil.rmtree, self.dir, True)
        self.server = Server()
        self.notify = NotifySocket(
            self.dir, lambda: smbtest.port_open(self.server.port, self.server.host, timeout=2))
        self.addCleanup(self.notify.close)

    def test_ready_once_when_listening_then_stopping(self):
        os.environ["NOTIFY_SOCKET"] = self.notify.path
        try:
            self.server.start()
        finally:
            del os.environ["NOTIFY_SOCKET"]
        self.addCleanup(self.server.stop)
        ready = smbtest.wait_until(lambda: self.notify.with_field("READY", "1"),
                                   "READY=1 from the server")
        fields, port_was_open = ready[0]
        # Samba's smbd 4.17 notifies before it opens its ports (seen here: the port did
        # not accept a connection when READY=1 arrived), so this part is ours only.
        if KIND == "self":
            self.assertTrue(port_was_open, "READY=1 came before the port accepted connections")
        if "MAINPID" in fields:
            self.assertEqual(int(fields["MAINPID"]), self.server.pid)

        # A client (a forked worker on our side, a forked child on Samba's) and a reload
        # must not send readiness again.
        r = self.server.smbclient("ls", timeout=30)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        os.kill(self.server.pid, signal.SIGHUP)
        r = self.server.smbclient("ls", timeout=30)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)

        self.server.stop()
        if KIND == "self":
            smbtest.wait_until(lambda: self.notify.with_field("STOPPING", "1"),
                               "STOPPING=1 when the server stops", timeout=10)
        self.assertEqual(len(self.notify.with_field("READY")), 1,
                         f"READY sent more than once: {self.notify.messages}")


@unittest.skipUnless(KIND == "self", "rdmaproxy and the units are this project's")
class ProxyReadiness(unittest.TestCase):
    def test_rdmaproxy_ready_once_when_listening(self):
        proxy_bin = os.environ.get("RDMAPROXY_BIN")
        if not proxy_bin:
            smbtest.unavailable(self, "RDMAPROXY_BIN is not set")
        work = tempfile.mkdtemp(prefix="smb-notify-proxy-")
        self.addCleanup(shutil.rmtree, work, True)
        port = smbtest.free_port()
        conf = os.path.join(work, "smb.conf")
        with open(conf, "w") as f:
            f.write("[global]\n"
                    f"lock directory = {work}\n"
                    f"state directory = {work}\n"
                    "rdma fabric = soft\n"
                    "rdma address = 127.0.0.1\n"
                    f"rdma port = {port}\n")
        notify = NotifySocket(work, lambda: smbtest.port_open(port, timeout=2))
        self.addCleanup(notify.close)
        env = dict(os.environ, NOTIFY_SOCKET=notify.path)
        log = open(os.path.join(work, "rdmaproxy.out"), "wb")
        self.addCleanup(log.close)
        proc = subprocess.Popen([proxy_bin, "-s", conf], stdin=subprocess.DEVNULL,
                                stdout=log, stderr=subprocess.STDOUT, env=env)

        def stop():
            if proc.poll() is None:
                proc.kill()
                proc.wait(timeout=10)
        self.addCleanup(stop)

        ready = smbtest.wait_until(lambda: notify.with_field("READY", "1"),
                                   "READY=1 from rdmaproxy")
        fields, port_was_open = ready[0]
        self.assertTrue(port_was_open, "READY=1 came before the SMB Direct port listened")
        self.assertEqual(int(fields["MAINPID"]), proc.pid)
        proc.send_signal(signal.SIGTERM)
        self.assertEqual(proc.wait(timeout=10), 0)
        smbtest.wait_until(lambda: notify.with_field("STOPPING", "1"),
                           "STOPPING=1 from rdmaproxy", timeout=10)
        self.assertEqual(len(notify.with_field("READY")), 1, notify.messages)


@unittest.skipUnless(KIND == "self", "rdmaproxy and the units are this project's")
class InstalledUnits(unittest.TestCase):
    def test_units_installed_and_verified(self):
        build = os.environ.get("SMB_BUILD_DIR")
        analyze = shutil.which("systemd-analyze")
        if not build or not analyze:
            smbtest.unavailable(self, "SMB_BUILD_DIR or systemd-analyze missing")
        prefix = tempfile.mkdtemp(prefix="smb-install-")
        self.addCleanup(shutil.rmtree, prefix, True)
        r = smbtest.run(["cmake", "--install", build, "--prefix", prefix], timeout=120)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        units = os.path.join(prefix, "lib/systemd/system")
        for name, program in (("smbd.service", "sbin/smbd"),
                              ("rdmaproxy.service", "sbin/rdmaproxy")):
            path = os.path.join(units, name)
            with open(path) as f:
                text = f.read()
            self.assertIn("Type=notify", text)
            self.assertIn(f"ExecStart={prefix}/{program} ", text,
                          "the unit names the installed program")
            self.assertTrue(os.access(os.path.join(prefix, program), os.X_OK))
            r = smbtest.run([analyze, "verify", path], timeout=60)
            self.assertEqual(r.returncode, 0, f"systemd-analyze verify {name}:\n"
                             f"{r.stdout}{r.stderr}")
        with open(os.path.join(units, "smbd.service")) as f:
            smbd_unit = f.read()
        self.assertIn("ExecReload=/bin/kill -HUP $MAINPID", smbd_unit)
        self.assertRegex(smbd_unit, r"After=.*rdmaproxy\.service")
        for example in ("smb.conf", "pmem-rdma.conf"):
            path = os.path.join(prefix, "share/doc/smb3d/examples", example)
            r = smbtest.run([os.path.join(prefix, "sbin/smbd"), "--check", "-s", path],
                            timeout=30)
            self.assertEqual(r.returncode, 0, f"{example}: {r.stderr}")


if __name__ == "__main__":
    smbtest.main()
