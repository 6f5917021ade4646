#!/usr/bin/python3
"""`read only = yes` refuses every kind of write.

A share `ro` (read only = yes) holds a file and a directory; over SMB 2.1 and 3.1.1,
impacket (impacket_raw.Client) tries each request that writes: CREATE with each access
right that allows writing, with each disposition that creates or overwrites, with
FILE_DELETE_ON_CLOSE; WRITE; SET_INFO of basic information, end of file, allocation,
rename, hard link, disposition and security; the FSCTLs that write (set sparse, zero
data, server-side copy into the share). smbclient's put, mkdir, rename, del, rmdir and
setmode are tried as well. After each test the share's files are what they were on
disk: names, types, modes, sizes, times and contents.

A CREATE may grant a right only when every write that right allows is then refused
(Samba grants WRITE_DAC on a read-only share and refuses the SET_INFO). The same requests
against the writable share succeed (class Control), so a refusal above comes from the
share being read-only and not from a malformed request.

Run: SMBTEST_KIND=samba /usr/bin/python3 test_readonly.py
"""

import os
import stat
import struct
import unittest

from impacket import smb3structs as s3
from impacket import nt_errors

import impacket_raw as raw
import smbtest
from smbtest import Server

KIND = smbtest.default_kind()
RO = "ro"
DIALECTS = {"2_1": 0x210, "3_1_1": 0x311}

ACCESS_DENIED = nt_errors.STATUS_ACCESS_DENIED
# Samba answers a rename and FSCTL_SET_SPARSE on a read-only share with this one.
MEDIA_WRITE_PROTECTED = nt_errors.STATUS_MEDIA_WRITE_PROTECTED
REFUSED = {ACCESS_DENIED, MEDIA_WRITE_PROTECTED}
# A CREATE of a name that does not exist, on a share that cannot create it: Samba
# reports the name as not found.
REFUSED_NEW_NAME = REFUSED | {nt_errors.STATUS_OBJECT_NAME_NOT_FOUND}
# FILE_DELETE_ON_CLOSE without DELETE in the access granted (MAXIMUM_ALLOWED on a read-only
# share) is INVALID_PARAMETER in MS-FSA 2.1.5.1; ACCESS_DENIED refuses it as well.
REFUSED_DELETE_ON_CLOSE = REFUSED | {nt_errors.STATUS_INVALID_PARAMETER}
# A server that does not implement an FSCTL refuses it too ([MS-SMB2] 3.3.5.15).
REFUSED_FSCTL = REFUSED | {nt_errors.STATUS_INVALID_DEVICE_REQUEST,
                           nt_errors.STATUS_NOT_SUPPORTED}
UNSUPPORTED_FSCTL = {nt_errors.STATUS_INVALID_DEVICE_REQUEST, nt_errors.STATUS_NOT_SUPPORTED}

FILE_ATTRIBUTE_READONLY, FILE_ATTRIBUTE_HIDDEN = 0x1, 0x2
FILE_ATTRIBUTE_SPARSE_FILE = 0x200
FILE_FULL_EA_INFORMATION = 15
OWNER_SECURITY_INFORMATION, DACL_SECURITY_INFORMATION = 0x1, 0x4
A_TIME = 132_000_000_000_000_000  # a FILETIME in 2019


def snapshot(root):
    """{relative path: (type and mode, size, mtime, ctime, contents)} of a tree on disk,
    the root itself included (a name created and removed again changes its times)."""
    st = os.lstat(root)
    found = {".": (st.st_mode, None, st.st_mtime_ns, st.st_ctime_ns, None)}
    for directory, dirs, files in os.walk(root):
        for name in dirs + files:
            path = os.path.join(directory, name)
            st = os.lstat(path)
            contents = None
            if stat.S_ISREG(st.st_mode):
                with open(path, "rb") as f:
                    contents = f.read()
            found[os.path.relpath(path, root)] = (st.st_mode, st.st_size, st.st_mtime_ns,
                                                  st.st_ctime_ns, contents)
    return found


def full_ea(name, value):
    """FileFullEaInformation ([MS-FSCC] 2.4.15) with one attribute."""
    return struct.pack("<IBBH", 0, 0, len(name), len(value)) + name + b"\0" + value


class ReadOnlyCase(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = Server(extra_shares={RO: [f"path = %(base)s/{RO}", "read only = yes",
                                               "guest ok = no", "browseable = yes"]})
        cls.server.start()
        try:
            cls.root = os.path.join(cls.server.base, RO)
            cls.data = os.urandom(100_000)
            with open(os.path.join(cls.root, "data.bin"), "wb") as f:
                f.write(cls.data)
            with open(os.path.join(cls.root, "other.bin"), "wb") as f:
                f.write(b"other")
            os.mkdir(os.path.join(cls.root, "dir"))
            with open(os.path.join(cls.root, "dir", "inner.txt"), "wb") as f:
                f.write(b"inner")
            # The server acts as the user's unix account: owning everything, it could
            # write each of these files, so only the share setting stands in the way.
            uid, gid = cls.server.account_owner()
            for directory, dirs, files in os.walk(cls.root):
                os.chown(directory, uid, gid)
                for name in files:
                    os.chown(os.path.join(directory, name), uid, gid)
        except BaseException:
            cls.server.stop()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()

    def setUp(self):
        self.before = snapshot(self.root)

    def assertUnchanged(self, what):
        after = snapshot(self.root)
        if after != self.before:
            changed = sorted(k for k in set(after) | set(self.before)
                             if after.get(k) != self.before.get(k))
            self.fail(f"{what}: the read-only share changed on disk: {changed}")

    def assertStatusIn(self, status, allowed, what):
        self.assertIn(status, allowed, f"{what}: answered {raw.status_name(status)}, "
                      f"expected one of {sorted(raw.status_name(s) for s in allowed)}")

    def connect(self, dialect):
        client = raw.connect(self.server, dialect)
        self.addCleanup(client.disconnect)
        tid = client.connectTree(RO)
        return client, tid

    def open_max(self, client, tid, name="data.bin", directory=False):
        """The most the share grants: MAXIMUM_ALLOWED, which a read-only share grants."""
        options = s3.FILE_DIRECTORY_FILE if directory else s3.FILE_NON_DIRECTORY_FILE
        status, fid = client.open(tid, name, raw.MAXIMUM_ALLOWED, options=options)
        self.assertEqual(status, raw.STATUS_SUCCESS,
                         f"MAXIMUM_ALLOWED open of {name}: {raw.status_name(status)}")
        self.addCleanup(client.close_file, tid, fid)
        return fid


class ReadOnly(ReadOnlyCase):
    def writes_through(self, client, tid, fid, access):
        """The writes an open granted `access` would allow: [(what, status)]."""
        info = s3.SMB2_0_INFO_FILE
        done = []
        if access & (raw.FILE_WRITE_DATA | raw.GENERIC_WRITE | raw.GENERIC_ALL):
            done.append(("WRITE", client.write_raw(tid, fid, 0, b"written")[0]))
        if access & (raw.FILE_APPEND_DATA | raw.GENERIC_WRITE | raw.GENERIC_ALL):
            done.append(("WRITE at the end",
                         client.write_raw(tid, fid, len(self.data), b"appended")[0]))
        if access & (raw.FILE_WRITE_ATTRIBUTES | raw.GENERIC_WRITE | raw.GENERIC_ALL):
            done.append(("SET_INFO basic", client.set_info(
                tid, fid, info, raw.FILE_BASIC_INFORMATION,
                raw.basic_information(write=A_TIME, attributes=FILE_ATTRIBUTE_HIDDEN))))
        if access & (raw.FILE_WRITE_EA | raw.GENERIC_WRITE | raw.GENERIC_ALL):
            done.append(("SET_INFO EA", client.set_info(
                tid, fid, info, FILE_FULL_EA_INFORMATION, full_ea(b"TEST", b"value"))))
        if access & (raw.DELETE | raw.GENERIC_ALL):
            done.append(("SET_INFO disposition", client.set_info(
                tid, fid, info, raw.FILE_DISPOSITION_INFORMATION,
                raw.disposition_information())))
        if access & (raw.WRITE_DAC | raw.WRITE_OWNER | raw.GENERIC_ALL):
            status, sd = client.query_info(tid, fid, s3.SMB2_0_INFO_SECURITY, 0,
                                           additional=OWNER_SECURITY_INFORMATION |
                                           DACL_SECURITY_INFORMATION)
            self.assertEqual(status, raw.STATUS_SUCCESS, "QUERY_INFO security")
            parts = ((DACL_SECURITY_INFORMATION if access & (raw.WRITE_DAC | raw.GENERIC_ALL)
                      else 0) |
                     (OWNER_SECURITY_INFORMATION if access & (raw.WRITE_OWNER | raw.GENERIC_ALL)
                      else 0))
            done.append(("SET_INFO security", client.set_info(
                tid, fid, s3.SMB2_0_INFO_SECURITY, 0, sd, additional=parts)))
        return done


WRITE_RIGHTS = {
    "FILE_WRITE_DATA": raw.FILE_WRITE_DATA,
    "FILE_APPEND_DATA": raw.FILE_APPEND_DATA,
    "FILE_WRITE_EA": raw.FILE_WRITE_EA,
    "FILE_WRITE_ATTRIBUTES": raw.FILE_WRITE_ATTRIBUTES,
    "DELETE": raw.DELETE,
    "WRITE_DAC": raw.WRITE_DAC,
    "WRITE_OWNER": raw.WRITE_OWNER,
    "GENERIC_WRITE": raw.GENERIC_WRITE,
    "GENERIC_ALL": raw.GENERIC_ALL,
}


def _tests_for(label, dialect):
    def create_with_write_access(self):
        client, tid = self.connect(dialect)
        for target, options in (("data.bin", s3.FILE_NON_DIRECTORY_FILE),
                                ("dir", s3.FILE_DIRECTORY_FILE)):
            for right, access in WRITE_RIGHTS.items():
                what = f"{label}: CREATE {target} with {right}"
                status, fid = client.open(tid, target, raw.READ_ACCESS | access,
                                          options=options)
                if status == raw.STATUS_SUCCESS:
                    try:
                        for op, op_status in self.writes_through(client, tid, fid, access):
                            self.assertStatusIn(op_status, REFUSED, f"{what} granted, then {op}")
                    finally:
                        client.close_file(tid, fid)
                else:
                    self.assertStatusIn(status, REFUSED, what)
                self.assertUnchanged(what)

    def create_dispositions(self):
        client, tid = self.connect(dialect)
        for disposition in ("FILE_CREATE", "FILE_OPEN_IF", "FILE_OVERWRITE_IF",
                            "FILE_SUPERSEDE"):
            what = f"{label}: CREATE of a new name with {disposition}"
            status, fid = client.open(tid, "new.bin", raw.READ_ACCESS,
                                      getattr(s3, disposition))
            if fid:
                client.close_file(tid, fid)
            self.assertStatusIn(status, REFUSED_NEW_NAME, what)
            self.assertUnchanged(what)
        for disposition in ("FILE_OVERWRITE", "FILE_OVERWRITE_IF", "FILE_SUPERSEDE"):
            what = f"{label}: CREATE of data.bin with {disposition}"
            status, fid = client.open(tid, "data.bin", raw.READ_ACCESS,
                                      getattr(s3, disposition))
            if fid:
                client.close_file(tid, fid)
            self.assertStatusIn(status, REFUSED, what)
            self.assertUnchanged(what)
        what = f"{label}: CREATE of a directory"
        status, fid = client.open(tid, "newdir", raw.READ_ACCESS, s3.FILE_CREATE,
                                  s3.FILE_DIRECTORY_FILE)
        if fid:
            client.close_file(tid, fid)
        self.assertStatusIn(status, REFUSED_NEW_NAME, what)
        self.assertUnchanged(what)

    def create_delete_on_close(self):
        client, tid = self.connect(dialect)
        for target, kind in (("data.bin", s3.FILE_NON_DIRECTORY_FILE),
                             ("dir\\inner.txt", s3.FILE_NON_DIRECTORY_FILE),
                             ("other.bin", s3.FILE_NON_DIRECTORY_FILE)):
            for access, allowed in ((raw.READ_ACCESS | raw.DELETE, REFUSED),
                                    (raw.MAXIMUM_ALLOWED, REFUSED_DELETE_ON_CLOSE)):
                what = f"{label}: CREATE {target} access {access:#x} FILE_DELETE_ON_CLOSE"
                status, fid = client.open(tid, target, access,
                                          options=kind | s3.FILE_DELETE_ON_CLOSE)
                if fid:
                    client.close_file(tid, fid)
                self.assertStatusIn(status, allowed, what)
                self.assertUnchanged(what)

    def write(self):
        client, tid = self.connect(dialect)
        fid = self.open_max(client, tid)
        for offset in (0, len(self.data), 1 << 30):
            status, count = client.write_raw(tid, fid, offset, b"x" * 4096)
            self.assertStatusIn(status, REFUSED, f"{label}: WRITE at {offset}")
            self.assertUnchanged(f"{label}: WRITE at {offset}")
        # The handle still reads: the refusals are about writing.
        status, data = client.read_raw(tid, fid, 0, len(self.data))
        self.assertEqual(status, raw.STATUS_SUCCESS, f"{label}: READ")
        self.assertTrue(data == self.data, f"{label}: READ differs from the file")

    def set_info(self):
        client, tid = self.connect(dialect)
        info = s3.SMB2_0_INFO_FILE
        for target, directory in (("data.bin", False), ("dir", True)):
            fid = self.open_max(client, tid, target, directory)
            requests = [
                ("basic: times", info, raw.FILE_BASIC_INFORMATION,
                 raw.basic_information(A_TIME, A_TIME, A_TIME, A_TIME), 0),
                ("basic: attributes", info, raw.FILE_BASIC_INFORMATION,
                 raw.basic_information(attributes=FILE_ATTRIBUTE_READONLY |
                                       FILE_ATTRIBUTE_HIDDEN), 0),
                ("rename", info, raw.FILE_RENAME_INFORMATION,
                 raw.rename_information(f"renamed-{target}"), 0),
                ("rename over other.bin", info, raw.FILE_RENAME_INFORMATION,
                 raw.rename_information("other.bin", replace=True), 0),
                ("disposition", info, raw.FILE_DISPOSITION_INFORMATION,
                 raw.disposition_information(), 0),
            ]
            if not directory:
                requests += [
                    ("end of file: shorter", info, raw.FILE_END_OF_FILE_INFORMATION,
                     raw.u64(10), 0),
                    ("end of file: longer", info, raw.FILE_END_OF_FILE_INFORMATION,
                     raw.u64(1 << 20), 0),
                    ("end of file: zero", info, raw.FILE_END_OF_FILE_INFORMATION,
                     raw.u64(0), 0),
                    ("allocation: shorter", info, raw.FILE_ALLOCATION_INFORMATION,
                     raw.u64(0), 0),
                    ("allocation: longer", info, raw.FILE_ALLOCATION_INFORMATION,
                     raw.u64(1 << 20), 0),
                ]
            status, sd = client.query_info(tid, fid, s3.SMB2_0_INFO_SECURITY, 0,
                                           additional=OWNER_SECURITY_INFORMATION |
                                           DACL_SECURITY_INFORMATION)
            self.assertEqual(status, raw.STATUS_SUCCESS, f"{label}: QUERY_INFO security")
            requests += [
                ("security: DACL", s3.SMB2_0_INFO_SECURITY, 0, sd, DACL_SECURITY_INFORMATION),
                ("security: owner", s3.SMB2_0_INFO_SECURITY, 0, sd,
                 OWNER_SECURITY_INFORMATION),
            ]
            for what, info_type, info_class, buffer, additional in requests:
                what = f"{label}: SET_INFO {what} of {target}"
                status = client.set_info(tid, fid, info_type, info_class, buffer, additional)
                self.assertStatusIn(status, REFUSED, what)
                self.assertUnchanged(what)

    def fsctl(self):
        client, tid = self.connect(dialect)
        fid = self.open_max(client, tid)
        answers = {}
        for name, code, data in (
                ("FSCTL_SET_SPARSE", raw.FSCTL_SET_SPARSE, b"\x01"),
                ("FSCTL_SET_SPARSE without a buffer", raw.FSCTL_SET_SPARSE, b""),
                ("FSCTL_SET_ZERO_DATA", raw.FSCTL_SET_ZERO_DATA,
                 raw.u64(0) + raw.u64(len(self.data)))):
            status, _ = client.fsctl(tid, fid, code, data)
            answers[name] = status
            self.assertStatusIn(status, REFUSED_FSCTL, f"{label}: {name}")
            self.assertUnchanged(f"{label}: {name}")

        # Server-side copy from the writable share into the read-only one.
        rw = client.connectTree(self.server.share)
        source = os.urandom(8192)
        with open(os.path.join(self.server.share_path, f"source-{label}.bin"), "wb") as f:
            f.write(source)
        status, src = client.open(rw, f"source-{label}.bin", raw.READ_ACCESS)
        self.assertEqual(status, raw.STATUS_SUCCESS, f"{label}: open the copy source")
        self.addCleanup(client.close_file, rw, src)
        status, key = client.fsctl(rw, src, raw.FSCTL_SRV_REQUEST_RESUME_KEY, max_output=32)
        answers["FSCTL_SRV_REQUEST_RESUME_KEY"] = status
        if status == raw.STATUS_SUCCESS:
            key = key[:24]
        else:
            # Without server-side copy there is no key to give; the copy must fail anyway.
            self.assertStatusIn(status, UNSUPPORTED_FSCTL, f"{label}: resume key")
            key = b"\0" * 24
        chunks = key + struct.pack("<II", 2, 0) + b"".join(
            struct.pack("<QQII", offset, offset, 4096, 0) for offset in (0, 4096))
        for name, code in (("FSCTL_SRV_COPYCHUNK_WRITE", raw.FSCTL_SRV_COPYCHUNK_WRITE),
                           ("FSCTL_SRV_COPYCHUNK", raw.FSCTL_SRV_COPYCHUNK)):
            status, _ = client.fsctl(tid, fid, code, chunks, max_output=12)
            answers[name] = status
            self.assertStatusIn(status, REFUSED_FSCTL, f"{label}: {name} into the share")
            self.assertUnchanged(f"{label}: {name}")

        status, basic = client.query_info(tid, fid, s3.SMB2_0_INFO_FILE,
                                          raw.FILE_BASIC_INFORMATION, 40)
        self.assertEqual(status, raw.STATUS_SUCCESS, f"{label}: QUERY_INFO basic")
        attributes = struct.unpack_from("<I", basic, 32)[0]
        self.assertFalse(attributes & FILE_ATTRIBUTE_SPARSE_FILE,
                         f"{label}: data.bin became sparse (attributes {attributes:#x})")
        # Recorded in the verbose output: which FSCTLs the server implements.
        print(f"\n  {label}: " + ", ".join(f"{k} {raw.status_name(v)}"
                                           for k, v in answers.items()), end=" ")

    for name, fn in (("create_with_write_access", create_with_write_access),
                     ("create_dispositions", create_dispositions),
                     ("create_delete_on_close", create_delete_on_close),
                     ("write", write), ("set_info", set_info), ("fsctl", fsctl)):
        fn.__name__ = f"test_{name}_{label.replace('.', '_')}"
        fn.__doc__ = f"read only = yes: {name.replace('_', ' ')} refused over SMB {label}"
        setattr(ReadOnly, fn.__name__, fn)


for _label, _dialect in DIALECTS.items():
    _tests_for(_label.replace("_", "."), _dialect)


class ReadOnlyHardLink(ReadOnlyCase):
    @unittest.skipIf(KIND == "samba", "Samba 4.17 creates the hard link on a read-only share")
    def test_hard_link_refused(self):
        for label, dialect in DIALECTS.items():
            client, tid = self.connect(dialect)
            fid = self.open_max(client, tid)
            what = f"{label}: SET_INFO FileLinkInformation"
            status = client.set_info(tid, fid, s3.SMB2_0_INFO_FILE, raw.FILE_LINK_INFORMATION,
                                     raw.rename_information(f"link-{label}.bin"))
            self.assertStatusIn(status, REFUSED, what)
            self.assertUnchanged(what)


class ReadOnlySmbclient(ReadOnlyCase):
    def test_smbclient(self):
        local = os.path.join(self.server.client_dir, "upload.bin")
        smbtest.make_random_file(local, 70_000)
        for command in (f'put "{local}" new.bin', f'put "{local}" data.bin', "mkdir newdir",
                        "rmdir dir", "del data.bin", "rename data.bin moved.bin",
                        "setmode data.bin +r", "setmode data.bin +h"):
            r = self.server.smbclient(command, share=RO, dialect="SMB3_11", check=False)
            out = r.stdout + r.stderr
            self.assertTrue("NT_STATUS_ACCESS_DENIED" in out or
                            "NT_STATUS_MEDIA_WRITE_PROTECTED" in out,
                            f"smbclient {command!r} on the read-only share:\n{out}")
            self.assertUnchanged(f"smbclient {command!r}")
        # Reading works: the data byte for byte.
        down = os.path.join(self.server.client_dir, "down.bin")
        self.server.smbclient(f'get data.bin "{down}"', share=RO, dialect="SMB3_11")
        smbtest.assert_same_file(os.path.join(self.root, "data.bin"), down, "get data.bin")


class Control(ReadOnlyCase):
    """The requests of ReadOnly against the writable share: they work there."""

    def test_the_same_requests_write_on_a_writable_share(self):
        client = raw.connect(self.server, 0x311)
        self.addCleanup(client.disconnect)
        tid = client.connectTree(self.server.share)
        share = self.server.share_path
        info = s3.SMB2_0_INFO_FILE
        for name in ("w.bin", "d.bin"):
            with open(os.path.join(share, name), "wb") as f:
                f.write(b"12345")
            os.chown(os.path.join(share, name), *self.server.account_owner())
        status, fid = client.open(tid, "w.bin", raw.MAXIMUM_ALLOWED)
        self.assertEqual(status, raw.STATUS_SUCCESS)
        self.assertEqual(client.write_raw(tid, fid, 0, b"abc")[0], raw.STATUS_SUCCESS)
        self.assertEqual(client.set_info(tid, fid, info, raw.FILE_END_OF_FILE_INFORMATION,
                                         raw.u64(4)), raw.STATUS_SUCCESS)
        self.assertEqual(client.set_info(tid, fid, info, raw.FILE_BASIC_INFORMATION,
                                         raw.basic_information(write=A_TIME)),
                         raw.STATUS_SUCCESS)
        self.assertEqual(client.set_info(tid, fid, info, raw.FILE_RENAME_INFORMATION,
                                         raw.rename_information("moved.bin")),
                         raw.STATUS_SUCCESS)
        client.close_file(tid, fid)
        with open(os.path.join(share, "moved.bin"), "rb") as f:
            self.assertEqual(f.read(), b"abc4")
        # A_TIME in FILETIME is 2019-04-21 (seconds since 1601 less those to 1970).
        self.assertEqual(os.stat(os.path.join(share, "moved.bin")).st_mtime_ns,
                         (A_TIME - 116_444_736_000_000_000) * 100)
        status, fid = client.open(tid, "d.bin", raw.READ_ACCESS | raw.DELETE)
        self.assertEqual(status, raw.STATUS_SUCCESS)
        self.assertEqual(client.set_info(tid, fid, info, raw.FILE_DISPOSITION_INFORMATION,
                                         raw.disposition_information()), raw.STATUS_SUCCESS)
        client.close_file(tid, fid)
        self.assertFalse(os.path.exists(os.path.join(share, "d.bin")))
        status, fid = client.open(tid, "new.bin", raw.READ_ACCESS | raw.FILE_WRITE_DATA,
                                  s3.FILE_CREATE)
        self.assertEqual(status, raw.STATUS_SUCCESS)
        client.close_file(tid, fid)
        self.assertTrue(os.path.exists(os.path.join(share, "new.bin")))


if __name__ == "__main__":
    smbtest.main()
