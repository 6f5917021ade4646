#!/usr/bin/python3
"""NT ACLs stored with files (`vfs objects = acl_xattr`) and checked on every open.

As root, the test makes Unix users A and B, starts the server with both accounts and a
share that stores ACLs, and has A set DACLs through SET_INFO SECURITY (impacket). Then
A and B open the files with chosen desired accesses; each answer is the one the access
check of [MS-DTYP] 2.5.3.2 gives (the expectation beside each case says why). The same
script runs against Samba's smbd with `vfs objects = acl_xattr` (the reference run)
and must give the same answers. SIDs are the "Unix User" ones (S-1-22-1-uid), which
both servers put in a user's token.

Against this server only (the parts Samba answers differently or cannot be pointed at):
a corrupt, truncated or oversized `security.NTACL` written on the host refuses the open
and never grants more than the mode; descriptors set through Samba on a directory read
back unchanged through this server on the same directory and are enforced, and the
other way round.

Run: SMBTEST_KIND=self SMBD_BIN=... SMBD_PASSWD_BIN=... /usr/bin/python3 test_acl.py
"""

import contextlib
import fcntl
import os
import pwd
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
from test_security import build_sd, parse_sd, sid_bytes

KIND = smbtest.default_kind()
SELF_ONLY = unittest.skipIf(KIND != "self", "this server's own handling")
TIMEOUT = 60
SUFFIX = os.getpid()
USER_A, USER_B = f"acla{SUFFIX}", f"aclb{SUFFIX}"
PASSWORDS = {USER_A: "Acl-A-pw-1", USER_B: "Acl-B-pw-2"}
SHARE = "acl"

OWNER, GROUP, DACL = 0x1, 0x2, 0x4
ALLOWED, DENIED = 0, 1
OI, CI, NP, IO, INHERITED = 0x01, 0x02, 0x04, 0x08, 0x10

FILE_READ_DATA, FILE_WRITE_DATA, FILE_APPEND_DATA = 0x1, 0x2, 0x4
FILE_READ_ATTRIBUTES, FILE_WRITE_ATTRIBUTES = 0x80, 0x100
DELETE, READ_CONTROL, WRITE_DAC, WRITE_OWNER = 0x00010000, 0x00020000, 0x00040000, 0x00080000
MAXIMUM_ALLOWED = 0x02000000
GENERIC_READ, GENERIC_EXECUTE = 0x80000000, 0x20000000
FILE_ALL_ACCESS = 0x001F01FF
READ_EXECUTE = 0x001200A9
READ_WRITE = 0x0012019F  # read, write and append data, EAs and attributes; no execute

AUTO_INHERIT_REQ, AUTO_INHERITED, PROTECTED = 0x0100, 0x0400, 0x1000  # SD control

OK = nt_errors.STATUS_SUCCESS
INVALID_OWNER = nt_errors.STATUS_INVALID_OWNER
DENY = nt_errors.STATUS_ACCESS_DENIED
EVERYONE, CREATOR_OWNER = "S-1-1-0", "S-1-3-0"


@contextlib.contextmanager
def account_lock():
    """The lock smbtest.ensure_unix_user takes: useradd and userdel must not race."""
    with open(os.path.join(tempfile.gettempdir(), "smbtest-useradd.lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def make_accounts():
    with account_lock():
        for user in (USER_A, USER_B):
            r = smbtest.run(["useradd", "-M", "-s", "/usr/sbin/nologin", user], timeout=60)
            if r.returncode != 0:
                raise RuntimeError(f"useradd {user}: {r.stderr.strip()}")


def remove_accounts():
    with account_lock():
        for user in (USER_A, USER_B):
            smbtest.run(["userdel", user], timeout=60)


def ace(kind, mask, sid, flags=0):
    return (kind, flags, mask, sid)


HIDE_SHARE = "aclhide"


def acl_share():
    return {SHARE: ["path = %(base)s/acl", "read only = no", "vfs objects = acl_xattr"],
            # The same directory with access-based enumeration.
            HIDE_SHARE: ["path = %(base)s/acl", "read only = no", "vfs objects = acl_xattr",
                         "hide unreadable = yes"]}


class Client:
    """One user's impacket session on a share."""

    def __init__(self, server, user, share=SHARE):
        self.conn = SMBConnection(server.host, server.host, sess_port=server.port,
                                  preferredDialect=SMB2_DIALECT_30, timeout=TIMEOUT)
        self.conn.login(user, PASSWORDS[user])
        self.smb = self.conn.getSMBServer()
        self.tid = self.conn.connectTree(share)

    def close(self):
        with contextlib.suppress(Exception):
            self.conn.logoff()

    def create(self, name, access, disposition=s3.FILE_OPEN, directory=False):
        options = s3.FILE_DIRECTORY_FILE if directory else s3.FILE_NON_DIRECTORY_FILE
        return self.smb.create(self.tid, name, access,
                               s3.FILE_SHARE_READ | s3.FILE_SHARE_WRITE | s3.FILE_SHARE_DELETE,
                               options, disposition, 0)

    def status(self, call):
        try:
            call()
        except SessionError as e:
            return e.get_error_code()
        return OK

    def open_status(self, name, access, directory=False):
        """The status of an open of `name` asking for `access` (closed again)."""
        try:
            fid = self.create(name, access, directory=directory)
        except SessionError as e:
            return e.get_error_code()
        self.smb.close(self.tid, fid)
        return OK

    def make(self, name, directory=False):
        fid = self.create(name, FILE_ALL_ACCESS, s3.FILE_CREATE, directory)
        if not directory:
            self.smb.write(self.tid, fid, b"data\n", 0, 5)
        self.smb.close(self.tid, fid)

    def query(self, name, info=OWNER | GROUP | DACL, directory=False):
        fid = self.create(name, READ_CONTROL, directory=directory)
        try:
            return bytes(self.smb.queryInfo(self.tid, fid, infoType=s3.SMB2_0_INFO_SECURITY,
                                            fileInfoClass=0, additionalInformation=info))
        finally:
            self.smb.close(self.tid, fid)

    def set(self, name, sd, info=DACL, directory=False):
        fid = self.create(name, READ_CONTROL | WRITE_DAC, directory=directory)
        try:
            self.smb.setInfo(self.tid, fid, sd, infoType=s3.SMB2_0_INFO_SECURITY,
                             fileInfoClass=0, additionalInformation=info)
        finally:
            self.smb.close(self.tid, fid)


class AclBase(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if os.geteuid() != 0:
            raise unittest.SkipTest("needs root: makes Unix users and starts the server as root")
        make_accounts()
        cls.addClassCleanup(remove_accounts)
        cls.a, cls.b = pwd.getpwnam(USER_A), pwd.getpwnam(USER_B)
        cls.sid_a = f"S-1-22-1-{cls.a.pw_uid}"
        cls.sid_b = f"S-1-22-1-{cls.b.pw_uid}"
        cls.server = Server(user=USER_A, password=PASSWORDS[USER_A],
                            extra_users={USER_B: PASSWORDS[USER_B]}, extra_shares=acl_share())
        cls.server.start()
        cls.addClassCleanup(cls.server.stop)
        cls.root = os.path.join(cls.server.base, "acl")

    def setUp(self):
        self.A = Client(self.server, USER_A)
        self.addCleanup(self.A.close)
        self.B = Client(self.server, USER_B)
        self.addCleanup(self.B.close)

    def name(self, base):
        return f"{self._testMethodName[5:]}-{base}"

    def file_with(self, aces, base="f"):
        """A file A creates and gives `aces` as its DACL."""
        name = self.name(base)
        self.A.make(name)
        self.A.set(name, build_sd(aces=aces))
        return name

    def expect(self, name, table, directory=False):
        """table: (client, access, status) rows; all rows are checked, then compared."""
        got = [(who, hex(access), hex(getattr(self, who).open_status(name, access, directory)))
               for who, access, _ in table]
        want = [(who, hex(access), hex(status)) for who, access, status in table]
        self.assertEqual(got, want)


class AclMatrix(AclBase):
    def test_everyone_may_read(self):
        name = self.file_with([ace(ALLOWED, FILE_ALL_ACCESS, self.sid_a),
                               ace(ALLOWED, READ_EXECUTE, EVERYONE)])
        self.expect(name, [
            ("B", FILE_READ_DATA, OK),      # Everyone's ACE allows it
            ("B", READ_CONTROL, OK),        # so is READ_CONTROL (in READ_EXECUTE)
            ("B", FILE_WRITE_DATA, DENY),   # no ACE allows it
            ("B", WRITE_DAC, DENY),         # B is not the owner, no ACE allows it
            ("B", MAXIMUM_ALLOWED, OK),     # READ_EXECUTE
            ("B", DELETE, OK),              # not in the DACL, but FILE_DELETE_CHILD on the
                                            # share root (mode 0777) grants it (MS-FSA)
            ("A", FILE_WRITE_DATA, OK),     # A's own ACE
            ("A", FILE_ALL_ACCESS, OK),
        ])

    def test_deny_for_one_user(self):
        name = self.file_with([ace(DENIED, FILE_WRITE_DATA | FILE_APPEND_DATA, self.sid_b),
                               ace(ALLOWED, FILE_ALL_ACCESS, self.sid_a),
                               ace(ALLOWED, READ_WRITE, EVERYONE)])
        self.expect(name, [
            ("B", FILE_READ_DATA, OK),              # Everyone allows; the deny is on writing
            ("B", FILE_WRITE_DATA, DENY),           # denied before Everyone allows it
            ("B", FILE_APPEND_DATA, DENY),
            ("B", FILE_WRITE_ATTRIBUTES, OK),       # not denied, Everyone allows it
            ("B", FILE_READ_DATA | FILE_WRITE_DATA, DENY),
            ("A", FILE_WRITE_DATA, OK),             # the deny names B only
        ])

    def test_maximum_allowed_leaves_out_what_is_denied(self):
        name = self.file_with([ace(DENIED, FILE_WRITE_DATA | FILE_APPEND_DATA, self.sid_b),
                               ace(ALLOWED, FILE_ALL_ACCESS, self.sid_a),
                               ace(ALLOWED, READ_WRITE, EVERYONE)])
        fid = self.B.create(name, MAXIMUM_ALLOWED)
        try:
            read = self.B.status(lambda: self.B.smb.read(self.B.tid, fid, 0, 5))
            write = self.B.status(lambda: self.B.smb.write(self.B.tid, fid, b"x", 0, 1))
        finally:
            self.B.smb.close(self.B.tid, fid)
        self.assertEqual((hex(read), hex(write)), (hex(OK), hex(DENY)))

    def test_owner_may_read_and_change_the_dacl(self):
        name = self.file_with([ace(ALLOWED, FILE_READ_DATA, EVERYONE)])
        self.expect(name, [
            ("A", READ_CONTROL, OK),        # the owner's implicit rights
            ("A", WRITE_DAC, OK),
            ("A", FILE_WRITE_DATA, DENY),   # nothing allows it, not even to the owner
            ("B", FILE_READ_DATA, OK),
            ("B", READ_CONTROL, DENY),      # no implicit rights for B
        ])

    def test_parent_stands_in_for_attributes_and_delete(self):
        name = self.file_with([ace(DENIED, FILE_ALL_ACCESS, self.sid_b),
                               ace(ALLOWED, FILE_ALL_ACCESS, EVERYONE)])
        self.expect(name, [
            # The DACL denies B everything; the share root (mode 0777) grants Everyone
            # FILE_LIST_DIRECTORY and FILE_DELETE_CHILD, which stand in for
            # FILE_READ_ATTRIBUTES and DELETE (MS-FSA 2.1.5.1.2.1).
            ("B", FILE_READ_ATTRIBUTES, OK),
            ("B", DELETE, OK),
            ("B", FILE_READ_ATTRIBUTES | DELETE, OK),
            ("B", FILE_READ_ATTRIBUTES | FILE_READ_DATA, DENY),
            ("B", READ_CONTROL, DENY),
            ("A", FILE_READ_DATA, OK),
        ])

    def test_owner_repairs_a_dacl_that_gives_nothing(self):
        name = self.file_with([])
        self.expect(name, [
            ("A", READ_CONTROL | WRITE_DAC, OK),   # the owner's implicit rights
            ("A", FILE_READ_DATA, DENY),
            ("B", READ_CONTROL, DENY),
        ])
        self.A.set(name, build_sd(aces=[ace(ALLOWED, FILE_ALL_ACCESS, self.sid_a)]))
        self.expect(name, [("A", FILE_READ_DATA | FILE_WRITE_DATA, OK)])

    def test_delete_granted_by_the_dacl(self):
        top = self.name("dir")
        self.A.make(top, directory=True)
        # B may not write to the directory (nor does its mode let B)...
        self.A.set(top, build_sd(aces=[ace(ALLOWED, FILE_ALL_ACCESS, self.sid_a, OI | CI),
                                       ace(ALLOWED, READ_EXECUTE, EVERYONE, CI)]),
                   directory=True)
        victim = f"{top}\\victim"
        self.A.make(victim)
        # ...but the file's DACL lets B delete it: DELETE on the file is enough.
        self.A.set(victim, build_sd(aces=[ace(ALLOWED, FILE_ALL_ACCESS, self.sid_a),
                                          ace(ALLOWED, DELETE | READ_EXECUTE, EVERYONE)]))
        fid = self.B.smb.create(self.B.tid, victim, DELETE,
                                s3.FILE_SHARE_READ | s3.FILE_SHARE_WRITE | s3.FILE_SHARE_DELETE,
                                s3.FILE_NON_DIRECTORY_FILE | s3.FILE_DELETE_ON_CLOSE,
                                s3.FILE_OPEN, 0)
        self.B.smb.close(self.B.tid, fid)
        self.assertEqual(hex(self.A.open_status(victim, FILE_READ_ATTRIBUTES)),
                         hex(nt_errors.STATUS_OBJECT_NAME_NOT_FOUND))

    def test_no_stored_descriptor_no_delete_past_the_mode(self):
        # A's directory (0755) and file (0600), made on the host: no stored descriptor,
        # so the mode decides, and B may not remove the file from A's directory.
        top = self.name("dir")
        path = os.path.join(self.root, top)
        os.mkdir(path, 0o755)
        os.chown(path, self.a.pw_uid, self.a.pw_gid)
        with open(os.path.join(path, "file"), "wb") as f:
            f.write(b"A's\n")
        os.chown(os.path.join(path, "file"), self.a.pw_uid, self.a.pw_gid)
        os.chmod(os.path.join(path, "file"), 0o600)
        with contextlib.suppress(SessionError):
            fid = self.B.smb.create(self.B.tid, f"{top}\\file", DELETE,
                                    s3.FILE_SHARE_READ | s3.FILE_SHARE_WRITE |
                                    s3.FILE_SHARE_DELETE,
                                    s3.FILE_NON_DIRECTORY_FILE | s3.FILE_DELETE_ON_CLOSE,
                                    s3.FILE_OPEN, 0)
            self.B.smb.close(self.B.tid, fid)
        self.assertTrue(os.path.exists(os.path.join(path, "file")))

    def test_sticky_directory_keeps_other_users_files(self):
        # A sticky directory open to everyone (1777, no stored descriptor); A's file in
        # it has a DACL that does not give B DELETE. The parent's FILE_DELETE_CHILD may
        # let B's open ask for DELETE, but the sticky bit refuses B the unlink.
        top = self.name("dir")
        path = os.path.join(self.root, top)
        os.mkdir(path)
        os.chmod(path, 0o1777)
        victim = f"{top}\\file"
        self.A.make(victim)
        self.A.set(victim, build_sd(aces=[ace(ALLOWED, FILE_ALL_ACCESS, self.sid_a),
                                          ace(ALLOWED, 0x001F01BF & ~DELETE, EVERYONE)]))
        with contextlib.suppress(SessionError):
            fid = self.B.smb.create(self.B.tid, victim, DELETE,
                                    s3.FILE_SHARE_READ | s3.FILE_SHARE_WRITE |
                                    s3.FILE_SHARE_DELETE,
                                    s3.FILE_NON_DIRECTORY_FILE | s3.FILE_DELETE_ON_CLOSE,
                                    s3.FILE_OPEN, 0)
            self.B.smb.close(self.B.tid, fid)
        self.assertTrue(os.path.exists(os.path.join(path, "file")))

    def test_generic_rights_in_an_ace(self):
        name = self.file_with([ace(ALLOWED, FILE_ALL_ACCESS, self.sid_a),
                               ace(ALLOWED, GENERIC_READ | GENERIC_EXECUTE, EVERYONE)])
        self.expect(name, [
            ("B", FILE_READ_DATA, OK),      # GENERIC_READ maps to FILE_GENERIC_READ
            ("B", FILE_WRITE_DATA, DENY),
            ("B", GENERIC_READ, OK),
        ])

    def test_inherited_by_files_and_directories(self):
        top = self.name("dir")
        self.A.make(top, directory=True)
        self.A.set(top, build_sd(aces=[
            ace(DENIED, FILE_READ_DATA, self.sid_b, OI | IO),
            ace(ALLOWED, FILE_ALL_ACCESS, self.sid_a, OI | CI),
            ace(ALLOWED, READ_EXECUTE, EVERYONE, OI | CI)]), directory=True)
        self.A.make(f"{top}\\file")
        self.A.make(f"{top}\\sub", directory=True)
        self.A.make(f"{top}\\sub\\file")
        self.expect(f"{top}\\file", [
            ("B", FILE_READ_DATA, DENY),    # the inherited deny (object inherit)
            ("B", READ_CONTROL, OK),        # Everyone's inherited allow
            ("A", FILE_WRITE_DATA, OK),
        ])
        # Object-inherit without container-inherit passes through a subdirectory
        # (inherit-only there) to the files in it.
        self.expect(f"{top}\\sub", [("B", FILE_READ_DATA, OK)], directory=True)
        self.expect(f"{top}\\sub\\file", [("B", FILE_READ_DATA, DENY),
                                          ("A", FILE_READ_DATA, OK)])

    def test_no_propagate_stops_at_the_first_level(self):
        top = self.name("dir")
        self.A.make(top, directory=True)
        self.A.set(top, build_sd(aces=[
            ace(DENIED, FILE_READ_DATA, self.sid_b, OI | NP | IO),
            ace(ALLOWED, FILE_ALL_ACCESS, self.sid_a, OI | CI),
            ace(ALLOWED, READ_EXECUTE, EVERYONE, OI | CI)]), directory=True)
        self.A.make(f"{top}\\file")
        self.A.make(f"{top}\\sub", directory=True)
        self.A.make(f"{top}\\sub\\file")
        self.expect(f"{top}\\file", [("B", FILE_READ_DATA, DENY)])
        self.expect(f"{top}\\sub\\file", [("B", FILE_READ_DATA, OK)])

    def test_creator_owner_becomes_the_creator(self):
        top = self.name("dir")
        self.A.make(top, directory=True)
        self.A.set(top, build_sd(aces=[
            ace(ALLOWED, FILE_ALL_ACCESS, CREATOR_OWNER, OI | CI | IO),
            ace(ALLOWED, FILE_ALL_ACCESS, self.sid_a, CI),
            ace(ALLOWED, READ_EXECUTE, EVERYONE, OI | CI)]), directory=True)
        self.A.make(f"{top}\\file")
        self.expect(f"{top}\\file", [
            ("A", FILE_WRITE_DATA, OK),     # CREATOR OWNER became A
            ("A", WRITE_DAC, OK),
            ("B", FILE_READ_DATA, OK),
            ("B", FILE_WRITE_DATA, DENY),
        ])
        if KIND == "self":
            _, owner, _, dacl = parse_sd(self.A.query(f"{top}\\file"))
            self.assertEqual(owner, self.sid_a)
            # The parent's DACL is not SE_DACL_AUTO_INHERITED: no ACE is marked inherited.
            self.assertEqual(dacl, [(ALLOWED, 0, FILE_ALL_ACCESS, self.sid_a),
                                    (ALLOWED, 0, READ_EXECUTE, EVERYONE)])

    def test_parent_refuses_new_entries(self):
        top = self.name("dir")
        self.A.make(top, directory=True)
        # Everyone may add files (FILE_ADD_FILE is bit 0x2) but not subdirectories
        # (FILE_ADD_SUBDIRECTORY, bit 0x4); the mode lets B write to the directory.
        self.A.set(top, build_sd(aces=[ace(ALLOWED, FILE_ALL_ACCESS, self.sid_a, OI | CI),
                                       ace(ALLOWED, 0x001201BB, EVERYONE, OI | CI)]),
                   directory=True)
        made_file = self.B.status(lambda: self.B.make(f"{top}\\bfile"))
        made_dir = self.B.status(lambda: self.B.make(f"{top}\\bsub", directory=True))
        self.assertEqual((hex(made_file), hex(made_dir)), (hex(OK), hex(DENY)))

    def test_inherited_ace_flag_follows_auto_inheritance(self):
        # [MS-DTYP] 2.5.3.4.1: INHERITED_ACE and SE_DACL_AUTO_INHERITED only below a DACL
        # that is SE_DACL_AUTO_INHERITED; SET_INFO keeps that bit only when the request
        # comes with SE_DACL_AUTO_INHERIT_REQ, and never the request bit itself.
        aces = [ace(ALLOWED, FILE_ALL_ACCESS, self.sid_a, OI | CI),
                ace(ALLOWED, READ_EXECUTE, EVERYONE, OI | CI)]
        seen = {}
        for label, control in (("plain", 0), ("auto", AUTO_INHERITED | AUTO_INHERIT_REQ),
                               ("without-req", AUTO_INHERITED)):
            top = self.name(label)
            self.A.make(top, directory=True)
            self.A.set(top, build_sd(aces=aces, control=0x8000 | control), directory=True)
            self.A.make(f"{top}\\file")
            parent_control, _, _, _ = parse_sd(self.A.query(top, DACL, directory=True))
            child_control, _, _, child = parse_sd(self.A.query(f"{top}\\file", DACL))
            seen[label] = (hex(parent_control & (AUTO_INHERITED | AUTO_INHERIT_REQ)),
                           hex(child_control & AUTO_INHERITED),
                           [flags for _, flags, _, _ in child])
        self.assertEqual(seen, {
            "plain": ("0x0", "0x0", [0, 0]),
            "auto": (hex(AUTO_INHERITED), hex(AUTO_INHERITED), [INHERITED, INHERITED]),
            "without-req": ("0x0", "0x0", [0, 0]),
        })

    def test_protected_dacl_is_kept(self):
        name = self.name("f")
        self.A.make(name)
        self.A.set(name, build_sd(aces=[ace(ALLOWED, FILE_ALL_ACCESS, self.sid_a)],
                                  control=0x8000 | PROTECTED))
        control, _, _, _ = parse_sd(self.A.query(name, DACL))
        self.assertEqual(hex(control & PROTECTED), hex(PROTECTED))

    def test_owner_changes(self):
        name = self.name("f")
        self.A.make(name)

        def set_owner(sid):
            fid = self.A.create(name, READ_CONTROL | WRITE_OWNER)
            try:
                return self.A.status(lambda: self.A.smb.setInfo(
                    self.A.tid, fid, build_sd(owner=sid), infoType=s3.SMB2_0_INFO_SECURITY,
                    fileInfoClass=0, additionalInformation=OWNER))
            finally:
                self.A.smb.close(self.A.tid, fid)
        # Giving the file to another user needs a privilege A does not hold; a SID of
        # A's token without a Unix user (Everyone) may own it, and A may take it back.
        got = [hex(set_owner(self.sid_b)), hex(set_owner(EVERYONE))]
        _, owner, _, _ = parse_sd(self.A.query(name, OWNER))
        got += [owner, hex(set_owner(self.sid_a))]
        self.assertEqual(got, [hex(INVALID_OWNER), hex(OK), EVERYONE, hex(OK)])
        self.assertEqual(os.stat(os.path.join(self.root, name)).st_uid, self.a.pw_uid)

    def test_hide_unreadable_lists_what_the_user_may_read(self):
        # Samba's rule: FILE_READ_DATA, FILE_READ_EA, FILE_READ_ATTRIBUTES and READ_CONTROL
        # from the entry's own descriptor; the owner sees both files.
        top = self.name("dir")
        self.A.make(top, directory=True)
        self.A.set(top, build_sd(aces=[ace(ALLOWED, FILE_ALL_ACCESS, self.sid_a, OI | CI),
                                       ace(ALLOWED, READ_EXECUTE, EVERYONE, CI)]),
                   directory=True)
        self.A.make(f"{top}\\shown")
        self.A.set(f"{top}\\shown", build_sd(aces=[ace(ALLOWED, FILE_ALL_ACCESS, self.sid_a),
                                                  ace(ALLOWED, READ_EXECUTE, EVERYONE)]))
        self.A.make(f"{top}\\hidden")
        self.A.set(f"{top}\\hidden", build_sd(aces=[ace(ALLOWED, FILE_ALL_ACCESS, self.sid_a)]))

        def names(client, share):
            return sorted(f.get_longname() for f in client.conn.listPath(share, f"{top}\\*")
                          if f.get_longname() not in (".", ".."))
        self.assertEqual({"A": names(self.A, HIDE_SHARE), "B": names(self.B, HIDE_SHARE),
                          "B, plain share": names(self.B, SHARE)},
                         {"A": ["hidden", "shown"], "B": ["shown"],
                          "B, plain share": ["hidden", "shown"]})

    def test_rename_needs_the_target_directory_consent(self):
        # The mode lets everyone write both directories; the DACL of one denies B
        # FILE_ADD_FILE, which a rename into it needs as a CREATE there would.
        results = []
        for label, aces in (("open", []), ("closed", [ace(DENIED, 0x2, self.sid_b)])):
            top = self.name(label)
            self.A.make(top, directory=True)
            self.A.set(top, build_sd(aces=aces + [ace(ALLOWED, FILE_ALL_ACCESS, EVERYONE)]),
                       directory=True)
            source = self.name(f"{label}-src")
            self.B.make(source)
            results.append(hex(self.B.status(
                lambda: self.B.smb.rename(SHARE, source, f"{top}\\moved"))))
        self.assertEqual(results, [hex(OK), hex(DENY)])

    def test_stored_descriptor_reads_back(self):
        aces = [ace(DENIED, FILE_WRITE_DATA, self.sid_b),
                ace(ALLOWED, FILE_ALL_ACCESS, self.sid_a),
                ace(ALLOWED, READ_EXECUTE, EVERYONE)]
        name = self.file_with(aces)
        _, _, _, dacl = parse_sd(self.A.query(name, DACL))
        self.assertEqual(dacl, aces)


@unittest.skipIf(KIND != "self", "bad stored descriptors: this server's handling")
class BadStoredDescriptors(AclBase):
    def host_file(self, base, xattr, mode=0o644):
        """A file of A with `mode` and `xattr` as its security.NTACL, written on the host."""
        name = self.name(base)
        path = os.path.join(self.root, name)
        with open(path, "wb") as f:
            f.write(b"data\n")
        os.chown(path, self.a.pw_uid, self.a.pw_gid)
        os.chmod(path, mode)
        os.setxattr(path, "security.NTACL", xattr)
        return name

    def valid_xattr(self):
        """What this server stores for a DACL allowing Everyone everything."""
        name = self.file_with([ace(ALLOWED, FILE_ALL_ACCESS, EVERYONE)], "valid")
        return os.getxattr(os.path.join(self.root, name), "security.NTACL")

    def assert_refused_not_more_than_mode(self, name):
        self.expect(name, [("B", FILE_READ_DATA, DENY),     # refused, not crashed
                           ("B", FILE_WRITE_DATA, DENY),    # the mode refuses it anyway
                           ("A", FILE_READ_DATA, DENY)])
        status = self.A.status(lambda: self.A.query(name))
        self.assertIn(status, (DENY,))

    def test_garbage(self):
        self.assert_refused_not_more_than_mode(self.host_file("garbage", b"\xff" * 100))

    def test_truncated(self):
        valid = self.valid_xattr()
        for cut in (1, 8, 40, len(valid) - 1):
            with self.subTest(cut=cut):
                self.assert_refused_not_more_than_mode(
                    self.host_file(f"cut{cut}", valid[:cut]))

    def test_ten_thousand_aces(self):
        def acl(count, claimed):
            body = b"".join(struct.pack("<BBHI", 0, 0, 20, FILE_ALL_ACCESS)
                            + sid_bytes(EVERYONE) for _ in range(count))
            return struct.pack("<BBHHH", 2, 0, (8 + len(body)) & 0xFFFF, claimed, 0) + body

        def sd(dacl, base=0):
            return struct.pack("<BBHIIII", 1, 0, 0x8004, 0, 0, 0, base + 20) + dacl

        name = self.file_with([ace(ALLOWED, FILE_ALL_ACCESS, self.sid_a)], "big")
        # 10,000 ACEs (200 KB): more than a SET_INFO may carry (MS-SMB2 3.3.5.21).
        status = self.A.status(lambda: self.A.set(name, sd(acl(10000, 10000))))
        self.assertEqual(hex(status), hex(nt_errors.STATUS_INVALID_PARAMETER))
        # AceCount 10,000 in an ACL that holds 3,000: malformed.
        status = self.A.status(lambda: self.A.set(name, sd(acl(3000, 10000))))
        self.assertEqual(hex(status), hex(0xC0000079))  # INVALID_SECURITY_DESCR
        # The same in the attribute, written on the host.
        header = bytes.fromhex("0100010000000200")
        self.assert_refused_not_more_than_mode(
            self.host_file("big-host", header + sd(acl(3000, 10000), len(header))))

    def test_overlapping_offsets(self):
        # The owner SID inside the DACL's first ACE, the group at the same offset: a
        # descriptor the format allows. The DACL still decides.
        acl = (struct.pack("<BBHHH", 2, 0, 8 + 20, 1, 0)
               + struct.pack("<BBHI", 1, 0, 20, FILE_ALL_ACCESS) + sid_bytes(EVERYONE))
        sd = struct.pack("<BBHIIII", 1, 0, 0x8004, 20 + 16, 20 + 16, 0, 20) + acl
        name = self.file_with([ace(ALLOWED, FILE_ALL_ACCESS, self.sid_a)], "overlap")
        # Offsets past the end: refused as malformed.
        bad = struct.pack("<BBHIIII", 1, 0, 0x8004, 0, 0, 0, 4000) + acl
        self.assertEqual(hex(self.A.status(lambda: self.A.set(name, bad))), hex(0xC0000079))
        self.assertEqual(hex(self.A.status(lambda: self.A.set(name, sd))), hex(OK))
        self.expect(name, [("B", FILE_READ_DATA, DENY), ("A", FILE_READ_DATA, DENY)])


@unittest.skipIf(KIND != "self" or not os.path.exists(smbtest.SAMBA_SMBD),
                 "needs both servers")
class SambaCompatibility(unittest.TestCase):
    """Samba's smbd and this server on one directory, one after the other."""

    @classmethod
    def setUpClass(cls):
        if os.geteuid() != 0:
            raise unittest.SkipTest("needs root: makes Unix users and starts the server as root")
        make_accounts()
        cls.addClassCleanup(remove_accounts)
        cls.a, cls.b = pwd.getpwnam(USER_A), pwd.getpwnam(USER_B)
        cls.shared = tempfile.mkdtemp(prefix="acl-compat-", dir=smbtest.scratch_root())
        os.chmod(cls.shared, 0o777)
        cls.addClassCleanup(shutil.rmtree, cls.shared, True)

    def server(self, kind):
        server = Server(kind=kind, user=USER_A, password=PASSWORDS[USER_A],
                        extra_users={USER_B: PASSWORDS[USER_B]},
                        extra_shares={SHARE: [f"path = {self.shared}", "read only = no",
                                              "vfs objects = acl_xattr"]})
        return server

    def test_set_through_samba_reads_back_here(self):
        sid_b = f"S-1-22-1-{self.b.pw_uid}"
        aces = [ace(DENIED, FILE_WRITE_DATA, sid_b, OI),
                ace(ALLOWED, FILE_ALL_ACCESS, f"S-1-22-1-{self.a.pw_uid}", OI | CI),
                ace(ALLOWED, READ_EXECUTE, EVERYONE, OI | CI)]
        with self.server("samba") as samba:
            a = Client(samba, USER_A)
            a.make("compat", directory=True)
            a.make("compat\\file")
            a.set("compat", build_sd(aces=aces), directory=True)
            a.set("compat\\file", build_sd(aces=[ace(DENIED, FILE_WRITE_DATA, sid_b),
                                                   ace(ALLOWED, READ_EXECUTE, EVERYONE)]))
            from_samba = {p: a.query(p, directory=d)
                          for p, d in (("compat", True), ("compat\\file", False))}
            a.close()
        with self.server("self") as ours:
            a, b = Client(ours, USER_A), Client(ours, USER_B)
            try:
                for path, directory in (("compat", True), ("compat\\file", False)):
                    self.assertEqual(parse_sd(a.query(path, directory=directory)),
                                     parse_sd(from_samba[path]))
                # And enforced here: the deny for B that Samba stored.
                self.assertEqual(hex(b.open_status("compat\\file", FILE_WRITE_DATA)),
                                 hex(DENY))
                self.assertEqual(hex(b.open_status("compat\\file", FILE_READ_DATA)), hex(OK))
            finally:
                a.close()
                b.close()

    def test_set_here_reads_back_through_samba(self):
        sid_b = f"S-1-22-1-{self.b.pw_uid}"
        dir_aces = [ace(DENIED, FILE_WRITE_DATA, sid_b, OI),
                    ace(ALLOWED, FILE_ALL_ACCESS, f"S-1-22-1-{self.a.pw_uid}", OI | CI),
                    ace(ALLOWED, READ_EXECUTE, EVERYONE, OI | CI)]
        with self.server("self") as ours:
            a = Client(ours, USER_A)
            try:
                a.make("back", directory=True)
                a.set("back", build_sd(aces=dir_aces), directory=True)
                a.make("back\\file")  # inherits from "back"
                from_here = {p: a.query(p, directory=d)
                             for p, d in (("back", True), ("back\\file", False))}
            finally:
                a.close()
        with self.server("samba") as samba:
            a, b = Client(samba, USER_A), Client(samba, USER_B)
            try:
                for path, directory in (("back", True), ("back\\file", False)):
                    self.assertEqual(parse_sd(a.query(path, directory=directory)),
                                     parse_sd(from_here[path]))
                # Samba enforces the deny this server stored and the file inherited.
                self.assertEqual(hex(b.open_status("back\\file", FILE_WRITE_DATA)), hex(DENY))
                self.assertEqual(hex(b.open_status("back\\file", FILE_READ_DATA)), hex(OK))
            finally:
                a.close()
                b.close()


if __name__ == "__main__":
    smbtest.main()
