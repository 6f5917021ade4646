#!/usr/bin/python3
"""Every file operation runs as the POSIX user who asked (docs/security.md).

As root, the test makes Unix users A and B (B in group G) and C, starts the server with
their accounts and shares that force a user, admit guests, make a user root, apply
create masks and inherit permissions and owner, then checks with smbclient and impacket,
and with stat on the host, who owns what the users create and what each may read.
The same checks run against Samba's smbd (the reference run) and must give the same
answers. The Unix users and group are removed at the end.

Run: SMBTEST_KIND=self SMBD_BIN=... SMBD_PASSWD_BIN=... /usr/bin/python3 test_identity.py
"""

import contextlib
import fcntl
import grp
import io
import os
import pwd
import random
import stat
import struct
import tempfile
import unittest

from impacket import smb3
from impacket import smb3structs as s3
from impacket import nt_errors
from impacket.smb3structs import SMB2_DIALECT_30
from impacket.smb3 import SessionError as Smb3Error
from impacket.smbconnection import SMBConnection, SessionError

import smbtest
from smbtest import Server

KIND = smbtest.default_kind()
TIMEOUT = 60
SUFFIX = os.getpid()
USER_A, USER_B, USER_C = f"ida{SUFFIX}", f"idb{SUFFIX}", f"idc{SUFFIX}"
GROUP_G = f"idg{SUFFIX}"
PASSWORDS = {USER_A: "Id-A-pw-1", USER_B: "Id-B-pw-2", USER_C: "Id-C-pw-3"}
NOBODY = "nobody"

OWNER = 0x1
READ_CONTROL, WRITE_OWNER = 0x00020000, 0x00080000


# --------------------------------------------------------------- Unix users and groups

@contextlib.contextmanager
def account_lock():
    """The lock smbtest.ensure_unix_user takes: useradd and userdel must not race."""
    with open(os.path.join(tempfile.gettempdir(), "smbtest-useradd.lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def must(cmd):
    r = smbtest.run(cmd, timeout=60)
    if r.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({r.returncode}): {r.stderr.strip()}")


def unused_uid_above_range():
    """A uid above useradd's range (UID_MAX 60000): once C is removed, no account made
    meanwhile by another test can take C's uid over."""
    for uid in range(61000 + SUFFIX % 4000, 65000):
        try:
            pwd.getpwuid(uid)
        except KeyError:
            return uid
    raise RuntimeError("no free uid between 61000 and 65000")


def make_accounts():
    with account_lock():
        must(["groupadd", GROUP_G])
        must(["useradd", "-M", "-s", "/usr/sbin/nologin", USER_A])
        must(["useradd", "-M", "-s", "/usr/sbin/nologin", "-G", GROUP_G, USER_B])
        must(["useradd", "-M", "-s", "/usr/sbin/nologin", "-u", str(unused_uid_above_range()),
              USER_C])


def remove_accounts():
    with account_lock():
        for user in (USER_A, USER_B, USER_C):
            smbtest.run(["userdel", user], timeout=60)
        smbtest.run(["groupdel", GROUP_G], timeout=60)


# --------------------------------------------------------------- security descriptors

def sid_bytes(text):
    parts = text.split("-")
    subs = [int(p) for p in parts[3:]]
    return (bytes([1, len(subs)]) + int(parts[2]).to_bytes(6, "big")
            + b"".join(struct.pack("<I", v) for v in subs))


def owner_sd(owner_sid):
    """[MS-DTYP] 2.4.6: a self-relative descriptor with an owner and nothing else."""
    return struct.pack("<BBHIIII", 1, 0, 0x8000, 20, 0, 0, 0) + sid_bytes(owner_sid)


class Identity(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if os.geteuid() != 0:
            raise unittest.SkipTest("needs root: makes Unix users and starts the server as root")
        make_accounts()
        cls.addClassCleanup(remove_accounts)
        cls.a, cls.b = pwd.getpwnam(USER_A), pwd.getpwnam(USER_B)
        cls.g = grp.getgrnam(GROUP_G)
        cls.nobody = pwd.getpwnam(NOBODY)
        share = ["read only = no", "browseable = yes"]
        cls.server = Server(
            user=USER_A, password=PASSWORDS[USER_A],
            extra_users={USER_B: PASSWORDS[USER_B], USER_C: PASSWORDS[USER_C]},
            extra_shares={
                "forced": ["path = %(base)s/forced", f"force user = {USER_A}"] + share,
                "guests": ["path = %(base)s/guests", "guest ok = yes"] + share,
                "admin": ["path = %(base)s/admin", f"admin users = {USER_B}"] + share,
                "modes": ["path = %(base)s/modes", "create mask = 0640",
                          "force create mode = 0020", "directory mask = 0750",
                          "force directory mode = 02000"] + share,
                "inherit": ["path = %(base)s/inherit", "inherit permissions = yes",
                            "inherit owner = yes"] + share,
            })
        cls.server.start()
        cls.addClassCleanup(cls.server.stop)
        # A user without a Unix account any more: its smbpasswd entry stays behind.
        with account_lock():
            must(["userdel", USER_C])
        root = cls.server.share_path
        cls.write(os.path.join(root, "a-private.txt"), b"A only\n", cls.a, 0o600)
        cls.write(os.path.join(root, "a-public.txt"), b"for everyone\n", cls.a, 0o644)
        cls.write(os.path.join(root, "root-private.txt"), b"root only\n", None, 0o600)
        team = os.path.join(root, "team")
        os.mkdir(team)
        os.chown(team, 0, cls.g.gr_gid)
        os.chmod(team, 0o770)
        base = cls.server.base
        cls.write(os.path.join(base, "admin", "root-private.txt"), b"root only\n", None, 0o600)
        drop = os.path.join(base, "inherit", "drop")
        os.mkdir(drop)
        os.chown(drop, cls.a.pw_uid, cls.g.gr_gid)
        os.chmod(drop, 0o770)

    @staticmethod
    def write(path, data, owner, mode):
        with open(path, "wb") as f:
            f.write(data)
        if owner is not None:
            os.chown(path, owner.pw_uid, owner.pw_gid)
        os.chmod(path, mode)

    # -- clients
    def smbclient(self, user, commands, share=None):
        """smbclient as `user` (None: anonymous); its output."""
        r = self.server.smbclient(commands, user=user or "", password=PASSWORDS.get(user, ""),
                                  share=share, args=() if user else ("-N",), check=False)
        return r.stdout + r.stderr

    def put(self, user, name, share=None, data=b"data\n"):
        local = os.path.join(self.server.client_dir, f"put-{os.getpid()}")
        with open(local, "wb") as f:
            f.write(data)
        return self.smbclient(user, f'put "{local}" "{name}"', share)

    def get(self, user, name, share=None):
        """(output, bytes read or None)."""
        local = os.path.join(self.server.client_dir, f"get-{os.getpid()}")
        with contextlib.suppress(FileNotFoundError):
            os.unlink(local)
        out = self.smbclient(user, f'get "{name}" "{local}"', share)
        if not os.path.exists(local):
            return out, None
        with open(local, "rb") as f:
            return out, f.read()

    def impacket(self, user, share=None):
        conn = SMBConnection(self.server.host, self.server.host, sess_port=self.server.port,
                             preferredDialect=SMB2_DIALECT_30, timeout=TIMEOUT)
        conn.login(user, PASSWORDS[user])
        self.addCleanup(conn.close)
        return conn

    def owner_of(self, *parts):
        st = os.stat(os.path.join(*parts))
        return st.st_uid, st.st_gid

    def path(self, share, *names):
        root = self.server.share_path if share is None else os.path.join(self.server.base, share)
        return os.path.join(root, *names)

    def same_client(self, user):
        """A connection as `user` with the ClientGuid every call of this gives: the server
        serves all of them in one process (a worker here, an smbd there)."""
        saved = smb3.random
        smb3.random = random.Random(SUFFIX)  # impacket draws its ClientGuid from it
        try:
            return self.impacket(user)
        finally:
            smb3.random = saved

    def serving_pid(self, conn):
        """The server process holding the server's end of `conn`'s TCP connection."""
        client_port = conn.getSMBServer().get_socket().getsockname()[1]
        inode = None
        with open("/proc/net/tcp") as f:
            for line in f.readlines()[1:]:
                fields = line.split()
                local, remote = fields[1].split(":"), fields[2].split(":")
                if int(local[1], 16) == self.server.port and int(remote[1], 16) == client_port:
                    inode = fields[9]
        self.assertIsNotNone(inode, "the server's end of the connection is not in /proc/net/tcp")
        for pid in filter(str.isdigit, os.listdir("/proc")):
            with contextlib.suppress(OSError):
                for fd in os.listdir(f"/proc/{pid}/fd"):
                    with contextlib.suppress(OSError):
                        if os.readlink(f"/proc/{pid}/fd/{fd}") == f"socket:[{inode}]":
                            return int(pid)
        self.fail("no process holds the server's end of the connection")

    def open_status(self, conn, name, directory=False):
        """The status of an open of an existing `name` for reading (closed again)."""
        tid = conn.connectTree(self.server.share)
        try:
            fid = conn.getSMBServer().create(
                tid, name, s3.FILE_READ_DATA | s3.FILE_READ_ATTRIBUTES,
                s3.FILE_SHARE_READ | s3.FILE_SHARE_WRITE | s3.FILE_SHARE_DELETE,
                s3.FILE_DIRECTORY_FILE if directory else s3.FILE_NON_DIRECTORY_FILE,
                s3.FILE_OPEN, 0)
        except (SessionError, Smb3Error) as e:
            return e.get_error_code() if isinstance(e, Smb3Error) else e.getErrorCode()
        conn.getSMBServer().close(tid, fid)
        conn.disconnectTree(tid)
        return nt_errors.STATUS_SUCCESS

    # -- tests
    def test_new_file_and_directory_belong_to_the_user(self):
        out = self.smbclient(USER_A, "mkdir a-dir")
        self.assertNotIn("NT_STATUS_", out)
        self.assertNotIn("NT_STATUS_", self.put(USER_A, "a-dir\\a-file.txt"))
        a = (self.a.pw_uid, self.a.pw_gid)
        self.assertEqual(self.owner_of(self.path(None, "a-dir")), a)
        self.assertEqual(self.owner_of(self.path(None, "a-dir", "a-file.txt")), a)
        # And over impacket, from B.
        conn = self.impacket(USER_B)
        conn.putFile(self.server.share, "b-file.txt", io.BytesIO(b"from B\n").read)
        conn.createDirectory(self.server.share, "b-dir")
        b = (self.b.pw_uid, self.b.pw_gid)
        self.assertEqual(self.owner_of(self.path(None, "b-file.txt")), b)
        self.assertEqual(self.owner_of(self.path(None, "b-dir")), b)

    def test_unix_permissions_decide_who_reads(self):
        out, data = self.get(USER_B, "a-private.txt")
        self.assertIn("NT_STATUS_ACCESS_DENIED", out)
        self.assertIsNone(data)
        out, data = self.get(USER_A, "root-private.txt")
        self.assertIn("NT_STATUS_ACCESS_DENIED", out)
        self.assertIsNone(data)
        out, data = self.get(USER_B, "a-public.txt")
        self.assertEqual(data, b"for everyone\n", out)
        out, data = self.get(USER_A, "a-private.txt")
        self.assertEqual(data, b"A only\n", out)
        # impacket sees the same.
        conn = self.impacket(USER_B)
        with self.assertRaises(SessionError) as cm:
            conn.getFile(self.server.share, "a-private.txt", io.BytesIO().write)
        self.assertEqual(cm.exception.getErrorCode(), nt_errors.STATUS_ACCESS_DENIED)

    def test_a_delete_the_directory_refuses_is_refused_at_the_open(self):
        # A's directory (0755) holds a file anyone may write: B may not remove it, and is
        # told so when it asks (the delete-on-close open), not told SUCCESS at a close
        # that then leaves the file where it was.
        d = self.path(None, "a-keeps")
        os.mkdir(d)
        os.chown(d, self.a.pw_uid, self.a.pw_gid)
        os.chmod(d, 0o755)
        self.write(os.path.join(d, "shared.txt"), b"keep me\n", self.a, 0o666)
        conn = self.impacket(USER_B)
        with self.assertRaises(SessionError) as cm:
            conn.deleteFile(self.server.share, "a-keeps\\shared.txt")
        self.assertEqual(cm.exception.getErrorCode(), nt_errors.STATUS_ACCESS_DENIED)
        self.assertTrue(os.path.exists(os.path.join(d, "shared.txt")))
        out = self.smbclient(USER_B, 'del "a-keeps\\shared.txt"')
        self.assertIn("NT_STATUS_ACCESS_DENIED", out)
        self.assertTrue(os.path.exists(os.path.join(d, "shared.txt")))
        # A, whose directory it is, may.
        conn = self.impacket(USER_A)
        conn.deleteFile(self.server.share, "a-keeps\\shared.txt")
        self.assertFalse(os.path.exists(os.path.join(d, "shared.txt")))

    def test_group_writable_directory_takes_its_members_files(self):
        self.assertNotIn("NT_STATUS_", self.put(USER_B, "team\\from-b.txt"))
        self.assertEqual(self.owner_of(self.path(None, "team", "from-b.txt"))[0],
                         self.b.pw_uid)
        self.assertIn("NT_STATUS_ACCESS_DENIED", self.put(USER_A, "team\\from-a.txt"))
        self.assertFalse(os.path.exists(self.path(None, "team", "from-a.txt")))

    def test_force_user(self):
        self.assertNotIn("NT_STATUS_", self.put(USER_B, "forced-by-b.txt", "forced"))
        self.assertEqual(self.owner_of(self.path("forced", "forced-by-b.txt")),
                         (self.a.pw_uid, self.a.pw_gid))

    def test_guest_share(self):
        self.assertNotIn("NT_STATUS_", self.put(None, "anonymous.txt", "guests"))
        self.assertEqual(self.owner_of(self.path("guests", "anonymous.txt"))[0],
                         self.nobody.pw_uid)
        # A user keeps its own identity on a guest share.
        self.assertNotIn("NT_STATUS_", self.put(USER_B, "b-guest.txt", "guests"))
        self.assertEqual(self.owner_of(self.path("guests", "b-guest.txt"))[0], self.b.pw_uid)

    def test_admin_users_act_as_root(self):
        self.assertNotIn("NT_STATUS_", self.put(USER_B, "by-admin.txt", "admin"))
        self.assertEqual(self.owner_of(self.path("admin", "by-admin.txt")),
                         (0, self.b.pw_gid))
        out, data = self.get(USER_B, "root-private.txt", "admin")
        self.assertEqual(data, b"root only\n", out)
        out, data = self.get(USER_A, "root-private.txt", "admin")
        self.assertIn("NT_STATUS_ACCESS_DENIED", out)

    def test_create_masks_and_forced_modes(self):
        self.assertNotIn("NT_STATUS_", self.put(USER_A, "masked.txt", "modes"))
        self.assertNotIn("NT_STATUS_", self.smbclient(USER_A, "mkdir masked", "modes"))
        self.assertEqual(stat.S_IMODE(os.stat(self.path("modes", "masked.txt")).st_mode), 0o660)
        self.assertEqual(stat.S_IMODE(os.stat(self.path("modes", "masked")).st_mode), 0o2750)

    def test_inherit_permissions_and_owner(self):
        self.assertNotIn("NT_STATUS_", self.put(USER_B, "drop\\from-b.txt", "inherit"))
        self.assertNotIn("NT_STATUS_", self.smbclient(USER_B, "mkdir drop\\b-dir", "inherit"))
        file_st = os.stat(self.path("inherit", "drop", "from-b.txt"))
        dir_st = os.stat(self.path("inherit", "drop", "b-dir"))
        # The parent's owner; its read and write bits for a file, its mode for a directory.
        self.assertEqual(file_st.st_uid, self.a.pw_uid)
        self.assertEqual(dir_st.st_uid, self.a.pw_uid)
        self.assertEqual(stat.S_IMODE(file_st.st_mode) & 0o666, 0o660)
        self.assertEqual(stat.S_IMODE(dir_st.st_mode), 0o770)

    def set_owner(self, user, share, name, owner_uid):
        """Opens `name` for WRITE_OWNER and sets an owner S-1-22-1-uid: the status of the
        step that refused (Samba refuses the open, this server the SET_INFO, until NT
        ACLs decide who holds WRITE_OWNER), 0 for success."""
        conn = self.impacket(user)
        smb = conn.getSMBServer()
        tid = conn.connectTree(share)
        try:
            fid = smb.create(tid, name, READ_CONTROL | WRITE_OWNER,
                             s3.FILE_SHARE_READ | s3.FILE_SHARE_WRITE,
                             s3.FILE_NON_DIRECTORY_FILE, s3.FILE_OPEN, 0)
        except Smb3Error as e:
            return e.get_error_code()
        try:
            smb.setInfo(tid, fid, owner_sd(f"S-1-22-1-{owner_uid}"),
                        infoType=s3.SMB2_0_INFO_SECURITY, fileInfoClass=0,
                        additionalInformation=OWNER)
            return 0
        except Smb3Error as e:
            return e.get_error_code()
        finally:
            smb.close(tid, fid)

    def test_one_process_two_users_each_reach_only_their_paths(self):
        # A's directory (0700) holds a file anyone could read who could reach it. A and B
        # are served by one process, A first: whatever A's opens resolved there, B's
        # lookups are the kernel's as B, and B is refused (docs/security.md, path
        # resolution).
        d = self.path(None, "a-reach")
        os.mkdir(d)
        os.chown(d, self.a.pw_uid, self.a.pw_gid)
        os.chmod(d, 0o700)
        self.write(os.path.join(d, "open.txt"), b"readable by all\n", self.a, 0o644)
        conn_a = self.same_client(USER_A)
        conn_b = self.same_client(USER_B)
        if KIND == "self":
            self.assertEqual(self.serving_pid(conn_a), self.serving_pid(conn_b))
        for _ in range(2):
            self.assertEqual(self.open_status(conn_a, "a-reach\\open.txt"),
                             nt_errors.STATUS_SUCCESS)
            self.assertEqual(self.open_status(conn_a, "a-reach", directory=True),
                             nt_errors.STATUS_SUCCESS)
            self.assertEqual(self.open_status(conn_b, "a-reach\\open.txt"),
                             nt_errors.STATUS_ACCESS_DENIED)
            self.assertEqual(self.open_status(conn_b, "A-REACH\\OPEN.TXT"),
                             nt_errors.STATUS_ACCESS_DENIED)
        # Once B may search the directory (but not list it), B reaches the file by name.
        os.chmod(d, 0o711)
        self.assertEqual(self.open_status(conn_b, "a-reach\\open.txt"), nt_errors.STATUS_SUCCESS)

    def test_names_changed_behind_the_server(self):
        # What an open finds is what the file system holds at that moment: a directory
        # renamed, a file removed or replaced on the host between two opens.
        d = self.path(None, "moving")
        os.mkdir(d)
        os.chown(d, self.a.pw_uid, self.a.pw_gid)
        self.write(os.path.join(d, "f.txt"), b"one\n", self.a, 0o644)
        conn = self.impacket(USER_A)
        self.assertEqual(self.open_status(conn, "moving\\f.txt"), nt_errors.STATUS_SUCCESS)
        os.rename(d, self.path(None, "moved"))
        self.assertEqual(self.open_status(conn, "moving\\f.txt"),
                         nt_errors.STATUS_OBJECT_PATH_NOT_FOUND)
        self.assertEqual(self.open_status(conn, "moved\\f.txt"), nt_errors.STATUS_SUCCESS)
        os.unlink(self.path(None, "moved", "f.txt"))
        self.assertEqual(self.open_status(conn, "moved\\f.txt"),
                         nt_errors.STATUS_OBJECT_NAME_NOT_FOUND)
        # A FIFO where the file was is not waited on. This server serves only regular
        # files and directories (ACCESS_DENIED); Samba 4.17 opens the FIFO.
        os.mkfifo(self.path(None, "moved", "f.txt"), 0o666)
        self.assertEqual(self.open_status(conn, "moved\\f.txt"),
                         nt_errors.STATUS_ACCESS_DENIED if KIND == "self"
                         else nt_errors.STATUS_SUCCESS)
        os.unlink(self.path(None, "moved", "f.txt"))
        os.mkdir(self.path(None, "moved", "f.txt"))
        self.assertEqual(self.open_status(conn, "moved\\f.txt"),
                         nt_errors.STATUS_FILE_IS_A_DIRECTORY)

    def test_only_admins_give_files_away(self):
        self.write(self.path(None, "a-keeps.txt"), b"mine\n", self.a, 0o644)
        status = self.set_owner(USER_A, self.server.share, "a-keeps.txt", self.b.pw_uid)
        self.assertEqual(status, nt_errors.STATUS_ACCESS_DENIED, f"{status:#x}")
        self.assertEqual(self.owner_of(self.path(None, "a-keeps.txt"))[0], self.a.pw_uid)
        # An admin user has the privilege.
        self.write(self.path("admin", "given.txt"), b"root's\n", None, 0o644)
        self.assertEqual(self.set_owner(USER_B, "admin", "given.txt", self.a.pw_uid), 0)
        self.assertEqual(self.owner_of(self.path("admin", "given.txt"))[0], self.a.pw_uid)

    def test_user_without_unix_account_cannot_log_on(self):
        out = self.smbclient(USER_C, "ls")
        self.assertIn("NT_STATUS_LOGON_FAILURE", out)
        if KIND == "self":
            self.assertIn(f"user '{USER_C}' cannot log on: no Unix account has uid",
                          self.server.log_text())


if __name__ == "__main__":
    smbtest.main()
