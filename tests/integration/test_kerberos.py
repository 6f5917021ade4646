#!/usr/bin/python3
"""Kerberos logons, against a real MIT KDC the test runs on loopback.

The test makes a realm of its own (kdb5_util, kadmin.local), starts krb5kdc on a free
port, gives the server a keytab for cifs/localhost (`kerberos method = dedicated keytab`)
and logs on with Samba's smbclient --use-kerberos=required, from a ticket obtained with
kinit: files go up and come back byte for byte, signed and encrypted, owned by the
principal's Unix account. impacket logs on with a short ticket, and when the ticket ends
the session answers NETWORK_SESSION_EXPIRED but still closes its opens. A keytab holding
an older key of the service, and a principal that has no Unix account, are refused with
LOGON_FAILURE, and the log says why.

Run: SMBD_BIN=... SMBD_PASSWD_BIN=... /usr/bin/python3 test_kerberos.py
"""

import os
import shutil
import tempfile
import unittest

import smbtest
import krb5realm
from krb5realm import HOST, REALM, SERVICE, Realm
from smbtest import Server

KIND = smbtest.default_kind()
OTHER_HOST = "otherserver.smbtest.test"  # a service of the realm this server has no key for


def _with_cache(ccache, action):
    saved = os.environ.get("KRB5CCNAME")
    os.environ["KRB5CCNAME"] = ccache
    try:
        return action()
    finally:
        if saved is None:
            os.environ.pop("KRB5CCNAME", None)
        else:
            os.environ["KRB5CCNAME"] = saved


def kerberos_session_setup_token(server, ccache):
    """Logs on with impacket from the cached service ticket and returns the security
    buffer of its SESSION_SETUP request, as sent."""
    from impacket import smb3
    from impacket.smbconnection import SMBConnection
    sent = []
    original = smb3.SMB3.sendSMB

    def record(self, packet):
        if packet["Command"] == smb3.SMB2_SESSION_SETUP:
            data = packet["Data"]
            if not isinstance(data, smb3.SMB2SessionSetup):
                data = smb3.SMB2SessionSetup(data)
            sent.append(bytes(data["Buffer"]))
        return original(self, packet)
    smb3.SMB3.sendSMB = record
    try:
        conn = SMBConnection(HOST, server.host, sess_port=server.port)
        _with_cache(ccache, lambda: conn.kerberosLogin(server.user, "", REALM, useCache=True))
        conn.logoff()
    finally:
        smb3.SMB3.sendSMB = original
    assert len(sent) == 1, f"expected one SESSION_SETUP, saw {len(sent)}"
    return sent[0]


def send_session_setup(server, token):
    """NEGOTIATEs a new connection and sends one SESSION_SETUP carrying `token`; returns
    the NT status name of the answer."""
    from impacket import nt_errors, smb3
    from impacket import smb3structs as s3
    conn = smb3.SMB3(HOST, server.host, sess_port=server.port)
    try:
        setup = s3.SMB2SessionSetup()
        setup["Flags"] = 0
        setup["SecurityMode"] = s3.SMB2_NEGOTIATE_SIGNING_ENABLED
        setup["SecurityBufferLength"] = len(token)
        setup["Buffer"] = token
        packet = conn.SMB_PACKET()
        packet["Command"] = s3.SMB2_SESSION_SETUP
        packet["Data"] = setup
        answer = conn.recvSMB(conn.sendSMB(packet))
        return nt_errors.ERROR_MESSAGES.get(answer["Status"], (hex(answer["Status"]),))[0]
    finally:
        conn.close_session()


@unittest.skipUnless(KIND == "self", "the reference run has no Kerberos set-up for Samba yet")
class Kerberos(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="smb-krb5-")
        os.chmod(cls.dir, 0o755)
        cls.realm = None
        missing = krb5realm.missing_tools() + ([] if shutil.which("faketime") else ["faketime"])
        cls.missing = missing
        if missing:
            return
        cls.realm = Realm(cls.dir)
        cls.realm.start()
        cls.realm.kadmin(f"addprinc -randkey {SERVICE}")
        cls.old_keytab = cls.realm.keytab(SERVICE, "old.keytab")
        cls.keytab = cls.realm.keytab(SERVICE, "smb.keytab")  # the key the KDC now uses
        cls.realm.kadmin(f"addprinc -randkey cifs/{OTHER_HOST}")

    @classmethod
    def tearDownClass(cls):
        if cls.realm:
            cls.realm.stop()
        shutil.rmtree(cls.dir, ignore_errors=True)

    def setUp(self):
        if self.missing:
            smbtest.unavailable(self, "MIT Kerberos tools missing: " + ", ".join(self.missing))

    def start_server(self, keytab, extra_global=()):
        saved = os.environ.get("KRB5_CONFIG")
        os.environ["KRB5_CONFIG"] = self.realm.conf
        os.environ["KRB5RCACHEDIR"] = self.dir
        try:
            server = Server(extra_global=[*krb5realm.server_options(keytab), *extra_global],
                            encrypt=None, log_level=3)
            server.start()
        finally:
            if saved is None:
                del os.environ["KRB5_CONFIG"]
            else:
                os.environ["KRB5_CONFIG"] = saved
            os.environ.pop("KRB5RCACHEDIR", None)
        self.addCleanup(server.stop)
        return server

    def smbclient(self, server, commands, *options, host=HOST, prefix=()):
        cmd = [*prefix, smbtest.SMBCLIENT, f"//{host}/{server.share}", "-I", server.host,
               "-p", str(server.port), "--use-kerberos=required", *options, "-c", commands]
        return smbtest.run(cmd, timeout=60, env=self.realm.env)

    def assert_refused(self, server, result, reason):
        self.assertNotEqual(result.returncode, 0, result.stdout)
        self.assertIn("NT_STATUS_LOGON_FAILURE", result.stdout + result.stderr)
        smbtest.wait_until(lambda: reason in server.log_text(),
                           f"the log says why ({reason!r})", timeout=10)

    def test_put_get_signed_and_encrypted(self):
        server = self.start_server(self.keytab)
        self.realm.kinit(server.user)
        src = os.path.join(self.dir, "upload.bin")
        smbtest.make_random_file(src, 1_000_003)
        for protection in ("sign", "encrypt"):
            with self.subTest(protection=protection):
                back = os.path.join(self.dir, f"back-{protection}.bin")
                r = self.smbclient(server, f"put {src} k-{protection}.bin; "
                                   f"get k-{protection}.bin {back}",
                                   f"--client-protection={protection}")
                self.assertEqual(r.returncode, 0, r.stdout + r.stderr + server.log_tail())
                smbtest.assert_same_file(src, back)
                owner = os.stat(os.path.join(server.share_path, f"k-{protection}.bin")).st_uid
                self.assertEqual(owner, smbtest.ensure_unix_user(server.user).pw_uid)

    def test_aes256_encryption_keys_from_the_whole_ticket_key(self):
        # An AES-256 ticket's key is 32 bytes: the 3.1.1 AES-256 cipher keys derive from all
        # of it, signing from its first 16 bytes (MS-SMB2 3.3.5.5.3).
        server = self.start_server(self.keytab, ["server smb3 encryption algorithms = AES-256-GCM",
                                                 "server max protocol = SMB3_11"])
        self.realm.kinit(server.user)
        src = os.path.join(self.dir, "upload256.bin")
        smbtest.make_random_file(src, 300_007)
        back = os.path.join(self.dir, "back256.bin")
        r = self.smbclient(server, f"put {src} k256.bin; get k256.bin {back}",
                           "--client-protection=encrypt")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr + server.log_tail())
        smbtest.assert_same_file(src, back)

    def test_ticket_end_expires_the_session(self):
        # impacket logs on with the service ticket kvno put in the cache; when the ticket
        # ends the session answers NETWORK_SESSION_EXPIRED, but still lets go of its opens
        # (CLOSE, LOGOFF), as MS-SMB2 3.3.5.2.9 says.
        from impacket.smbconnection import SMBConnection, SessionError
        from impacket.smb3structs import FILE_READ_DATA, FILE_WRITE_DATA
        server = self.start_server(self.keytab)
        self.realm.kinit(server.user, lifetime="12s")
        self.realm.run("kvno", SERVICE)
        conn = SMBConnection(HOST, server.host, sess_port=server.port)
        _with_cache(self.realm.env["KRB5CCNAME"],
                    lambda: conn.kerberosLogin(server.user, "", REALM, useCache=True))
        tid = conn.connectTree(server.share)
        fid = conn.createFile(tid, "expiring.txt", desiredAccess=FILE_READ_DATA | FILE_WRITE_DATA)
        conn.writeFile(tid, fid, b"before the ticket ends")

        def expired():
            try:
                conn.readFile(tid, fid, 0, 10)
                return None
            except SessionError as e:
                return e.getErrorString()[0]
        status = smbtest.wait_until(expired, "a request after the ticket's end is refused",
                                    timeout=60, interval=0.5)
        self.assertEqual(status, "STATUS_NETWORK_SESSION_EXPIRED")
        conn.closeFile(tid, fid)  # CLOSE still works on an expired session
        conn.logoff()
        with open(os.path.join(server.share_path, "expiring.txt"), "rb") as f:
            self.assertEqual(f.read(), b"before the ticket ends")

    def test_wrong_keytab_is_refused(self):
        server = self.start_server(self.old_keytab)
        self.realm.kinit(server.user)
        r = self.smbclient(server, "ls")
        self.assert_refused(server, r, "not found in keytab")

    def test_username_map_maps_the_principal(self):
        # krbalias@REALM has no Unix account of its own: the map makes it the user's.
        usermap = os.path.join(self.dir, "users.map")
        with open(usermap, "w") as f:
            f.write(f"{smbtest.DEFAULT_USER} = krbalias\n")
        server = self.start_server(self.keytab, [f"username map = {usermap}"])
        self.realm.kinit("krbalias")
        src = os.path.join(self.dir, "alias.bin")
        smbtest.make_random_file(src, 10_007)
        back = os.path.join(self.dir, "alias.back")
        r = self.smbclient(server, f"put {src} alias.bin; get alias.bin {back}")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr + server.log_tail())
        smbtest.assert_same_file(src, back)
        owner = os.stat(os.path.join(server.share_path, "alias.bin")).st_uid
        self.assertEqual(owner, smbtest.ensure_unix_user(server.user).pw_uid)

    def test_ticket_for_another_service_is_refused(self):
        server = self.start_server(self.keytab)
        self.realm.kinit(server.user)
        r = self.smbclient(server, "ls", host=OTHER_HOST)
        self.assert_refused(server, r, f"cifs/{OTHER_HOST}@{REALM}")

    def test_clock_skewed_past_the_limit_is_refused(self):
        # The service ticket is fetched first with the right time; the client then makes
        # its authenticator 15 minutes ahead, beyond the 5 minutes allowed.
        server = self.start_server(self.keytab)
        self.realm.kinit(server.user)
        self.realm.run("kvno", SERVICE)
        r = self.smbclient(server, "ls", prefix=("faketime", "-f", "+15m"))
        self.assert_refused(server, r, "Clock skew too great")

    def test_replayed_authenticator_is_refused(self):
        # The first SESSION_SETUP's token is sent again, on a new connection: the replay
        # cache of the acceptor refuses it.
        server = self.start_server(self.keytab)
        self.realm.kinit(server.user)
        self.realm.run("kvno", SERVICE)
        first = kerberos_session_setup_token(server, self.realm.env["KRB5CCNAME"])
        status = send_session_setup(server, first)
        self.assertEqual(status, "STATUS_LOGON_FAILURE")
        smbtest.wait_until(lambda: "Request is a replay" in server.log_text(),
                           "the log names the replay", timeout=10)

    def test_principal_without_unix_account_is_refused(self):
        server = self.start_server(self.keytab)
        stranger = "krbnobody"
        self.realm.kinit(stranger)
        r = self.smbclient(server, "ls")
        self.assert_refused(server, r, "no Unix account of that name")


if __name__ == "__main__":
    smbtest.main()
