#!/usr/bin/python3
"""Share and server options that decide who reaches what, and how new files look on disk:

  browseable = no         absent from smbclient -L, still connectable
  available = no          absent from smbclient -L, every tree connect BAD_NETWORK_NAME
  invalid users           those users get ACCESS_DENIED on that share only
  create / directory mask the mode bits of new files and directories on disk
  map to guest = bad user an unknown user becomes guest: guest ok shares only
  smb encrypt = required  (on one share) a client that does not encrypt is refused:
                          SMB 2.x at tree connect, SMB 3 requests sent in plain text
  interfaces = ::1        the server listens on IPv6 (and, bound to it, not on IPv4)

Clients: smbclient, and impacket (impacket_raw.Client) where a request has to be shaped
by hand (plain text on an encrypted share) or a session flag read. Data moved is compared
byte for byte.

Run: SMBTEST_KIND=samba /usr/bin/python3 test_share_options.py
"""

import os
import socket
import stat
import unittest

from impacket import nt_errors
from impacket import smb3structs as s3
from impacket.smb3 import SessionError

import impacket_raw as raw
import smbtest
from smbtest import Server, WireTap

USER2, PASSWORD2 = "smbtest2", "Sm8-other-pw"
SMB2_SHAREFLAG_ENCRYPT_DATA = 0x8000  # [MS-SMB2] 2.2.10

# The mode of a new file is decided by the masks of the share, not by the umask the
# server was started with: 022, the usual default (systemd's UMask= among others), would
# take the group's write bit away from the masks below.
os.umask(0o022)


def listed(server, **kw):
    """Share names in `smbclient -L` (-g: machine-readable lines `type|name|comment`)."""
    r = server.smbclient_list(**kw)
    names = {ln.split("|")[1] for ln in r.stdout.splitlines() if ln.count("|") >= 2}
    # The exit status also covers the workgroup listing that follows (SMB1 or NetBIOS,
    # neither spoken here; over IPv6 it fails): the shares' answer is what counts.
    if "NT_STATUS_" in r.stdout + r.stderr or "IPC$" not in names:
        raise AssertionError(f"smbclient -L failed:\n{r.stdout}{r.stderr}")
    return names


def nt_status(result):
    """The NT_STATUS_ name an smbclient run reported, or None."""
    for word in (result.stdout + result.stderr).split():
        if word.startswith("NT_STATUS_"):
            return word.rstrip(":,.")
    return None


class Options(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = Server(
            extra_users={USER2: PASSWORD2},
            extra_shares={
                "hidden": ["path = %(base)s/hidden", "read only = no", "browseable = no"],
                "off": ["path = %(base)s/off", "read only = no", "available = no"],
                # The list is matched without regard to case.
                "noinv": ["path = %(base)s/noinv", "read only = no",
                          f"invalid users = {USER2.upper()}"],
                "masks": ["path = %(base)s/masks", "read only = no", "create mask = 0660",
                          "directory mask = 0770"],
                "narrow": ["path = %(base)s/narrow", "read only = no", "create mask = 0604",
                           "directory mask = 0705"],
            })
        cls.server.start()
        cls.upload = os.path.join(cls.server.client_dir, "upload.bin")
        smbtest.make_random_file(cls.upload, (1 << 20) + 1)

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()

    def roundtrip(self, share, name, **kw):
        """put, then get into another file: both compared with the upload."""
        down = os.path.join(self.server.client_dir, f"down-{share}-{name}")
        self.server.smbclient(f'put "{self.upload}" {name}; get {name} "{down}"',
                              share=share, dialect="SMB3_11", **kw)
        smbtest.assert_same_file(self.upload, os.path.join(self.server.base, share, name),
                                 f"put to {share}")
        smbtest.assert_same_file(self.upload, down, f"get from {share}")

    def test_browseable_no(self):
        names = listed(self.server)
        self.assertIn(self.server.share, names)
        self.assertNotIn("hidden", names, "a share with browseable = no is listed")
        self.roundtrip("hidden", "by-name.bin")

    def test_available_no(self):
        self.assertNotIn("off", listed(self.server), "a share with available = no is listed")
        with open(os.path.join(self.server.base, "off", "there.txt"), "w") as f:
            f.write("there")
        for user, password in ((self.server.user, self.server.password), (USER2, PASSWORD2)):
            r = self.server.smbclient("ls", share="off", user=user, password=password,
                                      dialect="SMB3_11", check=False)
            self.assertEqual(nt_status(r), "NT_STATUS_BAD_NETWORK_NAME",
                             f"{user}: tree connect to a share with available = no:\n"
                             f"{r.stdout}{r.stderr}")
        client = raw.connect(self.server, 0x300)
        self.addCleanup(client.disconnect)
        with self.assertRaises(SessionError) as cm:
            client.connectTree("off")
        self.assertEqual(cm.exception.get_error_code(), nt_errors.STATUS_BAD_NETWORK_NAME)

    def test_invalid_users(self):
        r = self.server.smbclient("ls", share="noinv", user=USER2, password=PASSWORD2,
                                  dialect="SMB3_11", check=False)
        self.assertEqual(nt_status(r), "NT_STATUS_ACCESS_DENIED",
                         f"{USER2} (invalid users = {USER2.upper()}):\n{r.stdout}{r.stderr}")
        for dialect in (0x210, 0x311):
            client = raw.connect(self.server, dialect, user=USER2, password=PASSWORD2)
            self.addCleanup(client.disconnect)
            with self.assertRaises(SessionError, msg=f"{dialect:#x}: tree connect") as cm:
                client.connectTree("noinv")
            self.assertEqual(cm.exception.get_error_code(), nt_errors.STATUS_ACCESS_DENIED)
            # The same session uses the other shares: the refusal is this share's.
            client.connectTree(self.server.share)
        # The other user is not affected, and the refused one reaches other shares.
        self.roundtrip("noinv", "allowed.bin")
        self.roundtrip(self.server.share, f"{USER2}.bin", user=USER2, password=PASSWORD2)

    def check_masks(self, share, file_mode, dir_mode):
        local = self.upload
        self.server.smbclient(f'put "{local}" new.bin; mkdir newdir; put "{local}" '
                              r'newdir\inner.bin; mkdir newdir\sub', share=share,
                              dialect="SMB3_11")
        root = os.path.join(self.server.base, share)
        modes = {name: stat.S_IMODE(os.stat(os.path.join(root, name)).st_mode)
                 for name in ("new.bin", "newdir", "newdir/inner.bin", "newdir/sub")}
        expected = {"new.bin": file_mode, "newdir": dir_mode, "newdir/inner.bin": file_mode,
                    "newdir/sub": dir_mode}
        self.assertEqual({k: oct(v) for k, v in modes.items()},
                         {k: oct(v) for k, v in expected.items()},
                         f"modes on disk in [{share}] (create mask {oct(file_mode)}, "
                         f"directory mask {oct(dir_mode)}; the server runs with umask 022)")
        smbtest.assert_same_file(local, os.path.join(root, "newdir", "inner.bin"), share)

    def test_create_and_directory_mask(self):
        self.check_masks("masks", 0o660, 0o770)

    def test_create_and_directory_mask_narrow(self):
        self.check_masks("narrow", 0o604, 0o705)


class MapToGuest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = Server(map_to_guest="bad user", extra_shares={
            "guest": ["path = %(base)s/guest", "read only = no", "guest ok = yes"]})
        cls.server.start()

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()

    def test_unknown_user_is_guest(self):
        local = os.path.join(self.server.client_dir, "guest.bin")
        smbtest.make_random_file(local, 70_001)
        for dialect in ("SMB2_02", "SMB3_11"):
            down = os.path.join(self.server.client_dir, f"down-{dialect}")
            self.server.smbclient(f'put "{local}" {dialect}.bin; get {dialect}.bin "{down}"',
                                  share="guest", user="nosuchuser", password="any-password",
                                  dialect=dialect)
            smbtest.assert_same_file(local, os.path.join(self.server.base, "guest",
                                                         f"{dialect}.bin"), dialect)
            smbtest.assert_same_file(local, down, dialect)
            # A share without guest ok is closed to the guest.
            r = self.server.smbclient("ls", user="nosuchuser", password="any-password",
                                      dialect=dialect, check=False)
            self.assertEqual(nt_status(r), "NT_STATUS_ACCESS_DENIED",
                             f"{dialect}: guest on a share without guest ok:\n"
                             f"{r.stdout}{r.stderr}")

    def test_session_flags(self):
        for dialect in (0x210, 0x300):
            client = raw.connect(self.server, dialect, user="nosuchuser",
                                 password="any-password")
            self.addCleanup(client.disconnect)
            self.assertTrue(client.isGuestSession(), f"{dialect:#x}: unknown user")
            client.connectTree("guest")
            known = raw.connect(self.server, dialect)
            self.addCleanup(known.disconnect)
            self.assertFalse(known.isGuestSession(), f"{dialect:#x}: known user")

    def test_wrong_password_is_not_guest(self):
        # `bad user` maps unknown names only; a known user with a wrong password fails.
        for dialect in ("SMB2_02", "SMB3_11"):
            r = self.server.smbclient("ls", share="guest", password="wrong-password",
                                      dialect=dialect, check=False)
            self.assertEqual(nt_status(r), "NT_STATUS_LOGON_FAILURE",
                             f"{dialect}: known user, wrong password:\n{r.stdout}{r.stderr}")
        with self.assertRaises(SessionError) as cm:
            raw.connect(self.server, 0x300, password="wrong-password")
        self.assertEqual(cm.exception.get_error_code(), nt_errors.STATUS_LOGON_FAILURE)


class EncryptedShare(unittest.TestCase):
    """[enc] has smb encrypt = required; [global] leaves smb encrypt at the default."""

    @classmethod
    def setUpClass(cls):
        cls.server = Server(encrypt=None, extra_shares={
            "enc": ["path = %(base)s/enc", "read only = no", "smb encrypt = required"]})
        cls.server.start()
        cls.enc = os.path.join(cls.server.base, "enc")

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()

    def test_smb2_clients_refused(self):
        for dialect in ("SMB2_02", "SMB2_10"):
            r = self.server.smbclient(f"mkdir made-{dialect}", share="enc", dialect=dialect,
                                      check=False)
            self.assertEqual(nt_status(r), "NT_STATUS_ACCESS_DENIED",
                             f"{dialect} (no encryption) on [enc]:\n{r.stdout}{r.stderr}")
            self.assertFalse(os.path.exists(os.path.join(self.enc, f"made-{dialect}")))
            # The same client on the share that does not require encryption.
            self.server.smbclient(f"mkdir made-{dialect}", dialect=dialect)
        for dialect in (0x202, 0x210):
            client = raw.connect(self.server, dialect)
            self.addCleanup(client.disconnect)
            with self.assertRaises(SessionError, msg=f"{dialect:#x}: tree connect") as cm:
                client.connectTree("enc")
            self.assertEqual(cm.exception.get_error_code(), nt_errors.STATUS_ACCESS_DENIED)

    def test_smb3_plain_requests_refused(self):
        for dialect in (0x300, 0x311):
            label = raw.DIALECT_NAMES[dialect]
            with WireTap(self.server.port) as tap:
                # A client that never encrypts: the tree connect (a session request) is
                # answered, with the share's flag saying that encryption is required.
                plain = raw.connect(self.server, dialect, port=tap.port)
                self.addCleanup(plain.disconnect)
                tid = plain.connectTree("enc")
                flags = plain.tree_connect_response["ShareFlags"]
                self.assertTrue(flags & SMB2_SHAREFLAG_ENCRYPT_DATA,
                                f"{label}: tree connect answer with ShareFlags {flags:#x}")
                name = f"plain-{label}.bin"
                status, fid = plain.open(tid, name, raw.READ_ACCESS | raw.FILE_WRITE_DATA,
                                         s3.FILE_CREATE)
                self.assertEqual(status, raw.STATUS_ACCESS_DENIED,
                                 f"{label}: plain CREATE on [enc]: {raw.status_name(status)}")
                self.assertFalse(os.path.exists(os.path.join(self.enc, name)),
                                 f"{label}: a plain CREATE made {name}")
                status, _ = plain.query_info(tid, b"\xff" * 16, s3.SMB2_0_INFO_FILESYSTEM, 1)
                self.assertEqual(status, raw.STATUS_ACCESS_DENIED,
                                 f"{label}: plain QUERY_INFO on [enc]")
                # (Samba encrypts its answers to them all the same.)
                self.assertFalse(any(f.encrypted for f in tap.frames if f.to_server),
                                 f"{label}: the plain client's requests were encrypted")

                # The same requests encrypted work: the refusals were for plain text.
                tap.reset()
                sealed = raw.connect(self.server, dialect, port=tap.port, encrypt=True)
                self.addCleanup(sealed.disconnect)
                self.assertTrue(sealed.encrypting, f"{label}: impacket does not encrypt")
                tid = sealed.connectTree("enc")
                status, fid = sealed.open(tid, name, raw.READ_ACCESS | raw.FILE_WRITE_DATA,
                                          s3.FILE_CREATE)
                self.assertEqual(status, raw.STATUS_SUCCESS,
                                 f"{label}: encrypted CREATE on [enc]: {raw.status_name(status)}")
                payload = os.urandom(100_000)
                self.assertEqual(sealed.write_raw(tid, fid, 0, payload),
                                 (raw.STATUS_SUCCESS, len(payload)))
                sealed.close_file(tid, fid)
                with open(os.path.join(self.enc, name), "rb") as f:
                    self.assertTrue(f.read() == payload, f"{label}: data written encrypted")
                after_setup = tap.after_session_setup()
                self.assertTrue(after_setup and all(f.encrypted for f in after_setup),
                                f"{label}: the encrypting client's frames were not all "
                                "encrypted")
                # Closed before the tap, whose relay threads end with their connections.
                plain.disconnect()
                sealed.disconnect()


class Ipv6(unittest.TestCase):
    """interfaces = ::1 with bind interfaces only = yes."""

    @classmethod
    def setUpClass(cls):
        cls.server = Server(host="::1")
        cls.server.start()

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()

    def test_smbclient_over_ipv6(self):
        local = os.path.join(self.server.client_dir, "v6.bin")
        smbtest.make_random_file(local, (1 << 20) + 1)
        down = os.path.join(self.server.client_dir, "v6-down.bin")
        for dialect in ("SMB2_02", "SMB3_11"):
            self.server.smbclient(f'put "{local}" {dialect}.bin; get {dialect}.bin "{down}"',
                                  dialect=dialect)
            smbtest.assert_same_file(local, os.path.join(self.server.share_path,
                                                         f"{dialect}.bin"), dialect)
            smbtest.assert_same_file(local, down, dialect)
        self.assertIn(self.server.share, listed(self.server))

    def test_impacket_over_ipv6(self):
        client = raw.connect(self.server, 0x311)
        self.addCleanup(client.disconnect)
        peer = client._NetBIOSSession.get_socket().getpeername()
        self.assertEqual(peer[0], "::1", f"impacket connected to {peer}")
        tid = client.connectTree(self.server.share)
        payload = os.urandom(65_537)
        status, fid = client.open(tid, "impacket.bin", raw.READ_ACCESS | raw.FILE_WRITE_DATA,
                                  s3.FILE_CREATE)
        self.assertEqual(status, raw.STATUS_SUCCESS)
        self.assertEqual(client.write_raw(tid, fid, 0, payload),
                         (raw.STATUS_SUCCESS, len(payload)))
        self.assertEqual(client.read_raw(tid, fid, 0, len(payload)),
                         (raw.STATUS_SUCCESS, payload))
        client.close_file(tid, fid)

    def test_not_on_ipv4(self):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.settimeout(5)
            self.assertNotEqual(s.connect_ex(("127.0.0.1", self.server.port)), 0,
                                "bound to ::1 only, the server accepts on 127.0.0.1")


if __name__ == "__main__":
    smbtest.main()
