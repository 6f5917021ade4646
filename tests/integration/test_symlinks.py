#!/usr/bin/python3
"""Symbolic links made on the host, seen through SMB by impacket (impacket_raw.Client).

The share holds links that stay inside it (to a file, to a directory) and links that do
not (absolute and relative ones to a directory beside the share, a dangling one, one
that points to itself). On both
servers no path leaves the share: a link inside is followed and looks like its target,
an outside file is never read and nothing is created outside through a link.

This server shows a link it does not follow as a reparse point ([MS-FSCC] 2.1.2.4):
- a listing gives it FILE_ATTRIBUTE_REPARSE_POINT and IO_REPARSE_TAG_SYMLINK in EaSize;
- a CREATE that meets it, as the last component or on the way, answers
  STATUS_STOPPED_ON_SYMLINK with the Symbolic Link Error Response ([MS-SMB2] 2.2.2.2.1:
  the target, SYMLINK_FLAG_RELATIVE for a relative one, the length of the rest of the
  path), as ErrorData in 3.0 and in an error context in 3.1.1;
- with FILE_OPEN_REPARSE_POINT the link itself opens: FileAttributeTagInformation
  carries the tag, FSCTL_GET_REPARSE_POINT its reparse data (BUFFER_TOO_SMALL with room
  for less than the header, BUFFER_OVERFLOW with part of it), FSCTL_SET_REPARSE_POINT
  answers NOT_SUPPORTED, and delete-on-close removes the link, not what it points to.
Samba 4.17 (`follow symlinks = yes`, `wide links = no`, its defaults) hides such links
from listings and answers OBJECT_NAME_NOT_FOUND (OBJECT_PATH_NOT_FOUND on the way); the
test checks that on the reference run.

Run: SMBTEST_KIND=samba /usr/bin/python3 test_symlinks.py
"""

import os
import struct
import unittest

from impacket import nt_errors
from impacket import smb3structs as s3

import impacket_raw as raw
import smbtest
from smbtest import Server

FSCTL_GET_REPARSE_POINT = 0x000900A8
FSCTL_SET_REPARSE_POINT = 0x000900A4
FILE_OPEN_REPARSE_POINT = 0x00200000
FILE_DELETE_ON_CLOSE = 0x00001000
FILE_ATTRIBUTE_REPARSE_POINT = 0x400
FILE_ATTRIBUTE_DIRECTORY = 0x10
FILE_ATTRIBUTE_TAG_INFORMATION = 35
FILE_ID_BOTH_DIRECTORY_INFORMATION = 37
IO_REPARSE_TAG_SYMLINK = 0xA000000C
SYMLINK_FLAG_RELATIVE = 1
STATUS_STOPPED_ON_SYMLINK = 0x8000002D
STATUS_NOT_A_REPARSE_POINT = 0xC0000275
STATUS_BUFFER_OVERFLOW = 0x80000005
STATUS_NOT_SUPPORTED = nt_errors.STATUS_NOT_SUPPORTED
NOT_FOUND = (nt_errors.STATUS_OBJECT_NAME_NOT_FOUND, nt_errors.STATUS_OBJECT_PATH_NOT_FOUND)


def create(client, tree_id, name, options=0, access=raw.READ_ACCESS,
           disposition=s3.FILE_OPEN):
    """CREATE: (status, file id or None, SMB2 body of the answer)."""
    request = s3.SMB2Create()
    request["SecurityFlags"] = 0
    request["RequestedOplockLevel"] = s3.SMB2_OPLOCK_LEVEL_NONE
    request["ImpersonationLevel"] = s3.SMB2_IL_IMPERSONATION
    request["DesiredAccess"] = access
    request["FileAttributes"] = 0
    request["ShareAccess"] = raw.SHARE_ALL
    request["CreateDisposition"] = disposition
    request["CreateOptions"] = options
    request["NameLength"] = len(name) * 2
    request["Buffer"] = name.encode("utf-16le")
    request["CreateContextsOffset"] = 0
    request["CreateContextsLength"] = 0
    status, answer = client.request(s3.SMB2_CREATE, request, tree_id)
    body = bytes(answer["Data"])
    if status != raw.STATUS_SUCCESS:
        return status, None, body
    return status, s3.SMB2Create_Response(answer["Data"])["FileID"].getData(), body


def error_data(body):
    """ErrorData of an ERROR response ([MS-SMB2] 2.2.2), unwrapped from its one error
    context (2.2.2.1) when ErrorContextCount says there are contexts."""
    structure_size, context_count, _, byte_count = struct.unpack_from("<HBBI", body)
    assert structure_size == 9, f"not an ERROR response: StructureSize {structure_size}"
    data = body[8:8 + byte_count]
    if context_count == 0:
        return data
    assert context_count == 1, f"{context_count} error contexts"
    length, error_id = struct.unpack_from("<II", data)
    assert error_id == 0, f"ErrorId {error_id:#x}"
    return data[8:8 + length]


def symlink_fields(buffer, offset):
    """SubstituteName, PrintName and Flags of the symbolic link fields that start at
    SubstituteNameOffset ([MS-FSCC] 2.1.2.4)."""
    sub_off, sub_len, print_off, print_len, flags = struct.unpack_from("<HHHHI", buffer, offset)
    path = buffer[offset + 12:]
    return (path[sub_off:sub_off + sub_len].decode("utf-16le"),
            path[print_off:print_off + print_len].decode("utf-16le"), flags)


def parse_symlink_error(data):
    """[MS-SMB2] 2.2.2.2.1: (unparsed path length, substitute name, print name, flags)."""
    length, tag, reparse_tag, _, unparsed = struct.unpack_from("<IIIHH", data)
    assert length == len(data) - 4, f"SymLinkLength {length} for {len(data)} bytes"
    assert tag == 0x4C4D5953, f"SymLinkErrorTag {tag:#x}"
    assert reparse_tag == IO_REPARSE_TAG_SYMLINK, f"ReparseTag {reparse_tag:#x}"
    return (unparsed, *symlink_fields(data, 16))


def parse_reparse_data(data):
    """[MS-FSCC] 2.1.2.4: (substitute name, print name, flags)."""
    tag, length, _ = struct.unpack_from("<IHH", data)
    assert tag == IO_REPARSE_TAG_SYMLINK, f"ReparseTag {tag:#x}"
    assert length == len(data) - 8, f"ReparseDataLength {length} for {len(data)} bytes"
    return symlink_fields(data, 8)


class Symlinks(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = Server()
        cls.server.start()
        share = cls.server.share_path
        cls.outside = os.path.join(cls.server.base, "outside")
        os.makedirs(cls.outside)
        with open(os.path.join(cls.outside, "secret"), "w") as f:
            f.write("OUTSIDE-SECRET")
        with open(os.path.join(share, "file.txt"), "w") as f:
            f.write("hello")
        os.makedirs(os.path.join(share, "subdir"))
        with open(os.path.join(share, "subdir", "inner.txt"), "w") as f:
            f.write("inner")
        cls.links = {
            "link_in": "file.txt",
            "link_dir": "subdir",
            "abs_out": os.path.join(cls.outside, "secret"),
            "rel_out": "../outside/secret",
            "dir_out": "../outside",
            "dangling": "nowhere",
            "loop": "loop",
        }
        for name, target in cls.links.items():
            os.symlink(target, os.path.join(share, name))

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()

    @property
    def samba(self):
        return self.server.kind == "samba"

    def connect(self, dialect=0x300):
        client = raw.connect(self.server, dialect)
        self.addCleanup(client.disconnect)
        return client, client.connectTree(self.server.share)

    def read_all(self, client, tid, fid):
        status, data = client.read_raw(tid, fid, 0, 64)
        return data if status == raw.STATUS_SUCCESS else b""

    def listing(self, client, tid):
        """{name: (attributes, EaSize)} of the share root (FileIdBothDirectoryInformation)."""
        root = client.create(tid, "", raw.READ_ACCESS, raw.SHARE_ALL, s3.FILE_DIRECTORY_FILE,
                             s3.FILE_OPEN, 0)
        self.addCleanup(client.close, tid, root)
        buf = client.queryDirectory(tid, root, "*",
                                    informationClass=FILE_ID_BOTH_DIRECTORY_INFORMATION,
                                    maxBufferSize=65536)
        entries, offset = {}, 0
        while True:
            next_offset, = struct.unpack_from("<I", buf, offset)
            attributes, name_length, ea_size = struct.unpack_from("<III", buf, offset + 56)
            name = buf[offset + 104:offset + 104 + name_length].decode("utf-16le")
            entries[name] = (attributes, ea_size)
            if not next_offset:
                return entries
            offset += next_offset

    def test_links_inside_are_followed_on_both_servers(self):
        client, tid = self.connect()
        for name, content in (("link_in", b"hello"), ("link_dir\\inner.txt", b"inner")):
            for options in (0, FILE_OPEN_REPARSE_POINT):
                status, fid, _ = create(client, tid, name, options)
                self.assertEqual(status, raw.STATUS_SUCCESS, f"{name} {options:#x}")
                self.assertEqual(self.read_all(client, tid, fid), content, name)
                # A followed link is its target: no reparse point.
                status, _ = client.fsctl(tid, fid, FSCTL_GET_REPARSE_POINT, max_output=4096)
                self.assertEqual(status, STATUS_NOT_A_REPARSE_POINT, name)
                client.close_file(tid, fid)
        entries = self.listing(client, tid)
        self.assertEqual(entries["link_in"][0] & FILE_ATTRIBUTE_REPARSE_POINT, 0)
        self.assertEqual(entries["link_dir"][0] & (FILE_ATTRIBUTE_REPARSE_POINT |
                                                    FILE_ATTRIBUTE_DIRECTORY),
                         FILE_ATTRIBUTE_DIRECTORY)

    def test_nothing_outside_is_read_or_created_on_both_servers(self):
        for dialect in (0x300, 0x210):
            client, tid = self.connect(dialect)
            for name in ("abs_out", "rel_out", "dir_out\\secret", "dangling", "loop"):
                status, fid, _ = create(client, tid, name)
                self.assertNotEqual(status, raw.STATUS_SUCCESS, name)
                status, fid, _ = create(client, tid, name, FILE_OPEN_REPARSE_POINT)
                if fid is not None:
                    self.assertEqual(self.read_all(client, tid, fid), b"", f"{name} has no data")
                    client.close_file(tid, fid)
            for name in ("dir_out\\created", "abs_out", "rel_out"):
                status, fid, _ = create(client, tid, name, 0, raw.READ_ACCESS | s3.FILE_WRITE_DATA,
                                        s3.FILE_OVERWRITE_IF)
                self.assertNotEqual(status, raw.STATUS_SUCCESS, name)
        self.assertEqual(sorted(os.listdir(self.outside)), ["secret"])
        with open(os.path.join(self.outside, "secret")) as f:
            self.assertEqual(f.read(), "OUTSIDE-SECRET")

    def test_links_not_followed_are_listed_as_reparse_points(self):
        client, tid = self.connect()
        entries = self.listing(client, tid)
        for name in ("abs_out", "rel_out", "dir_out", "dangling", "loop"):
            if self.samba:
                self.assertNotIn(name, entries, "Samba 4.17 hides a link it does not follow")
                continue
            attributes, ea_size = entries[name]
            self.assertTrue(attributes & FILE_ATTRIBUTE_REPARSE_POINT, f"{name}: {attributes:#x}")
            self.assertEqual(ea_size, IO_REPARSE_TAG_SYMLINK, name)

    def test_create_stops_on_a_link_not_followed(self):
        cases = (  # name, target as the error response gives it, relative, unparsed bytes
            ("abs_out", self.links["abs_out"].replace("/", "\\"), False, 0),
            ("rel_out", "..\\outside\\secret", True, 0),
            ("dangling", "nowhere", True, 0),
            ("loop", "loop", True, 0),
            ("dir_out\\secret", "..\\outside", True, len("\\secret") * 2),
            ("dir_out\\new.txt", "..\\outside", True, len("\\new.txt") * 2),
        )
        for dialect in (0x300, 0x311):
            if dialect == 0x311 and self.samba:
                continue  # impacket's 3.1.1 file operations fail against Samba (NOTES)
            client, tid = self.connect(dialect)
            for name, target, relative, unparsed in cases:
                label = f"{raw.DIALECT_NAMES[dialect]} {name}"
                status, _, body = create(client, tid, name)
                if self.samba:
                    self.assertIn(status, NOT_FOUND, f"{label}: {raw.status_name(status)}")
                    continue
                self.assertEqual(status, STATUS_STOPPED_ON_SYMLINK,
                                 f"{label}: {raw.status_name(status)}")
                got_unparsed, substitute, printed, flags = parse_symlink_error(error_data(body))
                self.assertEqual((got_unparsed, substitute, printed),
                                 (unparsed, target, target), label)
                self.assertEqual(flags & SYMLINK_FLAG_RELATIVE,
                                 SYMLINK_FLAG_RELATIVE if relative else 0, label)

    def test_the_link_itself_opens_with_open_reparse_point(self):
        if self.samba:
            self.skipTest("Samba 4.17 serves no reparse points (its answers are checked in "
                          "test_create_stops_on_a_link_not_followed)")
        client, tid = self.connect()
        for name, relative in (("rel_out", True), ("abs_out", False), ("dangling", True)):
            status, fid, _ = create(client, tid, name, FILE_OPEN_REPARSE_POINT)
            self.assertEqual(status, raw.STATUS_SUCCESS, f"{name}: {raw.status_name(status)}")
            self.addCleanup(client.close_file, tid, fid)
            status, tag_info = client.query_info(tid, fid, s3.SMB2_0_INFO_FILE,
                                                 FILE_ATTRIBUTE_TAG_INFORMATION)
            self.assertEqual(status, raw.STATUS_SUCCESS, name)
            attributes, tag = struct.unpack("<II", tag_info[:8])
            self.assertTrue(attributes & FILE_ATTRIBUTE_REPARSE_POINT, name)
            self.assertEqual(tag, IO_REPARSE_TAG_SYMLINK, name)
            status, data = client.fsctl(tid, fid, FSCTL_GET_REPARSE_POINT, max_output=4096)
            self.assertEqual(status, raw.STATUS_SUCCESS, f"{name}: {raw.status_name(status)}")
            target = self.links[name].replace("/", "\\")
            self.assertEqual(parse_reparse_data(data),
                             (target, target, SYMLINK_FLAG_RELATIVE if relative else 0), name)
        status, fid, _ = create(client, tid, "rel_out", FILE_OPEN_REPARSE_POINT)
        self.addCleanup(client.close_file, tid, fid)
        status, _ = client.fsctl(tid, fid, FSCTL_GET_REPARSE_POINT, max_output=4)
        self.assertEqual(status, nt_errors.STATUS_BUFFER_TOO_SMALL)
        status, _ = client.fsctl(tid, fid, FSCTL_GET_REPARSE_POINT, max_output=12)
        self.assertEqual(status, STATUS_BUFFER_OVERFLOW)
        status, _ = client.fsctl(tid, fid, FSCTL_SET_REPARSE_POINT, b"\x00" * 8)
        self.assertEqual(status, STATUS_NOT_SUPPORTED)
        # The link has no data to write or replace.
        status, _, _ = create(client, tid, "rel_out", FILE_OPEN_REPARSE_POINT,
                              raw.READ_ACCESS | s3.FILE_WRITE_DATA, s3.FILE_OVERWRITE_IF)
        self.assertEqual(status, nt_errors.STATUS_ACCESS_DENIED)

    def test_delete_on_close_removes_the_link_not_its_target(self):
        if self.samba:
            self.skipTest("Samba 4.17 does not open a link it does not follow")
        share = self.server.share_path
        os.symlink(os.path.join(self.outside, "secret"), os.path.join(share, "doomed"))
        client, tid = self.connect()
        status, fid, _ = create(client, tid, "doomed",
                                FILE_OPEN_REPARSE_POINT | FILE_DELETE_ON_CLOSE,
                                raw.READ_ACCESS | raw.DELETE)
        self.assertEqual(status, raw.STATUS_SUCCESS, raw.status_name(status))
        self.assertEqual(client.close_file(tid, fid), raw.STATUS_SUCCESS)
        self.assertFalse(os.path.lexists(os.path.join(share, "doomed")))
        with open(os.path.join(self.outside, "secret")) as f:
            self.assertEqual(f.read(), "OUTSIDE-SECRET")


if __name__ == "__main__":
    smbtest.main()
