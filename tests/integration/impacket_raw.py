"""impacket (Debian python3-impacket 0.10) as a client of single SMB2 requests of a chosen
shape: any READ or WRITE length and credit charge, SET_INFO of any class, any FSCTL. The
tests built on it compare the status of each answer, not just success or failure.

`Client` is impacket's SMB3 class with these changes:
  - SMB 3.1.1 sessions sign with the key the server derives. [MS-SMB2] 3.2.5.3.1 starts
    Session.PreauthIntegrityHashValue from Connection.PreauthIntegrityHashValue; impacket
    starts it from zeros, so its signing key is wrong and servers that require signing on
    3.1.1 (Samba refuses an unsigned tree connect there) answer ACCESS_DENIED.
  - The credits the server grants are counted, so that a request charging many credits
    (an 8 MiB READ charges 128) is sent only when the window holds them.
  - It encrypts only when asked to (encrypt=True). impacket on its own encrypts every
    3.0 and 3.0.2 session whose server offers encryption, and no 3.1.1 session. The keys
    are derived either way, so that an encrypted answer to a plain request is read.
  - Signing uses the C implementation of AES-CMAC: impacket's own runs in Python and
    takes about a minute for an 8 MiB WRITE.
impacket.smbconnection refuses dialect 3.0.2 by itself; this class does not.

Run the tests that use it with the system /usr/bin/python3.
"""

import struct

from Cryptodome.Cipher import AES
from Cryptodome.Hash import CMAC, SHA512
from impacket import nt_errors
from impacket import smb3
from impacket import smb3structs as s3

DIALECT_NAMES = {0x202: "2.0.2", 0x210: "2.1", 0x300: "3.0", 0x302: "3.0.2", 0x311: "3.1.1"}
LARGE_MTU_DIALECTS = (0x210, 0x300, 0x302, 0x311)

STATUS_SUCCESS = 0
STATUS_ACCESS_DENIED = nt_errors.STATUS_ACCESS_DENIED
STATUS_INVALID_PARAMETER = nt_errors.STATUS_INVALID_PARAMETER

# [MS-DTYP] 2.4.3 / [MS-SMB2] 2.2.13.1.1 access mask bits.
FILE_READ_DATA = 0x00000001
FILE_WRITE_DATA = 0x00000002
FILE_APPEND_DATA = 0x00000004
FILE_READ_EA = 0x00000008
FILE_WRITE_EA = 0x00000010
FILE_READ_ATTRIBUTES = 0x00000080
FILE_WRITE_ATTRIBUTES = 0x00000100
DELETE = 0x00010000
READ_CONTROL = 0x00020000
WRITE_DAC = 0x00040000
WRITE_OWNER = 0x00080000
SYNCHRONIZE = 0x00100000
MAXIMUM_ALLOWED = 0x02000000
GENERIC_ALL = 0x10000000
GENERIC_WRITE = 0x40000000
GENERIC_READ = 0x80000000
READ_ACCESS = FILE_READ_DATA | FILE_READ_ATTRIBUTES | READ_CONTROL | SYNCHRONIZE
SHARE_ALL = s3.FILE_SHARE_READ | s3.FILE_SHARE_WRITE | s3.FILE_SHARE_DELETE

# [MS-FSCC] 2.3 FSCTL codes.
FSCTL_SET_SPARSE = 0x000900C4
FSCTL_SET_ZERO_DATA = 0x000980C8
FSCTL_SRV_REQUEST_RESUME_KEY = 0x00140078
FSCTL_SRV_COPYCHUNK = 0x001440F2
FSCTL_SRV_COPYCHUNK_WRITE = 0x001480F2
SMB2_0_IOCTL_IS_FSCTL = 0x00000001

# [MS-FSCC] 2.4 information classes used with SET_INFO.
FILE_BASIC_INFORMATION = 4
FILE_RENAME_INFORMATION = 10
FILE_LINK_INFORMATION = 11
FILE_DISPOSITION_INFORMATION = 13
FILE_ALLOCATION_INFORMATION = 19
FILE_END_OF_FILE_INFORMATION = 20

SESSION_FLAG_ENCRYPT_DATA = 0x0004


def status_name(code):
    name = nt_errors.ERROR_MESSAGES.get(code, (None,))[0]
    return f"{name} ({code:#010x})" if name else f"{code:#010x}"


class Client(smb3.SMB3):
    """One connection and session; see the module documentation."""

    def __init__(self, host, port, dialect, timeout=60, encrypt=False):
        self._granted = 0
        self._counted = set()
        self.negotiate_response = None
        self.tree_connect_response = None
        super().__init__(host, host, sess_port=port, preferredDialect=dialect, timeout=timeout)
        # Read by login() (keys, the session's encryption) and connectTree() (a share's).
        # On 3.1.1 the capability bit is not used; AES-128-CCM, the only cipher impacket
        # offers, is taken to be chosen, and a server that did not would answer nothing
        # it could decrypt.
        self._encrypt = bool(encrypt)
        self._Connection["SupportsEncryption"] = \
            bool(self._Connection["SupportsEncryption"]) or dialect == 0x311

    # impacket calls this (name-mangled) for every message of SESSION_SETUP on 3.1.1.
    def _SMB3__UpdatePreAuthHash(self, data):
        if not self._Session.get("PreauthSeeded"):
            self._Session["PreauthIntegrityHashValue"] = \
                self._Connection["PreauthIntegrityHashValue"]
            self._Session["PreauthSeeded"] = True
        digest = SHA512.new()
        digest.update(self._Session["PreauthIntegrityHashValue"])
        digest.update(data)
        self._Session["PreauthIntegrityHashValue"] = digest.digest()

    def signSMB(self, packet):
        # [MS-SMB2] 3.1.4.1 AES-128-CMAC for 3.x, as impacket does.
        if self._Connection["Dialect"] in (0x202, 0x210) or not self._Session["SessionKey"]:
            return super().signSMB(packet)
        packet["Signature"] = b"\0" * 16
        mac = CMAC.new(self._Session["SigningKey"], ciphermod=AES)
        mac.update(packet.getData())
        packet["Signature"] = mac.digest()

    def login(self, user, password, *args, **kwargs):
        self._Session["PreauthSeeded"] = False
        result = super().login(user, password, *args, **kwargs)
        if not self._encrypt:
            self._Session["SessionFlags"] &= ~SESSION_FLAG_ENCRYPT_DATA
        return result

    def connectTree(self, share):
        tid = super().connectTree(share)
        if not self._encrypt:
            self._Session["TreeConnectTable"][tid]["EncryptData"] = False
        return tid

    def recvSMB(self, packetID=None):
        packet = super().recvSMB(packetID)
        # impacket hands a stored out-of-order answer back through a nested call: count
        # each answer once.
        if packet["MessageID"] not in self._counted:
            self._counted.add(packet["MessageID"])
            self._granted += packet["CreditRequestResponse"]
            if packet["Command"] == s3.SMB2_NEGOTIATE and packet["Status"] == STATUS_SUCCESS:
                # impacket keeps the sizes capped at 1 MiB; the tests want the server's.
                self.negotiate_response = s3.SMB2Negotiate_Response(packet["Data"])
            if packet["Command"] == s3.SMB2_TREE_CONNECT and packet["Status"] == STATUS_SUCCESS:
                # impacket does not keep ShareFlags.
                self.tree_connect_response = s3.SMB2TreeConnect_Response(packet["Data"])
        return packet

    def disconnect(self):
        """Close the connection without LOGOFF (the server cleans up)."""
        self.close_session()

    @property
    def dialect(self):
        return self._Connection["Dialect"]

    def credits(self):
        """Credits the client still holds: one at the start, plus every grant, minus the
        message ids used (impacket's SequenceWindow is the next message id)."""
        return 1 + self._granted - self._Connection["SequenceWindow"]

    def ensure_credits(self, needed, limit=200):
        """ECHO (asking 127 credits each) until `needed` credits are held."""
        for _ in range(limit):
            if self.credits() >= needed:
                return
            status, _ = self.request(s3.SMB2_ECHO, s3.SMB2Echo())
            if status != STATUS_SUCCESS:
                raise AssertionError(f"ECHO answered {status_name(status)}")
        raise AssertionError(f"the server granted only {self.credits()} credits, "
                             f"{needed} needed")

    def request(self, command, body, tree_id=0, credit_charge=1):
        """Send one request and wait for its answer: (status, SMB2 packet)."""
        packet = self.SMB_PACKET()
        packet["Command"] = command
        packet["TreeID"] = tree_id
        packet["CreditCharge"] = credit_charge
        packet["Data"] = body
        answer = self.recvSMB(self.sendSMB(packet))
        return answer["Status"], answer

    @property
    def encrypting(self):
        return bool(self._Session["SessionFlags"] & SESSION_FLAG_ENCRYPT_DATA)

    # -- requests by command
    def open(self, tree_id, name, access, disposition=s3.FILE_OPEN,
             options=s3.FILE_NON_DIRECTORY_FILE, share=SHARE_ALL, attributes=0):
        """CREATE: (status, file id or None)."""
        create = s3.SMB2Create()
        create["SecurityFlags"] = 0
        create["RequestedOplockLevel"] = s3.SMB2_OPLOCK_LEVEL_NONE
        create["ImpersonationLevel"] = s3.SMB2_IL_IMPERSONATION
        create["DesiredAccess"] = access
        create["FileAttributes"] = attributes
        create["ShareAccess"] = share
        create["CreateDisposition"] = disposition
        create["CreateOptions"] = options
        create["NameLength"] = len(name) * 2
        create["Buffer"] = name.encode("utf-16le") if name else b"\x00"
        create["CreateContextsOffset"] = 0
        create["CreateContextsLength"] = 0
        status, answer = self.request(s3.SMB2_CREATE, create, tree_id)
        if status != STATUS_SUCCESS:
            return status, None
        return status, s3.SMB2Create_Response(answer["Data"])["FileID"].getData()

    def close_file(self, tree_id, file_id):
        close = s3.SMB2Close()
        close["Flags"] = 0
        close["FileID"] = file_id
        status, _ = self.request(s3.SMB2_CLOSE, close, tree_id)
        return status

    def read_raw(self, tree_id, file_id, offset, length, credit_charge=None):
        """READ of exactly `length` bytes: (status, data)."""
        read = s3.SMB2Read()
        read["Padding"] = 0x50
        read["FileID"] = file_id
        read["Length"] = length
        read["Offset"] = offset
        read["MinimumCount"] = 0
        charge = credit_charge if credit_charge is not None else self.charge_for(length)
        self.ensure_credits(charge)
        status, answer = self.request(s3.SMB2_READ, read, tree_id, charge)
        if status != STATUS_SUCCESS:
            return status, b""
        response = s3.SMB2Read_Response(answer["Data"])
        return status, bytes(response["Buffer"])[:response["DataLength"]]

    def write_raw(self, tree_id, file_id, offset, data, credit_charge=None):
        """WRITE of all of `data` in one request: (status, count written)."""
        write = s3.SMB2Write()
        write["FileID"] = file_id
        write["Length"] = len(data)
        write["Offset"] = offset
        write["WriteChannelInfoOffset"] = 0
        write["Buffer"] = data
        charge = credit_charge if credit_charge is not None else self.charge_for(len(data))
        self.ensure_credits(charge)
        status, answer = self.request(s3.SMB2_WRITE, write, tree_id, charge)
        if status != STATUS_SUCCESS:
            return status, 0
        return status, s3.SMB2Write_Response(answer["Data"])["Count"]

    def charge_for(self, length):
        """[MS-SMB2] 3.1.5.2: one credit per 64 KiB with large MTU (2.1 and later)."""
        if self.dialect == 0x202:
            return 0
        return max(1, 1 + (length - 1) // 65536)

    def set_info(self, tree_id, file_id, info_type, info_class, buffer, additional=0):
        set_info = s3.SMB2SetInfo()
        set_info["InfoType"] = info_type
        set_info["FileInfoClass"] = info_class
        set_info["BufferLength"] = len(buffer)
        set_info["AdditionalInformation"] = additional
        set_info["FileID"] = file_id
        set_info["Buffer"] = buffer
        status, _ = self.request(s3.SMB2_SET_INFO, set_info, tree_id)
        return status

    def query_info(self, tree_id, file_id, info_type, info_class, length=4096, additional=0):
        """(status, output bytes)."""
        query = s3.SMB2QueryInfo()
        query["InfoType"] = info_type
        query["FileInfoClass"] = info_class
        query["OutputBufferLength"] = length
        query["AdditionalInformation"] = additional
        query["InputBufferOffset"] = 0
        query["FileID"] = file_id
        query["Buffer"] = b"\x00"
        status, answer = self.request(s3.SMB2_QUERY_INFO, query, tree_id)
        if status != STATUS_SUCCESS:
            return status, b""
        return status, bytes(s3.SMB2QueryInfo_Response(answer["Data"])["Buffer"])

    def fsctl(self, tree_id, file_id, ctl_code, data=b"", max_output=0):
        """IOCTL with SMB2_0_IOCTL_IS_FSCTL: (status, output bytes)."""
        ioctl = s3.SMB2Ioctl()
        ioctl["FileID"] = file_id
        ioctl["CtlCode"] = ctl_code
        ioctl["MaxInputResponse"] = 0
        ioctl["MaxOutputResponse"] = max_output
        ioctl["InputCount"] = len(data)
        if data:
            ioctl["Buffer"] = data
        else:
            ioctl["InputOffset"] = 0
            ioctl["Buffer"] = b"\x00"
        ioctl["OutputOffset"] = 0
        ioctl["Flags"] = SMB2_0_IOCTL_IS_FSCTL
        status, answer = self.request(s3.SMB2_IOCTL, ioctl, tree_id)
        if status != STATUS_SUCCESS:
            return status, b""
        return status, bytes(s3.SMB2Ioctl_Response(answer["Data"])["Buffer"])


def connect(server, dialect, *, user=None, password=None, host=None, port=None,
            timeout=60, encrypt=False):
    """A logged-on Client for `server` (a smbtest.Server)."""
    client = Client(host or server.host, port or server.port, dialect, timeout=timeout,
                    encrypt=encrypt)
    try:
        client.login(server.user if user is None else user,
                     server.password if password is None else password)
    except BaseException:
        # A refused logon leaves no connection open behind the exception.
        client.disconnect()
        raise
    return client


# -- [MS-FSCC] 2.4 information structures, encoded from the spec

def basic_information(creation=0, access=0, write=0, change=0, attributes=0):
    """FileBasicInformation: times in FILETIME (0: leave unchanged)."""
    return struct.pack("<QQQQII", creation, access, write, change, attributes, 0)


def rename_information(new_name, replace=False):
    """FileRenameInformation for SMB2 ([MS-FSCC] 2.4.37.2); also FileLinkInformation."""
    name = new_name.encode("utf-16le")
    return struct.pack("<B7xQI", 1 if replace else 0, 0, len(name)) + name


def disposition_information(delete=True):
    return struct.pack("<B", 1 if delete else 0)


def u64(value):
    return struct.pack("<Q", value)
