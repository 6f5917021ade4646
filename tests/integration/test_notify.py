#!/usr/bin/python3
"""CHANGE_NOTIFY (MS-SMB2 3.3.5.19) seen by one client while others change the directory.

The watcher is an impacket connection with a directory open; its CHANGE_NOTIFY answers at
once with an interim STATUS_PENDING (SMB2_FLAGS_ASYNC_COMMAND, an AsyncId) and completes
with FILE_NOTIFY_INFORMATION entries (MS-FSCC 2.7.1) when:
  - another client (another ClientGUID, so another worker process) creates, renames and
    deletes files in it: ADDED, RENAMED_OLD_NAME + RENAMED_NEW_NAME, REMOVED;
  - a local process on the server's host does the same in the shared directory (this
    server only: the Samba peer is run with `kernel change notify = no`);
  - with SMB2_WATCH_TREE, a file is made in a subdirectory created after the watch began:
    the name is relative, with a backslash.
CANCEL answers STATUS_CANCELLED; closing the handle under a waiting request answers
STATUS_NOTIFY_CLEANUP. A buffer larger than the negotiated MaxTransactSize is refused.

Run: SMBTEST_KIND=self SMBD_BIN=... SMBD_PASSWD_BIN=... /usr/bin/python3 test_notify.py
"""

import os
import struct
import unittest

from impacket import smb3structs as s3
from impacket.smbconnection import SMBConnection

import smbtest
from smbtest import Server
from test_hostwide import worker_serving

TIMEOUT = 30
STATUS_PENDING = 0x00000103
STATUS_NOTIFY_CLEANUP = 0x0000010B
STATUS_CANCELLED = 0xC0000120
STATUS_INVALID_PARAMETER = 0xC000000D
FLAGS_ASYNC = 0x00000002
WATCH_TREE = 0x0001
ADDED, REMOVED, MODIFIED, OLD_NAME, NEW_NAME = 1, 2, 3, 4, 5
NAME_CHANGES = s3.FILE_NOTIFY_CHANGE_FILE_NAME | s3.FILE_NOTIFY_CHANGE_DIR_NAME
SHARE_ALL = s3.FILE_SHARE_READ | s3.FILE_SHARE_WRITE | s3.FILE_SHARE_DELETE


def async_id_of(packet):
    return packet["Reserved"] | (packet["TreeID"] << 32)


def parse_notify_information(buffer):
    """MS-FSCC 2.7.1: [(action, name)], each entry checked against the buffer."""
    out, at = [], 0
    while buffer:
        assert at + 12 <= len(buffer), (at, len(buffer))
        nxt, action, length = struct.unpack_from("<III", buffer, at)
        assert at + 12 + length <= len(buffer)
        out.append((action, buffer[at + 12:at + 12 + length].decode("utf-16-le")))
        if nxt == 0:
            break
        assert nxt % 4 == 0, nxt
        at += nxt
    return out


class Client:
    def __init__(self, server):
        self.conn = SMBConnection(server.host, server.host, sess_port=server.port,
                                  preferredDialect=s3.SMB2_DIALECT_30, timeout=TIMEOUT)
        self.conn.login(server.user, server.password)
        self.tree = self.conn.connectTree(server.share)
        self.smb = self.conn.getSMBServer()

    def open_dir(self, name):
        return self.conn.createFile(
            self.tree, name, desiredAccess=s3.FILE_LIST_DIRECTORY | s3.FILE_READ_ATTRIBUTES,
            shareMode=SHARE_ALL, creationOption=s3.FILE_DIRECTORY_FILE,
            creationDisposition=s3.FILE_OPEN_IF, fileAttributes=s3.FILE_ATTRIBUTE_DIRECTORY)

    def create(self, name):
        fid = self.conn.createFile(self.tree, name, desiredAccess=s3.GENERIC_ALL,
                                   shareMode=SHARE_ALL, creationOption=s3.FILE_NON_DIRECTORY_FILE,
                                   creationDisposition=s3.FILE_CREATE)
        self.conn.closeFile(self.tree, fid)

    def send_notify(self, fid, flags=0, filter_=NAME_CHANGES, length=4096):
        packet = self.smb.SMB_PACKET()
        packet["Command"] = s3.SMB2_CHANGE_NOTIFY
        packet["TreeID"] = self.tree
        body = s3.SMB2ChangeNotify()
        body["Flags"] = flags
        body["OutputBufferLength"] = length
        body["FileID"] = fid
        body["CompletionFilter"] = filter_
        packet["Data"] = body
        return self.smb.sendSMB(packet)

    def send_cancel(self, message_id, async_id):
        packet = self.smb.SMB_PACKET()
        packet["Command"] = s3.SMB2_CANCEL
        packet["MessageID"] = message_id
        packet["Flags"] = FLAGS_ASYNC
        packet["Reserved"] = async_id & 0xFFFFFFFF
        packet["TreeID"] = async_id >> 32
        packet["Data"] = s3.SMB2Cancel()
        self.smb.sendSMB(packet)

    def receive(self):
        data = self.smb._NetBIOSSession.recv_packet(TIMEOUT)
        return s3.SMB2Packet(data.get_trailer())

    def waiting_notify(self, fid, **kw):
        mid = self.send_notify(fid, **kw)
        interim = self.receive()
        assert interim["MessageID"] == mid
        assert interim["Status"] == STATUS_PENDING, hex(interim["Status"])
        assert interim["Flags"] & FLAGS_ASYNC
        return mid, async_id_of(interim)

    def final(self, mid, async_id):
        answer = self.receive()
        assert answer["MessageID"] == mid, (answer["MessageID"], mid)
        assert answer["Flags"] & FLAGS_ASYNC
        assert async_id_of(answer) == async_id
        changes = None
        if answer["Status"] == 0:
            response = s3.SMB2ChangeNotify_Response(answer["Data"])
            offset = response["OutputBufferOffset"] - 64
            changes = parse_notify_information(
                answer["Data"][offset:offset + response["OutputBufferLength"]])
        return answer["Status"], changes

    def close(self):
        try:
            self.conn.close()
        except Exception:
            pass


class Notify(unittest.TestCase):
    def setUp(self):
        self.server = Server(log_level=2)
        self.server.start()
        self.addCleanup(self.server.stop)
        self.watcher = Client(self.server)
        self.addCleanup(self.watcher.close)
        self.other = Client(self.server)
        self.addCleanup(self.other.close)
        self.dir = self.watcher.open_dir("watched")
        self.local = os.path.join(self.server.share_path, "watched")

    def expect(self, mid, async_id, changes):
        """The answer holds `changes`; the server may answer with the first part of a
        sequence and the rest on the next request (as Windows and Samba do)."""
        seen = []
        while True:
            status, got = self.watcher.final(mid, async_id)
            self.assertEqual(status, 0, hex(status))
            seen += got
            if len(seen) >= len(changes):
                break
            mid, async_id = self.watcher.waiting_notify(self.dir)
        self.assertEqual(seen, changes)

    def test_changes_of_another_client(self):
        self.assertNotEqual(worker_serving(self.server, self.watcher.conn),
                            worker_serving(self.server, self.other.conn))
        mid, aid = self.watcher.waiting_notify(self.dir)
        self.other.create("watched\\made.txt")
        self.expect(mid, aid, [(ADDED, "made.txt")])
        # Changes between requests are kept on the open (MS-FSA 2.1.5.10).
        self.other.conn.rename(self.server.share, "watched\\made.txt", "watched\\renamed.txt")
        self.other.conn.deleteFile(self.server.share, "watched\\renamed.txt")
        mid, aid = self.watcher.send_notify(self.dir), None
        answer = self.watcher.receive()
        self.assertEqual(answer["Status"], 0, "kept changes answer at once")
        response = s3.SMB2ChangeNotify_Response(answer["Data"])
        offset = response["OutputBufferOffset"] - 64
        self.assertEqual(
            parse_notify_information(answer["Data"][offset:offset + response["OutputBufferLength"]]),
            [(OLD_NAME, "made.txt"), (NEW_NAME, "renamed.txt"), (REMOVED, "renamed.txt")])

    def test_changes_of_a_local_process(self):
        if self.server.kind == "samba":
            self.skipTest("the Samba peer runs with kernel change notify = no")
        mid, aid = self.watcher.waiting_notify(self.dir)
        with open(os.path.join(self.local, "local.txt"), "w") as f:
            f.write("x")
        self.expect(mid, aid, [(ADDED, "local.txt")])
        mid, aid = self.watcher.waiting_notify(self.dir)
        os.rename(os.path.join(self.local, "local.txt"), os.path.join(self.local, "moved.txt"))
        self.expect(mid, aid, [(OLD_NAME, "local.txt"), (NEW_NAME, "moved.txt")])
        mid, aid = self.watcher.waiting_notify(self.dir)
        os.unlink(os.path.join(self.local, "moved.txt"))
        self.expect(mid, aid, [(REMOVED, "moved.txt")])

    def test_watch_tree_sees_new_subdirectories(self):
        mid, aid = self.watcher.waiting_notify(self.dir, flags=WATCH_TREE)
        self.other.conn.createDirectory(self.server.share, "watched\\sub")
        self.expect(mid, aid, [(ADDED, "sub")])
        mid, aid = self.watcher.waiting_notify(self.dir, flags=WATCH_TREE)
        self.other.create("watched\\sub\\deep.txt")
        self.expect(mid, aid, [(ADDED, "sub\\deep.txt")])

    def test_cancel_answers_cancelled(self):
        mid, aid = self.watcher.waiting_notify(self.dir)
        self.watcher.send_cancel(mid, aid)
        status, changes = self.watcher.final(mid, aid)
        self.assertEqual(status, STATUS_CANCELLED, hex(status))

    def test_close_answers_notify_cleanup(self):
        mid, aid = self.watcher.waiting_notify(self.dir)
        # A raw CLOSE: impacket's closeFile() would take the NOTIFY's answer for itself.
        packet = self.watcher.smb.SMB_PACKET()
        packet["Command"] = s3.SMB2_CLOSE
        packet["TreeID"] = self.watcher.tree
        body = s3.SMB2Close()
        body["FileID"] = self.dir
        packet["Data"] = body
        self.watcher.smb.sendSMB(packet)
        # The CLOSE's answer and the NOTIFY's may come in either order.
        answers = [self.watcher.receive(), self.watcher.receive()]
        notify = [a for a in answers if a["MessageID"] == mid]
        self.assertEqual(len(notify), 1)
        self.assertEqual(notify[0]["Status"], STATUS_NOTIFY_CLEANUP, hex(notify[0]["Status"]))

    def test_buffer_beyond_max_transact_size(self):
        mid = self.watcher.send_notify(self.dir, length=16 * 1024 * 1024)
        answer = self.watcher.receive()
        self.assertEqual(answer["MessageID"], mid)
        self.assertEqual(answer["Status"], STATUS_INVALID_PARAMETER, hex(answer["Status"]))


if __name__ == "__main__":
    smbtest.main()
