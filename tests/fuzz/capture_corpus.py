#!/usr/bin/python3
"""Captures seed inputs for the fuzz targets from real smbclient traffic.

Starts a private Samba (tests/integration/smbtest.py, Server("samba")), puts a TCP relay
in front of it that splits both directions into Direct-TCP messages ([MS-SMB2] 2.1), and
drives smbclient through every dialect, signing and encryption, directory and file
operations, rename, delete and a share listing (srvsvc over IPC$). Then writes:

  corpus/proto/   SMB2 messages (requests, a few responses), one per file, 4-byte framing
                  removed, de-duplicated by command/flags/size, each < 64 KiB
  corpus/crypto/  transform messages (SMB 3.x encryption) as the client sent them
  corpus/fscc/    SET_INFO input buffers, prefixed with the fscc_fuzz selector byte

Run by hand when the seeds should be refreshed: /usr/bin/python3 capture_corpus.py
(needs Samba's smbd and smbclient; writes only beneath tests/fuzz/corpus).
"""

import contextlib
import hashlib
import os
import socket
import sys
import threading

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
import smbtest  # noqa: E402

CORPUS = os.path.join(HERE, "corpus")
MAX_MESSAGE = 64 * 1024 - 1
MAX_PROTO_REQUESTS = 60
MAX_PROTO_RESPONSES = 16
MAX_CRYPTO = 12

COMMANDS = ["negotiate", "session_setup", "logoff", "tree_connect", "tree_disconnect",
            "create", "close", "flush", "read", "write", "lock", "ioctl", "cancel", "echo",
            "query_directory", "change_notify", "query_info", "set_info", "oplock_break"]
# fscc_fuzz selector bytes, by FileInformationClass of a SET_INFO buffer.
FSCC_SELECTOR = {4: 0, 10: 1, 13: 2, 64: 3, 20: 4, 19: 5, 14: 6, 16: 7, 15: 8, 65: 1}


class Relay:
    """127.0.0.1:port -> the server; records every message in both directions."""

    def __init__(self, target_port):
        self.target = ("127.0.0.1", target_port)
        self.messages = []  # (to_server, bytes)
        self.lock = threading.Lock()
        self.listener = socket.socket()
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(16)
        self.listener.settimeout(0.2)
        self.port = self.listener.getsockname()[1]
        self.stop = False
        self.thread = threading.Thread(target=self.accept_loop, daemon=True)
        self.thread.start()

    def close(self):
        self.stop = True
        self.thread.join(timeout=5)
        self.listener.close()

    def accept_loop(self):
        while not self.stop:
            try:
                client, _ = self.listener.accept()
            except socket.timeout:
                continue
            upstream = socket.create_connection(self.target, timeout=10)
            client.settimeout(None)
            upstream.settimeout(None)
            for src, dst, to_server in ((client, upstream, True), (upstream, client, False)):
                threading.Thread(target=self.pump, args=(src, dst, to_server),
                                 daemon=True).start()

    @staticmethod
    def read_exact(sock, n):
        buf = b""
        while len(buf) < n:
            k = sock.recv(n - len(buf))
            if not k:
                return None
            buf += k
        return buf

    def pump(self, src, dst, to_server):
        try:
            while True:
                head = self.read_exact(src, 4)
                if head is None:
                    break
                length = int.from_bytes(head[1:4], "big")
                body = self.read_exact(src, length) if length else b""
                if body is None:
                    break
                with self.lock:
                    self.messages.append((to_server, body))
                dst.sendall(head + body)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)


def drive(server, relay, local):
    """Everything smbclient does in the integration tests, on small files."""
    small = os.path.join(local, "small.bin")
    with open(small, "wb") as f:
        f.write(os.urandom(3000))
    medium = os.path.join(local, "medium.bin")
    with open(medium, "wb") as f:
        f.write(os.urandom(40000))

    def sc(commands, dialect=None, options=()):
        server.smbclient(commands, dialect=dialect, options=options, port=relay.port,
                         timeout=60)

    script = (f'mkdir d; put "{small}" "d\\a.bin"; ls d\\*; allinfo d\\a.bin; '
              f'get "d\\a.bin" "{local}/back.bin"; rename "d\\a.bin" "d\\b.bin"; '
              'scopy d\\b.bin d\\c.bin; setmode d\\b.bin +r; setmode d\\b.bin -r; volume; du; '
              'echo 2 ping; stat d\\c.bin; '
              f'put "{medium}" d\\m.bin; get d\\m.bin "{local}/m.back"; deltree d; logoff')
    for dialect in smbtest.DIALECTS:
        sc(script, dialect)
    for dialect in ("SMB2_10", "SMB3_11"):
        sc(script, dialect, ("client signing=required",))
    for cipher in ("AES-128-CCM", "AES-128-GCM", "AES-256-GCM"):
        sc(f'put "{small}" e.bin; ls; del e.bin', "SMB3_11",
           ("client smb encrypt=required", f"client smb3 encryption algorithms={cipher}"))
    sc("ls", "SMB3_00", ("client smb encrypt=required",))
    # srvsvc NetShareEnumAll over \PIPE\srvsvc.
    smbtest.run([smbtest.SMBCLIENT, "-L", "//127.0.0.1", "-p", str(relay.port), "-U",
                 f"{server.user}%{server.password}", "--configfile", server.client_conf, "-g"],
                timeout=60)


def classify(msg):
    """A key that tells messages of one kind apart: command, direction bits, whether
    signed or compounded, and the size in 16-byte steps."""
    if msg[:4] == b"\xfeSMB" and len(msg) >= 64:
        command = int.from_bytes(msg[12:14], "little")
        flags = int.from_bytes(msg[16:20], "little")
        next_command = int.from_bytes(msg[20:24], "little")
        return ("smb2", command, flags & 0x0f, next_command != 0, len(msg) // 16)
    if msg[:4] == b"\xfdSMB":
        return ("transform", len(msg) // 64)
    if msg[:4] == b"\xffSMB":
        return ("smb1",)
    return ("other",)


def write(dirname, name, data):
    os.makedirs(dirname, exist_ok=True)
    with open(os.path.join(dirname, name), "wb") as f:
        f.write(data)


def main():
    with smbtest.Server("samba", encrypt=None) as server:
        relay = Relay(server.port)
        local = os.path.join(server.base, "client")
        try:
            drive(server, relay, local)
        finally:
            relay.close()
        messages = list(relay.messages)

    seen = set()
    per_command = {}
    counts = {"req": 0, "resp": 0, "crypto": 0, "fscc": 0}
    for to_server, msg in messages:
        if len(msg) > MAX_MESSAGE:
            continue
        key = (to_server,) + classify(msg)
        digest = hashlib.sha1(msg).hexdigest()[:12]
        if key[1] == "transform":
            if to_server and key not in seen and counts["crypto"] < MAX_CRYPTO:
                seen.add(key)
                counts["crypto"] += 1
                write(os.path.join(CORPUS, "crypto"), f"smbclient-{digest}", b"\x00" + msg)
            continue
        if key[1] not in ("smb2", "smb1"):
            continue
        command = key[2] if key[1] == "smb2" else None
        # SET_INFO request buffers also seed fscc_fuzz.
        if to_server and command == 0x11 and len(msg) >= 96:
            info_type, cls = msg[66], msg[67]
            length = int.from_bytes(msg[68:72], "little")
            offset = int.from_bytes(msg[72:74], "little")
            if info_type == 1 and cls in FSCC_SELECTOR and offset + length <= len(msg):
                buf = bytes([FSCC_SELECTOR[cls]]) + msg[offset:offset + length]
                name = f"smbclient-class{cls}-{hashlib.sha1(buf).hexdigest()[:12]}"
                if not os.path.exists(os.path.join(CORPUS, "fscc", name)):
                    counts["fscc"] += 1
                write(os.path.join(CORPUS, "fscc"), name, buf)
        if key in seen:
            continue
        kind = "req" if to_server else "resp"
        limit = MAX_PROTO_REQUESTS if to_server else MAX_PROTO_RESPONSES
        # At most a few of each command and direction, so every command is represented.
        slot = (kind, command)
        if counts[kind] >= limit or per_command.get(slot, 0) >= (6 if to_server else 1):
            continue
        seen.add(key)
        per_command[slot] = per_command.get(slot, 0) + 1
        counts[kind] += 1
        name = COMMANDS[command] if command is not None and command < len(COMMANDS) else "smb1"
        write(os.path.join(CORPUS, "proto"), f"smbclient-{kind}-{name}-{digest}", msg)
    print(f"{len(messages)} messages seen; written: {counts}")


if __name__ == "__main__":
    main()
