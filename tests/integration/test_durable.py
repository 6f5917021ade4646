#!/usr/bin/python3
"""Durable handles (MS-SMB2 3.3.5.9.10, 3.3.5.9.12): an open outlives its connection.

A client opens a file with a durable v2 request and an RWH lease, writes, loses its TCP
connection without a word, and takes the open back from a new connection with DH2C: the data reads back byte for byte, from the same ClientGUID (its
own worker) or, for a batch oplock's open, another one (the open is handed over between
workers). When the
durable timeout passes, the open is closed as a CLOSE would close it: the reconnect is
refused, and another client's open that the open's sharing mode refused goes through.

Run: SMBTEST_KIND=self SMBD_BIN=... SMBD_PASSWD_BIN=... /usr/bin/python3 test_durable.py
"""

import os
import socket
import struct
import time
import unittest
import uuid

from impacket import smb3structs as s3

import impacket_raw as raw
import test_leases as leases
import smbtest
from smbtest import Server

DIALECT = 0x300  # DH2Q and DH2C from 3.0
STATUS_SUCCESS = 0
STATUS_OBJECT_NAME_NOT_FOUND = 0xC0000034
STATUS_SHARING_VIOLATION = 0xC0000043
R, H, W = 0x01, 0x02, 0x04
ALL_ACCESS = 0x001F01FF


def context(name, data):
    """One create context (MS-SMB2 2.2.13.2), Next left 0."""
    return bytearray(struct.pack("<IHHHHI", 0, 16, 4, 0, 24, len(data)) + name + b"\0" * 4
                     + data)


def chain(*contexts):
    """Contexts chained, each 8-byte aligned."""
    out = bytearray()
    for i, c in enumerate(contexts):
        c = bytearray(c) + b"\0" * (-len(c) % 8 if i + 1 < len(contexts) else 0)
        if i + 1 < len(contexts):
            struct.pack_into("<I", c, 0, len(c))
        out += c
    return bytes(out)


def lease(key, state):
    return context(b"RqLs", key + struct.pack("<IIQ", state, 0, 0))


def dh2q(create_guid, timeout_ms):
    return context(b"DH2Q", struct.pack("<II8s", timeout_ms, 0, b"\0" * 8) + create_guid)


def dh2c(file_id, create_guid):
    return context(b"DH2C", file_id + create_guid + struct.pack("<I", 0))


def create(client, tree, name, contexts=b"", *, share=0, oplock=s3.SMB2_OPLOCK_LEVEL_NONE):
    """A CREATE; (status, file id, {context name: data}, oplock level)."""
    body = s3.SMB2Create()
    body["SecurityFlags"] = 0
    body["RequestedOplockLevel"] = oplock
    body["ImpersonationLevel"] = s3.SMB2_IL_IMPERSONATION
    body["DesiredAccess"] = ALL_ACCESS
    body["FileAttributes"] = 0
    body["ShareAccess"] = share
    body["CreateDisposition"] = s3.FILE_OPEN_IF
    body["CreateOptions"] = s3.FILE_NON_DIRECTORY_FILE
    encoded = name.encode("utf-16le")
    body["NameLength"] = len(encoded)
    padded = encoded + b"\0" * (-len(encoded) % 8)
    body["Buffer"] = padded + contexts
    body["CreateContextsOffset"] = (64 + 56 + len(padded)) if contexts else 0
    body["CreateContextsLength"] = len(contexts)
    packet = client.SMB_PACKET()
    packet["Command"] = s3.SMB2_CREATE
    packet["TreeID"] = tree
    packet["Data"] = body
    answer = client.recvSMB(client.sendSMB(packet))
    if answer["Status"] != STATUS_SUCCESS:
        return answer["Status"], None, {}, None
    response = s3.SMB2Create_Response(answer["Data"])
    found = {}
    offset, length = response["CreateContextsOffset"], response["CreateContextsLength"]
    data = answer.getData()[offset:offset + length]
    at = 0
    while data[at:]:
        following, name_offset, name_length, _, data_offset, data_length = \
            struct.unpack_from("<IHHHHI", data, at)
        found[bytes(data[at + name_offset:at + name_offset + name_length])] = \
            bytes(data[at + data_offset:at + data_offset + data_length])
        if following == 0:
            break
        at += following
    return STATUS_SUCCESS, response["FileID"].getData(), found, response["OplockLevel"]


class FixedGuidClient(raw.Client):
    """A raw client whose NEGOTIATE names a ClientGUID of the test's choosing."""

    client_guid = None

    def negotiateSession(self, *args, **kwargs):
        if self.client_guid is not None:
            self.ClientGuid = self.client_guid
        return super().negotiateSession(*args, **kwargs)


def connect(server, client_guid):
    FixedGuidClient.client_guid = client_guid
    client = FixedGuidClient(server.host, server.port, DIALECT, timeout=30)
    client.login(server.user, server.password)
    return client, client.connectTree(server.share)


def drop(client):
    """The TCP connection goes without LOGOFF or a FIN the server could tell from a crash."""
    sock = client.get_socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


class Durable(unittest.TestCase):
    def setUp(self):
        self.server = Server(log_level=1)
        self.server.start()
        self.addCleanup(self.server.stop)
        self.guid = "".join(chr(0x41 + b % 26) for b in os.urandom(16))

    def test_reconnect_after_connection_loss(self):
        a, tree = connect(self.server, self.guid)
        key, create_guid = uuid.uuid4().bytes, uuid.uuid4().bytes
        status, fid, answers, level = create(
            a, tree, "durable.bin", chain(dh2q(create_guid, 0), lease(key, R | W | H)),
            oplock=s3.SMB2_OPLOCK_LEVEL_LEASE)
        self.assertEqual(status, STATUS_SUCCESS, raw.status_name(status))
        self.assertEqual(level, s3.SMB2_OPLOCK_LEVEL_LEASE)
        self.assertIn(b"DH2Q", answers)  # granted: timeout, no persistent flag
        timeout, flags = struct.unpack("<II", answers[b"DH2Q"])
        self.assertEqual((timeout, flags), (60000, 0))
        data = os.urandom(200000)
        for at in range(0, len(data), 65536):
            status, count = a.write_raw(tree, fid, at, data[at:at + 65536])
            self.assertEqual((status, count), (STATUS_SUCCESS, len(data[at:at + 65536])))
        drop(a)
        time.sleep(0.5)

        b, tree_b = connect(self.server, self.guid)
        # A wrong CreateGuid does not name it.
        status, _, _, _ = create(b, tree_b, "durable.bin",
                                 chain(dh2c(fid, uuid.uuid4().bytes), lease(key, R | W | H)),
                                 oplock=s3.SMB2_OPLOCK_LEVEL_LEASE)
        self.assertEqual(status, STATUS_OBJECT_NAME_NOT_FOUND, raw.status_name(status))
        status, fid_b, answers, level = create(
            b, tree_b, "durable.bin", chain(dh2c(fid, create_guid), lease(key, R | W | H)),
            oplock=s3.SMB2_OPLOCK_LEVEL_LEASE)
        self.assertEqual(status, STATUS_SUCCESS, raw.status_name(status))
        self.assertEqual(fid_b, fid)
        self.assertEqual(level, s3.SMB2_OPLOCK_LEVEL_LEASE)
        self.assertEqual(struct.unpack_from("<I", answers[b"RqLs"], 16)[0], R | W | H)
        read = b""
        while len(read) < len(data):
            status, chunk = b.read_raw(tree_b, fid_b, len(read),
                                       min(65536, len(data) - len(read)))
            self.assertEqual(status, STATUS_SUCCESS, raw.status_name(status))
            read += chunk
        self.assertEqual(read, data)
        self.assertEqual(b.close_file(tree_b, fid_b), STATUS_SUCCESS)
        b.logoff()

    def test_reconnect_from_another_client_guid(self):
        # Another ClientGUID lands in another worker: the open (batch oplock) is handed
        # over from the worker holding it, with its data and its place in the host table.
        a, tree = connect(self.server, self.guid)
        create_guid = uuid.uuid4().bytes
        status, fid, answers, level = create(a, tree, "moved.bin", dh2q(create_guid, 0),
                                             oplock=s3.SMB2_OPLOCK_LEVEL_BATCH)
        self.assertEqual((status, level), (STATUS_SUCCESS, s3.SMB2_OPLOCK_LEVEL_BATCH))
        data = os.urandom(70000)
        self.assertEqual(a.write_raw(tree, fid, 0, data[:65536]), (STATUS_SUCCESS, 65536))
        self.assertEqual(a.write_raw(tree, fid, 65536, data[65536:]),
                         (STATUS_SUCCESS, len(data) - 65536))
        drop(a)
        time.sleep(0.5)
        b, tree_b = connect(self.server, None)
        status, fid_b, _, level = create(b, tree_b, "moved.bin", dh2c(fid, create_guid),
                                         oplock=s3.SMB2_OPLOCK_LEVEL_BATCH)
        self.assertEqual((status, level), (STATUS_SUCCESS, s3.SMB2_OPLOCK_LEVEL_BATCH),
                         raw.status_name(status))
        status, first = b.read_raw(tree_b, fid_b, 0, 65536)
        self.assertEqual(status, STATUS_SUCCESS)
        status, rest = b.read_raw(tree_b, fid_b, 65536, len(data) - 65536)
        self.assertEqual(first + rest, data)
        # Its oplock is B's now: another client's open breaks it there, and after the
        # acknowledgement meets its sharing mode (none).
        other, tree_o = connect(self.server, None)
        waiting = leases.create(other, tree_o, "moved.bin")
        kind, fields = leases.notification(b)
        self.assertEqual((kind, fields["file_id"]), ("oplock", fid_b))
        status, _ = leases.acknowledge_oplock(b, tree_b, fid_b, s3.SMB2_OPLOCK_LEVEL_II)
        self.assertEqual(status, STATUS_SUCCESS)
        status, _, _, _ = leases.answer(other, waiting)
        self.assertEqual(status, STATUS_SHARING_VIOLATION, raw.status_name(status))
        self.assertEqual(b.close_file(tree_b, fid_b), STATUS_SUCCESS)
        status, fid_o, _, _ = create(other, tree_o, "moved.bin")
        self.assertEqual(status, STATUS_SUCCESS, raw.status_name(status))
        self.assertEqual(other.close_file(tree_o, fid_o), STATUS_SUCCESS)

    def test_timeout_closes_the_open(self):
        a, tree = connect(self.server, self.guid)
        create_guid = uuid.uuid4().bytes
        status, fid, answers, level = create(
            a, tree, "expires.bin", dh2q(create_guid, 1500),
            oplock=s3.SMB2_OPLOCK_LEVEL_BATCH)
        self.assertEqual((status, level), (STATUS_SUCCESS, s3.SMB2_OPLOCK_LEVEL_BATCH))
        self.assertEqual(struct.unpack("<II", answers[b"DH2Q"]), (1500, 0))
        drop(a)
        time.sleep(3)
        # Closed: no reconnect, and its sharing mode (none) no longer stands in the way of
        # another client, which meets no oplock to break either.
        b, tree_b = connect(self.server, self.guid)
        status, _, _, _ = create(b, tree_b, "expires.bin", dh2c(fid, create_guid))
        self.assertEqual(status, STATUS_OBJECT_NAME_NOT_FOUND, raw.status_name(status))
        other, tree_o = connect(self.server, None)
        status, fid_o, _, _ = create(other, tree_o, "expires.bin")
        self.assertEqual(status, STATUS_SUCCESS, raw.status_name(status))
        self.assertEqual(other.close_file(tree_o, fid_o), STATUS_SUCCESS)

    def test_durable_open_holds_its_share_mode_until_broken(self):
        # A disconnected durable open with a batch oplock still holds the file; another
        # client's open breaks the oplock, which nobody can acknowledge: the durable open
        # is closed and the opener goes on.
        a, tree = connect(self.server, self.guid)
        create_guid = uuid.uuid4().bytes
        status, fid, _, level = create(a, tree, "held.bin", dh2q(create_guid, 60000),
                                       oplock=s3.SMB2_OPLOCK_LEVEL_BATCH)
        self.assertEqual((status, level), (STATUS_SUCCESS, s3.SMB2_OPLOCK_LEVEL_BATCH))
        drop(a)
        time.sleep(0.5)
        other, tree_o = connect(self.server, None)
        started = time.monotonic()
        status, fid_o, _, _ = create(other, tree_o, "held.bin")
        self.assertEqual(status, STATUS_SUCCESS, raw.status_name(status))
        self.assertLess(time.monotonic() - started, 5)
        self.assertEqual(other.close_file(tree_o, fid_o), STATUS_SUCCESS)
        b, tree_b = connect(self.server, self.guid)
        status, _, _, _ = create(b, tree_b, "held.bin", dh2c(fid, create_guid))
        self.assertEqual(status, STATUS_OBJECT_NAME_NOT_FOUND, raw.status_name(status))


if __name__ == "__main__":
    smbtest.main()
