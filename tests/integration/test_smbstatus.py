#!/usr/bin/python3
"""smbstatus: what the running server says it serves, compared with what the test set up.

Two clients (two impacket connections: two ClientGUIDs, so two workers) log on, connect
to the share and hold files open with chosen access and share modes; `smbstatus --json`
must list both sessions (user, client address, dialect, signing, each channel's
transport), both tree connects and every open (path, access, share access), and the text
output the same names. A worker stopped with SIGSTOP is left out after the wait, and
smbstatus says the answer is incomplete (exit 3). While clients connect and leave in a loop, smbstatus keeps
answering and the server keeps serving. Without a running server smbstatus says so.

Run: SMBD_BIN=... SMBD_PASSWD_BIN=... SMBSTATUS_BIN=... /usr/bin/python3 test_smbstatus.py
"""

import json
import os
import signal
import threading
import unittest

from impacket import smb3structs as s3
from impacket.smbconnection import SMBConnection

import smbtest
from smbtest import Server

KIND = smbtest.default_kind()
FILE_READ_DATA, FILE_WRITE_DATA = 0x1, 0x2


@unittest.skipUnless(KIND == "self", "smbstatus of this project asks this project's smbd")
class SmbStatus(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tool = os.environ.get("SMBSTATUS_BIN")
        cls.server = Server(log_level=1)
        cls.server.start()

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()

    def setUp(self):
        if not self.tool:
            smbtest.unavailable(self, "SMBSTATUS_BIN is not set")

    def smbstatus(self, *args, check=True):
        r = smbtest.run([self.tool, "-s", self.server.conf, *args], timeout=30)
        if check:
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        return r

    def client(self):
        conn = SMBConnection(self.server.host, self.server.host, sess_port=self.server.port)
        conn.login(self.server.user, self.server.password)
        self.addCleanup(conn.close)
        return conn

    def test_sessions_trees_and_opens_as_set_up(self):
        first, second = self.client(), self.client()
        t1 = first.connectTree(self.server.share)
        t2 = second.connectTree(self.server.share)
        f1 = first.createFile(t1, "held-by-first.txt", desiredAccess=FILE_READ_DATA | FILE_WRITE_DATA,
                              shareMode=s3.FILE_SHARE_READ)
        f2 = second.createFile(t2, "held-by-second.txt",
                               desiredAccess=FILE_READ_DATA,
                               shareMode=s3.FILE_SHARE_READ | s3.FILE_SHARE_WRITE)
        status = json.loads(self.smbstatus("--json").stdout)
        self.assertTrue(status["complete"], status)
        self.assertEqual(status["server"]["workers_answered"], status["server"]["workers_asked"])

        mine = [s for s in status["sessions"] if s["username"] == self.server.user]
        self.assertEqual(len(mine), 2, status["sessions"])
        self.assertEqual(len({s["pid"] for s in mine}), 2, "two clients, two workers")
        local_ports = {first.getSMBServer().get_socket().getsockname()[1],
                       second.getSMBServer().get_socket().getsockname()[1]}
        self.assertEqual({int(s["remote_machine"].rsplit(":", 1)[1]) for s in mine}, local_ports)
        dialect = "SMB%d_%02x" % divmod(first.getDialect(), 0x100)  # as Samba names it
        for s in mine:
            self.assertEqual(s["dialect"], dialect)
            self.assertEqual(s["logon"], "ntlm")
            self.assertEqual([c["transport"] for c in s["channels"]], ["TCP"])

        trees = [t for t in status["tcons"] if t["service"] == self.server.share]
        self.assertEqual({(t["pid"], t["session_id"]) for t in trees},
                         {(s["pid"], s["session_id"]) for s in mine})

        opens = {o["path"]: o for o in status["open_files"]}
        self.assertIn("held-by-first.txt", opens)
        self.assertIn("held-by-second.txt", opens)
        self.assertEqual(int(opens["held-by-first.txt"]["share_access"], 16), s3.FILE_SHARE_READ)
        self.assertEqual(int(opens["held-by-second.txt"]["share_access"], 16),
                         s3.FILE_SHARE_READ | s3.FILE_SHARE_WRITE)
        self.assertTrue(int(opens["held-by-first.txt"]["access_mask"], 16) & FILE_WRITE_DATA)
        self.assertFalse(int(opens["held-by-second.txt"]["access_mask"], 16) & FILE_WRITE_DATA)

        text = self.smbstatus().stdout
        for word in (self.server.user, self.server.share, "held-by-first.txt", dialect):
            self.assertIn(word, text)
        self.assertNotIn("held-by", self.smbstatus("-b").stdout)

        first.closeFile(t1, f1)
        second.closeFile(t2, f2)
        later = json.loads(self.smbstatus("--json", "-L").stdout)
        self.assertFalse({"held-by-first.txt", "held-by-second.txt"} &
                         {o["path"] for o in later["open_files"]})

    def test_answers_while_clients_come_and_go(self):
        stop = threading.Event()
        errors = []

        def churn():
            while not stop.is_set():
                try:
                    conn = SMBConnection(self.server.host, self.server.host,
                                         sess_port=self.server.port)
                    conn.login(self.server.user, self.server.password)
                    tid = conn.connectTree(self.server.share)
                    conn.disconnectTree(tid)
                    conn.close()
                except Exception as e:  # noqa: BLE001 - reported below
                    errors.append(repr(e))
        threads = [threading.Thread(target=churn) for _ in range(2)]
        for t in threads:
            t.start()
        try:
            for _ in range(20):
                r = self.smbstatus("--json", check=False)
                # 3: a worker left between the question and its answer.
                self.assertIn(r.returncode, (0, 3), r.stderr)
                json.loads(r.stdout)
        finally:
            stop.set()
            for t in threads:
                t.join(timeout=60)
        self.assertEqual(errors, [])
        self.server.smbclient("ls")

    def test_a_worker_that_does_not_answer_is_left_out(self):
        conn = self.client()
        conn.connectTree(self.server.share)
        mine = [s for s in json.loads(self.smbstatus("--json", "-b").stdout)["sessions"]
                if s["username"] == self.server.user]
        self.assertTrue(mine)
        pid = mine[-1]["pid"]
        os.kill(pid, signal.SIGSTOP)
        try:
            r = self.smbstatus("--json", check=False)
        finally:
            os.kill(pid, signal.SIGCONT)
        self.assertEqual(r.returncode, 3, r.stderr)
        status = json.loads(r.stdout)
        self.assertFalse(status["complete"])
        self.assertEqual(status["server"]["workers_answered"],
                         status["server"]["workers_asked"] - 1)
        self.assertNotIn(pid, {s["pid"] for s in status["sessions"]})
        self.assertEqual(self.smbstatus("--json").returncode, 0)  # it answers again

    def test_without_a_server_it_says_so(self):
        conf = os.path.join(self.server.base, "nobody-home.conf")
        with open(conf, "w") as f:
            f.write(f"[global]\nlock directory = {self.server.base}/no-such-dir\n")
        r = smbtest.run([self.tool, "-s", conf], timeout=30)
        self.assertEqual(r.returncode, 1)
        self.assertIn("is smbd running?", r.stderr)


if __name__ == "__main__":
    smbtest.main()
