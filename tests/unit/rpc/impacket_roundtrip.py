#!/usr/bin/python3
"""Round trip of the srvsvc pipe against impacket's DCE/RPC client.

impacket builds every request (bind, NetrShareEnum, NetrShareGetInfo, NetrServerGetInfo,
fragmented requests) and decodes every answer with its own NDR decoders; the server side
is rpc_pipe_tool, which drives smb::rpc::PipeEndpoint over a line protocol.

  impacket_roundtrip.py TOOL            run the checks (exit 0 when all pass)
  impacket_roundtrip.py --golden        print impacket's request PDUs as hex
"""
import struct
import subprocess
import sys
import traceback

try:
    from impacket.dcerpc.v5 import rpcrt, srvs
    from impacket.dcerpc.v5.ndr import NULL
    from impacket.dcerpc.v5.rpcrt import DCERPCException
    from impacket.uuid import uuidtup_to_bin
except ImportError:
    # Skipped (CTest SKIP_RETURN_CODE 77), or failed when SMB_TEST_REQUIRE_ALL=1 says that
    # every prerequisite is installed.
    import os
    REQUIRED = os.environ.get("SMB_TEST_REQUIRE_ALL", "0") not in ("", "0")
    print("impacket is not installed (python3-impacket)"
          + (": SMB_TEST_REQUIRE_ALL=1 makes this a failure" if REQUIRED else ""),
          file=sys.stderr)
    sys.exit(1 if REQUIRED else 77)

STATUS_SUCCESS = 0
STATUS_BUFFER_OVERFLOW = 0x80000005
STATUS_PIPE_EMPTY = 0xC00000D9
STATUS_PIPE_BUSY = 0xC00000AE
STATUS_PIPE_BROKEN = 0xC000014B

NDR20 = ('8a885d04-1ceb-11c9-9fe8-08002b104860', '2.0')
NDR64 = ('71710533-beba-4937-8319-b5dbef9ccc36', '1.0')
FEATURES = ('6cb71c2c-9812-4540-0300-000000000000', '1.0')  # both feature bits asked
SAMR = ('12345778-1234-abcd-ef00-0123456789ac', '1.0')

EXPECTED_SHARES = [
    ('IPC$', srvs.STYPE_IPC | 0x80000000, 'IPC Service', ''),
    ('public', srvs.STYPE_DISKTREE, 'Public files', 'C:\\srv\\public'),
    ('donn\u00e9es', srvs.STYPE_DISKTREE, '\u00c9t\u00e9 \u2600', 'C:\\srv\\data'),
    ('backup$', srvs.STYPE_DISKTREE, '', 'C:\\srv\\backup'),
]


class Tool:
    """One rpc_pipe_tool process: one pipe."""

    def __init__(self, path, extra_shares=0):
        self.proc = subprocess.Popen([path, '--extra-shares', str(extra_shares)],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     text=True)

    def _ask(self, line):
        self.proc.stdin.write(line + '\n')
        self.proc.stdin.flush()
        answer = self.proc.stdout.readline()
        if not answer:
            raise RuntimeError('rpc_pipe_tool exited')
        parts = answer.split()
        status = int(parts[0], 16)
        data = bytes.fromhex(parts[1]) if len(parts) > 1 else b''
        return status, data

    def write(self, data):
        return self._ask('W ' + data.hex())[0]

    def read(self, max_len):
        return self._ask('R %d' % max_len)

    def transceive(self, data, max_len):
        return self._ask('T %d %s' % (max_len, data.hex()))

    def close(self):
        self.proc.stdin.close()
        rc = self.proc.wait()
        if rc != 0:
            raise RuntimeError('rpc_pipe_tool exit code %d' % rc)


class ToolTransport:
    """The two transport methods DCERPC_v5 calls: send and recv.

    Like impacket's SMB transport, each recv is one pipe read of read_size bytes; with
    transceive=True the last fragment of each PDU goes through FSCTL_PIPE_TRANSCEIVE.
    """

    def __init__(self, tool, read_size=4280, transceive=False):
        self.tool = tool
        self.read_size = read_size
        self.transceive = transceive
        self.pending = b''
        self.sent = []

    def send(self, data, forceWriteAndx=0, forceRecv=0):
        self.sent.append(bytes(data))
        if self.transceive and data[3] & rpcrt.PFC_LAST_FRAG:
            status, out = self.tool.transceive(data, self.read_size)
            if status not in (STATUS_SUCCESS, STATUS_BUFFER_OVERFLOW):
                raise RuntimeError('transceive status %08x' % status)
            self.pending += out
            return
        status = self.tool.write(data)
        if status != STATUS_SUCCESS:
            raise RuntimeError('write status %08x' % status)

    def recv(self, forceRecv=0, count=0):
        if self.pending:
            out, self.pending = self.pending, b''
            return out
        status, out = self.tool.read(self.read_size)
        if status not in (STATUS_SUCCESS, STATUS_BUFFER_OVERFLOW):
            raise RuntimeError('read status %08x' % status)
        return out


def connect(tool_path, extra_shares=0, read_size=4280, **kwargs):
    tool = Tool(tool_path, extra_shares)
    transport = ToolTransport(tool, **kwargs)
    dce = rpcrt.DCERPC_v5(transport)
    # DCERPC_v5.bind takes the bind_ack from a single recv, as from an SMB read of
    # max_recv_frag octets; smaller reads apply from the first call on.
    dce.bind(srvs.MSRPC_UUID_SRVS)
    transport.read_size = read_size
    return tool, dce


def bind_pdu(contexts, call_id=1, ptype=rpcrt.MSRPC_BIND):
    """A bind offering (abstract, [transfer, ...]) per context, ids 0, 1, ..."""
    bind = rpcrt.MSRPCBind()
    for ctx_id, (abstract, transfers) in enumerate(contexts):
        item = rpcrt.CtxItem()
        item['ContextID'] = ctx_id
        item['TransItems'] = len(transfers)
        item['AbstractSyntax'] = uuidtup_to_bin(abstract)
        item['TransferSyntax'] = b''.join(uuidtup_to_bin(t) for t in transfers)
        bind.addCtxItem(item)
    packet = rpcrt.MSRPCHeader()
    packet['type'] = ptype
    packet['pduData'] = bind.getData()
    packet['call_id'] = call_id
    return packet.get_packet()


def srvs_tuple():
    return ('4b324fc8-1670-01d3-1278-5a47bf6ee188', '3.0')


def check(cond, what):
    if not cond:
        raise AssertionError(what)


# ---------------------------------------------------------------------------- checks


def test_bind_ack(tool_path):
    tool = Tool(tool_path)
    status, out = tool.transceive(bind_pdu([(srvs_tuple(), [NDR20])]), 4280)
    check(status == STATUS_SUCCESS, 'bind status')
    header = rpcrt.MSRPCHeader(out)
    check(header['type'] == rpcrt.MSRPC_BINDACK, 'bind_ack type')
    check(header['frag_len'] == len(out), 'frag_len')
    ack = rpcrt.MSRPCBindAck(out)
    check(ack['SecondaryAddrLen'] == 13 and out[26:39] == b'\\PIPE\\srvsvc\x00', 'secondary address')
    check(ack['max_tfrag'] == 4280 and ack['max_rfrag'] == 4280, 'frag sizes')
    check(ack['assoc_group'] != 0, 'assoc group')
    check(ack['ctx_num'] == 1, 'one result')
    item = ack.getCtxItems()[0]
    check(item['Result'] == 0 and item['TransferSyntax'] == uuidtup_to_bin(NDR20), 'accepted NDR20')
    tool.close()


def test_windows_style_bind(tool_path):
    """Windows offers NDR20, NDR64 and bind time feature negotiation in one bind."""
    tool = Tool(tool_path)
    pdu = bind_pdu([(srvs_tuple(), [NDR20]), (srvs_tuple(), [NDR64]), (srvs_tuple(), [FEATURES])])
    status, out = tool.transceive(pdu, 4280)
    check(status == STATUS_SUCCESS, 'status')
    ack = rpcrt.MSRPCBindAck(out)
    items = ack.getCtxItems()
    check(len(items) == 3, 'three results')
    check((items[0]['Result'], items[0]['Reason']) == (0, 0), 'NDR20 accepted')
    check((items[1]['Result'], items[1]['Reason']) == (2, 2), 'NDR64 rejected: transfer syntax')
    check(items[1]['TransferSyntax'] == b'\x00' * 20, 'rejected syntax zero')
    check((items[2]['Result'], items[2]['Reason']) == (3, 2), 'negotiate_ack with keep-connection bit')
    check(items[2]['TransferSyntax'] == b'\x00' * 20, 'negotiate_ack syntax zero')
    # The accepted context serves calls.
    dce = rpcrt.DCERPC_v5(ToolTransport(tool))
    # Reuse the established association: skip DCERPC_v5.bind, set what it would set.
    dce._DCERPC_v5__max_xmit_size = 4280
    dce._DCERPC_v5__callid = 2
    resp = srvs.hNetrServerGetInfo(dce, 100)
    check(resp['InfoStruct']['ServerInfo100']['sv100_name'] == 'SMB3D\x00', 'call on context 0')
    tool.close()


def test_bind_rejections(tool_path):
    tool = Tool(tool_path)
    status, out = tool.transceive(bind_pdu([(srvs_tuple(), [NDR64]), (SAMR, [NDR20]),
                                            (('4b324fc8-1670-01d3-1278-5a47bf6ee188', '4.0'), [NDR20])]), 4280)
    ack = rpcrt.MSRPCBindAck(out)
    results = [(i['Result'], i['Reason']) for i in ack.getCtxItems()]
    check(results == [(2, 2), (2, 1), (2, 1)], 'rejections %r' % results)
    # Nothing accepted: a request on context 0 faults with nca_s_unk_if.
    dce = rpcrt.DCERPC_v5(ToolTransport(tool))
    dce._DCERPC_v5__max_xmit_size = 4280
    try:
        srvs.hNetrServerGetInfo(dce, 100)
        check(False, 'request on rejected context succeeded')
    except DCERPCException as e:
        check('nca_s_unk_if' in str(e), 'unk_if fault: %s' % e)
    tool.close()
    # impacket's own bind to NDR64 only reports the provider rejection.
    tool = Tool(tool_path)
    dce = rpcrt.DCERPC_v5(ToolTransport(tool))
    try:
        dce.bind(srvs.MSRPC_UUID_SRVS, transfer_syntax=NDR64)
        check(False, 'NDR64 bind accepted')
    except DCERPCException as e:
        check('proposed_transfer_syntaxes_not_supported' in str(e), str(e))
    tool.close()


def share_tuples(entries, level):
    out = []
    for e in entries:
        name = e['shi%d_netname' % level][:-1]
        if level == 0:
            out.append((name,))
            continue
        t = (name, e['shi%d_type' % level], e['shi%d_remark' % level][:-1])
        if level in (2, 502):
            t += (e['shi%d_path' % level][:-1],)
        out.append(t)
    return out


def expected(level):
    if level == 0:
        return [(s[0],) for s in EXPECTED_SHARES]
    if level in (1, 501):
        return [s[:3] for s in EXPECTED_SHARES]
    return list(EXPECTED_SHARES)


def test_share_enum_levels(tool_path, **transport):
    tool, dce = connect(tool_path, **transport)
    for level in (0, 1, 2, 501, 502):
        resp = srvs.hNetrShareEnum(dce, level)
        container = resp['InfoStruct']['ShareInfo']['Level%d' % level]
        check(container['EntriesRead'] == 4, 'level %d count' % level)
        got = share_tuples(container['Buffer'], level)
        check(got == expected(level), 'level %d entries %r' % (level, got))
        check(resp['TotalEntries'] == 4, 'total entries')
        check(resp['ResumeHandle'] == 0, 'resume handle')
        if level == 501:
            flags = [e['shi501_flags'] for e in container['Buffer']]
            check(flags == [0, 0x30, 0, 0], 'flags %r' % flags)
        if level in (2, 502):
            e = container['Buffer'][2]
            check(e['shi%d_max_uses' % level] == 10, 'max uses')
            check(e['shi%d_passwd' % level] == b'', 'no password (NULL pointer)')
            check(container['Buffer'][1]['shi%d_current_uses' % level] == 2, 'current uses')
        if level == 502:
            e = container['Buffer'][1]
            check(e['shi502_reserved'] == 0, 'no security descriptor')
    tool.close()


def test_share_enum_many(tool_path, read_size=4280, fragment=0):
    """300 extra shares: the response spans many fragments."""
    tool, dce = connect(tool_path, extra_shares=300, read_size=read_size)
    if fragment:
        dce.set_max_fragment_size(fragment)
    resp = srvs.hNetrShareEnum(dce, 2)
    container = resp['InfoStruct']['ShareInfo']['Level2']
    check(container['EntriesRead'] == 304, 'count')
    names = [e['shi2_netname'][:-1] for e in container['Buffer']]
    check(names[4] == 'share0000' and names[-1] == 'share0299', 'generated names')
    check(container['Buffer'][200]['shi2_path'][:-1] == 'C:\\srv\\share0196', 'path')
    tool.close()


def test_share_enum_resume(tool_path):
    tool, dce = connect(tool_path, extra_shares=20)
    names = []
    resume = 0
    rounds = 0
    while True:
        req = srvs.NetrShareEnum()
        req['ServerName'] = '\x00'
        req['PreferedMaximumLength'] = 120
        req['ResumeHandle'] = resume
        req['InfoStruct']['Level'] = 1
        req['InfoStruct']['ShareInfo']['tag'] = 1
        req['InfoStruct']['ShareInfo']['Level1']['Buffer'] = NULL
        resp = dce.request(req, checkError=False)
        rounds += 1
        check(resp['TotalEntries'] == 24, 'total')
        names += [e['shi1_netname'][:-1] for e in resp['InfoStruct']['ShareInfo']['Level1']['Buffer']]
        if resp['ErrorCode'] == 0:
            break
        check(resp['ErrorCode'] == 234, 'ERROR_MORE_DATA')
        resume = resp['ResumeHandle']
        check(rounds < 30, 'resume makes progress')
    check(rounds > 2, 'several rounds (%d)' % rounds)
    check(names[:4] == [s[0] for s in EXPECTED_SHARES] and len(names) == 24, 'all names once')
    tool.close()


def test_share_get_info(tool_path, **transport):
    tool, dce = connect(tool_path, **transport)
    for level in (0, 1, 2, 501, 502):
        resp = srvs.hNetrShareGetInfo(dce, 'PUBLIC\x00', level)
        info = resp['InfoStruct']['ShareInfo%d' % level]
        got = share_tuples([info], level)[0]
        check(got == expected(level)[1], 'level %d: %r' % (level, got))
    resp = srvs.hNetrShareGetInfo(dce, 'public\x00', 1005)
    check(resp['InfoStruct']['ShareInfo1005']['shi1005_flags'] == 0x30, '1005 flags')
    resp = srvs.hNetrShareGetInfo(dce, 'donn\u00e9es\x00', 1)
    check(resp['InfoStruct']['ShareInfo1']['shi1_remark'] == '\u00c9t\u00e9 \u2600\x00', 'unicode remark')
    try:
        srvs.hNetrShareGetInfo(dce, 'nosuch\x00', 1)
        check(False, 'unknown share found')
    except srvs.DCERPCSessionError as e:
        check(e.get_error_code() == 2310, 'NERR_NetNameNotFound: %s' % e)
    try:
        srvs.hNetrShareGetInfo(dce, 'public\x00', 7)
        check(False, 'level 7 answered')
    except srvs.DCERPCSessionError as e:
        check(e.get_error_code() == 124, 'ERROR_INVALID_LEVEL: %s' % e)
    try:
        srvs.hNetrShareEnum(dce, 503)
        check(False, 'level 503 answered')
    except srvs.DCERPCSessionError as e:
        check(e.get_error_code() == 124, 'enum ERROR_INVALID_LEVEL: %s' % e)
    tool.close()


def test_server_get_info(tool_path, **transport):
    tool, dce = connect(tool_path, **transport)
    resp = srvs.hNetrServerGetInfo(dce, 100)
    info = resp['InfoStruct']['ServerInfo100']
    check(info['sv100_platform_id'] == 500 and info['sv100_name'] == 'SMB3D\x00', '100')
    resp = srvs.hNetrServerGetInfo(dce, 101)
    info = resp['InfoStruct']['ServerInfo101']
    check(info['sv101_name'] == 'SMB3D\x00' and info['sv101_comment'] == 'smb3d test server\x00', '101 strings')
    check((info['sv101_version_major'], info['sv101_version_minor']) == (10, 0), '101 version')
    check(info['sv101_type'] & srvs.SV_TYPE_SERVER, '101 type')
    resp = srvs.hNetrServerGetInfo(dce, 102)
    info = resp['InfoStruct']['ServerInfo102']
    check(info['sv102_userpath'] == 'C:\\\x00' and info['sv102_announce'] == 240, '102')
    check(info['sv102_comment'] == 'smb3d test server\x00', '102 comment')
    try:
        srvs.hNetrServerGetInfo(dce, 103)
        check(False, 'level 103 answered')
    except srvs.DCERPCSessionError as e:
        check(e.get_error_code() == 124, 'ERROR_INVALID_LEVEL: %s' % e)
    tool.close()


def test_unknown_opnum(tool_path):
    tool, dce = connect(tool_path)
    try:
        srvs.hNetrRemoteTOD(dce)  # opnum 28
        check(False, 'opnum 28 answered')
    except DCERPCException as e:
        check('nca_s_op_rng_error' in str(e), str(e))
    # The association survives a fault.
    resp = srvs.hNetrShareEnum(dce, 0)
    check(resp['InfoStruct']['ShareInfo']['Level0']['EntriesRead'] == 4, 'call after fault')
    tool.close()


def test_fragmented_request(tool_path):
    """impacket splits the request stub into 16-byte fragments."""
    tool, dce = connect(tool_path)
    dce.set_max_fragment_size(16)
    resp = srvs.hNetrShareGetInfo(dce, 'donn\u00e9es\x00', 2)
    check(resp['InfoStruct']['ShareInfo2']['shi2_path'] == 'C:\\srv\\data\x00', 'fragmented call')
    frags = [p for p in dce._transport.sent if p[2] == rpcrt.MSRPC_REQUEST]
    check(len(frags) >= 3, 'request was fragmented into %d' % len(frags))
    tool.close()


def test_pipe_semantics(tool_path):
    tool = Tool(tool_path)
    check(tool.read(100) == (STATUS_PIPE_EMPTY, b''), 'empty read')
    bind = bind_pdu([(srvs_tuple(), [NDR20])])
    # A PDU split over two writes.
    check(tool.write(bind[:10]) == 0 and tool.read(100)[0] == STATUS_PIPE_EMPTY, 'half PDU')
    check(tool.write(bind[10:]) == 0, 'rest')
    status, part = tool.read(20)
    check(status == STATUS_BUFFER_OVERFLOW and len(part) == 20, 'overflow')
    check(tool.transceive(b'', 100)[0] == STATUS_PIPE_BUSY, 'transceive with unread data')
    status, rest = tool.read(4280)
    check(status == STATUS_SUCCESS, 'rest of message')
    check(rpcrt.MSRPCHeader(part + rest)['type'] == rpcrt.MSRPC_BINDACK, 'bind_ack')
    # A second bind is refused with bind_nak, the association stays.
    status, out = tool.transceive(bind_pdu([(srvs_tuple(), [NDR20])], call_id=2), 4280)
    check(rpcrt.MSRPCHeader(out)['type'] == rpcrt.MSRPC_BINDNAK, 'second bind nak')
    # alter_context adds a context.
    alter = bind_pdu([(srvs_tuple(), [NDR20]), (srvs_tuple(), [NDR20])], call_id=3,
                     ptype=rpcrt.MSRPC_ALTERCTX)
    status, out = tool.transceive(alter, 4280)
    check(rpcrt.MSRPCHeader(out)['type'] == rpcrt.MSRPC_ALTERCTX_R, 'alter_context_resp')
    ack = rpcrt.MSRPCBindAck(out)
    check([i['Result'] for i in ack.getCtxItems()] == [0, 0], 'alter results')
    # A response PDU from the client is a protocol error: fault, then the pipe is broken.
    junk = bytearray(bind)
    junk[2] = rpcrt.MSRPC_RESPONSE
    status, out = tool.transceive(bytes(junk), 4280)
    check(status == STATUS_SUCCESS and rpcrt.MSRPCHeader(out)['type'] == rpcrt.MSRPC_FAULT, 'fault')
    check(struct.unpack('<L', out[24:28])[0] == 0x1c01000b, 'nca_s_proto_error')
    check(tool.write(bind) == STATUS_PIPE_BROKEN, 'broken')
    check(tool.read(100)[0] == STATUS_PIPE_BROKEN, 'broken read')
    tool.close()


def golden():
    """Prints the request PDUs impacket sends, for tests/unit/rpc/golden.hh."""
    class Capture:
        def __init__(self):
            self.sent = []

        def send(self, data, forceWriteAndx=0, forceRecv=0):
            self.sent.append(bytes(data))

        def recv(self, forceRecv=0, count=0):
            raise RuntimeError('no server')

    pdus = {'bind_srvsvc': bind_pdu([(srvs_tuple(), [NDR20])])}
    calls = {
        'share_enum_1': lambda d: srvs.hNetrShareEnum(d, 1),
        'share_enum_2': lambda d: srvs.hNetrShareEnum(d, 2),
        'share_get_info_public_502': lambda d: srvs.hNetrShareGetInfo(d, 'public\x00', 502),
        'server_get_info_101': lambda d: srvs.hNetrServerGetInfo(d, 101),
    }
    for name, fn in calls.items():
        cap = Capture()
        dce = rpcrt.DCERPC_v5(cap)
        dce._DCERPC_v5__max_xmit_size = 4280
        dce._DCERPC_v5__callid = 2
        try:
            fn(dce)
        except RuntimeError:
            pass
        pdus[name] = cap.sent[0]
    for name, pdu in pdus.items():
        print('// %s (%d bytes)' % (name, len(pdu)))
        print('inline constexpr std::string_view k_%s =' % name)
        hexs = pdu.hex()
        lines = ['    "%s"' % hexs[i:i + 64] for i in range(0, len(hexs), 64)]
        print('\n'.join(lines) + ';')


def main():
    if len(sys.argv) == 2 and sys.argv[1] == '--golden':
        golden()
        return 0
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    tool_path = sys.argv[1]
    checks = [
        ('bind_ack', lambda: test_bind_ack(tool_path)),
        ('windows_style_bind', lambda: test_windows_style_bind(tool_path)),
        ('bind_rejections', lambda: test_bind_rejections(tool_path)),
        ('share_enum_levels', lambda: test_share_enum_levels(tool_path)),
        ('share_enum_levels_transceive', lambda: test_share_enum_levels(tool_path, transceive=True)),
        ('share_enum_levels_small_reads', lambda: test_share_enum_levels(tool_path, read_size=64)),
        ('share_enum_many', lambda: test_share_enum_many(tool_path)),
        ('share_enum_many_small_reads', lambda: test_share_enum_many(tool_path, read_size=1000)),
        ('share_enum_resume', lambda: test_share_enum_resume(tool_path)),
        ('share_get_info', lambda: test_share_get_info(tool_path)),
        ('share_get_info_transceive', lambda: test_share_get_info(tool_path, transceive=True)),
        ('server_get_info', lambda: test_server_get_info(tool_path)),
        ('unknown_opnum', lambda: test_unknown_opnum(tool_path)),
        ('fragmented_request', lambda: test_fragmented_request(tool_path)),
        ('pipe_semantics', lambda: test_pipe_semantics(tool_path)),
    ]
    failed = 0
    for name, fn in checks:
        try:
            fn()
            print('PASS', name)
        except Exception:
            failed += 1
            print('FAIL', name)
            traceback.print_exc()
    print('%d of %d checks failed' % (failed, len(checks)))
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
