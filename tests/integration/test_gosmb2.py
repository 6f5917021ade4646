#!/usr/bin/python3
"""The go-smb2 client (gosmb2/main.go) against the server: login, share list, mkdir,
write, read (sha256), readdir, rename, remove, per dialect, signed, and on a share that
requires encryption. A WireTap in front of the server checks the negotiated dialect.

The program is built with the Debian go-smb2 package (GOPATH=/usr/share/gocode,
GO111MODULE=off) into $SMBTEST_WORKDIR (else a temporary directory).

Run: SMBTEST_KIND=samba /usr/bin/python3 test_gosmb2.py
"""

import json
import os
import shutil
import subprocess
import tempfile
import unittest

import smbtest
from smbtest import Server, WireTap

HERE = os.path.dirname(os.path.abspath(__file__))
FILES = {"empty.bin": 0, "one.bin": 1, "mib1.bin": (1 << 20) + 1, "big.bin": 16 << 20}
DIALECTS = {"2_0_2": 0x202, "2_1": 0x210, "3_0": 0x300, "3_0_2": 0x302, "3_1_1": 0x311}


def build_gosmb2(workdir):
    out = os.path.join(workdir, "gosmb2")
    env = dict(os.environ, GOPATH="/usr/share/gocode", GO111MODULE="off",
               GOCACHE=os.path.join(workdir, "gocache"), GOFLAGS="")
    try:
        r = subprocess.run(["go", "build", "-o", out, "."], cwd=os.path.join(HERE, "gosmb2"),
                           env=env, capture_output=True, text=True, timeout=300)
    except subprocess.TimeoutExpired:
        raise RuntimeError("go build timed out") from None
    if r.returncode != 0:
        raise RuntimeError(f"go build failed:\n{r.stdout}{r.stderr}")
    return out


class GoSmb2(unittest.TestCase):
    server_options = {}

    @classmethod
    def setUpClass(cls):
        workdir = os.environ.get("SMBTEST_WORKDIR")
        cls.tmp = tempfile.mkdtemp(prefix="gosmb2-", dir=smbtest.scratch_root())
        if workdir:
            os.makedirs(workdir, exist_ok=True)
        cls.binary = build_gosmb2(workdir or cls.tmp)
        cls.server = Server(**cls.server_options)
        cls.server.start()
        cls.tap = WireTap(cls.server.port).__enter__()
        cls.files = {}
        for name, size in FILES.items():
            path = os.path.join(cls.tmp, name)
            cls.files[name] = (path, smbtest.make_random_file(path, size))

    @classmethod
    def tearDownClass(cls):
        cls.tap.close()
        cls.server.stop()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def go(self, *op, dialect=0, sign=False, password=None, share=None, expect_ok=True):
        cmd = [self.binary, "-addr", f"127.0.0.1:{self.tap.port}",
               "-user", self.server.user,
               "-pass", self.server.password if password is None else password,
               "-share", share or self.server.share, "-dialect", hex(dialect),
               "-timeout", "90s"]
        if sign:
            cmd.append("-sign")
        r = smbtest.run(cmd + list(op), timeout=120)
        try:
            res = json.loads(r.stdout.strip().splitlines()[-1])
        except (ValueError, IndexError):
            self.fail(f"gosmb2 {' '.join(op)}: no JSON result (exit {r.returncode}):\n"
                      f"{r.stdout}{r.stderr}")
        if expect_ok:
            self.assertTrue(res["ok"] and r.returncode == 0,
                            f"gosmb2 {' '.join(op)} dialect={dialect:#x}: {res.get('error')}")
        return res

    def file_ops(self, label, dialect=0, sign=False, names=tuple(FILES), share_path=None,
                 share=None):
        root = share_path or self.server.share_path
        kw = {"dialect": dialect, "sign": sign, "share": share}
        ctx = f"[{label}]"
        self.tap.reset()
        d = f"go-{label}"
        self.go("mkdir", d, **kw)
        self.assertTrue(os.path.isdir(os.path.join(root, d)), f"{ctx} mkdir")

        for n in names:
            res = self.go("put", self.files[n][0], f"{d}/{n}", **kw)
            self.assertEqual(res["sha256"], self.files[n][1], f"{ctx} put {n}: data read locally")
            smbtest.assert_same_file(self.files[n][0], os.path.join(root, d, n),
                                     f"{ctx} put {n}")

        entries = {e["name"]: e for e in self.go("readdir", d, **kw)["entries"]}
        self.assertEqual(set(entries), set(names), f"{ctx} readdir names")
        for n in names:
            self.assertEqual(entries[n]["size"], FILES[n], f"{ctx} readdir size of {n}")
            self.assertFalse(entries[n]["is_dir"], f"{ctx} readdir: {n} is a directory")

        down = tempfile.mkdtemp(prefix="get-", dir=self.tmp)
        try:
            for n in names:
                local = os.path.join(down, n)
                res = self.go("get", f"{d}/{n}", local, **kw)
                self.assertEqual(res["sha256"], self.files[n][1], f"{ctx} get {n}: sha256")
                smbtest.assert_same_file(self.files[n][0], local, f"{ctx} get {n}")
        finally:
            shutil.rmtree(down, ignore_errors=True)

        first = names[-1]
        self.go("rename", f"{d}/{first}", f"{d}/renamed-{first}", **kw)
        self.assertFalse(os.path.exists(os.path.join(root, d, first)), f"{ctx} rename: old")
        smbtest.assert_same_file(self.files[first][0],
                                 os.path.join(root, d, f"renamed-{first}"), f"{ctx} rename")
        res = self.go("stat", f"{d}/{first}", expect_ok=False, **kw)
        self.assertFalse(res["ok"], f"{ctx} stat of the old name after rename succeeded")
        st = self.go("stat", f"{d}/renamed-{first}", **kw)["entries"][0]
        self.assertEqual(st["size"], FILES[first], f"{ctx} stat after rename")

        for n in [f"renamed-{first}"] + list(names[:-1]):
            self.go("remove", f"{d}/{n}", **kw)
        self.assertEqual(os.listdir(os.path.join(root, d)), [], f"{ctx} remove")
        self.go("rmdir", d, **kw)
        self.assertFalse(os.path.exists(os.path.join(root, d)), f"{ctx} rmdir")

        if dialect:
            self.assertEqual(self.tap.dialects(), {dialect},
                             f"{ctx} negotiated {[hex(x) for x in self.tap.dialects()]}")
        if sign:
            unsigned = [f for f in self.tap.after_session_setup()
                        if not f.encrypted and not f.signed
                        and f.status != smbtest.STATUS_PENDING]
            self.assertEqual(len(unsigned), 0, f"{ctx} unsigned frames after session setup")


class Plain(GoSmb2):
    def test_login_and_shares(self):
        res = self.go("shares")
        self.assertIn(self.server.share, res["shares"], f"ListSharenames: {res['shares']}")

    def test_wrong_password(self):
        res = self.go("login", password="wrong-password", expect_ok=False)
        self.assertFalse(res["ok"], "login with a wrong password succeeded")
        self.assertRegex(res["error"], r"(?i)logon|c000006d",
                         f"wrong password: unexpected error {res['error']}")

    def test_default_dialect(self):
        self.file_ops("default")
        self.assertEqual(self.tap.dialects(), {0x311}, "go-smb2 offers up to 3.1.1")

    def test_signed_3_1_1(self):
        """Signed 3.1.1 without READ and WRITE: go-smb2 with signing required rejects the
        unsigned interim (STATUS_PENDING) response a server sends when a read or write
        goes asynchronous, so data transfer is left to the unsigned tests and smbclient."""
        self.tap.reset()
        kw = {"dialect": 0x311, "sign": True}
        root, d = self.server.share_path, "go-signed"
        self.go("mkdir", d, **kw)
        self.assertTrue(os.path.isdir(os.path.join(root, d)), "[signed] mkdir")
        shutil.copy(self.files["mib1.bin"][0], os.path.join(root, d, "a.bin"))
        entries = self.go("readdir", d, **kw)["entries"]
        self.assertEqual([(e["name"], e["size"]) for e in entries],
                         [("a.bin", FILES["mib1.bin"])], "[signed] readdir")
        self.go("rename", f"{d}/a.bin", f"{d}/b.bin", **kw)
        smbtest.assert_same_file(self.files["mib1.bin"][0], os.path.join(root, d, "b.bin"),
                                 "[signed] rename")
        self.assertEqual(self.go("stat", f"{d}/b.bin", **kw)["entries"][0]["size"],
                         FILES["mib1.bin"], "[signed] stat")
        self.go("remove", f"{d}/b.bin", **kw)
        self.go("rmdir", d, **kw)
        self.assertFalse(os.path.exists(os.path.join(root, d)), "[signed] rmdir")
        self.assertEqual(self.tap.dialects(), {0x311}, "[signed] dialect")
        later = self.tap.after_session_setup()
        unsigned = [f for f in later if not f.signed and f.status != smbtest.STATUS_PENDING]
        self.assertTrue(later, "[signed] no frames after session setup")
        self.assertEqual(len(unsigned), 0, f"[signed] {len(unsigned)} of {len(later)} frames "
                         "after session setup unsigned")


def _dialect_test(label, code):
    def test(self):
        self.file_ops(label, dialect=code, names=("empty.bin", "one.bin", "mib1.bin"))
    test.__doc__ = f"go-smb2 file operations over SMB {label.replace('_', '.')}"
    return test


for _label, _code in DIALECTS.items():
    setattr(Plain, f"test_dialect_{_label}", _dialect_test(_label, _code))


class EncryptedShare(GoSmb2):
    """A second share with smb encrypt = required: go-smb2 must encrypt to use it."""

    @classmethod
    def setUpClass(cls):
        cls.server_options = {"encrypt": None, "extra_shares": {"secret": [
            "path = %(base)s/share/secret-root", "read only = no", "smb encrypt = required"]}}
        super().setUpClass()
        cls.secret_root = os.path.join(cls.server.share_path, "secret-root")

    def test_encrypted_share_3_1_1(self):
        self.file_ops("enc311", dialect=0x311, share="secret", share_path=self.secret_root,
                      names=("one.bin", "mib1.bin"))
        tree_frames = self.tap.after_session_setup()
        self.assertTrue(any(f.encrypted for f in tree_frames),
                        "no encrypted frame seen on a share that requires encryption")


if __name__ == "__main__":
    smbtest.main()
