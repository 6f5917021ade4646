#!/usr/bin/python3
"""File-system controls with a real client: server-side copy, sparse files, zeroing and
allocated ranges, object ids; and 8.3 short names.

impacket (impacket_raw.Client, SMB 3.0 and 2.1) sends the IOCTLs; every result is
compared byte for byte with the files on disk:
- a 20 MiB file copied on the server by FSCTL_SRV_REQUEST_RESUME_KEY and
  FSCTL_SRV_COPYCHUNK_WRITE (two requests of 16 and 4 chunks of 1 MiB, the most
  [MS-SMB2] 3.3.5.15.6 lets one request carry), then checked on disk; a request over the
  limits is refused with STATUS_INVALID_PARAMETER and a response carrying the limits
  (256 chunks, 1 MiB, 16 MiB); a resume key the server did not give is not found;
- a file made sparse (FSCTL_SET_SPARSE: the SPARSE attribute appears), a range zeroed
  (FSCTL_SET_ZERO_DATA: zeros on disk, the size kept), then FSCTL_QUERY_ALLOCATED_RANGES
  reports the data around the hole, and with room for one range answers
  STATUS_BUFFER_OVERFLOW with the first;
- FSCTL_CREATE_OR_GET_OBJECT_ID gives a file the same 16-byte id each time, and two
  files different ids;
- short names: smbclient's `allinfo` (FileAlternateNameInformation) shows, for names
  that are not 8.3, the short names Samba 4.17 gives them, and 8.3 names as they are; a
  listing (FileIdBothDirectoryInformation) carries them on a share with `mangled names =
  yes` and none under the default (illegal), as Samba's;
- the test-only FSCTLs smbtorture drives (FSCTL_SMBTORTURE_*) are refused with
  STATUS_INVALID_DEVICE_REQUEST by a server without `smbd:FSCTL_SMBTORTURE = yes`; with it,
  FSP_ASYNC_SLEEP goes async (STATUS_PENDING) and a CLOSE of its open sent right after it
  is answered only after the IOCTL's own answer, both with success;
- FSCTL_QUERY_NETWORK_INTERFACE_INFO on a FileId that is not all ones is refused with
  STATUS_INVALID_PARAMETER, not FILE_CLOSED ([MS-SMB2] 3.3.5.15).

Run: SMBTEST_KIND=samba /usr/bin/python3 test_fsctl.py
"""

import os
import struct
import subprocess
import time
import unittest

from impacket.smbconnection import SMBConnection

from impacket import nt_errors
from impacket import smb3structs as s3

import impacket_raw as raw
import smbtest
from smbtest import Server

MIB = 1 << 20
FSCTL_QUERY_ALLOCATED_RANGES = 0x000940CF
FSCTL_CREATE_OR_GET_OBJECT_ID = 0x000900C0
FILE_ATTRIBUTE_SPARSE_FILE = 0x200
FILE_ID_BOTH_DIRECTORY_INFORMATION = 37
STATUS_BUFFER_OVERFLOW = 0x80000005
RW_ACCESS = raw.READ_ACCESS | s3.FILE_WRITE_DATA | s3.FILE_WRITE_ATTRIBUTES
FSCTL_QUERY_NETWORK_INTERFACE_INFO = 0x001401FC
# Samba's test-only FSCTLs (libcli/smb/smb_constants.h: FSCTL_SMBTORTURE | write | n | neither).
FSCTL_SMBTORTURE_IOCTL_RESPONSE_BODY_PADDING8 = 0x83848013
FSCTL_SMBTORTURE_GLOBAL_READ_RESPONSE_BODY_PADDING8 = 0x83848023
FSCTL_SMBTORTURE_FSP_ASYNC_SLEEP = 0x83848043
NO_FILE = b"\xff" * 16


def ioctl(client, tree_id, file_id, ctl_code, data=b"", max_output=0):
    """IOCTL as FSCTL: (status, output), the output also of an answer that failed but
    carried an IOCTL response (the copy limits, BUFFER_OVERFLOW)."""
    request = s3.SMB2Ioctl()
    request["FileID"] = file_id
    request["CtlCode"] = ctl_code
    request["MaxInputResponse"] = 0
    request["MaxOutputResponse"] = max_output
    request["InputCount"] = len(data)
    if data:
        request["Buffer"] = data
    else:
        request["InputOffset"] = 0
        request["Buffer"] = b"\x00"
    request["OutputOffset"] = 0
    request["Flags"] = raw.SMB2_0_IOCTL_IS_FSCTL
    status, answer = client.request(s3.SMB2_IOCTL, request, tree_id)
    body = bytes(answer["Data"])
    # StructureSize 49: an IOCTL response, whatever the status.
    if len(body) >= 48 and struct.unpack_from("<H", body)[0] == 49:
        offset, count = struct.unpack_from("<II", body, 32)
        start = offset - 64
        return status, body[start:start + count]
    return status, b""


def copychunk_input(key, chunks):
    """SRV_COPYCHUNK_COPY ([MS-SMB2] 2.2.31.1): (source, target, length) chunks."""
    return key + struct.pack("<II", len(chunks), 0) + b"".join(
        struct.pack("<QQII", s, t, n, 0) for s, t, n in chunks)


class Fsctl(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = Server(extra_shares={"mangled": ["path = %(base)s/share",
                                                      "read only = no",
                                                      "mangled names = yes"]})
        cls.server.start()

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()

    def local(self, name):
        return os.path.join(self.server.share_path, name)

    def connect(self, dialect):
        client = raw.connect(self.server, dialect)
        self.addCleanup(client.disconnect)
        return client, client.connectTree(self.server.share)

    def open(self, client, tid, name, access, disposition=s3.FILE_OPEN):
        status, fid = client.open(tid, name, access, disposition)
        self.assertEqual(status, raw.STATUS_SUCCESS, f"open {name}: {raw.status_name(status)}")
        self.addCleanup(client.close_file, tid, fid)
        return fid

    def test_server_side_copy_of_20_mib(self):
        for dialect in (0x300, 0x210):
            label = raw.DIALECT_NAMES[dialect]
            client, tid = self.connect(dialect)
            source = os.urandom(20 * MIB)
            with open(self.local(f"copy-source-{label}"), "wb") as f:
                f.write(source)
            src = self.open(client, tid, f"copy-source-{label}", raw.READ_ACCESS)
            dst = self.open(client, tid, f"copy-target-{label}", RW_ACCESS, s3.FILE_CREATE)
            status, key = ioctl(client, tid, src, raw.FSCTL_SRV_REQUEST_RESUME_KEY, max_output=32)
            self.assertEqual(status, raw.STATUS_SUCCESS, f"{label}: resume key")
            self.assertGreaterEqual(len(key), 24, f"{label}: resume key length")
            key = key[:24]

            # Over the limits: 257 chunks, or one chunk of 1 MiB + 1.
            for what, chunks in (("257 chunks", [(0, 0, 4096)] * 257),
                                 ("a chunk over 1 MiB", [(0, 0, MIB + 1)])):
                status, out = ioctl(client, tid, dst, raw.FSCTL_SRV_COPYCHUNK_WRITE,
                                    copychunk_input(key, chunks), max_output=12)
                self.assertEqual(status, nt_errors.STATUS_INVALID_PARAMETER, f"{label}: {what}")
                self.assertEqual(struct.unpack("<III", out[:12]), (256, MIB, 16 * MIB),
                                 f"{label}: {what}: the limits in the answer")
            self.assertEqual(os.path.getsize(self.local(f"copy-target-{label}")), 0,
                             f"{label}: nothing copied over the limits")

            # A key the server did not give out.
            forged = bytes(b ^ 0x5A for b in key)
            status, _ = ioctl(client, tid, dst, raw.FSCTL_SRV_COPYCHUNK_WRITE,
                              copychunk_input(forged, [(0, 0, 4096)]), max_output=12)
            self.assertEqual(status, nt_errors.STATUS_OBJECT_NAME_NOT_FOUND, f"{label}: bad key")

            # 20 MiB in two requests: 16 chunks, then 4.
            for first, count in ((0, 16), (16, 4)):
                chunks = [(i * MIB, i * MIB, MIB) for i in range(first, first + count)]
                status, out = ioctl(client, tid, dst, raw.FSCTL_SRV_COPYCHUNK_WRITE,
                                    copychunk_input(key, chunks), max_output=12)
                self.assertEqual(status, raw.STATUS_SUCCESS,
                                 f"{label}: copy of chunks {first}..: {raw.status_name(status)}")
                self.assertEqual(struct.unpack("<III", out[:12]), (count, 0, count * MIB),
                                 f"{label}: SRV_COPYCHUNK_RESPONSE")
            with open(self.local(f"copy-target-{label}"), "rb") as f:
                self.assertTrue(f.read() == source, f"{label}: the copy differs from the source")
            # And what a client reads back of it.
            status, tail = client.read_raw(tid, dst, 20 * MIB - 65536, 65536)
            self.assertEqual(status, raw.STATUS_SUCCESS)
            self.assertTrue(tail == source[-65536:], f"{label}: READ of the copy")

    def test_sparse_zero_data_and_allocated_ranges(self):
        client, tid = self.connect(0x300)
        name = "sparse.bin"
        data = os.urandom(8 * MIB)
        fid = self.open(client, tid, name, RW_ACCESS, s3.FILE_CREATE)
        for offset in range(0, len(data), MIB):
            status, count = client.write_raw(tid, fid, offset, data[offset:offset + MIB])
            self.assertEqual((status, count), (raw.STATUS_SUCCESS, MIB), "WRITE")

        status, _ = ioctl(client, tid, fid, raw.FSCTL_SET_SPARSE, b"\x01")
        self.assertEqual(status, raw.STATUS_SUCCESS, "FSCTL_SET_SPARSE")
        status, basic = client.query_info(tid, fid, s3.SMB2_0_INFO_FILE,
                                          raw.FILE_BASIC_INFORMATION, 40)
        self.assertEqual(status, raw.STATUS_SUCCESS)
        self.assertTrue(struct.unpack_from("<I", basic, 32)[0] & FILE_ATTRIBUTE_SPARSE_FILE,
                        "SPARSE attribute after FSCTL_SET_SPARSE")

        # Zero [1 MiB, 5 MiB): on disk it reads as zeros and the size stays.
        status, _ = ioctl(client, tid, fid, raw.FSCTL_SET_ZERO_DATA,
                          raw.u64(MIB) + raw.u64(5 * MIB))
        self.assertEqual(status, raw.STATUS_SUCCESS, "FSCTL_SET_ZERO_DATA")
        expected = data[:MIB] + bytes(4 * MIB) + data[5 * MIB:]
        with open(self.local(name), "rb") as f:
            self.assertTrue(f.read() == expected, "data after FSCTL_SET_ZERO_DATA")
        self.assertEqual(os.path.getsize(self.local(name)), 8 * MIB)

        # A negative offset is refused.
        status, _ = ioctl(client, tid, fid, raw.FSCTL_SET_ZERO_DATA,
                          raw.u64((1 << 64) - 1) + raw.u64(MIB))
        self.assertEqual(status, nt_errors.STATUS_INVALID_PARAMETER, "negative FileOffset")

        query = raw.u64(0) + raw.u64(8 * MIB)
        status, out = ioctl(client, tid, fid, FSCTL_QUERY_ALLOCATED_RANGES, query,
                            max_output=4096)
        self.assertEqual(status, raw.STATUS_SUCCESS, "FSCTL_QUERY_ALLOCATED_RANGES")
        ranges = [struct.unpack_from("<qq", out, i) for i in range(0, len(out), 16)]
        self.assertEqual(ranges, [(0, MIB), (5 * MIB, 3 * MIB)], "allocated ranges")

        # Room for one range: the first, and BUFFER_OVERFLOW ([MS-FSA] 2.1.5.9.22). Samba
        # 4.17 answers BUFFER_TOO_SMALL without ranges instead.
        status, out = ioctl(client, tid, fid, FSCTL_QUERY_ALLOCATED_RANGES, query, max_output=16)
        if self.server.kind == "samba" and status == nt_errors.STATUS_BUFFER_TOO_SMALL:
            return
        self.assertEqual(status, STATUS_BUFFER_OVERFLOW, "one range's room")
        self.assertEqual(struct.unpack("<qq", out[:16]), (0, MIB), "the first range")

    def test_object_ids(self):
        client, tid = self.connect(0x300)
        ids = []
        for name in ("object-a", "object-b"):
            fid = self.open(client, tid, name, RW_ACCESS, s3.FILE_CREATE)
            answers = []
            for _ in range(2):
                status, out = ioctl(client, tid, fid, FSCTL_CREATE_OR_GET_OBJECT_ID,
                                    max_output=64)
                self.assertEqual(status, raw.STATUS_SUCCESS, f"{name}: object id")
                self.assertEqual(len(out), 64, f"{name}: FILE_OBJECTID_BUFFER")
                answers.append(out[:16])
            self.assertEqual(answers[0], answers[1], f"{name}: the same id twice")
            ids.append(answers[0])
        self.assertNotEqual(ids[0], ids[1], "two files, two ids")


    # What Samba 4.17 answered here for these names (FileAlternateNameInformation).
    SHORT_NAMES = {
        "Long File Name.txt": "LO7JQ0~4.TXT", "verylongname.html": "VG5WIA~V",
        ".bashrc": "_J265M~E", "a.b.c": "A1KYDY~M.C", "My Documents": "MRP2NN~L",
        "r\u00e9sum\u00e9.doc": "RENYSR~M.DOC", "a+b.txt": "A0QZKZ~5.TXT",
        "README": "README", "readme.txt": "readme.txt", "$money.tmp": "$money.tmp",
    }

    def test_short_names(self):
        directory = "shortnames"
        os.mkdir(self.local(directory))
        for name in self.SHORT_NAMES:
            with open(os.path.join(self.local(directory), name), "w") as f:
                f.write(name)
        commands = ";".join(f'allinfo "{directory}\\{name}"' for name in self.SHORT_NAMES)
        out = subprocess.run(
            ["smbclient", f"//{self.server.host}/{self.server.share}", "-p",
             str(self.server.port), "-U", f"{self.server.user}%{self.server.password}",
             "-c", commands], capture_output=True, text=True, timeout=60).stdout
        altnames = [line.split(":", 1)[1].strip() for line in out.splitlines()
                    if line.startswith("altname")]
        self.assertEqual(dict(zip(self.SHORT_NAMES, altnames)), self.SHORT_NAMES,
                         "FileAlternateNameInformation")

        connection = SMBConnection(self.server.host, self.server.host, sess_port=self.server.port)
        self.addCleanup(connection.close)
        connection.login(self.server.user, self.server.password)
        smb = connection.getSMBServer()
        for share, expected in ((self.server.share, {n: n for n in self.SHORT_NAMES}),
                                ("mangled", self.SHORT_NAMES)):
            self.assertEqual(self.listed_short_names(smb, share, directory), expected,
                             f"ShortName of FileIdBothDirectoryInformation on {share}")

        # A path may name a file by its short name, in any case, also as a directory on the
        # way; a short name nothing has is not found.
        tid = smb.connectTree(self.server.share)
        for name, short in self.SHORT_NAMES.items():
            for spelled in (short, short.lower()):
                self.assertEqual(self.read_whole(smb, tid, f"{directory}\\{spelled}"),
                                 name.encode(), f"{name} opened as {spelled}")
        os.mkdir(self.local("My Documents"))
        with open(os.path.join(self.local("My Documents"), "inner.txt"), "w") as f:
            f.write("inner")
        self.assertEqual(self.read_whole(smb, tid, "MRP2NN~L\\inner.txt"), b"inner")
        with self.assertRaises(Exception) as missing:
            self.read_whole(smb, tid, f"{directory}\\ZZZZZZ~Z.TXT")
        self.assertIn("OBJECT_NAME_NOT_FOUND", str(missing.exception))

    @staticmethod
    def read_whole(smb, tid, path):
        fid = smb.create(tid, path, s3.FILE_READ_DATA, s3.FILE_SHARE_READ, 0, s3.FILE_OPEN, 0)
        try:
            return smb.read(tid, fid, 0, 4096)
        finally:
            smb.close(tid, fid)

    def listed_short_names(self, smb, share, directory):
        """{name: short name, or the name when the entry carries none}."""
        tid = smb.connectTree(share)
        fid = smb.create(tid, directory, s3.FILE_READ_DATA | s3.FILE_READ_ATTRIBUTES,
                         s3.FILE_SHARE_READ | s3.FILE_SHARE_WRITE, s3.FILE_DIRECTORY_FILE,
                         s3.FILE_OPEN, 0)
        try:
            data = smb.queryDirectory(tid, fid, "*", maxBufferSize=65535,
                                      informationClass=FILE_ID_BOTH_DIRECTORY_INFORMATION)
        finally:
            smb.close(tid, fid)
        listed = {}
        at = 0
        while True:  # [MS-FSCC] 2.4.22 FileIdBothDirectoryInformation
            next_entry, = struct.unpack_from("<I", data, at)
            name_length, = struct.unpack_from("<I", data, at + 60)
            short_length = data[at + 68]
            name = data[at + 104:at + 104 + name_length].decode("utf-16le")
            short = data[at + 70:at + 70 + short_length].decode("utf-16le")
            if name not in (".", ".."):
                listed[name] = short or name
            if next_entry == 0:
                return listed
            at += next_entry


class TestOnlyFsctls(unittest.TestCase):
    """The FSCTLs smbtorture uses to reach server states, refused unless configured."""

    def start(self, enabled):
        server = Server(extra_global=["smbd:FSCTL_SMBTORTURE = yes"] if enabled else [])
        server.start()
        self.addCleanup(server.stop)
        self.server_of_test = server
        client = raw.connect(server, 0x300)
        self.addCleanup(client.disconnect)
        tid = client.connectTree(server.share)
        status, fid = client.open(tid, "sleep.bin", RW_ACCESS, s3.FILE_OVERWRITE_IF)
        self.assertEqual(status, raw.STATUS_SUCCESS)
        return client, tid, fid

    def test_refused_without_the_setting(self):
        client, tid, fid = self.start(enabled=False)
        for name, code, file_id, data in (
                ("IOCTL_RESPONSE_BODY_PADDING8", FSCTL_SMBTORTURE_IOCTL_RESPONSE_BODY_PADDING8,
                 NO_FILE, b""),
                ("GLOBAL_READ_RESPONSE_BODY_PADDING8",
                 FSCTL_SMBTORTURE_GLOBAL_READ_RESPONSE_BODY_PADDING8, NO_FILE, b""),
                ("FSP_ASYNC_SLEEP", FSCTL_SMBTORTURE_FSP_ASYNC_SLEEP, fid, b"\x01")):
            status, _ = ioctl(client, tid, file_id, code, data, max_output=1)
            self.assertEqual(status, nt_errors.STATUS_INVALID_DEVICE_REQUEST,
                             f"{name}: {raw.status_name(status)}")
        # READ answers keep their usual layout (DataOffset 0x50).
        status, _ = client.write_raw(tid, fid, 0, b"x" * 100)
        self.assertEqual(status, raw.STATUS_SUCCESS)
        read = s3.SMB2Read()
        read["FileID"] = fid
        read["Length"] = 100
        read["Offset"] = 0
        read["Buffer"] = b"\x00"
        status, answer = client.request(s3.SMB2_READ, read, tid)
        self.assertEqual(status, raw.STATUS_SUCCESS)
        self.assertEqual(bytes(answer["Data"])[2], 0x50, "DataOffset of READ")
        self.assertEqual(client.close_file(tid, fid), raw.STATUS_SUCCESS)

    def test_network_interfaces_want_no_file_id(self):
        client, tid, fid = self.start(enabled=False)
        status, _ = ioctl(client, tid, NO_FILE, FSCTL_QUERY_NETWORK_INTERFACE_INFO,
                          max_output=65535)
        self.assertEqual(status, raw.STATUS_SUCCESS)
        for file_id in (fid, b"\x7f" + b"\xff" * 7 + b"\x7f" + b"\xff" * 7):
            status, _ = ioctl(client, tid, file_id, FSCTL_QUERY_NETWORK_INTERFACE_INFO,
                              max_output=1)
            self.assertEqual(status, nt_errors.STATUS_INVALID_PARAMETER, raw.status_name(status))

    def sleep_request(self, fid, milliseconds):
        request = s3.SMB2Ioctl()
        request["FileID"] = fid
        request["CtlCode"] = FSCTL_SMBTORTURE_FSP_ASYNC_SLEEP
        request["MaxInputResponse"] = 0
        request["MaxOutputResponse"] = 0
        request["InputCount"] = 1
        request["Buffer"] = bytes([milliseconds])
        request["OutputOffset"] = 0
        request["Flags"] = raw.SMB2_0_IOCTL_IS_FSCTL
        return request

    def send_all(self, client, tid, requests):
        """Sends (command, body) requests without waiting: {message id: command}."""
        ids = {}
        for command, body in requests:
            packet = client.SMB_PACKET()
            packet["Command"] = command
            packet["TreeID"] = tid
            packet["Data"] = body
            ids[client.sendSMB(packet)] = command
        return ids

    def answers(self, client, ids, count):
        """The next `count` answers as (command, status, packet), in the order they come
        (signatures are not checked here)."""
        seen = []
        while len(seen) < count:
            packet = s3.SMB2Packet(client._NetBIOSSession.recv_packet(10).get_trailer())
            seen.append((ids[packet["MessageID"]], packet["Status"], packet))
        return seen

    def test_async_sleep_cancelled_and_ended_by_logoff(self):
        if smbtest.default_kind() == "samba":
            self.skipTest("Samba's FSP_ASYNC_SLEEP does not wait long enough to be seen")
        client, tid, fid = self.start(enabled=True)
        ids = self.send_all(client, tid, [(s3.SMB2_IOCTL, self.sleep_request(fid, 250))])
        (command, status, interim), = self.answers(client, ids, 1)
        self.assertEqual(status, nt_errors.STATUS_PENDING)
        # MS-SMB2 2.2.30: CANCEL by the AsyncId (2.2.1.1: in place of Reserved and TreeId).
        cancel = client.SMB_PACKET()
        cancel["Command"] = s3.SMB2_CANCEL
        cancel["MessageID"] = interim["MessageID"]
        cancel["SessionID"] = client._Session["SessionID"]
        cancel["CreditCharge"] = 0
        cancel["Flags"] = s3.SMB2_FLAGS_ASYNC_COMMAND
        cancel["Reserved"] = interim["Reserved"]
        cancel["TreeID"] = interim["TreeID"]
        cancel["Data"] = struct.pack("<HH", 4, 0)
        if client._Session["SigningActivated"]:
            cancel["Flags"] |= s3.SMB2_FLAGS_SIGNED
            client.signSMB(cancel)
        client._NetBIOSSession.send_packet(cancel.getData())
        (command, status, _), = self.answers(client, ids, 1)
        self.assertEqual((command, status), (s3.SMB2_IOCTL, nt_errors.STATUS_CANCELLED))
        # The open is not held any more: a CLOSE is answered at once.
        self.assertEqual(client.close_file(tid, fid), raw.STATUS_SUCCESS)

        # A LOGOFF while it sleeps ends it (its open goes with the session); the worker
        # goes on serving (a new session works).
        status, fid = client.open(tid, "sleep.bin", RW_ACCESS, s3.FILE_OPEN)
        self.assertEqual(status, raw.STATUS_SUCCESS)
        ids = self.send_all(client, tid, [(s3.SMB2_IOCTL, self.sleep_request(fid, 250)),
                                          (s3.SMB2_LOGOFF, s3.SMB2Logoff())])
        seen = {(c, st) for c, st, _ in self.answers(client, ids, 3)}
        self.assertIn((s3.SMB2_IOCTL, nt_errors.STATUS_PENDING), seen)
        self.assertIn((s3.SMB2_LOGOFF, raw.STATUS_SUCCESS), seen)
        ended = [st for c, st in seen if c == s3.SMB2_IOCTL and st != nt_errors.STATUS_PENDING]
        self.assertEqual(len(ended), 1, seen)
        self.assertNotEqual(ended[0], raw.STATUS_SUCCESS, "the sleep outlived its session")
        again = raw.connect(self.server_of_test, 0x300)
        self.addCleanup(again.disconnect)
        again.connectTree(self.server_of_test.share)

    def test_close_waits_for_async_sleep(self):
        if smbtest.default_kind() == "samba":
            # Its smbd takes the byte as microseconds: the IOCTL ends before it could
            # go async.
            self.skipTest("Samba's FSP_ASYNC_SLEEP does not wait long enough to be seen")
        client, tid, fid = self.start(enabled=True)
        close = s3.SMB2Close()
        close["Flags"] = 0
        close["FileID"] = fid
        started = time.monotonic()
        ids = self.send_all(client, tid, [(s3.SMB2_IOCTL, self.sleep_request(fid, 250)),
                                          (s3.SMB2_CLOSE, close)])
        # The IOCTL's interim answer, its final one, and only then the CLOSE's.
        seen = [(c, st) for c, st, _ in self.answers(client, ids, 3)]
        elapsed = time.monotonic() - started
        self.assertEqual(seen, [(s3.SMB2_IOCTL, nt_errors.STATUS_PENDING),
                                (s3.SMB2_IOCTL, raw.STATUS_SUCCESS),
                                (s3.SMB2_CLOSE, raw.STATUS_SUCCESS)])
        self.assertGreaterEqual(elapsed, 0.2, "the IOCTL slept")


if __name__ == "__main__":
    smbtest.main()
