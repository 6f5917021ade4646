#!/usr/bin/python3
"""Security descriptors over the wire: impacket's QUERY_INFO / SET_INFO
SMB2_0_INFO_SECURITY and CREATE with an SD context, and Samba's smbcacls, against the
server; the answers are checked against the files' owner, group and mode on disk.

Against this project's smbd the descriptor is the one docs/security.md describes (owner
S-1-22-1-uid, group S-1-22-2-gid, one ACCESS_ALLOWED ACE per POSIX class). Against
Samba (the reference run) only what does not depend on that mapping is checked.

Run: SMBTEST_KIND=self SMBD_BIN=... SMBD_PASSWD_BIN=... /usr/bin/python3 test_security.py
"""

import contextlib
import os
import re
import socket
import stat
import struct
import threading
import unittest

from impacket import smb3structs as s3
from impacket.smb3structs import SMB2_DIALECT_30
from impacket.smbconnection import SMBConnection
from impacket.smb3 import SessionError
from impacket import nt_errors

import smbtest
from smbtest import Server

KIND = smbtest.default_kind()
SELF_ONLY = unittest.skipIf(KIND != "self", "checks this server's POSIX mapping")
TIMEOUT = 60

OWNER, GROUP, DACL, SACL = 0x1, 0x2, 0x4, 0x8
READ_CONTROL, WRITE_DAC, WRITE_OWNER = 0x00020000, 0x00040000, 0x00080000
FILE_READ_ATTRIBUTES = 0x80
STATUS_INVALID_SECURITY_DESCR = 0xC0000079

# [MS-DTYP] masks the mapping produces (docs/security.md).
FILE_ALL_ACCESS = 0x001F01FF
READ = 0x00120089
READ_EXECUTE = 0x001200A9
READ_WRITE = 0x0013019F


# --- a small [MS-DTYP] 2.4 codec, written from the spec for these tests

def sid_bytes(text):
    parts = text.split("-")
    assert parts[0] == "S" and parts[1] == "1"
    subs = [int(p) for p in parts[3:]]
    return (bytes([1, len(subs)]) + int(parts[2]).to_bytes(6, "big")
            + b"".join(struct.pack("<I", v) for v in subs))


def parse_sid(data, at):
    count = data[at + 1]
    authority = int.from_bytes(data[at + 2:at + 8], "big")
    subs = struct.unpack_from(f"<{count}I", data, at + 8)
    return "S-1-%d" % authority + "".join(f"-{v}" for v in subs)


def parse_sd(data):
    """(control, owner, group, dacl) with dacl a list of (type, flags, mask, sid) or None."""
    rev, _, control, o_owner, o_group, _, o_dacl = struct.unpack_from("<BBHIIII", data, 0)
    assert rev == 1 and control & 0x8000, data.hex()
    owner = parse_sid(data, o_owner) if o_owner else None
    group = parse_sid(data, o_group) if o_group else None
    dacl = None
    if control & 0x0004 and o_dacl:
        _, _, size, count, _ = struct.unpack_from("<BBHHH", data, o_dacl)
        dacl, at = [], o_dacl + 8
        for _ in range(count):
            ace_type, flags, ace_size, mask = struct.unpack_from("<BBHI", data, at)
            dacl.append((ace_type, flags, mask, parse_sid(data, at + 8)))
            at += ace_size
    return control, owner, group, dacl


def build_sd(owner=None, group=None, aces=None, control=0x8000):
    """aces: list of (type, flags, mask, sid text); None for no DACL."""
    parts, offsets = b"", [0, 0, 0, 0]
    if aces is not None:
        control |= 0x0004
        body = b""
        for ace_type, flags, mask, sid in aces:
            s = sid_bytes(sid)
            body += struct.pack("<BBHI", ace_type, flags, 8 + len(s), mask) + s
        offsets[3] = 20 + len(parts)
        parts += struct.pack("<BBHHH", 2, 0, 8 + len(body), len(aces), 0) + body
    if owner:
        offsets[0] = 20 + len(parts)
        parts += sid_bytes(owner)
    if group:
        offsets[1] = 20 + len(parts)
        parts += sid_bytes(group)
    return struct.pack("<BBHIIII", 1, 0, control, *offsets) + parts


def allow(mask, sid):
    return (0, 0, mask, sid)


def secd_context(sd):
    """SMB2_CREATE_SD_BUFFER ([MS-SMB2] 2.2.13.2): the name at 16, the data at 24."""
    context = s3.SMB2CreateContext()
    context["NameOffset"], context["NameLength"] = 16, 4
    context["DataOffset"], context["DataLength"] = 24, len(sd)
    context["Buffer"] = b"SecD" + b"\0" * 4 + sd
    return context


class Port445Relay:
    """smbcacls (Samba 4.17) always dials port 445: a relay on a private loopback
    address forwards that port to the server. Needs the right to bind port 445."""

    def __init__(self, target_port):
        self.target = ("127.0.0.1", target_port)
        self.host = "127.%d.%d.%d" % (77, (os.getpid() >> 8) & 0xFF, os.getpid() & 0xFF or 1)
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind((self.host, 445))
        self.listener.listen(8)
        self.socks = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(self.target)
            self.socks += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(src, dst):
        with contextlib.suppress(OSError):
            while data := src.recv(65536):
                dst.sendall(data)
        with contextlib.suppress(OSError):
            dst.shutdown(socket.SHUT_WR)

    def close(self):
        for s in [self.listener] + self.socks:
            with contextlib.suppress(OSError):
                s.close()


class Security(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = Server()
        cls.server.start()
        cls.uid, cls.gid = cls.server.account_owner()

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()

    def setUp(self):
        self.conn = SMBConnection(self.server.host, self.server.host,
                                  sess_port=self.server.port, preferredDialect=SMB2_DIALECT_30,
                                  timeout=TIMEOUT)
        self.conn.login(self.server.user, self.server.password)
        self.smb = self.conn.getSMBServer()
        self.tid = self.conn.connectTree(self.server.share)

    def tearDown(self):
        self.conn.logoff()

    # -- helpers
    def local(self, name, mode=0o644):
        path = os.path.join(self.server.share_path, name)
        with open(path, "wb") as f:
            f.write(b"x")
        os.chmod(path, mode)
        # The server acts as the share's Unix user, who must own the file to change it.
        os.chown(path, self.uid, self.gid)
        return path

    def open(self, name, access=READ_CONTROL | WRITE_DAC):
        return self.smb.create(self.tid, name, access, s3.FILE_SHARE_READ | s3.FILE_SHARE_WRITE,
                               s3.FILE_NON_DIRECTORY_FILE, s3.FILE_OPEN, 0)

    def query(self, fid, info=OWNER | GROUP | DACL):
        return bytes(self.smb.queryInfo(self.tid, fid, infoType=s3.SMB2_0_INFO_SECURITY,
                                        fileInfoClass=0, additionalInformation=info))

    def set(self, fid, sd, info):
        self.smb.setInfo(self.tid, fid, sd, infoType=s3.SMB2_0_INFO_SECURITY, fileInfoClass=0,
                         additionalInformation=info)

    def status_of(self, call):
        with self.assertRaises(SessionError) as cm:
            call()
        return cm.exception.get_error_code()

    def raw_query(self, fid, info, length):
        """QUERY_INFO with a chosen OutputBufferLength: (status, body bytes)."""
        packet = self.smb.SMB_PACKET()
        packet["Command"] = s3.SMB2_QUERY_INFO
        packet["TreeID"] = self.tid
        q = s3.SMB2QueryInfo()
        q["FileID"] = fid
        q["InfoType"] = s3.SMB2_0_INFO_SECURITY
        q["FileInfoClass"] = 0
        q["OutputBufferLength"] = length
        q["AdditionalInformation"] = info
        q["InputBufferOffset"] = 0
        q["Buffer"] = b"\x00"
        packet["Data"] = q
        answer = self.smb.recvSMB(self.smb.sendSMB(packet))
        return answer["Status"], bytes(answer["Data"])

    # -- tests
    def test_query_answers_within_the_buffer(self):
        self.local("sized.txt")
        fid = self.open("sized.txt")
        try:
            full = self.query(fid)
            # MS-SMB2 3.3.5.20.3: too small is BUFFER_TOO_SMALL with the size needed
            # (2.2.2: ByteCount 4 before 3.1.1), never a partial descriptor.
            status, body = self.raw_query(fid, OWNER | GROUP | DACL, len(full) - 1)
            self.assertEqual(status, nt_errors.STATUS_BUFFER_TOO_SMALL)
            self.assertEqual(struct.unpack_from("<HBBI", body, 0), (9, 0, 0, 4))
            self.assertEqual(struct.unpack_from("<I", body, 8)[0], len(full))
            status, _ = self.raw_query(fid, 0, 0)
            self.assertEqual(status, nt_errors.STATUS_BUFFER_TOO_SMALL)
            status, _ = self.raw_query(fid, OWNER | GROUP | DACL, len(full))
            self.assertEqual(status, nt_errors.STATUS_SUCCESS)
        finally:
            self.smb.close(self.tid, fid)

    def test_rights_on_the_open(self):
        self.local("rights.txt")
        fid = self.open("rights.txt", FILE_READ_ATTRIBUTES)
        try:
            self.assertEqual(self.status_of(lambda: self.query(fid)),
                             nt_errors.STATUS_ACCESS_DENIED)
            sd = build_sd(aces=[allow(FILE_ALL_ACCESS, "S-1-1-0")])
            self.assertEqual(self.status_of(lambda: self.set(fid, sd, DACL)),
                             nt_errors.STATUS_ACCESS_DENIED)
        finally:
            self.smb.close(self.tid, fid)
        fid = self.open("rights.txt")
        try:
            # No open here holds ACCESS_SYSTEM_SECURITY, so a SACL is never readable.
            self.assertEqual(self.status_of(lambda: self.query(fid, SACL)),
                             nt_errors.STATUS_ACCESS_DENIED)
        finally:
            self.smb.close(self.tid, fid)

    @SELF_ONLY
    def test_query_matches_owner_group_and_mode(self):
        path = self.local("mode.txt", 0o754)
        st = os.stat(path)
        fid = self.open("mode.txt")
        try:
            control, owner, group, dacl = parse_sd(self.query(fid))
            self.assertEqual(owner, f"S-1-22-1-{st.st_uid}")
            self.assertEqual(group, f"S-1-22-2-{st.st_gid}")
            self.assertEqual(dacl, [allow(FILE_ALL_ACCESS, owner),
                                    allow(READ_EXECUTE, group),
                                    allow(READ, "S-1-1-0")])
            # Only the parts asked for.
            _, owner2, group2, dacl2 = parse_sd(self.query(fid, DACL))
            self.assertEqual((owner2, group2, dacl2), (None, None, dacl))
            _, owner3, group3, dacl3 = parse_sd(self.query(fid, OWNER))
            self.assertEqual((owner3, group3, dacl3), (owner, None, None))
        finally:
            self.smb.close(self.tid, fid)

    @SELF_ONLY
    def test_set_dacl_changes_the_mode(self):
        path = self.local("chmod.txt", 0o644)
        st = os.stat(path)
        owner, group = f"S-1-22-1-{st.st_uid}", f"S-1-22-2-{st.st_gid}"
        fid = self.open("chmod.txt", READ_CONTROL | WRITE_DAC | WRITE_OWNER)
        try:
            self.set(fid, build_sd(aces=[allow(FILE_ALL_ACCESS, owner),
                                         allow(READ_EXECUTE, group)]), DACL)
            self.assertEqual(stat.S_IMODE(os.stat(path).st_mode), 0o750)
            _, _, _, dacl = parse_sd(self.query(fid))
            self.assertEqual(dacl, [allow(FILE_ALL_ACCESS, owner), allow(READ_EXECUTE, group)])
            # Owner and group as they are, with the DACL: a Windows client's write-back.
            self.set(fid, build_sd(owner, group, [allow(READ_WRITE, owner),
                                                  allow(READ, "S-1-1-0")]),
                     OWNER | GROUP | DACL)
            self.assertEqual(stat.S_IMODE(os.stat(path).st_mode), 0o604)
        finally:
            self.smb.close(self.tid, fid)

    @SELF_ONLY
    def test_what_the_mode_cannot_hold_is_refused(self):
        path = self.local("refuse.txt", 0o640)
        st = os.stat(path)
        owner = f"S-1-22-1-{st.st_uid}"
        fid = self.open("refuse.txt", READ_CONTROL | WRITE_DAC | WRITE_OWNER)
        try:
            anonymous = build_sd(aces=[allow(FILE_ALL_ACCESS, owner),
                                       allow(FILE_ALL_ACCESS, "S-1-5-7")])
            self.assertEqual(self.status_of(lambda: self.set(fid, anonymous, DACL)),
                             nt_errors.STATUS_NOT_SUPPORTED)
            deny = build_sd(aces=[(1, 0, 2, "S-1-1-0")])
            self.assertEqual(self.status_of(lambda: self.set(fid, deny, DACL)),
                             nt_errors.STATUS_NOT_SUPPORTED)
            admins = build_sd(owner="S-1-5-32-544")
            self.assertEqual(self.status_of(lambda: self.set(fid, admins, OWNER)),
                             nt_errors.STATUS_NOT_SUPPORTED)
            garbage = build_sd(aces=[allow(FILE_ALL_ACCESS, owner)])[:-3]
            self.assertEqual(self.status_of(lambda: self.set(fid, garbage, DACL)),
                             STATUS_INVALID_SECURITY_DESCR)
            self.assertEqual(stat.S_IMODE(os.stat(path).st_mode), 0o640)
        finally:
            self.smb.close(self.tid, fid)

    @SELF_ONLY
    def test_create_with_a_security_descriptor(self):
        uid, gid = self.uid, self.gid
        sd = build_sd(aces=[allow(FILE_ALL_ACCESS, f"S-1-22-1-{uid}"),
                            allow(READ, f"S-1-22-2-{gid}")])
        context = secd_context(sd)
        fid = self.smb.create(self.tid, "created.txt", READ_CONTROL | s3.FILE_WRITE_DATA,
                              s3.FILE_SHARE_READ, s3.FILE_NON_DIRECTORY_FILE, s3.FILE_CREATE, 0,
                              createContexts=[context])
        self.smb.close(self.tid, fid)
        path = os.path.join(self.server.share_path, "created.txt")
        self.assertEqual(stat.S_IMODE(os.stat(path).st_mode), 0o740)
        # One that cannot be held: the file is not created.
        context = secd_context(build_sd(aces=[allow(FILE_ALL_ACCESS, "S-1-3-0")]))
        self.assertEqual(self.status_of(lambda: self.smb.create(
            self.tid, "refused.txt", READ_CONTROL, s3.FILE_SHARE_READ,
            s3.FILE_NON_DIRECTORY_FILE, s3.FILE_CREATE, 0, createContexts=[context])),
            nt_errors.STATUS_NOT_SUPPORTED)
        self.assertFalse(os.path.exists(os.path.join(self.server.share_path, "refused.txt")))

    def smbcacls(self, host, name, *args):
        r = smbtest.run(["smbcacls", f"//{host}/{self.server.share}", name,
                         "-U", f"{self.server.user}%{self.server.password}",
                         "--configfile", self.server.client_conf, "-m", "SMB3",
                         "--numeric", *args], timeout=TIMEOUT)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        return r.stdout

    @SELF_ONLY
    def test_smbcacls(self):
        try:
            relay = Port445Relay(self.server.port)
        except OSError as e:
            # Reported skipped (smbtest.main exits 77), or failed with SMB_TEST_REQUIRE_ALL=1.
            smbtest.unavailable(self, f"cannot listen on port 445 for smbcacls: {e}")
        self.addCleanup(relay.close)
        path = self.local("cacls.txt", 0o640)
        st = os.stat(path)
        owner, group = f"S-1-22-1-{st.st_uid}", f"S-1-22-2-{st.st_gid}"
        out = self.smbcacls(relay.host, "cacls.txt", "--sddl")
        self.assertEqual(out.strip(), f"O:{owner}G:{group}D:P(A;;0x0013019f;;;{owner})"
                                      f"(A;;0x00120089;;;{group})")
        # smbcacls -S sends the DACL with SET_INFO (ACL revision 3, Everyone first); its
        # READ is 0x1200a9, read and execute: Everyone gains r-x.
        self.smbcacls(relay.host, "cacls.txt", "-S",
                      f"ACL:{owner}:ALLOWED/0x0/FULL,ACL:{group}:ALLOWED/0x0/READ,"
                      "ACL:S-1-1-0:ALLOWED/0x0/READ")
        self.assertEqual(stat.S_IMODE(os.stat(path).st_mode), 0o755)
        out = self.smbcacls(relay.host, "cacls.txt")
        self.assertEqual(re.findall(r"^ACL:.*$", out, re.M),
                         [f"ACL:{owner}:0/0x0/0x001f01ff", f"ACL:{group}:0/0x0/0x001200a9",
                          "ACL:S-1-1-0:0/0x0/0x001200a9"])


if __name__ == "__main__":
    smbtest.main()
