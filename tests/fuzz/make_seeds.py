#!/usr/bin/python3
"""Writes the hand-made and derived seed inputs beneath tests/fuzz/corpus/ (the captured
SMB2 traffic comes from capture_corpus.py). Deterministic; run again after changing it:

  corpus/rpc/        the golden srvsvc PDUs of tests/unit/rpc/golden.hh, as rpc_fuzz
                     scripts (bind, then write/read/transceive of each request)
  corpus/crypto/     transform messages encrypted under crypto_fuzz's fixed key with each
                     cipher, and round-trip inputs
  corpus/fscc/       one well-formed buffer per SET_INFO class, a SET_INFO request and
                     directory-writer scripts
  corpus/smbdirect/  [MS-SMBD] negotiate request/response, data transfer, descriptors
  corpus/shmring/    a segment header and peer scripts
  corpus/locks/      byte-range lock tables (clean and damaged) and scripts over them
  corpus/config/     smb.conf files (the integration harness's, the demo's, Samba
                     syntax corners) and smbpasswd files
  corpus/control/    master/worker control frames (a NEGOTIATE passed on, a session's
                     facts, a durable fetch) and the payloads alone
  corpus/security/   security descriptors: what smbcacls sends and Samba's smbd and
                     NDR encoder produce, hand-laid corner cases, ACLs, SIDs and
                     descriptor-to-mode mapping inputs

With target names as arguments (e.g. `make_seeds.py security`) only those are written.

Needs python3-cryptography for the encrypted seeds.
"""

import os
import re
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
CORPUS = os.path.join(HERE, "corpus")

# crypto_fuzz.cc kKey.
KEY = bytes([0x4f, 0x8e, 0x1b, 0x02, 0x7d, 0xa3, 0x59, 0xc4, 0x10, 0xee, 0x36, 0x9b, 0x62,
             0xd7, 0x05, 0x81, 0xb9, 0x2a, 0x74, 0xf0, 0x13, 0xcc, 0x48, 0x6e, 0x95, 0x3d,
             0xa0, 0x57, 0xe2, 0x1f, 0x8b, 0x66])


def write(target, name, data):
    d = os.path.join(CORPUS, target)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def smb2_header(command, message_id=1, next_command=0, flags=0):
    return (b"\xfeSMB" + struct.pack("<HHIHHIIQIIQ16s", 64, 1, 0, command, 1, flags,
                                     next_command, message_id, 0xFEFF, 1, 0x11, b"\0" * 16))


# ---------------------------------------------------------------- rpc

def rpc_seeds():
    text = open(os.path.join(ROOT, "tests", "unit", "rpc", "golden.hh")).read()
    pdus = {}
    for name, body in re.findall(r"k_(\w+) =\s*((?:\s*\"[0-9a-f]*\")+);", text):
        pdus[name] = bytes.fromhex("".join(re.findall(r"\"([0-9a-f]*)\"", body)))
    assert "bind_srvsvc" in pdus, "golden.hh changed"

    def op(kind, payload=b"", length=None):
        n = len(payload) if length is None else length
        return bytes([kind]) + struct.pack("<H", n) + payload

    bind = pdus["bind_srvsvc"]
    for name, pdu in pdus.items():
        if name == "bind_srvsvc":
            write("rpc", "golden-bind", b"\x00" + op(0, bind) + op(1, length=4280))
            continue
        # Bind through the script, then write + read, then transceive.
        write("rpc", f"golden-{name}",
              b"\x00" + op(0, bind) + op(1, length=4280) + op(0, pdu) + op(1, length=4280))
        write("rpc", f"golden-{name}-transceive", b"\x01" + op(2, pdu, length=1024))
        # Small reads: the response comes back in pieces (BUFFER_OVERFLOW).
        write("rpc", f"golden-{name}-small-reads",
              b"\x03" + op(0, pdu) + op(1, length=16) * 3 + op(1, length=4280))


# ---------------------------------------------------------------- crypto

def crypto_seeds():
    try:
        from cryptography.hazmat.primitives.ciphers.aead import AESCCM, AESGCM
    except ImportError:
        print("python3-cryptography missing: no encrypted crypto seeds")
        return
    plain = smb2_header(0x0d, message_id=7) + struct.pack("<HH", 4, 0)  # ECHO request
    ciphers = [(0, AESCCM, 16, 11), (1, AESGCM, 16, 12), (2, AESCCM, 32, 11),
               (3, AESGCM, 32, 12)]
    for selector, algo, key_len, nonce_len in ciphers:
        nonce = bytes(range(1, nonce_len + 1)) + b"\0" * (16 - nonce_len)
        session = 0x0000100000000005
        aad = nonce + struct.pack("<IHHQ", len(plain), 0, 1, session)
        if algo is AESCCM:
            sealed = AESCCM(KEY[:key_len], tag_length=16).encrypt(nonce[:nonce_len], plain, aad)
        else:
            sealed = AESGCM(KEY[:key_len]).encrypt(nonce[:nonce_len], plain, aad)
        ciphertext, tag = sealed[:-16], sealed[-16:]
        message = b"\xfdSMB" + tag + aad + ciphertext
        write("crypto", f"valid-cipher{selector}", bytes([selector]) + message)
        # Round-trip mode: nonce, session id, split, flip, plaintext.
        write("crypto", f"roundtrip-cipher{selector}",
              bytes([selector | 4]) + nonce + struct.pack("<QHH", session, 30, 333) + plain)
    write("crypto", "short-header", b"\x01\xfdSMB" + b"\0" * 40)


# ---------------------------------------------------------------- fscc

def utf16(s):
    return s.encode("utf-16-le")


def fscc_seeds():
    basic = struct.pack("<QQQQII", 0x01D9000000000000, 0, 0x01D9000000000001, 0, 0x20, 0)
    name = utf16("dir\\new name.txt")
    rename = struct.pack("<B7xQI", 1, 0, len(name)) + name

    def ea(flags, ea_name, value, last):
        body = struct.pack("<BBH", flags, len(ea_name), len(value)) + ea_name + b"\0" + value
        pad = (-(4 + len(body))) % 4 if not last else 0
        entry_len = 4 + len(body) + pad
        return struct.pack("<I", 0 if last else entry_len) + body + b"\0" * pad

    eas = ea(0, b"user.one", b"value", False) + ea(0x80, b"USER.TWO", b"\x01\x02", True)
    seeds = {0: basic, 1: rename, 2: b"\x01", 3: struct.pack("<I", 0x13), 4: struct.pack("<Q", 4096),
             5: struct.pack("<Q", 1 << 20), 6: struct.pack("<Q", 123), 7: struct.pack("<I", 0x22),
             8: eas}
    for selector, buf in seeds.items():
        write("fscc", f"class-selector{selector}", bytes([selector]) + buf)
    # A SET_INFO request carrying FileRenameInformation ([MS-SMB2] 2.2.39).
    body = struct.pack("<HBBIHHI16s", 33, 1, 10, len(rename), 96, 0, 0, b"\x11" * 16) + rename
    write("fscc", "set-info-rename", b"\x09" + smb2_header(0x11) + body)
    # Directory writer: class, max_bytes, entries.
    for cls in range(7):
        entries = b""
        for n in (b".", b"..", "f\u00e9\u00efl\u00eb.txt".encode(), b"\xff\xfe bad utf8"):
            entries += bytes([len(n)]) + n + struct.pack("<III", 100, 0x20, 7)
        write("fscc", f"directory-class{cls}", bytes([10, cls]) + struct.pack("<H", 1024) + entries)


# ---------------------------------------------------------------- smbdirect

def smbdirect_seeds():
    write("smbdirect", "negotiate-request",
          b"\x00" + struct.pack("<HHHHIII", 0x100, 0x100, 0, 255, 1364, 8192, 1048576))
    write("smbdirect", "negotiate-response",
          b"\x01" + struct.pack("<HHHHHHIIIII", 0x100, 0x100, 0x100, 0, 255, 255, 0, 1048576,
                                1364, 8192, 1048576))
    payload = smb2_header(0x0d) + struct.pack("<HH", 4, 0)
    write("smbdirect", "data-transfer",
          b"\x02" + struct.pack("<HHHHIIII", 255, 1, 1, 0, 0, 24, len(payload), 0) + payload)
    write("smbdirect", "data-transfer-empty",
          b"\x02" + struct.pack("<HHHHIIII", 10, 1, 0, 0, 0, 0, 0, 0))
    write("smbdirect", "buffer-descriptors",
          b"\x03" + struct.pack("<QII", 0x7f0000001000, 0x1234, 65536)
          + struct.pack("<QII", 0x7f0000020000, 0x1235, 4096))


# ---------------------------------------------------------------- shmring

def shmring_seeds():
    # claimed size, then a script: peer publishes head 2, writes two descriptors, we drain,
    # we post, the peer moves the tail, flags flip, sleep/wait.
    desc = bytes(64)
    script = (bytes([0]) + struct.pack("<Q", 2) + bytes([2, 0]) + desc + bytes([2, 1]) + desc
              + bytes([3, 4]) + bytes([1]) + struct.pack("<Q", 3) + bytes([5, 3, 6, 4, 3]))
    write("shmring", "script", struct.pack("<Q", 1 << 16) + script)
    write("shmring", "corrupt-head", bytes([0]) + struct.pack("<Q", 1 << 40) + bytes([3]))


# ---------------------------------------------------------------- locks

def locks_seeds():
    # Lock slots (56 bytes: in_use, exclusive, owner, reserved, device, inode, open, offset,
    # length) and waiter slots (32 bytes: in_use, owner, device, inode, token).
    def lock_slot(in_use, exclusive, owner, offset, length, open_=1, device=1, inode=1):
        return struct.pack("<IIiIQQQQQ", in_use, exclusive, owner, 0, device, inode, open_,
                           offset, length)

    def waiter_slot(in_use, owner, token, device=1, inode=1):
        return struct.pack("<IiQQQ", in_use, owner, device, inode, token)

    empty_locks = bytes(56 * 16)
    empty_waiters = bytes(32 * 4)
    # A clean table, then: lock, a conflicting wait, unlock, I/O checks, close, gone.
    script = (bytes([0, 0, 1, 0, 10, 1]) + bytes([0, 1, 2, 5, 10, 3])
              + bytes([2, 1, 2, 5, 4, 1]) + bytes([1, 0, 1, 0, 10]) + bytes([0, 1, 2, 5, 10, 3])
              + bytes([3, 1, 2]) + bytes([4, 0xE7]) + bytes([5, 1, 5]))
    write("locks", "script", struct.pack("<II", 0, 0) + empty_locks + empty_waiters + script)
    # Damaged slots: a range past the 64-bit space, flags out of range, no owner, marks past
    # the arrays.
    damaged = (lock_slot(1, 1, 1000, 0xFFFFFFFFFFFFFFF0, 0x100) + lock_slot(1, 7, 1000, 0, 1)
               + lock_slot(1, 0, -3, 0, 1) + lock_slot(9, 0, 1000, 0, 1)
               + lock_slot(1, 0, 1000, 5, 5) + bytes(56 * 11))
    waiters = waiter_slot(1, -1, 3) + waiter_slot(5, 2000, 1) + waiter_slot(1, 2000, 5) + bytes(32)
    write("locks", "damaged",
          struct.pack("<II", 0xFFFFFFFF, 0x80000000) + damaged + waiters
          + bytes([0, 1, 1, 0, 10, 1, 2, 0, 1, 5, 1, 1, 4, 0xE7]))


# ---------------------------------------------------------------- config

CONFIGS = {
    "integration.conf": """[global]
smb ports = 44501
interfaces = 127.0.0.1
bind interfaces only = yes
smb passwd file = /tmp/smbtest/private/smbpasswd
log file = /tmp/smbtest/log/smbd.log
log level = 1
server signing = auto
lock directory = /tmp/smbtest/lock
map to guest = never
smb encrypt = off
server min protocol = SMB2_02
server max protocol = SMB3_11

[share]
path = /tmp/smbtest/share
read only = no
guest ok = no
browseable = yes
""",
    "everything.conf": """# every parameter the parser knows, Samba spellings
[global]
   workgroup = EXAMPLE
   netbios name = FILESRV
   server string = %h server (smb3d %v)
   smb ports = 445 8445
   interfaces = lo eth0 192.0.2.1/24
   bind interfaces only = Yes
   server min protocol = SMB3
   server max protocol = SMB3_11
   server signing = mandatory
   smb encrypt = desired
   smb3 encryption algorithms = AES-256-GCM, AES-128-GCM
   server smb3 signing algorithms = AES-128-GMAC AES-128-CMAC
   passdb backend = smbpasswd:/etc/smb3d/smbpasswd
   guest account = nobody
   map to guest = Bad User
   log level = 3
   log file = /var/log/smb3d.log
   max log size = 1000
   max connections = 100
   deadtime = 15
   smb2 max read = 1048576
   smb2 max write = 1048576
   smb2 max trans = 65536
   server multi channel support = yes
   rdma port = 5445
   ; share defaults
   create mask = 0644
   read only = no

[homes]
   comment = Home directories
   path = /home
   valid users = alice, "bob smith", @staff
   invalid users = root
   browseable = no

[pmem]
   path = /mnt/pmem0/share
   pmem = yes
   smb encrypt = required
   directory mask = 0775
   available = yes
   guest ok = yes
""",
    "continuation.conf": "[global]\n\tworkgroup = \\\n  LONG\\\nNAME\n[a b]\npath=/srv/a\\\n",
    "errors.conf": "[global]\nserver min protocol = SMB3_11\nserver max protocol = SMB2_02\n"
                   "smb ports = 0 70000 abc\nunknown thing = 1\n[]\n[noshare]\n= value\n"
                   "[x]\npath = /x\ncreate mask = 0999\nread only = maybe\n",
    "crlf.conf": "[global]\r\nworkgroup = CRLF\r\n[s]\r\npath = /s\r\n",
}

SMBPASSWD = {
    "smbpasswd": "alice:1000:XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX:8846F7EAEE8FB117AD06BDD830B7586C"
                 ":[U          ]:LCT-5F3A1B2C:\n"
                 "# a comment\n"
                 "bob:1001:NO PASSWORDXXXXXXXXXXXXXXXXXXXXX:NO PASSWORDXXXXXXXXXXXXXXXXXXXXX"
                 ":[NU         ]:LCT-00000000:\n"
                 "carol:1002:XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX:XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX"
                 ":[DU         ]:LCT-5F3A1B2C:extra:fields\n"
                 "MACHINE$:1003:XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX:8846F7EAEE8FB117AD06BDD830B7586C"
                 ":[W          ]:LCT-5F3A1B2C:\n",
    "smbpasswd-malformed": "alice:1000\nalice:1000:X:Y:[U]:\n:::::\nbob:-1:XX:XX:[U:\n"
                           "dup:1:XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX:8846F7EAEE8FB117AD06BDD830B7586C"
                           ":[U]:LCT-1:\nDUP:2:XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX"
                           ":8846F7EAEE8FB117AD06BDD830B7586C:[U]:LCT-1:",
}


def config_seeds():
    for name, text in CONFIGS.items():
        write("config", name, text)
    for name, text in SMBPASSWD.items():
        write("config", name, text)
    demo = os.path.join(ROOT, "scripts", "demo.sh")
    if os.path.exists(demo):
        # Any smb.conf the demo script writes inline.
        m = re.search(r"<<'?EOF'?\n(\[global\].*?)\nEOF", open(demo).read(), re.S)
        if m:
            write("config", "demo.conf", m.group(1) + "\n")


# ---------------------------------------------------------------- security

# Captured: the SET_INFO buffer of `smbcacls --numeric -S
# ACL:S-1-22-1-0:ALLOWED/0x0/FULL,ACL:S-1-1-0:ALLOWED/0x0/READ` (ACL revision 3, DACL only),
# and what Samba 4.17's smbd answers to QUERY_INFO OWNER|GROUP|DACL for a file (domain
# SIDs) and a directory (Unix SIDs).
SD_CAPTURED = {
    "smbcacls-set-dacl":
        "0100048000000000000000000000000014000000030034000200000000001400a900120001010000"
        "000000010000000000001800ff011f00010200000000001601000000000000000000",
    "samba-smbd-file":
        "0100049014000000300000000000000040000000010500000000000515000000c4875435bd0f6bc0"
        "8a0270d2e8030000010200000000001602000000e90300000200580003000000000024009f011200"
        "010500000000000515000000c4875435bd0f6bc08a0270d2e8030000000018008900120001020000"
        "0000001602000000e90300000000140000000000010100000000000100000000",
    "samba-smbd-dir":
        "0100049014000000240000000000000034000000010200000000001601000000000000000102000000"
        "000016020000000000000002004c000300000000001800ff011f00010200000000001601000000000000"
        "0000001800a90012000102000000000016020000000000000000001400a900120001010000000000"
        "0100000000",
    # Samba's NDR encoder (the one smbcacls uses) for SDDL strings: Unix owner and DACL;
    # inherited ACEs with CREATOR OWNER; a SACL audit ACE and a deny ACE; an object ACE.
    "samba-ndr-unix":
        "0100049014000000240000000000000034000000010200000000001601000000e803000001020000"
        "00000016020000006400000004004c000300000000001800ff010000010200000000001601000000"
        "e803000000001800a9001200010200000000001602000000640000000000140089001200010100"
        "000000000100000000",
    "samba-ndr-inherited":
        "010004841400000024000000000000004000000001020000000000052000000020020000010500"
        "000000000515000000dcf4dc3b833d2b46828ba6280102000004005c000400000000101400ff01"
        "0000010100000000000512000000001b14000000001001010000000000030000000000101400bf"
        "01130001010000000000050b00000000101800a900120001020000000000052000000021020000",
    "samba-ndr-sacl-deny":
        "0100148014000000300000004c00000068000000010500000000000515000000dcf4dc3b833d2b46"
        "828ba62800020000010500000000000515000000dcf4dc3b833d2b46828ba6280102000004001c00"
        "0100000002401400ff010000010100000000000100000000040040000200000000002400ff011f00"
        "010500000000000515000000dcf4dc3b833d2b46828ba628000200000100140002000000010100"
        "000000000507000000",
    "samba-ndr-object-ace":
        "01000480000000000000000000000000140000000400300001000000050028000001000001000000"
        "531a72ab2f1ed011981900aa0040529b010100000000000100000000",
}


def sid(authority, *subs):
    return bytes([1, len(subs)]) + authority.to_bytes(6, "big") + struct.pack(
        f"<{len(subs)}I", *subs)


def ace(ace_type, flags, mask, trustee):
    return struct.pack("<BBHI", ace_type, flags, 8 + len(trustee), mask) + trustee


def acl(*aces, revision=2):
    body = b"".join(aces)
    return struct.pack("<BBHHH", revision, 0, 8 + len(body), len(aces), 0) + body


def sd(owner=b"", group=b"", sacl=None, dacl=None, control=0x8000):
    """Canonical layout: header, SACL, DACL, owner, group."""
    parts, offsets = b"", [0, 0, 0, 0]
    for index, part, flag in ((2, sacl, 0x10), (3, dacl, 0x04), (0, owner, 0), (1, group, 0)):
        if part:
            offsets[index] = 20 + len(parts)
            parts += part
            control |= flag
    return struct.pack("<BBHIIII", 1, 0, control, *offsets) + parts


def security_seeds():
    everyone, anonymous = sid(1, 0), sid(5, 7)
    owner, group = sid(22, 1, 1000), sid(22, 2, 100)
    for name, text in SD_CAPTURED.items():
        write("security", name, b"\x00" + bytes.fromhex(text))
    posix = sd(owner, group, dacl=acl(ace(0, 0, 0x001F01FF, owner), ace(0, 0, 0x001200A9, group),
                                      ace(0, 0, 0x00120089, everyone)), control=0x9000)
    hand = {
        "posix-0754": posix,
        "header-only": sd(),
        "null-dacl": struct.pack("<BBHIIII", 1, 0, 0x8004, 0, 0, 0, 0),
        "empty-dacl": sd(dacl=acl()),
        "deny-anonymous": sd(sid(5, 32, 544), sid(5, 18),
                             dacl=acl(ace(0, 0, 0x001F01FF, everyone), ace(1, 0, 2, anonymous))),
        "label-sacl": sd(sacl=acl(ace(0x11, 0, 1, sid(16, 4096)))),
        "sid-15-subauthorities": sd(sid(5, *range(21, 36))),
        "shared-sid": struct.pack("<BBHIIII", 1, 0, 0x8000, 20, 20, 0, 0) + owner,
    }
    for name, data in hand.items():
        write("security", name, b"\x00" + data)
    write("security", "acl-revision-4", b"\x01" + acl(ace(0, 3, 0x10000000, everyone), revision=4))
    write("security", "sid-domain", b"\x02" + sid(5, 21, 1004336348, 1177238915, 682003330, 512))
    write("security", "sid-big-authority", b"\x02" + sid(0x123456789ABC, 1))
    # Mapping: AdditionalInformation, st_mode, descriptor.
    smbcacls = bytes.fromhex(SD_CAPTURED["smbcacls-set-dacl"])
    write("security", "map-smbcacls", b"\x03" + struct.pack("<II", 4, 0o100644) + smbcacls)
    write("security", "map-posix-dir", b"\x03" + struct.pack("<II", 7, 0o040755) + posix)
    write("security", "map-null-dacl",
          b"\x03" + struct.pack("<II", 4, 0o100600) + hand["null-dacl"])


def control_text(s):
    b = s.encode()
    return struct.pack("<H", len(b)) + b


def control_frame(kind, payload, guid=bytes(range(16)), count=0, flags=0):
    return struct.pack("<I", kind) + guid + struct.pack("<III", count, flags, len(payload)) + payload


def control_seeds():
    facts = struct.pack("<HHHB", 0x0311, 1, 1, 3)
    fetch = (struct.pack("<QQQQB", 7, 0x1234, 2, 9, 1) + bytes(range(16)) +
             control_text("S-1-22-1-1000") + control_text("share"))
    negotiate = smb2_header(0) + struct.pack("<HHHHI", 36, 1, 1, 0, 0x7F) + bytes(16) + \
        struct.pack("<IHH", 0, 0, 0) + struct.pack("<H", 0x0311) + bytes(2)
    handoff = struct.pack("<I", 4) + b"HELO" + negotiate
    result_failed = struct.pack("<QI", 7, 0xC0000034)
    for name, data in {"facts": facts, "fetch": fetch, "handoff": handoff,
                       "result-not-found": result_failed}.items():
        write("control", name, data)
    write("control", "frame-new-connection", control_frame(12, negotiate))
    write("control", "frame-session-facts", control_frame(15, struct.pack("<Q", 5) + facts))
    write("control", "frame-durable-fetch", control_frame(20, fetch, count=42))
    write("control", "frame-trailing-bytes", control_frame(21, b"", flags=2) +
          b"\xff" * 3)


if __name__ == "__main__":
    generators = {"rpc": rpc_seeds, "crypto": crypto_seeds, "fscc": fscc_seeds,
                  "smbdirect": smbdirect_seeds, "shmring": shmring_seeds,
                  "config": config_seeds, "security": security_seeds, "locks": locks_seeds,
                  "control": control_seeds}
    for name in sys.argv[1:] or generators:
        generators[name]()
    for d in sorted(os.listdir(CORPUS)):
        print(f"corpus/{d}: {len(os.listdir(os.path.join(CORPUS, d)))} files")
