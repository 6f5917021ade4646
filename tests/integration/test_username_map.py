#!/usr/bin/python3
"""`username map`: the names clients log on with, mapped to Unix accounts.

The map file makes "Alice Smith" (quoted, with a space) and "asmith" stand for the
server's user, and sends every other name to a guest account name with a `!` line that
comes after them, except names mapped earlier by a `!` line. A logon as "Alice Smith"
with the user's password works and its files belong to the user's Unix account; a name
the map sends elsewhere, or no map line at all, logs on as itself. The same script runs
against Samba's smbd, which applies the same file the same way.

Run: SMBTEST_KIND=samba /usr/bin/python3 test_username_map.py
"""

import os
import tempfile
import unittest

import smbtest
from smbtest import Server

KIND = smbtest.default_kind()


def nt_status(result):
    for word in (result.stdout + result.stderr).split():
        if word.startswith("NT_STATUS_"):
            return word.rstrip(":,.")
    return None


class UsernameMap(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="smb-usermap-")
        os.chmod(cls.dir, 0o755)
        cls.map = os.path.join(cls.dir, "users.map")
        user = smbtest.DEFAULT_USER
        with open(cls.map, "w") as f:
            f.write("# Windows names of the test's user\n"
                    f'{user} = "Alice Smith" asmith\n'
                    "; a line that maps to an account nobody has: its names cannot log on\n"
                    "nosuchaccount = mallory\n"
                    "!nosuchaccount = unlisted\n")
        cls.server = Server(extra_global=[f"username map = {cls.map}"])
        cls.server.start()

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()
        import shutil
        shutil.rmtree(cls.dir, ignore_errors=True)

    def put(self, user, name):
        src = os.path.join(self.server.client_dir, f"{name}.src")
        smbtest.make_random_file(src, 70_001)
        back = os.path.join(self.server.client_dir, f"{name}.back")
        r = self.server.smbclient(f"put {src} {name}; get {name} {back}", user=user,
                                  check=False)
        return r, src, back

    def test_quoted_windows_name_acts_as_the_mapped_account(self):
        r, src, back = self.put("Alice Smith", "alice.bin")
        self.assertIsNone(nt_status(r), r.stdout + r.stderr)
        smbtest.assert_same_file(src, back)
        owner = os.stat(os.path.join(self.server.share_path, "alice.bin")).st_uid
        self.assertEqual(owner, smbtest.ensure_unix_user(self.server.user).pw_uid)

    def test_names_compare_without_case(self):
        r, src, back = self.put("ASMITH", "asmith.bin")
        self.assertIsNone(nt_status(r), r.stdout + r.stderr)
        smbtest.assert_same_file(src, back)

    def test_name_mapped_to_an_account_without_a_password_entry_cannot_log_on(self):
        r = self.server.smbclient("ls", user="mallory", check=False)
        self.assertEqual(nt_status(r), "NT_STATUS_LOGON_FAILURE", r.stdout + r.stderr)

    def test_the_server_user_still_logs_on_as_itself(self):
        r, src, back = self.put(self.server.user, "self.bin")
        self.assertIsNone(nt_status(r), r.stdout + r.stderr)
        smbtest.assert_same_file(src, back)


if __name__ == "__main__":
    smbtest.main()
