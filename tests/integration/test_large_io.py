#!/usr/bin/python3
"""READ and WRITE of exactly the negotiated maximum size over TCP, and of one byte more.

For every dialect with large MTU (2.1, 3.0, 3.0.2, 3.1.1) impacket (impacket_raw.Client)
sends single READ and WRITE requests of the length chosen here, charging the credits
[MS-SMB2] 3.1.5.2 asks for. The server configures `smb2 max read` / `smb2 max write`; the
NEGOTIATE answer must announce them, a request of exactly that length must move the data
(compared byte for byte with the file on disk, both directions), and a request one byte
longer must fail with STATUS_INVALID_PARAMETER ([MS-SMB2] 3.3.5.12, 3.3.5.13) without
touching the file and without costing the connection.

Run: SMBTEST_KIND=samba /usr/bin/python3 test_large_io.py
"""

import hashlib
import os
import unittest

from impacket import smb3structs as s3

import impacket_raw as raw
import smbtest
from smbtest import Server

MIB = 1 << 20


class LargeIo(unittest.TestCase):
    maximum = 8 * MIB  # the default of both servers, written out so the test states it

    @classmethod
    def setUpClass(cls):
        cls.server = Server(extra_global=[f"smb2 max read = {cls.maximum}",
                                          f"smb2 max write = {cls.maximum}"])
        cls.server.start()

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()

    def local(self, name):
        return os.path.join(self.server.share_path, name)

    def on_disk(self, name):
        with open(self.local(name), "rb") as f:
            return f.read()

    def check(self, dialect):
        label = raw.DIALECT_NAMES[dialect]
        n = self.maximum
        client = raw.connect(self.server, dialect)
        try:
            self.assertEqual(client.dialect, dialect, f"{label}: negotiated {client.dialect:#x}")
            negotiated = client.negotiate_response
            self.assertEqual((negotiated["MaxReadSize"], negotiated["MaxWriteSize"]), (n, n),
                             f"{label}: MaxReadSize/MaxWriteSize in the NEGOTIATE answer")
            tid = client.connectTree(self.server.share)

            # READ: a file longer than the maximum, read at 0 and at an odd offset.
            source = os.urandom(n + 8191)
            name = f"read-{label}.bin"
            with open(self.local(name), "wb") as f:
                f.write(source)
            status, fid = client.open(tid, name, raw.READ_ACCESS)
            self.assertEqual(status, raw.STATUS_SUCCESS, f"{label}: open {name}")
            for offset in (0, 4095):
                status, data = client.read_raw(tid, fid, offset, n)
                self.assertEqual(status, raw.STATUS_SUCCESS,
                                 f"{label}: READ of {n} B at {offset}: {raw.status_name(status)}")
                self.assertEqual(len(data), n, f"{label}: READ of {n} B at {offset} length")
                self.assertTrue(data == source[offset:offset + n],
                                f"{label}: READ of {n} B at {offset} differs from the file")
            status, data = client.read_raw(tid, fid, 0, n + 1)
            self.assertEqual(status, raw.STATUS_INVALID_PARAMETER,
                             f"{label}: READ of {n + 1} B answered {raw.status_name(status)}")
            self.assertEqual(data, b"")
            client.close_file(tid, fid)

            # WRITE: exactly the maximum at an odd offset, then read back through SMB.
            payload = os.urandom(n)
            name = f"write-{label}.bin"
            status, fid = client.open(tid, name, raw.READ_ACCESS | raw.FILE_WRITE_DATA,
                                      s3.FILE_OVERWRITE_IF)
            self.assertEqual(status, raw.STATUS_SUCCESS, f"{label}: create {name}")
            status, count = client.write_raw(tid, fid, 4095, payload)
            self.assertEqual((raw.status_name(status), count),
                             (raw.status_name(raw.STATUS_SUCCESS), n),
                             f"{label}: WRITE of {n} B")
            expected = b"\0" * 4095 + payload
            self.assertEqual(hashlib.sha256(self.on_disk(name)).hexdigest(),
                             hashlib.sha256(expected).hexdigest(),
                             f"{label}: the file after a WRITE of {n} B")
            status, data = client.read_raw(tid, fid, 4095, n)
            self.assertEqual(status, raw.STATUS_SUCCESS, f"{label}: READ back")
            self.assertTrue(data == payload, f"{label}: READ back differs from the WRITE")

            status, count = client.write_raw(tid, fid, 0, os.urandom(n + 1))
            self.assertEqual(status, raw.STATUS_INVALID_PARAMETER,
                             f"{label}: WRITE of {n + 1} B answered {raw.status_name(status)}")
            self.assertTrue(self.on_disk(name) == expected,
                            f"{label}: a refused WRITE of {n + 1} B changed the file")
            client.close_file(tid, fid)

            # The refusals cost neither the session nor the connection.
            status, _ = client.request(s3.SMB2_ECHO, s3.SMB2Echo())
            self.assertEqual(status, raw.STATUS_SUCCESS, f"{label}: ECHO after the refusals")
            client.disconnectTree(tid)
        finally:
            client.disconnect()


def _dialect_test(dialect):
    def test(self):
        self.check(dialect)
    test.__doc__ = f"READ/WRITE of the maximum and one byte more over SMB {raw.DIALECT_NAMES[dialect]}"
    return test


for _d in raw.LARGE_MTU_DIALECTS:
    setattr(LargeIo, f"test_{raw.DIALECT_NAMES[_d].replace('.', '_')}", _dialect_test(_d))


class SmallerMaximum(LargeIo):
    """A configured maximum below the default is the one announced and enforced."""
    maximum = MIB


if __name__ == "__main__":
    smbtest.main()
