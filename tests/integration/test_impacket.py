#!/usr/bin/python3
"""impacket's SMBConnection against the server over SMB 2.0.2, 2.1 and 3.0.

impacket negotiates 3.1.1 when asked but its file operations are not usable there, and it
refuses 3.0.2 itself, so it serves as a 2.x/3.0 client. Run with the system python3.

Run: SMBTEST_KIND=samba /usr/bin/python3 test_impacket.py
"""

import io
import os
import shutil
import tempfile
import unittest

from impacket.smb3structs import SMB2_DIALECT_002, SMB2_DIALECT_21, SMB2_DIALECT_30
from impacket.smbconnection import SMBConnection, SessionError
from impacket.nt_errors import STATUS_LOGON_FAILURE, STATUS_OBJECT_NAME_NOT_FOUND

import smbtest
from smbtest import Server

DIALECTS = {"2_0_2": SMB2_DIALECT_002, "2_1": SMB2_DIALECT_21, "3_0": SMB2_DIALECT_30}
FILES = {"empty.bin": 0, "one.bin": 1, "mib1.bin": (1 << 20) + 1, "four.bin": 4 << 20}
TIMEOUT = 60


class Impacket(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = Server()
        cls.server.start()
        cls.local = tempfile.mkdtemp(prefix="impacket-", dir=smbtest.scratch_root())
        cls.files = {}
        for name, size in FILES.items():
            path = os.path.join(cls.local, name)
            cls.files[name] = (path, smbtest.make_random_file(path, size))

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()
        shutil.rmtree(cls.local, ignore_errors=True)

    def connect(self, dialect, password=None):
        conn = SMBConnection(self.server.host, self.server.host, sess_port=self.server.port,
                             preferredDialect=dialect, timeout=TIMEOUT)
        conn.login(self.server.user, self.server.password if password is None else password)
        return conn

    def test_wrong_password(self):
        for label, dialect in DIALECTS.items():
            with self.assertRaises(SessionError, msg=f"{label}: wrong password accepted") as cm:
                self.connect(dialect, password="wrong-password")
            self.assertEqual(cm.exception.getErrorCode(), STATUS_LOGON_FAILURE,
                             f"{label}: wrong password gave {cm.exception}")

    def test_default_constructor(self):
        """impacket's SMBConnection with no preferred dialect starts with an SMB1
        multi-protocol NEGOTIATE; the SMB2 NEGOTIATE after the wildcard answer carries
        MessageId 1 (MS-SMB2 3.3.5.3.1). The connection must log in and move a file."""
        conn = SMBConnection(self.server.host, self.server.host, sess_port=self.server.port,
                             timeout=TIMEOUT)
        try:
            conn.login(self.server.user, self.server.password)
            self.assertGreaterEqual(conn.getDialect(), SMB2_DIALECT_002,
                                    f"negotiated {conn.getDialect():#x}")
            path, sha = self.files["mib1.bin"]
            with open(path, "rb") as f:
                conn.putFile(self.server.share, "default-ctor.bin", f.read)
            buf = io.BytesIO()
            conn.getFile(self.server.share, "default-ctor.bin", buf.write)
            self.assertEqual(smbtest.sha256_bytes(buf.getvalue()), sha, "round trip")
            conn.deleteFile(self.server.share, "default-ctor.bin")
        finally:
            conn.close()

    def test_list_shares(self):
        conn = self.connect(SMB2_DIALECT_30)
        try:
            names = [s["shi1_netname"][:-1] for s in conn.listShares()]
        finally:
            conn.logoff()
            conn.close()
        self.assertIn(self.server.share, names, f"listShares: {names}")
        self.assertIn("IPC$", names, f"listShares: {names}")


def _file_ops(label, dialect):
    def test(self):
        conn = self.connect(dialect)
        try:
            self.assertEqual(conn.getDialect(), dialect,
                             f"{label}: negotiated {conn.getDialect():#x}")
            share, root = self.server.share, self.server.share_path
            d = f"dir-{label}"
            conn.createDirectory(share, d)
            self.assertTrue(os.path.isdir(os.path.join(root, d)), f"{label}: createDirectory")

            for name, (path, _sha) in self.files.items():
                with open(path, "rb") as f:
                    conn.putFile(share, f"{d}\\{name}", f.read)
                smbtest.assert_same_file(path, os.path.join(root, d, name),
                                         f"{label}: putFile {name}")

            listing = {e.get_longname(): e.get_filesize() for e in
                       conn.listPath(share, f"{d}\\*")}
            for name, size in FILES.items():
                self.assertEqual(listing.get(name), size, f"{label}: listPath {listing}")
            self.assertEqual(set(listing) - {".", ".."}, set(FILES), f"{label}: listPath")

            for name, (_path, sha) in self.files.items():
                buf = io.BytesIO()
                conn.getFile(share, f"{d}\\{name}", buf.write)
                self.assertEqual(smbtest.sha256_bytes(buf.getvalue()), sha,
                                 f"{label}: getFile {name} ({len(buf.getvalue())} B)")

            conn.rename(share, f"{d}\\one.bin", f"{d}\\renamed.bin")
            self.assertFalse(os.path.exists(os.path.join(root, d, "one.bin")),
                             f"{label}: rename left the old name")
            smbtest.assert_same_file(self.files["one.bin"][0],
                                     os.path.join(root, d, "renamed.bin"), f"{label}: rename")
            with self.assertRaises(SessionError, msg=f"{label}: old name still opens") as cm:
                conn.getFile(share, f"{d}\\one.bin", io.BytesIO().write)
            self.assertEqual(cm.exception.getErrorCode(), STATUS_OBJECT_NAME_NOT_FOUND,
                             f"{label}: open of a renamed file: {cm.exception}")

            for name in ["renamed.bin"] + [n for n in FILES if n != "one.bin"]:
                conn.deleteFile(share, f"{d}\\{name}")
            self.assertEqual(os.listdir(os.path.join(root, d)), [], f"{label}: deleteFile")

            conn.deleteDirectory(share, d)
            self.assertFalse(os.path.exists(os.path.join(root, d)), f"{label}: deleteDirectory")
        finally:
            conn.logoff()
            conn.close()
    test.__doc__ = f"impacket file operations over SMB {label.replace('_', '.')}"
    return test


for _label, _dialect in DIALECTS.items():
    setattr(Impacket, f"test_files_{_label}", _file_ops(_label, _dialect))


if __name__ == "__main__":
    smbtest.main()
