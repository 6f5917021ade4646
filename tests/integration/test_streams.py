#!/usr/bin/python3
"""Named streams (`vfs objects = streams_xattr`) through a real client (impacket, SMB 3.0).

Against either server (the Samba run is the reference): a stream written through
"file:name" reads back byte for byte, also as "file:NAME:$DATA"; FileStreamInformation
lists "::$DATA" and every stream with its size; a stream name holding '/' or '\\', or an
empty type or a third ':', is OBJECT_NAME_INVALID, another type than $DATA
INVALID_PARAMETER, a name longer than a Linux xattr name is refused (INVALID_PARAMETER
here, OBJECT_NAME_NOT_FOUND from Samba), and the file stays usable.

Samba's smbd and this server one after the other on one directory: two streams written
through one read back through the other, both ways.

A stream cannot be made on a file whose mode keeps the user from writing it (the
attributes are written as the user).

Against this server only: two clients in two workers writing interleaved slots of one
stream at once lose none of them (each change rewrites the whole attribute, under a lock
on the file that both workers see); stream attributes written on the host that are empty, have
no trailing NUL or are cut short give a clear status (or Samba's reading of them), never
a crash, and the file stays usable; on a share without the module a ":" is
OBJECT_NAME_INVALID.

Run: SMBTEST_KIND=self SMBD_BIN=... SMBD_PASSWD_BIN=... /usr/bin/python3 test_streams.py
"""

import os
import shutil
import struct
import tempfile
import threading
import unittest

from impacket import smb3structs as s3
from impacket.smb3 import SessionError

import smbtest
from smbtest import Server
from test_eas import Client as EaClient
from test_eas import share_lines as ea_share_lines

KIND = smbtest.default_kind()
SHARE = "streams"
PLAIN_SHARE = "plain"
FILE_STREAM_INFORMATION = 22
OBJECT_NAME_INVALID = 0xC0000033
OBJECT_NAME_NOT_FOUND = 0xC0000034
INVALID_PARAMETER = 0xC000000D
ACCESS_DENIED = 0xC0000022
GENERIC_ALL = 0x10000000
FILE_GENERIC_READ = 0x00120089
PREFIX = "user.DosStream."


def share_lines(path):
    return ea_share_lines(path) + ["vfs objects = streams_xattr"]


def parse_streams(blob):
    """FILE_STREAM_INFORMATION ([MS-FSCC] 2.4.44): {name: size}."""
    out, offset = {}, 0
    while offset + 24 <= len(blob):
        nxt, name_len, size, _alloc = struct.unpack_from("<IIqq", blob, offset)
        name = blob[offset + 24:offset + 24 + name_len].decode("utf-16-le")
        out[name] = size
        if nxt == 0:
            break
        offset += nxt
    return out


class Client(EaClient):
    def write(self, name, data, disposition=s3.FILE_OVERWRITE_IF):
        fid = self.open(name, disposition=disposition)
        try:
            if data:
                self.smb.write(self.tid, fid, data, 0, len(data))
        finally:
            self.smb.close(self.tid, fid)

    def read(self, name, access=GENERIC_ALL):
        fid = self.open(name, access)
        try:
            out = b""
            while True:
                try:
                    chunk = self.smb.read(self.tid, fid, len(out), 65536)
                except SessionError as e:
                    if e.get_error_code() == 0xC0000011:  # END_OF_FILE
                        break
                    raise
                if not chunk:
                    break
                out += chunk
            return out
        finally:
            self.smb.close(self.tid, fid)

    def streams(self, name, access=GENERIC_ALL):
        fid = self.open(name, access)
        try:
            return parse_streams(self.smb.queryInfo(self.tid, fid,
                                                    fileInfoClass=FILE_STREAM_INFORMATION))
        finally:
            self.smb.close(self.tid, fid)

    def open_status(self, name, disposition=s3.FILE_OPEN):
        try:
            fid = self.open(name, disposition=disposition)
        except SessionError as e:
            return e.get_error_code()
        self.smb.close(self.tid, fid)
        return 0


class Base(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = Server(extra_shares={SHARE: share_lines("%(base)s/share"),
                                          PLAIN_SHARE: ea_share_lines("%(base)s/share")})
        cls.server.start()
        cls.addClassCleanup(cls.server.stop)
        cls.root = os.path.join(cls.server.base, "share")
        cls.client = Client(cls.server, SHARE)
        cls.addClassCleanup(cls.client.close)


class Streams(Base):
    """The same answers from this server and from Samba."""

    def test_write_read_list(self):
        c = self.client
        c.write("rw.txt", b"main data")
        c.write("rw.txt:one", b"first stream")
        c.write("rw.txt:Two:$DATA", bytes(range(256)) * 10)
        self.assertEqual(c.read("rw.txt:one"), b"first stream")
        self.assertEqual(c.read("rw.txt:ONE:$DATA"), b"first stream")
        self.assertEqual(c.read("rw.txt:two"), bytes(range(256)) * 10)
        self.assertEqual(c.read("rw.txt::$DATA"), b"main data")
        self.assertEqual(c.streams("rw.txt"),
                         {"::$DATA": 9, ":one:$DATA": 12, ":Two:$DATA": 2560})
        self.assertEqual(c.open_status("rw.txt:missing"), OBJECT_NAME_NOT_FOUND)

    def test_stream_creates_its_file(self):
        c = self.client
        c.write("created.txt:s", b"x", disposition=s3.FILE_CREATE)
        self.assertEqual(c.read("created.txt"), b"")
        self.assertEqual(c.streams("created.txt"), {"::$DATA": 0, ":s:$DATA": 1})

    def test_forbidden_characters(self):
        c = self.client
        c.write("names.txt", b"kept")
        for ch in "/\\":
            with self.subTest(ch=ch):
                self.assertEqual(c.open_status(f"names.txt:a{ch}b", s3.FILE_OPEN_IF),
                                 OBJECT_NAME_INVALID)
        self.assertEqual(c.open_status("names.txt:a:b", s3.FILE_OPEN_IF), INVALID_PARAMETER)
        self.assertEqual(c.open_status("names.txt:a:$FOO", s3.FILE_OPEN_IF), INVALID_PARAMETER)
        self.assertEqual(c.open_status("names.txt:a:", s3.FILE_OPEN_IF), OBJECT_NAME_INVALID)
        self.assertEqual(c.open_status("names.txt:a:b:$DATA", s3.FILE_OPEN_IF),
                         OBJECT_NAME_INVALID)
        self.assertEqual(c.open_status("names.txt:", s3.FILE_OPEN_IF), OBJECT_NAME_INVALID)
        self.assertEqual(c.read("names.txt"), b"kept")
        self.assertEqual(c.streams("names.txt"), {"::$DATA": 4})

    def test_streams_as_the_user(self):
        # The attributes are written as the user, whom a file's mode 0444 keeps out.
        c = self.client
        c.write("ro.txt", b"base")
        c.write("ro.txt:kept", b"before")
        os.chmod(os.path.join(self.root, "ro.txt"), 0o444)
        try:
            self.assertEqual(c.read("ro.txt:kept", FILE_GENERIC_READ), b"before")
            fid = None
            try:
                fid = c.open("ro.txt:new", FILE_GENERIC_READ, s3.FILE_OPEN_IF)
            except SessionError as e:
                self.assertEqual(e.get_error_code(), ACCESS_DENIED)
            else:
                c.smb.close(c.tid, fid)
                self.fail("a stream was created on a file the user may not write")
            self.assertEqual(c.streams("ro.txt", FILE_GENERIC_READ),
                             {"::$DATA": 4, ":kept:$DATA": 6})
        finally:
            os.chmod(os.path.join(self.root, "ro.txt"), 0o644)

    def test_name_longer_than_an_xattr_name(self):
        # 200 UTF-16 units are a valid stream name, but 600 bytes of UTF-8 exceed the
        # 255 bytes of a Linux xattr name: a clear status, and the file stays usable.
        c = self.client
        c.write("long.txt", b"base")
        name = "long.txt:" + "\u20ac" * 200
        # This server: the xattr call's ERANGE, INVALID_PARAMETER; Samba 4.17 answers
        # OBJECT_NAME_NOT_FOUND.
        self.assertEqual(c.open_status(name, s3.FILE_OPEN_IF),
                         INVALID_PARAMETER if KIND == "self" else OBJECT_NAME_NOT_FOUND)
        self.assertEqual(c.open_status(name), OBJECT_NAME_NOT_FOUND)
        self.assertEqual(c.read("long.txt"), b"base")
        self.assertEqual(c.streams("long.txt"), {"::$DATA": 4})

    def test_share_without_module(self):
        c = Client(self.server, PLAIN_SHARE)
        try:
            c.write("plain.txt", b"data")
            self.assertEqual(c.open_status("plain.txt:s", s3.FILE_OPEN_IF), OBJECT_NAME_INVALID)
        finally:
            c.close()


@unittest.skipIf(KIND != "self" or not os.path.exists(smbtest.SAMBA_SMBD),
                 "needs both servers")
class SambaCompatibility(unittest.TestCase):
    """Samba's smbd and this server on one directory, one after the other."""

    STREAMS = {"first": b"stream one\n", "Second Stream": bytes(range(256)) * 40}

    @classmethod
    def setUpClass(cls):
        cls.shared = tempfile.mkdtemp(prefix="streams-compat-", dir=smbtest.scratch_root())
        os.chmod(cls.shared, 0o777)
        cls.addClassCleanup(shutil.rmtree, cls.shared, True)

    def server(self, kind):
        return Server(kind=kind, extra_shares={SHARE: share_lines(self.shared)})

    def store(self, server, name):
        c = Client(server, SHARE)
        try:
            c.write(name, b"main")
            for stream, data in self.STREAMS.items():
                c.write(f"{name}:{stream}", data)
        finally:
            c.close()

    def read_back(self, server, name):
        c = Client(server, SHARE)
        try:
            self.assertEqual(c.read(name), b"main")
            for stream, data in self.STREAMS.items():
                self.assertEqual(c.read(f"{name}:{stream}:$DATA"), data)
            expected = {"::$DATA": 4}
            expected.update({f":{s}:$DATA": len(d) for s, d in self.STREAMS.items()})
            self.assertEqual(c.streams(name), expected)
        finally:
            c.close()

    def test_samba_stored_reads_back_here(self):
        with self.server("samba") as samba:
            self.store(samba, "s-file")
        with self.server("self") as ours:
            self.read_back(ours, "s-file")

    def test_stored_here_reads_back_through_samba(self):
        with self.server("self") as ours:
            self.store(ours, "o-file")
        # The attributes on disk as Samba lays them out: name:$DATA, data and one NUL.
        path = os.path.join(self.shared, "o-file")
        self.assertEqual(os.getxattr(path, PREFIX + "first:$DATA"), b"stream one\n\0")
        with self.server("samba") as samba:
            self.read_back(samba, "o-file")


class ConcurrentChanges(Base):
    """Two clients (two workers) writing one stream at once lose nothing: a stream is one
    attribute rewritten whole at each change, so the changes must not interleave."""

    WRITES = 300
    SLOT = 8
    TAIL_AT = 60000

    @unittest.skipUnless(KIND == "self", "Samba 4.17 rewrites the attribute unguarded")
    def test_two_workers_write_one_stream(self):
        name = "shared.txt:log"
        # A large value makes each rewrite long enough for the two to overlap often.
        self.client.write(name, bytes(self.TAIL_AT + 4096))
        clients = [Client(self.server, SHARE) for _ in range(2)]
        for c in clients:
            self.addCleanup(c.close)
        fids = [c.open(name, disposition=s3.FILE_OPEN) for c in clients]
        errors = []

        def writer(index):
            c, fid = clients[index], fids[index]
            try:
                for n in range(self.WRITES):
                    slot = 2 * n + index
                    c.smb.write(c.tid, fid, b"%c%07d" % (65 + index, slot), slot * self.SLOT,
                                self.SLOT)
            except Exception as e:  # reported below, with the thread's index
                errors.append((index, e))

        threads = [threading.Thread(target=writer, args=(i,)) for i in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)
        for c, fid in zip(clients, fids):
            c.smb.close(c.tid, fid)
        self.assertEqual(errors, [])
        data = self.client.read(name)
        self.assertEqual(len(data), self.TAIL_AT + 4096)
        expected = b"".join(b"%c%07d" % (65 + slot % 2, slot) for slot in range(2 * self.WRITES))
        lost = [slot for slot in range(2 * self.WRITES)
                if data[slot * self.SLOT:(slot + 1) * self.SLOT] != expected[
                    slot * self.SLOT:(slot + 1) * self.SLOT]]
        self.assertEqual(lost, [], "writes lost")


@unittest.skipIf(KIND != "self", "this server's own handling")
class BadStoredValues(Base):
    """Stream attributes written on the host that are not what Samba writes."""

    def check_usable(self, name):
        c = self.client
        self.assertEqual(c.read(name), b"base")
        c.write(f"{name}:fresh", b"ok")
        self.assertEqual(c.read(f"{name}:fresh"), b"ok")

    def test_empty_value_is_no_stream(self):
        c = self.client
        c.write("empty.txt", b"base")
        os.setxattr(os.path.join(self.root, "empty.txt"), PREFIX + "bad:$DATA", b"")
        self.assertEqual(c.open_status("empty.txt:bad"), OBJECT_NAME_NOT_FOUND)
        self.assertNotIn(":bad:$DATA", c.streams("empty.txt"))
        # Creating it replaces the empty value.
        c.write("empty.txt:bad", b"now", disposition=s3.FILE_OPEN_IF)
        self.assertEqual(c.read("empty.txt:bad"), b"now")
        self.check_usable("empty.txt")

    def test_no_trailing_nul(self):
        # Samba takes the last byte for the NUL whatever it is: so does this server.
        c = self.client
        c.write("nonul.txt", b"base")
        os.setxattr(os.path.join(self.root, "nonul.txt"), PREFIX + "s:$DATA", b"abcd")
        self.assertEqual(c.read("nonul.txt:s"), b"abc")
        self.assertEqual(c.streams("nonul.txt")[":s:$DATA"], 3)
        self.check_usable("nonul.txt")

    def test_single_nul_and_malformed_names(self):
        c = self.client
        c.write("names.txt", b"base")
        path = os.path.join(self.root, "names.txt")
        os.setxattr(path, PREFIX + "zero:$DATA", b"\0")
        # Names that keep no stream: no type, another type, a '/' or '\' inside.
        for bad in ("notype", "x:$FOO", "a\\b:$DATA", "a/b:$DATA", ":$DATA"):
            os.setxattr(path, PREFIX + bad, b"junk\0")
        self.assertEqual(c.streams("names.txt"), {"::$DATA": 4, ":zero:$DATA": 0})
        self.assertEqual(c.read("names.txt:zero"), b"")
        self.check_usable("names.txt")

    def test_too_large(self):
        # A stream is one xattr: beyond what the file system stores is a clear status.
        c = self.client
        c.write("large.txt", b"base")
        fid = c.open("large.txt:big", disposition=s3.FILE_OPEN_IF)
        try:
            with self.assertRaises(SessionError) as e:
                c.smb.write(c.tid, fid, b"y" * 70000, 0, 70000)
            self.assertEqual(e.exception.get_error_code(), 0xC000007F)  # DISK_FULL
        finally:
            c.smb.close(c.tid, fid)
        self.check_usable("large.txt")


if __name__ == "__main__":
    smbtest.main()
