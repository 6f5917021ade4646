#!/usr/bin/python3
"""Large READ and WRITE on signed and encrypted sessions, and forged large WRITEs.

The server encrypts and decrypts large messages off its loop (on a pool thread,
smbd/worker/connection.cc), encrypts READ data where it lies, and signs on its loop.
These tests move data of that size and compare it byte for byte:

  - smbclient put/get of a file of several MiB with `client signing = required` (it
    checks the signature of every answer) and with `client smb encrypt = required`;
  - impacket (impacket_raw.Client) READ and WRITE of 1 MiB in single requests on a signed
    and on an encrypted SMB 3.0 session, compared with the file on disk;
  - an encrypted WRITE whose ciphertext has one byte flipped, small and large: the server
    drops that connection ([MS-SMB2] 3.3.5.2.1.1) and writes nothing, while another
    connection of the same client (same ClientGuid, so the same server process here)
    goes on reading and writing;
  - a signed WRITE whose data has one byte flipped after signing: ACCESS_DENIED
    ([MS-SMB2] 3.3.5.2.4), nothing written, and the same connection keeps working.

Run: SMBTEST_KIND=samba /usr/bin/python3 test_crypto_io.py
"""

import hashlib
import os
import random
import shutil
import tempfile
import unittest

from impacket import smb3
from impacket import smb3structs as s3

import impacket_raw as raw
import smbtest
from smbtest import Server

MIB = 1 << 20
SMB30 = 0x300


def connect(server, encrypt, guid_seed=None):
    """A logged-on impacket client; clients made with the same guid_seed share one
    ClientGuid (impacket draws it from the `random` module when it is made)."""
    saved = smb3.random
    if guid_seed is not None:
        smb3.random = random.Random(guid_seed)
    try:
        return raw.connect(server, SMB30, encrypt=encrypt)
    finally:
        smb3.random = saved


class Corrupt:
    """Flips one byte of the next message `client` sends that is at least `minimum`
    bytes long, at `offset` from its end (inside the data, after signing/encryption)."""

    def __init__(self, client, minimum, offset=100):
        self.session = client._NetBIOSSession
        self.original = self.session.send_packet
        self.minimum, self.offset = minimum, offset
        self.done = False

    def __enter__(self):
        def send(data):
            if not self.done and len(data) >= self.minimum:
                data = bytearray(data)
                data[len(data) - self.offset] ^= 0x5A
                data = bytes(data)
                self.done = True
            return self.original(data)
        self.session.send_packet = send
        return self

    def __exit__(self, *exc):
        self.session.send_packet = self.original
        return False


class CryptoIo(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        # One server requires signing (impacket then signs every request, and smbclient
        # is told to require it as well), the other encryption.
        cls.signed = Server(signing="mandatory", encrypt="off")
        cls.encrypted = Server(encrypt="required")
        cls.signed.start()
        try:
            cls.encrypted.start()
        except BaseException:
            cls.signed.stop()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.encrypted.stop()
        cls.signed.stop()

    def put_on_disk(self, server, name, data):
        with open(os.path.join(server.share_path, name), "wb") as f:
            f.write(data)
        os.chmod(os.path.join(server.share_path, name), 0o666)  # the server's user writes it

    def on_disk(self, server, name):
        with open(os.path.join(server.share_path, name), "rb") as f:
            return f.read()

    def smbclient_round_trip(self, server, label, options):
        data = os.urandom(6 * MIB + 12345)
        workdir = tempfile.mkdtemp(prefix=f"crypto-{label}-", dir=smbtest.scratch_root())
        self.addCleanup(shutil.rmtree, workdir, True)
        source = os.path.join(workdir, "source.bin")
        back = os.path.join(workdir, "back.bin")
        with open(source, "wb") as f:
            f.write(data)
        server.smbclient(f'put "{source}" {label}.bin; get {label}.bin "{back}"',
                              dialect="SMB3_11", options=options)
        self.assertEqual(hashlib.sha256(self.on_disk(server, f"{label}.bin")).hexdigest(),
                         hashlib.sha256(data).hexdigest(), f"{label}: the file as written")
        with open(back, "rb") as f:
            self.assertTrue(f.read() == data, f"{label}: the file read back differs")

    def test_smbclient_signed(self):
        self.smbclient_round_trip(self.signed, "signed", ["client signing=required", "client smb encrypt=off",
                                             "client smb3 signing algorithms=AES-128-GMAC"])

    def test_smbclient_encrypted(self):
        self.smbclient_round_trip(self.encrypted, "encrypted", ["client smb encrypt=required",
                                                "client smb3 encryption algorithms=AES-128-GCM"])

    def round_trip(self, server, client, label):
        tid = client.connectTree(server.share)
        name = f"impacket-{label}.bin"
        data = os.urandom(MIB)
        status, fid = client.open(tid, name, raw.GENERIC_READ | raw.GENERIC_WRITE,
                                  disposition=s3.FILE_OVERWRITE_IF)
        self.assertEqual(status, raw.STATUS_SUCCESS, f"{label}: create {name}")
        status, count = client.write_raw(tid, fid, 0, data)
        self.assertEqual((status, count), (raw.STATUS_SUCCESS, MIB), f"{label}: WRITE of 1 MiB")
        status, back = client.read_raw(tid, fid, 0, MIB)
        self.assertEqual(status, raw.STATUS_SUCCESS, f"{label}: READ of 1 MiB")
        self.assertTrue(back == data, f"{label}: READ gave other bytes than written")
        client.close_file(tid, fid)
        self.assertTrue(self.on_disk(server, name) == data, f"{label}: the file on disk differs")

    def test_impacket_signed_and_encrypted(self):
        for server, encrypt in ((self.signed, False), (self.encrypted, True)):
            client = connect(server, encrypt)
            try:
                self.assertEqual(client.encrypting, encrypt)
                self.round_trip(server, client, "encrypted" if encrypt else "signed")
            finally:
                client.disconnect()

    def test_corrupted_encrypted_write_drops_only_its_connection(self):
        for size in (4096, MIB):
            with self.subTest(size=size):
                seed = 7000 + size
                server = self.encrypted
                other = connect(server, True, guid_seed=seed)
                victim = connect(server, True, guid_seed=seed)
                try:
                    tid = victim.connectTree(server.share)
                    name = f"forged-{size}.bin"
                    original = os.urandom(size)
                    self.put_on_disk(server, name, original)
                    status, fid = victim.open(tid, name, raw.GENERIC_READ | raw.GENERIC_WRITE)
                    self.assertEqual(status, raw.STATUS_SUCCESS)
                    victim.ensure_credits(victim.charge_for(size))
                    with Corrupt(victim, size) as corrupt:
                        with self.assertRaises(Exception, msg="no answer after a forged "
                                                              "encrypted WRITE"):
                            victim.write_raw(tid, fid, 0, os.urandom(size))
                        self.assertTrue(corrupt.done, "the WRITE was not sent")
                    self.assertTrue(self.on_disk(server, name) == original,
                                    "a WRITE that failed to decrypt changed the file")
                    # The other connection of the same client is unharmed.
                    self.round_trip(server, other, f"after-forged-{size}")
                finally:
                    for c in (victim, other):
                        try:
                            c.disconnect()
                        except Exception:
                            pass

    def test_corrupted_signed_write_is_refused(self):
        server = self.signed
        client = connect(server, False)
        try:
            tid = client.connectTree(server.share)
            for size in (4096, MIB):
                name = f"forged-signed-{size}.bin"
                original = os.urandom(size)
                self.put_on_disk(server, name, original)
                status, fid = client.open(tid, name, raw.GENERIC_READ | raw.GENERIC_WRITE)
                self.assertEqual(status, raw.STATUS_SUCCESS)
                client.ensure_credits(client.charge_for(size))
                with Corrupt(client, size) as corrupt:
                    status, _ = client.write_raw(tid, fid, 0, os.urandom(size))
                    self.assertTrue(corrupt.done, "the WRITE was not sent")
                self.assertEqual(status, raw.STATUS_ACCESS_DENIED,
                                 f"forged signed WRITE of {size} B: {raw.status_name(status)}")
                self.assertTrue(self.on_disk(server, name) == original,
                                "a WRITE with a bad signature changed the file")
                # The connection and session go on.
                status, back = client.read_raw(tid, fid, 0, size)
                self.assertEqual(status, raw.STATUS_SUCCESS)
                self.assertTrue(back == original)
                client.close_file(tid, fid)
            self.round_trip(server, client, "signed-after-forged")
        finally:
            client.disconnect()


if __name__ == "__main__":
    smbtest.main()
