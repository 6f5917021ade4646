#!/usr/bin/python3
"""A `pmem = yes` share on an ordinary directory (no DAX here: the page cache + msync
path of the pmem backend), driven by smbclient and impacket.

Files of 0 B, 1 B, 1 MiB+1 and 64 MiB go up and down and are compared by sha256 through
SMB and on disk; files are truncated and extended by SET_INFO (end of file, allocation)
and overwritten while another handle of the same connection has them open; overlapping
writes and reads at odd offsets are checked against a model of the file. The share is
put on the disk file system of the temporary directory (not tmpfs) so that the msync
path writes back to a block device. Against Samba (SMBTEST_KIND=samba) the same checks
run as a check of the test; the `pmem` option is then unknown and ignored.

Run: SMBD_BIN=... SMBD_PASSWD_BIN=... /usr/bin/python3 test_pmem.py [-k pattern]
"""

import os
import random
import shutil
import struct
import tempfile
import unittest

from impacket.nt_errors import STATUS_ACCESS_DENIED
from impacket.smb3structs import (FILE_OPEN, FILE_OVERWRITE_IF, FILE_READ_DATA, FILE_SHARE_READ,
                                  FILE_SHARE_WRITE, FILE_WRITE_DATA, SMB2_DIALECT_30,
                                  SMB2_FILE_ALLOCATION_INFO, SMB2_FILE_END_OF_FILE_INFO)
from impacket.smbconnection import SMBConnection, SessionError

import smbtest
from smbtest import Server

FILES = {"empty.bin": 0, "one.bin": 1, "mib1.bin": (1 << 20) + 1, "big.bin": 64 << 20}
SHARE = "pmem"
TIMEOUT = 120
FILE_READ_ATTRIBUTES = 0x80
GENERIC_ALL_DATA = FILE_READ_DATA | FILE_WRITE_DATA | FILE_READ_ATTRIBUTES
SHARE_ALL = FILE_SHARE_READ | FILE_SHARE_WRITE | 0x4


class PmemShare(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        # A disk directory, not the harness's tmpfs. Log level 5: the share's mode
        # (level 2) and that of each file opened (level 5).
        cls.disk = tempfile.mkdtemp(prefix="smbtest-pmem-", dir=os.environ.get("TMPDIR", "/tmp"))
        os.chmod(cls.disk, 0o755)
        cls.share_path = os.path.join(cls.disk, "share")
        cls.server = Server(extra_shares={SHARE: [f"path = {cls.share_path}", "pmem = yes",
                                                   "read only = no", "guest ok = no"]},
                            log_level=5)
        cls.server.start()
        if cls.server.kind == "samba":
            pw = smbtest.ensure_unix_user(cls.server.user)
            os.chown(cls.share_path, pw.pw_uid, pw.pw_gid)
        cls.local = tempfile.mkdtemp(prefix="pmem-client-", dir=smbtest.scratch_root())
        cls.files = {}
        for name, size in FILES.items():
            path = os.path.join(cls.local, name)
            cls.files[name] = (path, smbtest.make_random_file(path, size))

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()
        shutil.rmtree(cls.local, ignore_errors=True)
        shutil.rmtree(cls.disk, ignore_errors=True)

    # -- helpers
    def sc(self, commands, **kw):
        return self.server.smbclient(commands, share=SHARE, timeout=300, **kw)

    def connect(self):
        conn = SMBConnection(self.server.host, self.server.host, sess_port=self.server.port,
                             preferredDialect=SMB2_DIALECT_30, timeout=TIMEOUT)
        conn.login(self.server.user, self.server.password)
        self.addCleanup(conn.close)
        return conn, conn.connectTree(SHARE)

    def on_disk(self, name):
        return os.path.join(self.share_path, name)

    def read_all(self, conn, tid, fid, size):
        data = b""
        while len(data) < size:
            chunk = conn.readFile(tid, fid, len(data), min(size - len(data), 1 << 20))
            if not chunk:
                break
            data += chunk
        return data

    def set_size(self, conn, tid, fid, size, info_class=SMB2_FILE_END_OF_FILE_INFO):
        conn.getSMBServer().setInfo(tid, fid, inputBlob=struct.pack("<q", size),
                                    fileInfoClass=info_class)

    @staticmethod
    def close(conn, tid, fid):
        try:
            conn.closeFile(tid, fid)
        except KeyError:
            # impacket keys its table of opens by name: after the CLOSE succeeded it
            # fails to forget the second handle of one file. The server side is done.
            pass

    def assert_alive(self):
        self.assertTrue(self.server.alive(), "the server exited")

    # -- tests
    def test_log_names_the_mode(self):
        if self.server.kind != "self":
            self.skipTest("the mode is this server's log line")
        log = self.server.log_text()
        self.assertIn(f"share [{SHARE}]: page cache + msync", log,
                      "the share load does not report the msync path (no DAX here)")
        self.sc('put "%s" mode.bin' % self.files["one.bin"][0])
        self.assertTrue("'mode.bin' served from a mapping (page cache + msync)"
                        in self.server.log_text(), "an open of the pmem share is not mapped")
        self.server.smbclient('put "%s" plain.bin' % self.files["one.bin"][0])
        self.assertFalse("'plain.bin' served from a mapping" in self.server.log_text(),
                         "an open of the plain share is mapped")

    def test_files_up_and_down(self):
        for dialect in ("SMB3_11", "SMB2_02"):
            d = f"files-{dialect}"
            self.sc(f"mkdir {d}", dialect=dialect)
            puts = "; ".join(f'put "{path}" {d}\\{name}' for name, (path, _) in self.files.items())
            self.sc(puts, dialect=dialect)
            for name, (path, sha) in self.files.items():
                smbtest.assert_same_file(path, self.on_disk(os.path.join(d, name)),
                                         f"{dialect}: put {name}, on disk")
            down = tempfile.mkdtemp(prefix="pmem-down-", dir=smbtest.scratch_root())
            self.addCleanup(shutil.rmtree, down, True)
            gets = "; ".join(f'get {d}\\{name} "{os.path.join(down, name)}"' for name in FILES)
            self.sc(gets, dialect=dialect)
            for name, (path, sha) in self.files.items():
                got = os.path.join(down, name)
                self.assertEqual(os.path.getsize(got), FILES[name], f"{dialect}: get {name}")
                self.assertEqual(smbtest.sha256_file(got), sha, f"{dialect}: get {name} sha256")
        self.assert_alive()

    def test_overwrite_a_larger_file(self):
        # smbclient's put opens with OVERWRITE_IF: the old data is dropped through the
        # mapping, and the file must not keep the old size.
        big, _ = self.files["mib1.bin"]
        one, one_sha = self.files["one.bin"]
        self.sc(f'put "{big}" over.bin; put "{one}" over.bin')
        self.assertEqual(os.path.getsize(self.on_disk("over.bin")), 1)
        self.assertEqual(smbtest.sha256_file(self.on_disk("over.bin")), one_sha)

    def test_truncate_and_extend(self):
        conn, tid = self.connect()
        data = os.urandom(300001)
        fid = conn.createFile(tid, "sizes.bin", desiredAccess=GENERIC_ALL_DATA,
                              shareMode=SHARE_ALL, creationDisposition=FILE_OVERWRITE_IF)
        conn.writeFile(tid, fid, data, 0)
        self.set_size(conn, tid, fid, 1001)  # shrink by end of file
        self.assertEqual(os.path.getsize(self.on_disk("sizes.bin")), 1001)
        self.assertEqual(self.read_all(conn, tid, fid, 1 << 20), data[:1001])
        self.set_size(conn, tid, fid, 5 << 20)  # extend by end of file: zeros
        self.assertEqual(os.path.getsize(self.on_disk("sizes.bin")), 5 << 20)
        got = self.read_all(conn, tid, fid, 6 << 20)
        self.assertEqual(len(got), 5 << 20)
        self.assertEqual(got[:1001], data[:1001])
        self.assertEqual(got[1001:], bytes((5 << 20) - 1001))
        # An allocation above the size keeps the size; below it, it truncates.
        self.set_size(conn, tid, fid, 8 << 20, SMB2_FILE_ALLOCATION_INFO)
        self.assertEqual(os.path.getsize(self.on_disk("sizes.bin")), 5 << 20)
        self.set_size(conn, tid, fid, 77, SMB2_FILE_ALLOCATION_INFO)
        self.assertEqual(os.path.getsize(self.on_disk("sizes.bin")), 77)
        self.assertEqual(self.read_all(conn, tid, fid, 1 << 20), data[:77])
        self.set_size(conn, tid, fid, 0)
        self.assertEqual(conn.readFile(tid, fid, 0, 10), b"")  # END_OF_FILE
        conn.writeFile(tid, fid, b"tail", 12345)
        self.assertEqual(self.read_all(conn, tid, fid, 1 << 20), bytes(12345) + b"tail")
        conn.getSMBServer().flush(tid, fid)
        conn.closeFile(tid, fid)
        with open(self.on_disk("sizes.bin"), "rb") as f:
            self.assertEqual(f.read(), bytes(12345) + b"tail")

    def test_handles_of_one_file_share_the_data(self):
        conn, tid = self.connect()
        a = conn.createFile(tid, "shared.bin", desiredAccess=GENERIC_ALL_DATA,
                            shareMode=SHARE_ALL, creationDisposition=FILE_OVERWRITE_IF)
        conn.writeFile(tid, a, os.urandom(4 << 20), 0)
        reader = conn.openFile(tid, "shared.bin", desiredAccess=FILE_READ_DATA,
                               shareMode=SHARE_ALL, creationDisposition=FILE_OPEN)
        conn.writeFile(tid, a, b"seen by the other handle", 3)
        self.assertEqual(conn.readFile(tid, reader, 3, 24), b"seen by the other handle")
        # A read-only handle reads but cannot write, even though another handle can.
        with self.assertRaises(SessionError) as cm:
            conn.writeFile(tid, reader, b"x", 0)
        self.assertEqual(cm.exception.getErrorCode(), STATUS_ACCESS_DENIED)
        # Overwriting the file through a third handle while both are open: the others
        # see the new, shorter file (no stale size, no crash).
        b = conn.createFile(tid, "shared.bin", desiredAccess=GENERIC_ALL_DATA,
                            shareMode=SHARE_ALL, creationDisposition=FILE_OVERWRITE_IF)
        self.assertEqual(conn.readFile(tid, reader, 4096, 10), b"")  # END_OF_FILE
        conn.writeFile(tid, b, b"new", 0)
        self.assertEqual(conn.readFile(tid, reader, 0, 100), b"new")
        self.assertEqual(conn.readFile(tid, a, 0, 100), b"new")
        for fid in (a, reader, b):
            self.close(conn, tid, fid)
        self.assertEqual(os.path.getsize(self.on_disk("shared.bin")), 3)
        self.assert_alive()

    def test_overlapping_writes_at_odd_offsets(self):
        conn, tid = self.connect()
        rng = random.Random(1234)
        model = bytearray()
        fid = conn.createFile(tid, "odd.bin", desiredAccess=GENERIC_ALL_DATA,
                              shareMode=SHARE_ALL, creationDisposition=FILE_OVERWRITE_IF)
        for i in range(200):
            # Odd offsets and lengths, overlapping earlier writes, some extending the file
            # past gaps (which read back as zeros), a few bigger than a page or a MiB.
            limit = max(len(model), 1) + (3 << 20 if i % 50 == 7 else 70001)
            offset = rng.randrange(0, limit) | 1
            length = rng.choice([1, 3, 4095, 4097, 65537, 131071, (1 << 20) + 3]) | 1
            data = rng.randbytes(length)
            conn.writeFile(tid, fid, data, offset)
            if offset > len(model):
                model.extend(bytes(offset - len(model)))
            model[offset:offset + length] = data
            if i % 5 == 0:
                at = rng.randrange(0, len(model)) | 1
                n = rng.choice([1, 7, 4097, 65535])
                self.assertEqual(conn.readFile(tid, fid, at, n), bytes(model[at:at + n]),
                                 f"read {n} at {at} after write {i}")
        got = self.read_all(conn, tid, fid, len(model) + 100)
        self.assertEqual(len(got), len(model))
        self.assertEqual(smbtest.sha256_bytes(got), smbtest.sha256_bytes(bytes(model)))
        conn.closeFile(tid, fid)
        self.assertEqual(smbtest.sha256_file(self.on_disk("odd.bin")),
                         smbtest.sha256_bytes(bytes(model)))

    def test_read_only_open_of_a_file_made_outside(self):
        path = self.on_disk("outside.bin")
        data = os.urandom(70000)
        with open(path, "wb") as f:
            f.write(data)
        os.chmod(path, 0o644)
        conn, tid = self.connect()
        fid = conn.openFile(tid, "outside.bin", desiredAccess=FILE_READ_DATA,
                            shareMode=FILE_SHARE_READ, creationDisposition=FILE_OPEN)
        self.assertEqual(self.read_all(conn, tid, fid, 1 << 20), data)
        conn.closeFile(tid, fid)


if __name__ == "__main__":
    smbtest.main()
