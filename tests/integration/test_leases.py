#!/usr/bin/python3
"""Oplocks and leases between the clients of one host (the host table's caching).

Each client (ClientGUID) is served by a worker of its own; two impacket connections are
two clients in two workers. The opener's CREATE answers STATUS_PENDING and waits on its
worker's loop while the holder's worker tells its client of the break; the holder's acknowledgement (or the
break timeout, or the holder's worker dying) lets the opener go on.

Run: SMBTEST_KIND=self SMBD_BIN=... SMBD_PASSWD_BIN=... SMBSTATUS_BIN=...
     /usr/bin/python3 test_leases.py
"""

import json
import os
import signal
import struct
import subprocess
import unittest
import uuid

from impacket import smb3structs as s3

import impacket_raw as raw
import smbtest
from smbtest import Server
from test_hostwide import worker_serving

DIALECT = 0x210  # leases v1 from 2.1 (impacket's 3.0 works too; 2.1 keeps it simple)
NOTIFICATION = 0xFFFFFFFFFFFFFFFF
STATUS_SUCCESS = 0
R, H, W = 0x01, 0x02, 0x04
ALL_ACCESS = 0x001F01FF
SHARE_ALL = 0x7


def lease_context(key, state):
    """An RqLs v1 create context (MS-SMB2 2.2.13.2.8)."""
    data = key + struct.pack("<IIQ", state, 0, 0)
    return struct.pack("<IHHHHI", 0, 16, 4, 0, 24, len(data)) + b"RqLs" + b"\0" * 4 + data


def create(client, tree, name, *, oplock=s3.SMB2_OPLOCK_LEVEL_NONE, lease=None,
           disposition=s3.FILE_OPEN_IF, access=ALL_ACCESS, share=SHARE_ALL):
    """Sends a CREATE; its message id (the answer is read with answer())."""
    body = s3.SMB2Create()
    body["SecurityFlags"] = 0
    body["RequestedOplockLevel"] = s3.SMB2_OPLOCK_LEVEL_LEASE if lease else oplock
    body["ImpersonationLevel"] = s3.SMB2_IL_IMPERSONATION
    body["DesiredAccess"] = access
    body["FileAttributes"] = 0
    body["ShareAccess"] = share
    body["CreateDisposition"] = disposition
    body["CreateOptions"] = s3.FILE_NON_DIRECTORY_FILE
    encoded = name.encode("utf-16le")
    body["NameLength"] = len(encoded)
    padded = encoded + b"\0" * (-len(encoded) % 8)
    contexts = lease_context(*lease) if lease else b""
    body["Buffer"] = padded + contexts
    # The name starts right after the 56-byte fixed part (offset 120 from the header).
    body["CreateContextsOffset"] = (64 + 56 + len(padded)) if contexts else 0
    body["CreateContextsLength"] = len(contexts)
    packet = client.SMB_PACKET()
    packet["Command"] = s3.SMB2_CREATE
    packet["TreeID"] = tree
    packet["Data"] = body
    return client.sendSMB(packet)


def answer(client, message_id):
    """The CREATE's answer: (status, file id, oplock level, lease state or None)."""
    packet = client.recvSMB(message_id)
    if packet["Status"] != STATUS_SUCCESS:
        return packet["Status"], None, None, None
    response = s3.SMB2Create_Response(packet["Data"])
    lease_state = None
    offset, length = response["CreateContextsOffset"], response["CreateContextsLength"]
    if length:
        contexts = packet.getData()[offset:offset + length]
        name_offset, name_length, _, data_offset = struct.unpack_from("<HHHH", contexts, 4)
        if contexts[name_offset:name_offset + name_length] == b"RqLs":
            lease_state = struct.unpack_from("<I", contexts, data_offset + 16)[0]
    return STATUS_SUCCESS, response["FileID"].getData(), response["OplockLevel"], lease_state


def notification(client):
    """The next break notification: (kind, fields)."""
    window = client._Connection["SequenceWindow"]
    packet = client.recvSMB(NOTIFICATION)
    # A notification consumes no message id; impacket would count one.
    client._Connection["SequenceWindow"] = window
    data = packet["Data"]
    size = struct.unpack_from("<H", data, 0)[0]
    if size == 24:  # MS-SMB2 2.2.23.1
        return "oplock", {"level": data[2], "file_id": bytes(data[8:24])}
    # MS-SMB2 2.2.23.2
    epoch, flags = struct.unpack_from("<HI", data, 2)
    key = bytes(data[8:24])
    current, new = struct.unpack_from("<II", data, 24)
    return "lease", {"flags": flags, "key": key, "current": current, "new": new}


def acknowledge_oplock(client, tree, file_id, level):
    body = struct.pack("<HBBI", 24, level, 0, 0) + file_id
    status, packet = client.request(s3.SMB2_OPLOCK_BREAK, body, tree)
    return status, packet["Data"][2] if status == STATUS_SUCCESS else None


def acknowledge_lease(client, tree, key, state):
    body = struct.pack("<HHI", 36, 0, 0) + key + struct.pack("<IQ", state, 0)
    status, packet = client.request(s3.SMB2_OPLOCK_BREAK, body, tree)
    return status


class AsConnection:
    """A raw client where test_hostwide.worker_serving expects an SMBConnection."""

    def __init__(self, client):
        self.client = client

    def getSMBServer(self):
        return self.client


class Caching(unittest.TestCase):
    timeout_config = ()

    def setUp(self):
        self.server = Server(log_level=1, extra_global=list(self.timeout_config))
        self.server.start()
        self.addCleanup(self.server.stop)
        self.clients = []
        self.a, self.ta = self.connect()
        self.b, self.tb = self.connect()

    def tearDown(self):
        for client in self.clients:
            try:
                client.disconnect()
            except Exception:  # a worker may have been killed
                pass

    def connect(self):
        client = raw.connect(self.server, DIALECT, timeout=60)
        self.clients.append(client)
        return client, client.connectTree(self.server.share)

    def open(self, client, tree, name, **kw):
        status, fid, level, lease = answer(client, create(client, tree, name, **kw))
        self.assertEqual(status, STATUS_SUCCESS, raw.status_name(status))
        return fid, level, lease


class Breaks(Caching):
    def test_lease_break_both_ways(self):
        key_a, key_b = uuid.uuid4().bytes, uuid.uuid4().bytes
        fid_a, level, state = self.open(self.a, self.ta, "lease.txt", lease=(key_a, R | W | H))
        self.assertEqual((level, state), (s3.SMB2_OPLOCK_LEVEL_LEASE, R | W | H))
        # B's open waits while A's lease breaks to RH.
        waiting = create(self.b, self.tb, "lease.txt", lease=(key_b, R | W | H))
        kind, fields = notification(self.a)
        self.assertEqual(kind, "lease")
        self.assertEqual((fields["key"], fields["current"], fields["new"]),
                         (key_a, R | W | H, R | H))
        self.assertEqual(fields["flags"], 1)  # SMB2_NOTIFY_BREAK_LEASE_FLAG_ACK_REQUIRED
        self.assertEqual(acknowledge_lease(self.a, self.ta, key_a, R | H), STATUS_SUCCESS)
        status, fid_b, level, state = answer(self.b, waiting)
        self.assertEqual(status, STATUS_SUCCESS)
        self.assertEqual(state, R | H)  # no W while another client has the file open
        # The other way: A overwrites; B's lease (and A's own other lease) go to none.
        self.a.close_file(self.ta, fid_a)
        waiting = create(self.a, self.ta, "lease.txt", disposition=s3.FILE_OVERWRITE_IF)
        kind, fields = notification(self.b)
        self.assertEqual((kind, fields["key"], fields["new"]), ("lease", key_b, 0))
        self.assertEqual(acknowledge_lease(self.b, self.tb, key_b, 0), STATUS_SUCCESS)
        status, fid_a, _, _ = answer(self.a, waiting)
        self.assertEqual(status, STATUS_SUCCESS)
        # An acknowledgement with no break in progress is refused.
        self.assertNotEqual(acknowledge_lease(self.b, self.tb, key_b, 0), STATUS_SUCCESS)
        self.a.close_file(self.ta, fid_a)
        self.b.close_file(self.tb, fid_b)

    def test_one_clients_lease_key_shared_by_its_opens(self):
        key = uuid.uuid4().bytes
        first, _, state = self.open(self.a, self.ta, "same-key.txt", lease=(key, R | W | H))
        second, _, state2 = self.open(self.a, self.ta, "same-key.txt", lease=(key, R | W | H))
        self.assertEqual((state, state2), (R | W | H, R | W | H))
        self.a.close_file(self.ta, first)
        self.a.close_file(self.ta, second)

    def test_batch_break_to_level_two(self):
        fid_a, level, _ = self.open(self.a, self.ta, "batch.txt", oplock=s3.SMB2_OPLOCK_LEVEL_BATCH)
        self.assertEqual(level, s3.SMB2_OPLOCK_LEVEL_BATCH)
        waiting = create(self.b, self.tb, "batch.txt", oplock=s3.SMB2_OPLOCK_LEVEL_BATCH)
        kind, fields = notification(self.a)
        self.assertEqual((kind, fields["level"], fields["file_id"]),
                         ("oplock", s3.SMB2_OPLOCK_LEVEL_II, fid_a))
        status, kept = acknowledge_oplock(self.a, self.ta, fid_a, s3.SMB2_OPLOCK_LEVEL_II)
        self.assertEqual((status, kept), (STATUS_SUCCESS, s3.SMB2_OPLOCK_LEVEL_II))
        status, fid_b, level, _ = answer(self.b, waiting)
        self.assertEqual((status, level), (STATUS_SUCCESS, s3.SMB2_OPLOCK_LEVEL_II))
        # B writes: A's level II goes to none, no acknowledgement asked.
        self.b.write_raw(self.tb, fid_b, 0, b"x")
        kind, fields = notification(self.a)
        self.assertEqual((kind, fields["level"]), ("oplock", s3.SMB2_OPLOCK_LEVEL_NONE))
        self.a.close_file(self.ta, fid_a)
        self.b.close_file(self.tb, fid_b)

    def test_killed_holder_lets_the_opener_go(self):
        holder_worker = worker_serving(self.server, AsConnection(self.a))
        self.open(self.a, self.ta, "killed.txt", oplock=s3.SMB2_OPLOCK_LEVEL_BATCH,
                  share=0)
        waiting = create(self.b, self.tb, "killed.txt", oplock=s3.SMB2_OPLOCK_LEVEL_BATCH)
        # The break went to A, which never answers: its worker dies instead. The master
        # takes its opens out and rings every worker; B's open goes on well before the
        # break timeout (35 s) would have let it.
        self.server.expect_signal(signal.SIGKILL)
        os.kill(holder_worker, signal.SIGKILL)
        status, fid_b, level, _ = answer(self.b, waiting)
        self.assertEqual((status, level), (STATUS_SUCCESS, s3.SMB2_OPLOCK_LEVEL_BATCH))
        self.b.close_file(self.tb, fid_b)


STATUS_PENDING = 0x00000103
STATUS_CANCELLED = 0xC0000120
FLAGS_ASYNC = s3.SMB2_FLAGS_ASYNC_COMMAND


def next_packet(client):
    """The next message from the server as it comes (impacket's recvSMB skips interim
    responses)."""
    data = client._NetBIOSSession.recv_packet(client._timeout)
    return s3.SMB2Packet(data.get_trailer())


def async_id(packet):
    """MS-SMB2 2.2.1.1: the AsyncId takes the place of Reserved and TreeId."""
    return packet["Reserved"] | (packet["TreeID"] << 32)


def cancel(client, message_id, async_id=None):
    """MS-SMB2 2.2.30: CANCEL, by AsyncId when given, else by MessageId."""
    packet = client.SMB_PACKET()
    packet["Command"] = s3.SMB2_CANCEL
    packet["MessageID"] = message_id
    packet["SessionID"] = client._Session["SessionID"]
    packet["CreditCharge"] = 0
    if async_id is not None:
        packet["Flags"] = FLAGS_ASYNC
        packet["Reserved"] = async_id & 0xFFFFFFFF
        packet["TreeID"] = async_id >> 32
    packet["Data"] = struct.pack("<HH", 4, 0)
    if client._Session["SigningActivated"]:
        packet["Flags"] |= s3.SMB2_FLAGS_SIGNED
        client.signSMB(packet)
    client._NetBIOSSession.send_packet(packet.getData())


class AsyncCreate(Caching):
    """A CREATE that waits for a break in another worker's client answers STATUS_PENDING
    at once (MS-SMB2 3.3.4.2) and completes later under the same AsyncId, or ends on
    CANCEL (MS-SMB2 3.3.5.16) with STATUS_CANCELLED."""

    def hold_and_wait(self, name):
        key_a = uuid.uuid4().bytes
        fid_a, _, state = self.open(self.a, self.ta, name, lease=(key_a, R | W | H))
        self.assertEqual(state, R | W | H)
        waiting = create(self.b, self.tb, name)
        interim = next_packet(self.b)
        self.assertEqual((interim["MessageID"], interim["Status"]), (waiting, STATUS_PENDING))
        self.assertTrue(interim["Flags"] & FLAGS_ASYNC)
        self.assertNotEqual(async_id(interim), 0)
        kind, fields = notification(self.a)
        self.assertEqual((kind, fields["key"], fields["new"]), ("lease", key_a, R | H))
        return key_a, fid_a, waiting, async_id(interim)

    def test_interim_then_the_answer_after_the_acknowledgement(self):
        key_a, fid_a, waiting, pending_id = self.hold_and_wait("async.txt")
        self.assertEqual(acknowledge_lease(self.a, self.ta, key_a, R | H), STATUS_SUCCESS)
        final = next_packet(self.b)
        self.assertEqual((final["MessageID"], final["Status"]), (waiting, STATUS_SUCCESS))
        self.assertTrue(final["Flags"] & FLAGS_ASYNC)
        self.assertEqual(async_id(final), pending_id)
        fid_b = s3.SMB2Create_Response(final["Data"])["FileID"].getData()
        self.assertEqual(self.b.close_file(self.tb, fid_b), STATUS_SUCCESS)
        self.a.close_file(self.ta, fid_a)

    def test_cancel_by_async_id_and_by_message_id(self):
        for by_async_id in (True, False):
            with self.subTest(by_async_id=by_async_id):
                name = f"cancel-{by_async_id}.txt"
                key_a, fid_a, waiting, pending_id = self.hold_and_wait(name)
                cancel(self.b, waiting, pending_id if by_async_id else None)
                final = next_packet(self.b)
                self.assertEqual((final["MessageID"], final["Status"]),
                                 (waiting, STATUS_CANCELLED))
                self.assertEqual(async_id(final), pending_id)
                # The holder's break goes on as before, and B opens once it is done.
                self.assertEqual(acknowledge_lease(self.a, self.ta, key_a, R | H),
                                 STATUS_SUCCESS)
                fid_b, _, _ = self.open(self.b, self.tb, name)
                self.b.close_file(self.tb, fid_b)
                self.a.close_file(self.ta, fid_a)

    def test_waiter_gone_with_its_connection(self):
        key_a, fid_a, _, _ = self.hold_and_wait("gone.txt")
        self.b.disconnect()
        self.assertEqual(acknowledge_lease(self.a, self.ta, key_a, R | H), STATUS_SUCCESS)
        # The server goes on serving: a new client opens the file.
        c, tc = self.connect()
        fid_c, _, _ = self.open(c, tc, "gone.txt")
        c.close_file(tc, fid_c)
        self.a.close_file(self.ta, fid_a)


class Timeout(Caching):
    timeout_config = ("oplock break timeout = 2",)

    def test_unacknowledged_break_times_out(self):
        fid_a, _, _ = self.open(self.a, self.ta, "silent.txt", oplock=s3.SMB2_OPLOCK_LEVEL_BATCH)
        waiting = create(self.b, self.tb, "silent.txt", oplock=s3.SMB2_OPLOCK_LEVEL_BATCH)
        kind, _ = notification(self.a)
        self.assertEqual(kind, "oplock")
        # A never acknowledges: at the timeout the break takes effect (A keeps level II).
        status, fid_b, level, _ = answer(self.b, waiting)
        self.assertEqual((status, level), (STATUS_SUCCESS, s3.SMB2_OPLOCK_LEVEL_II))
        # A's acknowledgement now comes too late.
        status, _ = acknowledge_oplock(self.a, self.ta, fid_a, s3.SMB2_OPLOCK_LEVEL_II)
        self.assertNotEqual(status, STATUS_SUCCESS)
        self.a.close_file(self.ta, fid_a)
        self.b.close_file(self.tb, fid_b)


DIRECTORY_LEASING = 0x20  # MS-SMB2 2.2.4 SMB2_GLOBAL_CAP_DIRECTORY_LEASING
PARENT_LEASE_KEY_SET = 0x04
FILE_DIRECTORY_FILE = 0x01
FILE_DELETE_ON_CLOSE = 0x1000
DELETE = 0x00010000
DIRECTORY_READ = 0x00120089  # FILE_LIST_DIRECTORY, attributes, EAs, READ_CONTROL, SYNCHRONIZE


def lease_v2_context(key, state, parent=None, version=2):
    """An RqLs create context (MS-SMB2 2.2.13.2.10 v2, with a ParentLeaseKey when given;
    2.2.13.2.8 v1)."""
    if version == 1:
        data = key + struct.pack("<IIQ", state, 0, 0)
    else:
        flags = PARENT_LEASE_KEY_SET if parent else 0
        data = key + struct.pack("<IIQ", state, flags, 0) + (parent or bytes(16)) + \
            struct.pack("<HH", 0, 0)
    return struct.pack("<IHHHHI", 0, 16, 4, 0, 24, len(data)) + b"RqLs" + b"\0" * 4 + data


def create_in(client, tree, name, *, options=0, context=b"", disposition=s3.FILE_OPEN_IF,
              access=ALL_ACCESS):
    """Sends a CREATE of a file or directory with the create context given."""
    body = s3.SMB2Create()
    body["SecurityFlags"] = 0
    body["RequestedOplockLevel"] = s3.SMB2_OPLOCK_LEVEL_LEASE if context else 0
    body["ImpersonationLevel"] = s3.SMB2_IL_IMPERSONATION
    body["DesiredAccess"] = access
    body["FileAttributes"] = 0
    body["ShareAccess"] = SHARE_ALL
    body["CreateDisposition"] = disposition
    body["CreateOptions"] = options
    encoded = name.encode("utf-16le")
    body["NameLength"] = len(encoded)
    padded = encoded + b"\0" * (-len(encoded) % 8)
    body["Buffer"] = padded + context
    body["CreateContextsOffset"] = (64 + 56 + len(padded)) if context else 0
    body["CreateContextsLength"] = len(context)
    packet = client.SMB_PACKET()
    packet["Command"] = s3.SMB2_CREATE
    packet["TreeID"] = tree
    packet["Data"] = body
    return client.sendSMB(packet)


class DirectoryLeasingClient(raw.Client):
    """A raw client whose NEGOTIATE offers directory leasing, as Windows' and Samba's do
    (impacket's does not, and its own CREATE cannot cope with directory leases: this
    test sends its CREATEs itself)."""

    def sendSMB(self, packet):
        if packet["Command"] == s3.SMB2_NEGOTIATE:
            packet["Data"]["Capabilities"] |= DIRECTORY_LEASING
        return super().sendSMB(packet)


class DirectoryLeases(Caching):
    """Directory leases (MS-SMB2 3.3.5.9.11, 3.3.4.7) between two clients in two workers:
    A holds RH on a directory; B's changes of its entries break it to none, A's own
    changes naming the lease as their parent do not."""

    def connect(self):
        client = DirectoryLeasingClient(self.server.host, self.server.port, 0x300, timeout=60)
        self.clients.append(client)
        client.login(self.server.user, self.server.password)
        return client, client.connectTree(self.server.share)

    def open_in(self, client, tree, name, **kw):
        status, fid, level, lease = answer(client, create_in(client, tree, name, **kw))
        self.assertEqual(status, STATUS_SUCCESS, raw.status_name(status))
        return fid, level, lease

    def lease_directory(self, key):
        # As a client caching a directory's listing opens it (read rights only; with
        # DELETE it would keep renames out of it).
        fid, level, state = self.open_in(self.a, self.ta, "leased", options=FILE_DIRECTORY_FILE,
                                         context=lease_v2_context(key, R | W | H),
                                         access=DIRECTORY_READ)
        # Never W on a directory.
        self.assertEqual((level, state), (s3.SMB2_OPLOCK_LEVEL_LEASE, R | H))
        return fid

    def expect_break_to_none(self, key):
        kind, fields = notification(self.a)
        self.assertEqual((kind, fields["key"], fields["current"], fields["new"]),
                         ("lease", key, R | H, 0))
        self.assertEqual(fields["flags"], 1)  # ACK_REQUIRED: H goes
        self.assertEqual(acknowledge_lease(self.a, self.ta, key, 0), STATUS_SUCCESS)

    def expect_no_break(self):
        try:
            data = self.a._NetBIOSSession.recv_packet(0.5)
        except Exception:  # the read timed out: nothing came
            return
        self.fail(f"unexpected message {s3.SMB2Packet(data.get_trailer())['Command']}")

    def test_directory_lease_broken_by_the_other_client(self):
        self.assertTrue(self.a.negotiate_response["Capabilities"] & DIRECTORY_LEASING)
        key = uuid.uuid4().bytes
        dir_fid = self.lease_directory(key)
        # A v1 lease on a directory: no lease.
        fid, level, state = self.open_in(self.b, self.tb, "leased", options=FILE_DIRECTORY_FILE,
                                         context=lease_v2_context(uuid.uuid4().bytes, R | H,
                                                                  version=1))
        self.assertEqual((level, state), (s3.SMB2_OPLOCK_LEVEL_NONE, None))
        self.b.close_file(self.tb, fid)

        # B (another worker) creates an entry: A's lease goes to none; B does not wait.
        fid_b, _, _ = self.open_in(self.b, self.tb, "leased\\b.txt", disposition=s3.FILE_CREATE)
        self.expect_break_to_none(key)
        self.b.close_file(self.tb, fid_b)

        # A's own create naming its directory lease as the parent breaks nothing.
        self.lease_directory(key)  # the lease grows back to RH
        fid_a, _, state = self.open_in(
            self.a, self.ta, "leased\\a.txt", disposition=s3.FILE_CREATE,
            context=lease_v2_context(uuid.uuid4().bytes, R | W | H, parent=key))
        self.assertEqual(state, R | W | H)
        self.expect_no_break()
        self.a.close_file(self.ta, fid_a)

        # Renamed within it, or deleted, by B: broken again each time.
        self.lease_directory(key)
        fid_b, _, _ = self.open_in(self.b, self.tb, "leased\\b.txt", access=DELETE,
                                   disposition=s3.FILE_OPEN)
        # MS-SMB2 2.2.39 SET_INFO of FileRenameInformation ([MS-FSCC] 2.4.42.2).
        target = "leased\\c.txt".encode("utf-16le")
        rename = struct.pack("<B7xQI", 0, 0, len(target)) + target
        body = struct.pack("<HBBIHHI", 33, s3.SMB2_0_INFO_FILE, s3.SMB2_FILE_RENAME_INFO,
                           len(rename), 64 + 32, 0, 0) + fid_b + rename
        status, _ = self.b.request(s3.SMB2_SET_INFO, body, self.tb)
        self.assertEqual(status, STATUS_SUCCESS, raw.status_name(status))
        self.expect_break_to_none(key)
        self.b.close_file(self.tb, fid_b)
        self.lease_directory(key)
        fid_b, _, _ = self.open_in(self.b, self.tb, "leased\\c.txt", access=DELETE,
                                   disposition=s3.FILE_OPEN, options=FILE_DELETE_ON_CLOSE)
        self.expect_no_break()  # not before the file goes
        self.b.close_file(self.tb, fid_b)
        self.expect_break_to_none(key)
        self.a.close_file(self.ta, dir_fid)


class NoDirectoryLeases(unittest.TestCase):
    def capabilities(self, server, client_class):
        return self.connect(server, client_class).negotiate_response["Capabilities"]

    def connect(self, server, client_class):
        client = client_class(server.host, server.port, 0x300, timeout=60)
        self.addCleanup(client.disconnect)
        client.login(server.user, server.password)
        return client

    def test_not_offered_to_a_client_that_does_not_offer_them(self):
        server = Server(log_level=1)
        server.start()
        self.addCleanup(server.stop)
        self.assertTrue(self.capabilities(server, DirectoryLeasingClient) & DIRECTORY_LEASING)
        client = self.connect(server, raw.Client)
        self.assertFalse(client.negotiate_response["Capabilities"] & DIRECTORY_LEASING)
        # Nor granted to it.
        tree = client.connectTree(server.share)
        status, fid, level, state = answer(client, create_in(
            client, tree, "dir", options=FILE_DIRECTORY_FILE,
            context=lease_v2_context(uuid.uuid4().bytes, R | H)))
        self.assertEqual((status, level, state), (STATUS_SUCCESS, s3.SMB2_OPLOCK_LEVEL_NONE, None))
        client.close_file(tree, fid)

    def test_not_offered_where_the_kernel_holds_the_caching(self):
        server = Server(log_level=1, extra_share=["kernel oplocks = yes"])
        server.start()
        self.addCleanup(server.stop)
        self.assertFalse(self.capabilities(server, DirectoryLeasingClient) & DIRECTORY_LEASING)


class ManyLeases(Caching):
    def table_opens(self):
        out = subprocess.run([os.environ["SMBSTATUS_BIN"], "-s", self.server.conf,
                              "--json"], capture_output=True, text=True, timeout=30)
        return int(json.loads(out.stdout)["server"]["table_opens"])

    def test_thousand_files_with_leases_then_closed(self):
        clients = [(self.a, self.ta), (self.b, self.tb), self.connect(), self.connect()]
        held = []
        for n in range(1000):
            client, tree = clients[n % 4]
            fid, level, state = self.open(client, tree, f"many-{n}.txt",
                                          lease=(uuid.uuid4().bytes, R | W | H))
            self.assertEqual(state, R | W | H)
            held.append((client, tree, fid))
        self.assertEqual(self.table_opens(), 1000)
        for client, tree, fid in held:
            self.assertEqual(client.close_file(tree, fid), STATUS_SUCCESS)
        self.assertEqual(self.table_opens(), 0)


if __name__ == "__main__":
    unittest.main()
