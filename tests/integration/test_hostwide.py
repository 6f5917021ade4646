#!/usr/bin/python3
"""Share modes and delete-pending hold between the clients of one host.

Each client (ClientGUID) is served by a worker process of its own; two impacket
connections are two clients. An open in one worker must refuse a conflicting open in
the other (STATUS_SHARING_VIOLATION), a file made delete-pending by one is
STATUS_DELETE_PENDING for the other, the last close of it in either worker deletes it,
and once a worker is killed its opens stop refusing anybody.

Run: SMBTEST_KIND=self SMBD_BIN=... SMBD_PASSWD_BIN=... /usr/bin/python3 test_hostwide.py
"""

import os
import signal
import struct
import unittest

from impacket import nt_errors
from impacket import smb3structs as s3
from impacket.smbconnection import SMBConnection, SessionError

import smbtest
from smbtest import Server

TIMEOUT = 30
# How long the master may take to take a killed worker's opens out: it does so when it
# reaps the worker, which it hears of at once (SIGCHLD); the bound is only for a loaded
# machine.
CLEANUP_DEADLINE = 5.0

READ, WRITE, DELETE = s3.FILE_READ_DATA, s3.FILE_WRITE_DATA, s3.DELETE
SHARE_R, SHARE_W, SHARE_D = s3.FILE_SHARE_READ, s3.FILE_SHARE_WRITE, s3.FILE_SHARE_DELETE
SHARE_ALL = SHARE_R | SHARE_W | SHARE_D


def processes_under(master):
    """The pids whose parent is `master`."""
    children = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        # The command name may hold spaces and parentheses: the fields after the last ")".
        fields = stat[stat.rindex(")") + 2:].split()
        if int(fields[1]) == master:
            children.append(int(entry))
    return children


def server_socket_inode(server_port, client_port):
    with open("/proc/net/tcp") as f:
        for line in f.readlines()[1:]:
            fields = line.split()
            local, remote = fields[1], fields[2]
            if (int(local.split(":")[1], 16) == server_port and
                    int(remote.split(":")[1], 16) == client_port):
                return fields[9]
    return None


def worker_serving(server, conn):
    """The pid of the worker that holds the server end of `conn`'s TCP connection."""
    client_port = conn.getSMBServer().get_socket().getsockname()[1]

    def find():
        inode = server_socket_inode(server.port, client_port)
        if inode is None:
            return None
        for pid in processes_under(server.pid):
            try:
                fds = os.listdir(f"/proc/{pid}/fd")
            except OSError:
                continue
            for fd in fds:
                try:
                    if os.readlink(f"/proc/{pid}/fd/{fd}") == f"socket:[{inode}]":
                        return pid
                except OSError:
                    continue
        return None

    return smbtest.wait_until(find, f"the worker serving client port {client_port}",
                              timeout=TIMEOUT)


class HostWide(unittest.TestCase):
    def setUp(self):
        self.server = Server(log_level=2)
        self.server.start()
        self.addCleanup(self.server.stop)
        self.first = self.connect()
        self.second = self.connect()
        self.tree_first = self.first.connectTree(self.server.share)
        self.tree_second = self.second.connectTree(self.server.share)
        # Two clients, two workers: what follows is between processes.
        self.worker_first = worker_serving(self.server, self.first)
        self.assertNotEqual(self.worker_first, worker_serving(self.server, self.second))

    def tearDown(self):
        for conn in (self.first, self.second):
            try:
                conn.close()
            except Exception:  # the first one's worker may have been killed
                pass

    def connect(self):
        conn = SMBConnection(self.server.host, self.server.host, sess_port=self.server.port,
                             preferredDialect=s3.SMB2_DIALECT_30, timeout=TIMEOUT)
        conn.login(self.server.user, self.server.password)
        return conn

    def open(self, conn, tree, name, access, share,
             disposition=s3.FILE_OPEN, options=s3.FILE_NON_DIRECTORY_FILE):
        return conn.createFile(tree, name, desiredAccess=access, shareMode=share,
                               creationOption=options, creationDisposition=disposition)

    def refused(self, conn, tree, name, access, share):
        """The NTSTATUS the open is refused with; fails the test if it succeeds."""
        try:
            fid = self.open(conn, tree, name, access, share)
        except SessionError as e:
            return e.getErrorCode()
        conn.closeFile(tree, fid)
        self.fail(f"an open of {name} for {access:#x} sharing {share:#x} succeeded")

    def test_share_modes_between_workers(self):
        held = self.open(self.first, self.tree_first, "shared.txt", READ | WRITE, SHARE_R,
                         disposition=s3.FILE_OVERWRITE_IF)
        self.assertEqual(
            self.refused(self.second, self.tree_second, "shared.txt", WRITE, SHARE_ALL),
            nt_errors.STATUS_SHARING_VIOLATION)
        # The first open writes: an open that does not share writing is refused too.
        self.assertEqual(
            self.refused(self.second, self.tree_second, "shared.txt", READ, SHARE_R),
            nt_errors.STATUS_SHARING_VIOLATION)
        # Reading, sharing everything: no conflict.
        reader = self.open(self.second, self.tree_second, "shared.txt", READ, SHARE_ALL)
        self.second.closeFile(self.tree_second, reader)
        # Once the first client closes, the writer gets in.
        self.first.closeFile(self.tree_first, held)
        writer = self.open(self.second, self.tree_second, "shared.txt", WRITE, SHARE_ALL)
        self.second.closeFile(self.tree_second, writer)

    def test_refused_overwrite_leaves_the_data(self):
        # An overwriting CREATE refused for a sharing violation must not have emptied the
        # file first, whether the holder is another client or the same one.
        path = os.path.join(self.server.share_path, "kept.bin")
        data = os.urandom(1000)
        with open(path, "wb") as f:
            f.write(data)
        user = smbtest.ensure_unix_user(self.server.user)
        os.chown(path, user.pw_uid, user.pw_gid)  # the user's own file, theirs to overwrite
        held = self.open(self.first, self.tree_first, "kept.bin", READ, SHARE_R)
        for conn, tree in ((self.second, self.tree_second), (self.first, self.tree_first)):
            for disposition in (s3.FILE_OVERWRITE, s3.FILE_OVERWRITE_IF, s3.FILE_SUPERSEDE):
                try:
                    fid = self.open(conn, tree, "kept.bin", READ | WRITE, SHARE_ALL,
                                    disposition=disposition)
                    conn.closeFile(tree, fid)
                    self.fail(f"overwrite {disposition} of a file held without write sharing "
                              "succeeded")
                except SessionError as e:
                    self.assertEqual(e.getErrorCode(), nt_errors.STATUS_SHARING_VIOLATION)
                with open(path, "rb") as f:
                    self.assertEqual(f.read(), data, f"disposition {disposition} emptied it")
        self.first.closeFile(self.tree_first, held)
        # Once nobody holds it, an overwrite empties it as it should.
        fid = self.open(self.second, self.tree_second, "kept.bin", READ | WRITE, SHARE_ALL,
                        disposition=s3.FILE_OVERWRITE)
        self.second.closeFile(self.tree_second, fid)
        self.assertEqual(os.path.getsize(path), 0)

    def test_delete_pending_between_workers(self):
        path = os.path.join(self.server.share_path, "doomed.txt")
        doomed = self.open(self.first, self.tree_first, "doomed.txt", READ | DELETE, SHARE_ALL,
                           disposition=s3.FILE_OVERWRITE_IF)
        kept = self.open(self.second, self.tree_second, "doomed.txt", READ, SHARE_ALL)
        self.first.getSMBServer().setInfo(self.tree_first, doomed, inputBlob=struct.pack("<B", 1),
                                          infoType=s3.SMB2_0_INFO_FILE,
                                          fileInfoClass=s3.SMB2_FILE_DISPOSITION_INFO)
        self.assertEqual(
            self.refused(self.second, self.tree_second, "doomed.txt", READ, SHARE_ALL),
            nt_errors.STATUS_DELETE_PENDING)
        # The first client's close is not the last: the file stays, still delete-pending.
        self.first.closeFile(self.tree_first, doomed)
        self.assertTrue(os.path.exists(path))
        self.assertEqual(
            self.refused(self.second, self.tree_second, "doomed.txt", READ, SHARE_ALL),
            nt_errors.STATUS_DELETE_PENDING)
        # The last close, in the other worker, deletes it.
        self.second.closeFile(self.tree_second, kept)
        self.assertFalse(os.path.exists(path))

    def test_delete_on_close_between_workers(self):
        path = os.path.join(self.server.share_path, "temporary.txt")
        doomed = self.open(self.first, self.tree_first, "temporary.txt", READ | DELETE, SHARE_ALL,
                           disposition=s3.FILE_OVERWRITE_IF,
                           options=s3.FILE_NON_DIRECTORY_FILE | s3.FILE_DELETE_ON_CLOSE)
        kept = self.open(self.second, self.tree_second, "temporary.txt", READ, SHARE_ALL)
        self.first.closeFile(self.tree_first, doomed)
        self.assertEqual(
            self.refused(self.second, self.tree_second, "temporary.txt", READ, SHARE_ALL),
            nt_errors.STATUS_DELETE_PENDING)
        self.second.closeFile(self.tree_second, kept)
        self.assertFalse(os.path.exists(path))

    def test_killed_worker_opens_go(self):
        self.open(self.first, self.tree_first, "orphan.txt", READ | WRITE, 0,
                  disposition=s3.FILE_OVERWRITE_IF)
        self.assertEqual(
            self.refused(self.second, self.tree_second, "orphan.txt", READ, SHARE_ALL),
            nt_errors.STATUS_SHARING_VIOLATION)
        self.server.expect_signal(signal.SIGKILL)
        os.kill(self.worker_first, signal.SIGKILL)

        def conflicting_open_succeeds():
            try:
                fid = self.open(self.second, self.tree_second, "orphan.txt", READ | WRITE, 0)
            except SessionError as e:
                if e.getErrorCode() != nt_errors.STATUS_SHARING_VIOLATION:
                    raise
                return False
            self.second.closeFile(self.tree_second, fid)
            return True

        smbtest.wait_until(conflicting_open_succeeds,
                           "an open conflicting with the killed worker's succeeds",
                           timeout=CLEANUP_DEADLINE, interval=0.02)


if __name__ == "__main__":
    smbtest.main()
