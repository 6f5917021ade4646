#!/usr/bin/python3
"""NT extended attributes kept as `user.` xattrs (`ea support = yes`), through a real
client (impacket, SMB 3.0, with raw QUERY_INFO requests where a small buffer or the
query flags matter).

Against either server (the Samba run is the reference): EAs given with a CREATE (the
ExtA context) and by SET_INFO FileFullEaInformation read back through QUERY_INFO
FileFullEaInformation, with and without a list of names; an empty value removes an EA;
FileEaInformation's EaSize is the size of the whole list; a file without EAs answers
NO_EAS_ON_FILE; a name Windows refuses is INVALID_EA_NAME.

Against this server only: a query naming EAs ([MS-FSA]: those, in order; Samba 4.17
answers with all of the file's), the scan of a file's EAs one at a time (SL_RETURN_SINGLE_ENTRY,
SL_RESTART_SCAN, NO_MORE_EAS past the last) and a buffer too small for the first; a
looping or truncated EA list from the wire is INVALID_PARAMETER and the file stays
usable; EAs set through Samba on a directory read back here unchanged, and the other
way round; xattrs written on the host show as EAs, Samba's own do not.

Run: SMBTEST_KIND=self SMBD_BIN=... SMBD_PASSWD_BIN=... /usr/bin/python3 test_eas.py
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
SHARE = "eas"

FILE_EA_INFORMATION, FILE_FULL_EA_INFORMATION = 7, 15
GENERIC_ALL = 0x10000000
FILE_READ_EA, FILE_WRITE_EA, FILE_READ_ATTRIBUTES = 0x8, 0x10, 0x80
SL_RESTART_SCAN, SL_RETURN_SINGLE_ENTRY = 0x1, 0x2

OK = nt_errors.STATUS_SUCCESS
NO_EAS_ON_FILE = 0xC0000052
NO_MORE_EAS = 0x80000012
INVALID_EA_NAME = 0x80000013
BUFFER_OVERFLOW = 0x80000005
BUFFER_TOO_SMALL = 0xC0000023
INVALID_PARAMETER = 0xC000000D


def ea_list(eas, pad_last=False):
    """FILE_FULL_EA_INFORMATION ([MS-FSCC] 2.4.15) of [(name, value)]."""
    out = b""
    for i, (name, value) in enumerate(eas):
        name = name.encode()
        entry = struct.pack("<IBBH", 0, 0, len(name), len(value)) + name + b"\0" + value
        last = i + 1 == len(eas)
        if not last or pad_last:
            entry += b"\0" * (-len(entry) % 4)
        if not last:
            entry = struct.pack("<I", len(entry)) + entry[4:]
        out += entry
    return out


def get_ea_list(names):
    """FILE_GET_EA_INFORMATION ([MS-FSCC] 2.4.15.1) of names."""
    out = b""
    for i, name in enumerate(names):
        name = name.encode()
        entry = struct.pack("<IB", 0, len(name)) + name + b"\0"
        if i + 1 < len(names):
            entry += b"\0" * (-len(entry) % 4)
            entry = struct.pack("<I", len(entry)) + entry[4:]
        out += entry
    return out


def parse_eas(blob):
    out, offset = [], 0
    while True:
        nxt, _, nlen, vlen = struct.unpack_from("<IBBH", blob, offset)
        name = blob[offset + 8:offset + 8 + nlen].decode()
        value = blob[offset + 9 + nlen:offset + 9 + nlen + vlen]
        out.append((name, bytes(value)))
        if nxt == 0:
            return out
        offset += nxt


class ExtA:
    """The ExtA create context (MS-SMB2 2.2.13.2) holding an EA list."""

    def __init__(self, data):
        self.data = data

    def getData(self):
        name = b"ExtA"
        # Next, NameOffset, NameLength, Reserved, DataOffset, DataLength; name padded to 8.
        head = struct.pack("<IHHHHI", 0, 16, len(name), 0, 24, len(self.data))
        return head + name + b"\0" * 4 + self.data


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

    def open(self, name, access=GENERIC_ALL, disposition=s3.FILE_OPEN, contexts=None,
             directory=False):
        options = s3.FILE_DIRECTORY_FILE if directory else s3.FILE_NON_DIRECTORY_FILE
        return self.smb.create(self.tid, name, access,
                               s3.FILE_SHARE_READ | s3.FILE_SHARE_WRITE | s3.FILE_SHARE_DELETE,
                               options, disposition, 0, createContexts=contexts)

    def make(self, name, eas=None, directory=False):
        contexts = [ExtA(ea_list(eas, pad_last=True))] if eas else None
        fid = self.open(name, GENERIC_ALL, s3.FILE_CREATE, contexts, directory)
        self.smb.close(self.tid, fid)

    def status(self, call):
        try:
            call()
        except SessionError as e:
            return e.get_error_code()
        return OK

    def query(self, name, cls, input_blob=b"", flags=0, length=65535, directory=False):
        """(status, output) of a raw QUERY_INFO on a fresh open of `name`."""
        fid = self.open(name, FILE_READ_EA | FILE_READ_ATTRIBUTES, directory=directory)
        try:
            return self.query_fid(fid, cls, input_blob, flags, length)
        finally:
            self.smb.close(self.tid, fid)

    def query_fid(self, fid, cls, input_blob=b"", flags=0, length=65535):
        packet = self.smb.SMB_PACKET()
        packet["Command"] = s3.SMB2_QUERY_INFO
        packet["TreeID"] = self.tid
        q = s3.SMB2QueryInfo()
        q["FileID"] = fid
        q["InfoType"] = s3.SMB2_0_INFO_FILE
        q["FileInfoClass"] = cls
        q["OutputBufferLength"] = length
        if input_blob:
            q["InputBufferLength"] = len(input_blob)
            q["Buffer"] = input_blob
        else:
            q["InputBufferOffset"] = 0
            q["Buffer"] = b"\x00"
        q["Flags"] = flags
        packet["Data"] = q
        ans = self.smb.recvSMB(self.smb.sendSMB(packet))
        status = ans["Status"]
        if status in (OK, BUFFER_OVERFLOW):
            return status, bytes(s3.SMB2QueryInfo_Response(ans["Data"])["Buffer"])
        return status, b""

    def eas(self, name, names=None, directory=False):
        status, out = self.query(name, FILE_FULL_EA_INFORMATION,
                                 get_ea_list(names) if names else b"", SL_RESTART_SCAN,
                                 directory=directory)
        if status == NO_EAS_ON_FILE:
            return []
        assert status == OK, hex(status)
        return parse_eas(out)

    def ea_size(self, name):
        status, out = self.query(name, FILE_EA_INFORMATION)
        assert status == OK, hex(status)
        return struct.unpack("<I", out)[0]

    def set_eas(self, name, blob, directory=False):
        fid = self.open(name, FILE_WRITE_EA | FILE_READ_EA, directory=directory)
        try:
            self.smb.setInfo(self.tid, fid, blob, infoType=s3.SMB2_0_INFO_FILE,
                             fileInfoClass=FILE_FULL_EA_INFORMATION)
        finally:
            self.smb.close(self.tid, fid)


def share_lines(path):
    return [f"path = {path}", "read only = no", "ea support = yes",
            "store dos attributes = yes"]


class Base(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = Server(extra_shares={SHARE: share_lines("%(base)s/share")})
        cls.server.start()
        cls.addClassCleanup(cls.server.stop)
        cls.root = os.path.join(cls.server.base, "share")
        cls.client = Client(cls.server)
        cls.addClassCleanup(cls.client.close)

    def name(self, base):
        return f"{base}-{self._testMethodName}"


class Eas(Base):
    """The same answers from this server and from Samba."""

    def test_create_with_eas(self):
        c, f = self.client, self.name("f")
        eas = [("EAONE", b"VALUE1"), ("SECONDEA", b"ValueTwo")]
        c.make(f, eas)
        self.assertEqual(sorted(c.eas(f)), sorted(eas))
        # The whole list as the file system orders it, the last entry unpadded.
        self.assertEqual(c.ea_size(f), len(ea_list(c.eas(f))))

    def test_set_replace_and_remove(self):
        c, f = self.client, self.name("f")
        c.make(f)
        self.assertEqual(c.eas(f), [])
        self.assertEqual(c.ea_size(f), 0)
        c.set_eas(f, ea_list([("alpha", b"1"), ("beta", b"\x00\xff binary")]))
        self.assertEqual(sorted(c.eas(f)), [("alpha", b"1"), ("beta", b"\x00\xff binary")])
        c.set_eas(f, ea_list([("alpha", b"replaced")]))
        c.set_eas(f, ea_list([("beta", b"")]))  # an empty value removes the EA
        self.assertEqual(c.eas(f), [("alpha", b"replaced")])
        c.set_eas(f, ea_list([("alpha", b"")]))
        self.assertEqual(hex(c.query(f, FILE_FULL_EA_INFORMATION)[0]), hex(NO_EAS_ON_FILE))

    def test_directory(self):
        c, d = self.client, self.name("d")
        c.make(d, directory=True)
        c.set_eas(d, ea_list([("dirattr", b"on a directory")]), directory=True)
        self.assertEqual(c.eas(d, directory=True), [("dirattr", b"on a directory")])

    def test_invalid_name(self):
        c, f = self.client, self.name("f")
        c.make(f)
        for bad in ("a*b", "a:b", "a?b", "a|b"):
            with self.subTest(name=bad):
                self.assertEqual(hex(c.status(lambda: c.set_eas(f, ea_list([(bad, b"x")])))),
                                 hex(INVALID_EA_NAME))
        self.assertEqual(c.eas(f), [])


@unittest.skipIf(KIND != "self", "this server's own handling")
class OwnHandling(Base):
    def test_query_by_name(self):
        # [MS-FSA]: the EAs named, in the list's order, a missing one with an empty
        # value (Samba 4.17 answers with the file's EAs whatever the list names).
        c, f = self.client, self.name("f")
        c.make(f, [("one", b"1"), ("two", b"22")])
        self.assertEqual(c.eas(f, names=["two", "missing"]), [("two", b"22"), ("missing", b"")])

    def test_scan_one_at_a_time(self):
        c, f = self.client, self.name("f")
        c.make(f, [("first", b"1"), ("second", b"2"), ("third", b"3")])
        fid = c.open(f, FILE_READ_EA)
        try:
            seen = []
            status, out = c.query_fid(fid, FILE_FULL_EA_INFORMATION,
                                      flags=SL_RESTART_SCAN | SL_RETURN_SINGLE_ENTRY)
            while status == OK:
                seen += parse_eas(out)
                status, out = c.query_fid(fid, FILE_FULL_EA_INFORMATION,
                                          flags=SL_RETURN_SINGLE_ENTRY)
            self.assertEqual(hex(status), hex(NO_MORE_EAS))
            self.assertEqual(sorted(seen), [("first", b"1"), ("second", b"2"), ("third", b"3")])
            # Too small for the first entry; room for one of three.
            status, _ = c.query_fid(fid, FILE_FULL_EA_INFORMATION, flags=SL_RESTART_SCAN,
                                    length=8)
            self.assertEqual(hex(status), hex(BUFFER_TOO_SMALL))
            status, out = c.query_fid(fid, FILE_FULL_EA_INFORMATION, flags=SL_RESTART_SCAN,
                                      length=16)
            self.assertEqual(hex(status), hex(BUFFER_OVERFLOW))
            self.assertEqual(len(parse_eas(out)), 1)
        finally:
            c.smb.close(c.tid, fid)

    def test_looping_and_truncated_lists(self):
        c, f = self.client, self.name("f")
        c.make(f, [("kept", b"yes")])
        one = ea_list([("loop", b"x")], pad_last=True)
        looping = struct.pack("<I", 4) + one[4:]          # next entry inside this one
        backwards = struct.pack("<I", 0xFFFFFFFC) + one[4:]
        for blob in (looping, backwards, one[:10], one[:4], b""):
            with self.subTest(blob=blob.hex()):
                status = c.status(lambda: c.set_eas(f, blob))
                self.assertIn(hex(status), (hex(INVALID_PARAMETER),
                                            hex(nt_errors.STATUS_INFO_LENGTH_MISMATCH)))
        status = c.status(lambda: c.smb.close(
            c.tid, c.open(f + "-new", GENERIC_ALL, s3.FILE_CREATE, [ExtA(looping)])))
        self.assertEqual(hex(status), hex(INVALID_PARAMETER))
        self.assertEqual(hex(c.status(lambda: c.open(f + "-new"))),
                         hex(nt_errors.STATUS_OBJECT_NAME_NOT_FOUND))
        # A looping list of names to query.
        names = struct.pack("<IB", 0, 1) + b"k\0"
        names = struct.pack("<I", 2) + names[4:]
        status, _ = c.query(f, FILE_FULL_EA_INFORMATION, names)
        self.assertEqual(hex(status), hex(INVALID_PARAMETER))
        self.assertEqual(c.eas(f), [("kept", b"yes")])

    def test_host_xattrs(self):
        c, f = self.client, self.name("f")
        c.make(f)
        path = os.path.join(self.root, f)
        os.setxattr(path, "user.FromHost", b"host value")
        os.setxattr(path, "user.DosStream.s:$DATA", b"stream\0")
        names = [n for n, _ in c.eas(f)]
        self.assertEqual(names, ["FromHost"])
        # Stored as Samba stores them: "user." and the name as given.
        c.set_eas(f, ea_list([("Client.Name", b"v")]))
        self.assertEqual(os.getxattr(path, "user.Client.Name"), b"v")
        # Samba's own attributes cannot be set as EAs.
        self.assertEqual(hex(c.status(lambda: c.set_eas(f, ea_list([("DOSATTRIB", b"x")])))),
                         hex(nt_errors.STATUS_ACCESS_DENIED))


@unittest.skipIf(KIND != "self" or not os.path.exists(smbtest.SAMBA_SMBD),
                 "needs both servers")
class SambaCompatibility(unittest.TestCase):
    """Samba's smbd and this server on one directory, one after the other."""

    EAS = [("EAONE", b"VALUE1"), ("Second.EA", b"\x01\x02\x00binary"), ("big", b"x" * 3000)]

    @classmethod
    def setUpClass(cls):
        cls.shared = tempfile.mkdtemp(prefix="ea-compat-", dir=smbtest.scratch_root())
        os.chmod(cls.shared, 0o777)
        cls.addClassCleanup(shutil.rmtree, cls.shared, True)

    def server(self, kind):
        return Server(kind=kind, extra_shares={SHARE: share_lines(self.shared)})

    def store(self, server, prefix):
        c = Client(server)
        try:
            c.make(prefix + "file", self.EAS)
            c.make(prefix + "dir", directory=True)
            c.set_eas(prefix + "dir", ea_list(self.EAS[:2]), directory=True)
            return {prefix + "file": sorted(c.eas(prefix + "file")),
                    prefix + "dir": sorted(c.eas(prefix + "dir", directory=True))}
        finally:
            c.close()

    def read_back(self, server, stored):
        c = Client(server)
        try:
            for path, eas in stored.items():
                got = sorted(c.eas(path, directory=path.endswith("dir")))
                self.assertEqual((path, got), (path, eas))
        finally:
            c.close()

    def test_samba_stored_reads_back_here(self):
        with self.server("samba") as samba:
            stored = self.store(samba, "s-")
        self.assertEqual(stored["s-file"], sorted(self.EAS))
        with self.server("self") as ours:
            self.read_back(ours, stored)

    def test_stored_here_reads_back_through_samba(self):
        with self.server("self") as ours:
            stored = self.store(ours, "o-")
        self.assertEqual(stored["o-file"], sorted(self.EAS))
        with self.server("samba") as samba:
            self.read_back(samba, stored)


if __name__ == "__main__":
    smbtest.main()
