#!/usr/bin/python3
"""DOS attributes and creation times kept in Samba's `user.DOSATTRIB` (`store dos
attributes = yes`), through a real client (impacket, SMB 3.0).

Against either server (the Samba run is the reference): FileBasicInformation sets the
attributes (READONLY, HIDDEN, SYSTEM, ARCHIVE) and the creation, write and change times,
and they read back; 0 and -1 change nothing ([MS-FSA] 2.1.5.14.2); READONLY refuses a
write open; a write sets ARCHIVE again, as Windows does.

Against this server only: Samba's smbd and this server serve the same directory one
after the other, and what one stored the other reads back unchanged (both ways); a
corrupt or truncated `user.DOSATTRIB` written on the host gives the attributes Samba
derives (never an error), the file stays usable and a new SET_INFO repairs it.

Run: SMBTEST_KIND=self SMBD_BIN=... SMBD_PASSWD_BIN=... /usr/bin/python3 test_dos_attributes.py
"""

import contextlib
import os
import shutil
import struct
import tempfile
import unittest

from impacket import nt_errors
from impacket import smb3structs as s3
from impacket.smb3 import SessionError
from impacket.smb3structs import SMB2_DIALECT_30
from impacket.smbconnection import SMBConnection

import smbtest
from smbtest import Server

KIND = smbtest.default_kind()
TIMEOUT = 60
SHARE = "dos"
XATTR = "user.DOSATTRIB"

READONLY, HIDDEN, SYSTEM, DIRECTORY, ARCHIVE, NORMAL = 0x1, 0x2, 0x4, 0x10, 0x20, 0x80
FILE_BASIC_INFORMATION = 4
GENERIC_ALL = 0x10000000
FILE_READ_ATTRIBUTES, FILE_WRITE_ATTRIBUTES = 0x80, 0x100
FILE_READ_DATA, FILE_WRITE_DATA = 0x1, 0x2
NO_CHANGE = 0
KEEP = 0xFFFFFFFFFFFFFFFF  # -1

# Times well apart from now and from each other (NT times: 100 ns since 1601).
CREATION = 0x01D5A1B2C3D4E5F0 & ~0xF   # 2019
WRITTEN = 0x01D7C1D2E3F40500             # 2021
ACCESSED = 0x01D8E1F203142500            # 2022


def share_lines(path):
    return [f"path = {path}", "read only = no", "store dos attributes = yes",
            "ea support = yes"]


class Client:
    def __init__(self, server, share=SHARE):
        self.conn = SMBConnection(server.host, server.host, sess_port=server.port,
                                  preferredDialect=SMB2_DIALECT_30, timeout=TIMEOUT)
        self.conn.login(server.user, server.password)
        self.smb = self.conn.getSMBServer()
        self.tid = self.conn.connectTree(share)

    def close(self):
        with contextlib.suppress(Exception):
            self.conn.logoff()

    def open(self, name, access, disposition=s3.FILE_OPEN, directory=False, attributes=0):
        options = s3.FILE_DIRECTORY_FILE if directory else s3.FILE_NON_DIRECTORY_FILE
        return self.smb.create(self.tid, name, access,
                               s3.FILE_SHARE_READ | s3.FILE_SHARE_WRITE | s3.FILE_SHARE_DELETE,
                               options, disposition, attributes)

    def make(self, name, directory=False, data=b"hello\n"):
        fid = self.open(name, GENERIC_ALL, s3.FILE_CREATE, directory)
        if not directory and data:
            self.smb.write(self.tid, fid, data, 0, len(data))
        self.smb.close(self.tid, fid)

    def basic(self, name, directory=False):
        """(creation, access, write, change, attributes) of FileBasicInformation."""
        fid = self.open(name, FILE_READ_ATTRIBUTES, directory=directory)
        try:
            blob = bytes(self.smb.queryInfo(self.tid, fid, infoType=s3.SMB2_0_INFO_FILE,
                                            fileInfoClass=FILE_BASIC_INFORMATION))
        finally:
            self.smb.close(self.tid, fid)
        return struct.unpack_from("<QQQQI", blob)

    def set_basic(self, name, creation=NO_CHANGE, access=NO_CHANGE, write=NO_CHANGE,
                  change=NO_CHANGE, attributes=0, directory=False):
        blob = struct.pack("<QQQQII", creation, access, write, change, attributes, 0)
        fid = self.open(name, FILE_WRITE_ATTRIBUTES | FILE_READ_ATTRIBUTES, directory=directory)
        try:
            self.smb.setInfo(self.tid, fid, blob, infoType=s3.SMB2_0_INFO_FILE,
                             fileInfoClass=FILE_BASIC_INFORMATION)
        finally:
            self.smb.close(self.tid, fid)

    def open_status(self, name, access):
        try:
            fid = self.open(name, access)
        except SessionError as e:
            return e.get_error_code()
        self.smb.close(self.tid, fid)
        return nt_errors.STATUS_SUCCESS

    def read_all(self, name):
        fid = self.open(name, FILE_READ_DATA)
        try:
            return self.smb.read(self.tid, fid, 0, 4096)
        finally:
            self.smb.close(self.tid, fid)


class Basic(unittest.TestCase):
    """The same answers from this server and from Samba."""

    @classmethod
    def setUpClass(cls):
        cls.server = Server(extra_shares={SHARE: share_lines("%(base)s/share")})
        cls.server.start()
        cls.addClassCleanup(cls.server.stop)
        cls.client = Client(cls.server)
        cls.addClassCleanup(cls.client.close)

    def name(self, base):
        return f"{base}-{self._testMethodName}"

    def test_attributes_and_times_read_back(self):
        c, f = self.client, self.name("f")
        c.make(f)
        c.set_basic(f, creation=CREATION, access=ACCESSED, write=WRITTEN,
                    attributes=HIDDEN | SYSTEM | ARCHIVE)
        creation, access, write, _, attrs = c.basic(f)
        self.assertEqual((hex(creation), hex(access), hex(write), hex(attrs)),
                         (hex(CREATION), hex(ACCESSED), hex(WRITTEN),
                          hex(HIDDEN | SYSTEM | ARCHIVE)))
        # 0 and -1 leave every time as it is; attributes 0 leave them too.
        c.set_basic(f, creation=KEEP, access=KEEP, write=KEEP)
        self.assertEqual(c.basic(f)[:3], (CREATION, ACCESSED, WRITTEN))
        self.assertEqual(c.basic(f)[4], HIDDEN | SYSTEM | ARCHIVE)
        # A change time is accepted (the file system keeps its own).
        c.set_basic(f, change=WRITTEN)
        c.set_basic(f, attributes=NORMAL)
        self.assertEqual(c.basic(f)[4], NORMAL)
        self.assertEqual(c.basic(f)[0], CREATION)

    def test_directory(self):
        c, d = self.client, self.name("d")
        c.make(d, directory=True)
        c.set_basic(d, creation=CREATION, attributes=HIDDEN | DIRECTORY, directory=True)
        creation, _, _, _, attrs = c.basic(d, directory=True)
        self.assertEqual((hex(creation), hex(attrs)), (hex(CREATION), hex(HIDDEN | DIRECTORY)))

    def test_readonly_refuses_writing(self):
        c, f = self.client, self.name("f")
        c.make(f)
        c.set_basic(f, attributes=READONLY | ARCHIVE)
        self.assertEqual(c.basic(f)[4], READONLY | ARCHIVE)
        self.assertEqual(hex(c.open_status(f, FILE_WRITE_DATA)),
                         hex(nt_errors.STATUS_ACCESS_DENIED))
        self.assertEqual(c.read_all(f), b"hello\n")
        c.set_basic(f, attributes=NORMAL)
        self.assertEqual(hex(c.open_status(f, FILE_WRITE_DATA)), hex(nt_errors.STATUS_SUCCESS))

    def test_write_sets_archive(self):
        c, f = self.client, self.name("f")
        c.make(f)
        self.assertEqual(c.basic(f)[4], ARCHIVE)
        c.set_basic(f, attributes=HIDDEN)
        self.assertEqual(c.basic(f)[4], HIDDEN)
        fid = c.open(f, FILE_WRITE_DATA)
        c.smb.write(c.tid, fid, b"more", 0, 4)
        c.smb.close(c.tid, fid)
        self.assertEqual(c.basic(f)[4], HIDDEN | ARCHIVE)

    def test_minus_one_stops_write_time_updates(self):
        # [MS-FSA] 2.1.5.14.2: after -1, this open's writes leave LastWriteTime alone;
        # after -2 they change it again.
        c, f = self.client, self.name("f")
        c.make(f)
        c.set_basic(f, write=WRITTEN)
        fid = c.open(f, FILE_WRITE_DATA | FILE_WRITE_ATTRIBUTES | FILE_READ_ATTRIBUTES)
        try:
            blob = struct.pack("<QQQQII", 0, 0, KEEP, 0, 0, 0)
            c.smb.setInfo(c.tid, fid, blob, infoType=s3.SMB2_0_INFO_FILE,
                          fileInfoClass=FILE_BASIC_INFORMATION)
            c.smb.write(c.tid, fid, b"changed", 0, 7)
            info = bytes(c.smb.queryInfo(c.tid, fid, infoType=s3.SMB2_0_INFO_FILE,
                                         fileInfoClass=FILE_BASIC_INFORMATION))
            self.assertEqual(hex(struct.unpack_from("<Q", info, 16)[0]), hex(WRITTEN))
            blob = struct.pack("<QQQQII", 0, 0, KEEP - 1, 0, 0, 0)
            c.smb.setInfo(c.tid, fid, blob, infoType=s3.SMB2_0_INFO_FILE,
                          fileInfoClass=FILE_BASIC_INFORMATION)
            c.smb.write(c.tid, fid, b"again", 0, 5)
        finally:
            c.smb.close(c.tid, fid)
        self.assertNotEqual(hex(c.basic(f)[2]), hex(WRITTEN))

    def test_create_attributes_are_kept(self):
        c, f = self.client, self.name("f")
        fid = c.open(f, GENERIC_ALL, s3.FILE_CREATE, attributes=HIDDEN | SYSTEM)
        c.smb.close(c.tid, fid)
        self.assertEqual(c.basic(f)[4], HIDDEN | SYSTEM | ARCHIVE)


@unittest.skipIf(KIND != "self" or not os.path.exists(smbtest.SAMBA_SMBD),
                 "needs both servers")
class SambaCompatibility(unittest.TestCase):
    """Samba's smbd and this server on one directory, one after the other."""

    @classmethod
    def setUpClass(cls):
        cls.shared = tempfile.mkdtemp(prefix="dos-compat-", dir=smbtest.scratch_root())
        os.chmod(cls.shared, 0o777)
        cls.addClassCleanup(shutil.rmtree, cls.shared, True)

    def server(self, kind):
        return Server(kind=kind, extra_shares={SHARE: share_lines(self.shared)})

    # (name, directory, attributes, creation time, write time)
    CASES = (("plain", False, ARCHIVE, CREATION, WRITTEN),
             ("hidden", False, HIDDEN | SYSTEM, CREATION + 10, WRITTEN + 10),
             ("readonly", False, READONLY | ARCHIVE, CREATION + 20, WRITTEN + 20),
             ("folder", True, HIDDEN | DIRECTORY, CREATION + 30, WRITTEN + 30))

    def store(self, server, prefix):
        c = Client(server)
        try:
            for name, directory, attrs, creation, write in self.CASES:
                c.make(prefix + name, directory=directory)
                c.set_basic(prefix + name, creation=creation, write=write, attributes=attrs,
                            directory=directory)
            return {prefix + n: c.basic(prefix + n, directory=d) for n, d, *_ in self.CASES}
        finally:
            c.close()

    def read_back(self, server, stored):
        c = Client(server)
        try:
            for path, (creation, _, write, _, attrs) in stored.items():
                directory = path.endswith("folder")
                got = c.basic(path, directory=directory)
                self.assertEqual((path, hex(got[0]), hex(got[2]), hex(got[4])),
                                 (path, hex(creation), hex(write), hex(attrs)))
        finally:
            c.close()

    def check_stored(self, stored):
        for path, (creation, _, write, _, attrs) in stored.items():
            name = path.split("-", 1)[1]
            case = next(c for c in self.CASES if c[0] == name)
            self.assertEqual((path, hex(attrs), hex(creation), hex(write)),
                             (path, hex(case[2]), hex(case[3]), hex(case[4])))

    def test_samba_stored_reads_back_here(self):
        with self.server("samba") as samba:
            stored = self.store(samba, "s-")
        self.check_stored(stored)
        for path in stored:
            self.assertIn(XATTR, os.listxattr(os.path.join(self.shared, path)))
        with self.server("self") as ours:
            self.read_back(ours, stored)
            # Samba keeps READONLY in the attribute alone (the mode keeps its write bits):
            # it holds here all the same.
            c = Client(ours)
            try:
                self.assertEqual(hex(c.open_status("s-readonly", FILE_WRITE_DATA)),
                                 hex(nt_errors.STATUS_ACCESS_DENIED))
                self.assertEqual(hex(c.open_status("s-plain", FILE_WRITE_DATA)),
                                 hex(nt_errors.STATUS_SUCCESS))
            finally:
                c.close()

    def test_stored_here_reads_back_through_samba(self):
        with self.server("self") as ours:
            stored = self.store(ours, "o-")
        self.check_stored(stored)
        with self.server("samba") as samba:
            self.read_back(samba, stored)


@unittest.skipIf(KIND != "self", "this server's own handling")
class BadStoredValues(unittest.TestCase):
    """What a broken user.DOSATTRIB on the host gives: the derived attributes."""

    @classmethod
    def setUpClass(cls):
        cls.server = Server(extra_shares={SHARE: share_lines("%(base)s/share")})
        cls.server.start()
        cls.addClassCleanup(cls.server.stop)
        cls.root = os.path.join(cls.server.base, "share")
        cls.client = Client(cls.server)
        cls.addClassCleanup(cls.client.close)

    def check_value(self, name, value):
        c = self.client
        c.make(name)
        c.set_basic(name, attributes=HIDDEN | SYSTEM)
        os.setxattr(os.path.join(self.root, name), XATTR, value)
        # As if nothing were stored: ARCHIVE for a file.
        self.assertEqual(c.basic(name)[4], ARCHIVE)
        self.assertEqual(c.read_all(name), b"hello\n")
        c.set_basic(name, attributes=HIDDEN)
        self.assertEqual(c.basic(name)[4], HIDDEN)
        value = os.getxattr(os.path.join(self.root, name), XATTR)
        self.assertEqual(value[:8], bytes.fromhex("0000050005000000"))

    def test_garbage(self):
        self.check_value("garbage", b"\xff" * 40)

    def test_truncated(self):
        good = bytes.fromhex("000005000500000011000000200000000de52b193986dd01")
        for n in (1, 5, 9, 13, 23):
            with self.subTest(n=n):
                self.check_value(f"truncated{n}", good[:n])

    def test_unknown_version(self):
        self.check_value("version9",
                         bytes.fromhex("000009000900000011000000200000000de52b193986dd01"))

    def test_sparse_is_not_set_by_basic_information(self):
        # [MS-FSA] 2.1.5.14.2 leaves SPARSE to FSCTL_SET_SPARSE.
        c = self.client
        c.make("sparse")
        c.set_basic("sparse", attributes=ARCHIVE | 0x200)
        self.assertEqual(c.basic("sparse")[4], ARCHIVE)

    def test_oversized(self):
        self.check_value("oversized", b"0x22\0" + b"\x01" * 4000)


if __name__ == "__main__":
    smbtest.main()
