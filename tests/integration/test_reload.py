#!/usr/bin/python3
"""Signals to the running server.

SIGHUP reloads smb.conf (and, for this project's smbd, the smbpasswd file) for the
connections that follow: a share added becomes reachable, a share removed answers
BAD_NETWORK_NAME, a changed password is the one that logs on, a user added logs on. A
configuration with an error is logged and, by this project's smbd, not used: the one in
force stays (Samba applies the valid parts). SIGTERM stops the server, clients connected
or not, without a process crashing.

A reload happens when the server gets to it, so each test waits, with a deadline, for
what it changes to be seen by a new connection.

Run: SMBTEST_KIND=samba /usr/bin/python3 test_reload.py
"""

import contextlib
import os
import re
import signal
import subprocess
import unittest

import impacket_raw as raw
import smbtest
from smbtest import Server

KIND = smbtest.default_kind()
RELOAD_TIMEOUT = 30.0
NEW_PASSWORD = "Sm8-changed-pw"

# How each server reports a configuration it did not load.
CONFIG_ERROR = {
    "self": re.compile(r"configuration reload failed; keeping the current one"),
    "samba": re.compile(r"Failed to load config file|set_variable_helper|"
                        r"is not a valid|Badly formed", re.I),
}
# How each server reports a process that crashed (ours: the master about a worker).
CRASH = re.compile(r"killed by signal (4|6|7|8|11)\b|INTERNAL ERROR: Signal|PANIC")


def nt_status(result):
    for word in (result.stdout + result.stderr).split():
        if word.startswith("NT_STATUS_"):
            return word.rstrip(":,.")
    return None


class Reload(unittest.TestCase):
    def setUp(self):
        self.server = Server(extra_shares={
            "kept": ["path = %(base)s/kept", "read only = no"],
            "gone": ["path = %(base)s/gone", "read only = no"]})
        self.server.start()
        self.addCleanup(self.server.stop)
        self.upload = os.path.join(self.server.client_dir, "upload.bin")
        smbtest.make_random_file(self.upload, 300_001)

    def status(self, share, **kw):
        """None when `ls` on the share works, else the NT_STATUS_ name smbclient gave."""
        r = self.server.smbclient("ls", share=share, dialect="SMB3_11", check=False, **kw)
        if r.returncode == 0 and "NT_STATUS_" not in r.stdout + r.stderr:
            return None
        return nt_status(r) or f"exit {r.returncode}: {r.stdout}{r.stderr}"

    def put_get(self, share, name, **kw):
        down = os.path.join(self.server.client_dir, f"down-{name}")
        self.server.smbclient(f'put "{self.upload}" {name}; get {name} "{down}"', share=share,
                              dialect="SMB3_11", **kw)
        smbtest.assert_same_file(self.upload, os.path.join(self.server.base, share, name),
                                 f"put to [{share}]")
        smbtest.assert_same_file(self.upload, down, f"get from [{share}]")

    def test_share_added(self):
        self.assertEqual(self.status("added"), "NT_STATUS_BAD_NETWORK_NAME",
                         "[added] before it was configured")
        self.server.extra_shares["added"] = ["path = %(base)s/added", "read only = no"]
        self.server.rewrite_conf()
        self.server.reload()
        smbtest.wait_until(lambda: self.status("added") is None, "[added] reachable after "
                           "SIGHUP", RELOAD_TIMEOUT)
        self.put_get("added", "new-share.bin")
        self.put_get("kept", "kept.bin")

    def test_share_removed(self):
        self.put_get("gone", "before.bin")
        del self.server.extra_shares["gone"]
        self.server.rewrite_conf()
        self.server.reload()
        smbtest.wait_until(lambda: self.status("gone") == "NT_STATUS_BAD_NETWORK_NAME",
                           "[gone] refused after SIGHUP", RELOAD_TIMEOUT)
        self.put_get("kept", "kept.bin")
        names = {ln.split("|")[1] for ln in self.server.smbclient_list().stdout.splitlines()
                 if ln.count("|") >= 2}
        self.assertNotIn("gone", names, "smbclient -L after the share was removed")
        self.assertIn("kept", names, "smbclient -L after the share was removed")

    def test_password_changed(self):
        old = self.server.password
        self.assertIsNone(self.status("kept"))
        # The server's own tool writes the new password into its user database (our
        # smbd: the smbpasswd file, read again on SIGHUP).
        self.server.add_user(self.server.user, NEW_PASSWORD)
        self.server.reload()
        smbtest.wait_until(lambda: self.status("kept", password=NEW_PASSWORD) is None,
                           "the new password accepted after SIGHUP", RELOAD_TIMEOUT)
        self.assertEqual(self.status("kept", password=old), "NT_STATUS_LOGON_FAILURE",
                         "the old password after the change")
        self.put_get("kept", "new-password.bin", password=NEW_PASSWORD)
        client = raw.connect(self.server, 0x311, password=NEW_PASSWORD)
        client.disconnect()

    def test_user_added(self):
        self.server.add_user("smbtest3", "Sm8-third-pw")
        self.server.reload()
        smbtest.wait_until(
            lambda: self.status("kept", user="smbtest3", password="Sm8-third-pw") is None,
            "the new user logs on after SIGHUP", RELOAD_TIMEOUT)
        self.put_get("kept", "third-user.bin", user="smbtest3", password="Sm8-third-pw")

    def break_configuration(self):
        """smb.conf plus a share [fresh] with a value no server accepts; SIGHUP; wait for
        the error in the log. Returns the text written."""
        with open(self.server.conf) as f:
            good = f.read()
        log_before = len(self.server.log_text())
        broken = good + ("\n[fresh]\npath = %s/fresh\nread only = maybe-not\n"
                         % self.server.base)
        os.makedirs(os.path.join(self.server.base, "fresh"), exist_ok=True)
        os.chmod(os.path.join(self.server.base, "fresh"), 0o777)
        self.server.rewrite_conf(broken)
        self.server.reload()
        pattern = CONFIG_ERROR[KIND]
        smbtest.wait_until(lambda: pattern.search(self.server.log_text()[log_before:]),
                           "the configuration error in the log after SIGHUP", RELOAD_TIMEOUT)
        return broken

    def test_configuration_error_logged_shares_kept(self):
        self.break_configuration()
        self.put_get("kept", "still.bin")
        self.put_get("gone", "still.bin")
        self.put_get(self.server.share, "still.bin")

    @unittest.skipIf(KIND == "samba", "Samba applies the valid parts of a configuration "
                     "with errors: [fresh] is added, read only left at its default")
    def test_configuration_with_an_error_is_not_used(self):
        broken = self.break_configuration()
        self.assertEqual(self.status("fresh"), "NT_STATUS_BAD_NETWORK_NAME",
                         "[fresh] from the configuration with the error")
        self.put_get("kept", "still.bin")

        # The same file repaired is taken at the next SIGHUP.
        self.server.rewrite_conf(broken.replace("read only = maybe-not", "read only = no"))
        self.server.reload()
        smbtest.wait_until(lambda: self.status("fresh") is None,
                           "[fresh] reachable after the repaired configuration",
                           RELOAD_TIMEOUT)
        self.put_get("fresh", "repaired.bin")


class Stop(unittest.TestCase):
    def test_sigterm_with_clients_connected(self):
        server = Server()
        server.start()
        self.addCleanup(server.stop)
        # Connections at every stage: negotiated only, logged on, with a tree and a file
        # open; and one that has been used and closed again.
        negotiated = raw.Client(server.host, server.port, 0x311)
        self.addCleanup(negotiated.disconnect)
        logged_on = raw.connect(server, 0x300)
        self.addCleanup(logged_on.disconnect)
        working = raw.connect(server, 0x311)
        self.addCleanup(working.disconnect)
        tid = working.connectTree(server.share)
        status, _ = working.open(tid, "open.bin", raw.READ_ACCESS | raw.FILE_WRITE_DATA,
                                 raw.s3.FILE_OVERWRITE_IF)
        self.assertEqual(status, raw.STATUS_SUCCESS)
        server.smbclient("ls")

        pgid = server.proc.pid
        # The test stops the server itself: Samba's smbd ends by this signal.
        server.expect_signal(signal.SIGTERM)
        os.kill(server.proc.pid, signal.SIGTERM)
        try:
            code = server.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.fail("the server still runs 30 s after SIGTERM")

        def group_gone():
            try:
                os.killpg(pgid, 0)
            except ProcessLookupError:
                return True
            return False
        smbtest.wait_until(group_gone, "every server process gone after SIGTERM", 30)
        log = server.log_text()
        crashes = [ln for ln in log.splitlines() if CRASH.search(ln)]
        self.assertEqual(crashes, [], "a server process crashed while stopping")
        # Ours exits with 0, Samba's smbd by the signal itself.
        self.assertIn(code, (0, -signal.SIGTERM), f"exit status after SIGTERM:\n{log[-2000:]}")


if __name__ == "__main__":
    smbtest.main()
