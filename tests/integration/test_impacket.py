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

from impacket.dcerpc.v5 import srvs, transport
from impacket.dcerpc.v5.rpcrt import DCERPCException
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


ERROR_ACCESS_DENIED = 5
ADMIN_USER, ADMIN_PASSWORD = "smbadmin", "Adm1n-test-pw"


class SharePaths(unittest.TestCase):
    """srvsvc share-info levels 2 and 502 carry a share's local path: only administrators
    (`admin users`) get them, as on Windows; everyone else gets ERROR_ACCESS_DENIED."""

    @classmethod
    def setUpClass(cls):
        if smbtest.default_kind() != "self":
            raise unittest.SkipTest("the rule of this server and Windows, not Samba's")
        smbtest.ensure_unix_user(ADMIN_USER)
        cls.server = Server(extra_users={ADMIN_USER: ADMIN_PASSWORD},
                            extra_global=[f"admin users = {ADMIN_USER}"])
        cls.server.start()

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()

    def srvsvc(self, user, password):
        conn = SMBConnection(self.server.host, self.server.host, sess_port=self.server.port,
                             preferredDialect=SMB2_DIALECT_30, timeout=TIMEOUT)
        conn.login(user, password)
        rpc = transport.SMBTransport(self.server.host, self.server.port, r"\srvsvc",
                                     smb_connection=conn)
        dce = rpc.get_dce_rpc()
        dce.connect()
        dce.bind(srvs.MSRPC_UUID_SRVS)
        return conn, dce

    def test_users_get_no_paths(self):
        conn, dce = self.srvsvc(self.server.user, self.server.password)
        try:
            for level in (2, 502):
                with self.assertRaises(DCERPCException, msg=f"NetShareEnum {level}") as cm:
                    srvs.hNetrShareEnum(dce, level)
                self.assertEqual(cm.exception.get_error_code(), ERROR_ACCESS_DENIED,
                                 f"NetShareEnum level {level}: {cm.exception}")
                with self.assertRaises(DCERPCException, msg=f"NetShareGetInfo {level}") as cm:
                    srvs.hNetrShareGetInfo(dce, self.server.share + "\x00", level)
                self.assertEqual(cm.exception.get_error_code(), ERROR_ACCESS_DENIED,
                                 f"NetShareGetInfo level {level}: {cm.exception}")
            # Names and comments stay visible.
            resp = srvs.hNetrShareEnum(dce, 1)
            names = [e["shi1_netname"][:-1] for e in resp["InfoStruct"]["ShareInfo"]["Level1"]["Buffer"]]
            self.assertIn(self.server.share, names)
        finally:
            dce.disconnect()
            conn.close()

    def test_admins_get_paths(self):
        conn, dce = self.srvsvc(ADMIN_USER, ADMIN_PASSWORD)
        try:
            resp = srvs.hNetrShareGetInfo(dce, self.server.share + "\x00", 2)
            path = resp["InfoStruct"]["ShareInfo2"]["shi2_path"][:-1]
            self.assertTrue(path.replace("\\", "/").endswith(self.server.share_path),
                            f"shi2_path {path!r}")
            resp = srvs.hNetrShareEnum(dce, 502)
            entries = resp["InfoStruct"]["ShareInfo"]["Level502"]["Buffer"]
            self.assertTrue(any(e["shi502_path"][:-1] for e in entries), "no path in level 502")
        finally:
            dce.disconnect()
            conn.close()


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
