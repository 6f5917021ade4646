#!/usr/bin/python3
"""Samba's smbclient against the server: every dialect, signing, encryption, listing,
authentication. Files of 0 B, 1 B, 1 MiB+1 and 64 MiB go up and down and are compared
by sha256 on both sides; a WireTap in front of the server checks what was negotiated.

Run: SMBTEST_KIND=samba /usr/bin/python3 test_smbclient.py [-k pattern]
"""

import os
import shutil
import tempfile
import unittest

import smbtest
from smbtest import Server, WireTap, parse_ls

FILES = {"empty.bin": 0, "one.bin": 1, "mib1.bin": (1 << 20) + 1, "big.bin": 64 << 20}
SMALL = ("empty.bin", "one.bin", "mib1.bin")
DIALECT_CODES = {"SMB2_02": 0x0202, "SMB2_10": 0x0210, "SMB3_00": 0x0300,
                 "SMB3_02": 0x0302, "SMB3_11": 0x0311}
CIPHERS = ["AES-128-CCM", "AES-128-GCM", "AES-256-CCM", "AES-256-GCM"]


class SmbclientCase(unittest.TestCase):
    server_options = {}

    @classmethod
    def setUpClass(cls):
        cls.server = Server(**cls.server_options)
        cls.server.start()
        try:
            cls.tap = WireTap(cls.server.port).__enter__()
            cls.local = tempfile.mkdtemp(prefix="smbclient-", dir=smbtest.scratch_root())
            cls.files = {}
            for name, size in FILES.items():
                path = os.path.join(cls.local, name)
                cls.files[name] = (path, smbtest.make_random_file(path, size))
        except BaseException:
            cls.server.stop()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.tap.close()
        cls.server.stop()
        shutil.rmtree(cls.local, ignore_errors=True)

    def sc(self, commands, dialect, options, **kw):
        return self.server.smbclient(commands, dialect=dialect, options=options,
                                     port=self.tap.port, **kw)

    def roundtrip(self, label, dialect, options=(), names=tuple(FILES), encrypted=False,
                  signed=False):
        """mkdir, put, ls, get, rename, del, rmdir in a directory `label`, checking
        the share directory on the server side after every step."""
        self.tap.reset()
        share = self.server.share_path
        remote_dir = os.path.join(share, label)
        ctx = f"[{label} {dialect} {' '.join(options)}]"

        self.sc(f"mkdir {label}", dialect, options)
        self.assertTrue(os.path.isdir(remote_dir), f"{ctx} mkdir: {remote_dir} missing")

        puts = "; ".join(f'put "{self.files[n][0]}" "{label}\\{n}"' for n in names)
        self.sc(puts, dialect, options, timeout=300)
        for n in names:
            smbtest.assert_same_file(self.files[n][0], os.path.join(remote_dir, n),
                                     f"{ctx} put {n}")

        listing = parse_ls(self.sc(f'ls "{label}\\*"', dialect, options).stdout)
        for n in names:
            self.assertIn(n, listing, f"{ctx} ls does not show {n}: {listing}")
            self.assertEqual(listing[n][1], FILES[n], f"{ctx} ls size of {n}")
        self.assertEqual(set(listing) - {".", ".."}, set(names), f"{ctx} ls entries")

        down = tempfile.mkdtemp(prefix="get-", dir=self.local)
        try:
            gets = "; ".join(f'get "{label}\\{n}" "{down}/{n}"' for n in names)
            self.sc(gets, dialect, options, timeout=300)
            for n in names:
                smbtest.assert_same_file(self.files[n][0], os.path.join(down, n),
                                         f"{ctx} get {n}")
        finally:
            shutil.rmtree(down, ignore_errors=True)

        first = names[0]
        self.sc(f'rename "{label}\\{first}" "{label}\\renamed-{first}"', dialect, options)
        self.assertFalse(os.path.exists(os.path.join(remote_dir, first)),
                         f"{ctx} rename: old name {first} still there")
        smbtest.assert_same_file(self.files[first][0],
                                 os.path.join(remote_dir, f"renamed-{first}"),
                                 f"{ctx} rename {first}")
        listing = parse_ls(self.sc(f'ls "{label}\\*"', dialect, options).stdout)
        self.assertIn(f"renamed-{first}", listing, f"{ctx} ls after rename: {listing}")
        self.assertNotIn(first, listing, f"{ctx} ls after rename: {listing}")

        dels = [f'del "{label}\\renamed-{first}"'] + [f'del "{label}\\{n}"' for n in names[1:]]
        self.sc("; ".join(dels), dialect, options)
        self.assertEqual(os.listdir(remote_dir), [], f"{ctx} del left files")

        self.sc(f"rmdir {label}", dialect, options)
        self.assertFalse(os.path.exists(remote_dir), f"{ctx} rmdir: {remote_dir} remains")

        self.check_wire(ctx, dialect, encrypted, signed)

    def check_wire(self, ctx, dialect, encrypted, signed):
        self.assertEqual(self.tap.dialects(), {DIALECT_CODES[dialect]},
                         f"{ctx} negotiated dialects (hex) "
                         f"{[hex(d) for d in self.tap.dialects()]}")
        later = self.tap.after_session_setup()
        self.assertTrue(later, f"{ctx} no frames after session setup")
        if encrypted:
            plain = [f for f in later if not f.encrypted]
            self.assertEqual(plain, [], f"{ctx} {len(plain)} of {len(later)} frames after "
                             "session setup were not encrypted")
        else:
            self.assertFalse(any(f.encrypted for f in self.tap.frames),
                             f"{ctx} frames were encrypted although nobody asked for it")
        if signed:
            # Interim (STATUS_PENDING) responses of async operations may go unsigned.
            unsigned = [f for f in later if not f.encrypted and not f.signed
                        and f.status != smbtest.STATUS_PENDING]
            self.assertEqual(unsigned, [],
                             f"{ctx} {len(unsigned)} of {len(later)} frames unsigned, e.g. "
                             f"command {unsigned[0].command:#x} to_server="
                             f"{unsigned[0].to_server}" if unsigned else "")


class Dialects(SmbclientCase):
    """Every dialect smbclient speaks, pinned with -m and client min protocol."""


def _dialect_test(dialect):
    def test(self):
        self.roundtrip(f"dir-{dialect}", dialect)
    test.__doc__ = f"ls/put/get/mkdir/rmdir/rename/del over {dialect}"
    return test


for _d in smbtest.DIALECTS:
    setattr(Dialects, f"test_{_d}", _dialect_test(_d))


class Signing(SmbclientCase):
    """Signing required by the client, SMB3_11 unless noted."""

    def test_signing_required(self):
        self.roundtrip("signed", "SMB3_11", ["client signing=required"], signed=True)

    def test_signing_aes128_gmac(self):
        self.roundtrip("gmac", "SMB3_11", ["client signing=required",
                                           "client smb3 signing algorithms=AES-128-GMAC"],
                       names=SMALL, signed=True)

    def test_signing_aes128_cmac(self):
        self.roundtrip("cmac", "SMB3_11", ["client signing=required",
                                           "client smb3 signing algorithms=AES-128-CMAC"],
                       names=SMALL, signed=True)

    def test_signing_hmac_sha256_smb2_10(self):
        self.roundtrip("hmac", "SMB2_10", ["client signing=required"], names=SMALL,
                       signed=True)



class Encryption(SmbclientCase):
    """The server offers encryption (smb encrypt = desired); the client picks the cipher."""
    server_options = {"encrypt": "desired"}

    def test_smb3_00_client_requires(self):
        self.roundtrip("enc300", "SMB3_00", ["client smb encrypt=required"], names=SMALL,
                       encrypted=True)

    def test_smb3_11_server_desires(self):
        self.roundtrip("enc311", "SMB3_11", names=SMALL, encrypted=True)

    def test_smb2_10_plain(self):
        self.roundtrip("plain210", "SMB2_10", names=SMALL, encrypted=False)


def _cipher_test(cipher):
    def test(self):
        self.roundtrip(f"enc-{cipher}", "SMB3_11",
                       ["client smb encrypt=required",
                        f"client smb3 encryption algorithms={cipher}"], encrypted=True)
    test.__doc__ = f"SMB3_11 encrypted with {cipher}"
    return test


for _c in CIPHERS:
    setattr(Encryption, f"test_encryption_{_c.replace('-', '_').lower()}", _cipher_test(_c))


class ServerSigningMandatory(SmbclientCase):
    server_options = {"signing": "mandatory"}

    def test_smb3_11_signed_without_client_request(self):
        self.roundtrip("srvsign311", "SMB3_11", names=SMALL, signed=True)

    def test_smb2_02_signed_without_client_request(self):
        self.roundtrip("srvsign202", "SMB2_02", names=SMALL, signed=True)


class ServerEncryptRequired(SmbclientCase):
    server_options = {"encrypt": "required"}

    def test_smb3_11_encrypted_without_client_request(self):
        self.roundtrip("srvenc311", "SMB3_11", names=SMALL, encrypted=True)

    def test_smb2_10_refused(self):
        r = self.server.smbclient("mkdir refused", dialect="SMB2_10", check=False)
        self.assertNotEqual(r.returncode, 0, f"SMB2_10 without encryption was accepted:\n"
                            f"{r.stdout}{r.stderr}")
        self.assertIn("NT_STATUS_", r.stdout + r.stderr)
        self.assertFalse(os.path.exists(os.path.join(self.server.share_path, "refused")),
                         "an SMB2_10 client created a directory on an encrypted-only server")


class Listing(SmbclientCase):
    def test_list_shares(self):
        r = self.server.smbclient_list()
        out = r.stdout + r.stderr
        self.assertEqual(r.returncode, 0, f"smbclient -L failed:\n{out}")
        disks = [ln.split("|")[1] for ln in r.stdout.splitlines() if ln.startswith("Disk|")]
        self.assertIn(self.server.share, disks,
                      f"smbclient -L does not list {self.server.share}:\n{out}")

    def test_ls_root(self):
        name = "visible.bin"
        smbtest.make_random_file(os.path.join(self.server.share_path, name), 4097)
        try:
            listing = parse_ls(self.server.smbclient("ls", dialect="SMB3_11").stdout)
            self.assertEqual(listing.get(name, (None, None))[1], 4097,
                             f"ls of the share root: {listing}")
            self.assertIn(".", listing, f"ls of the share root has no '.': {listing}")
        finally:
            os.unlink(os.path.join(self.server.share_path, name))


class Authentication(SmbclientCase):
    def test_wrong_password(self):
        for dialect in ("SMB2_02", "SMB3_11"):
            r = self.server.smbclient("ls", dialect=dialect, password="wrong-password",
                                      check=False)
            out = r.stdout + r.stderr
            self.assertNotEqual(r.returncode, 0, f"{dialect}: wrong password accepted:\n{out}")
            self.assertIn("NT_STATUS_LOGON_FAILURE", out, f"{dialect}: wrong password")

    def test_unknown_user(self):
        r = self.server.smbclient("ls", dialect="SMB3_11", user="nosuchuser", check=False)
        out = r.stdout + r.stderr
        self.assertNotEqual(r.returncode, 0, f"unknown user accepted:\n{out}")
        self.assertIn("NT_STATUS_LOGON_FAILURE", out, "unknown user")


if __name__ == "__main__":
    smbtest.main()
