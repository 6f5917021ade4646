// libFuzzer target: a srvsvc PipeEndpoint driven by untrusted bytes.
//
// Input: one flag byte (bit 0: bind with NDR20 first, so requests reach srvsvc; bit 1:
// bind with a 1432-octet max_recv_frag), then operations, each an op byte and a 16-bit
// little-endian length: op % 3 == 0 writes the next `length` bytes, 1 reads up to
// `length` bytes, 2 transceives the next `length` bytes with `length` as output limit.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "smbd/base/bytes.hh"
#include "smbd/rpc/pipe.hh"
#include "smbd/rpc/srvsvc.hh"

namespace {

std::vector<smb::rpc::ShareEntry> fuzz_shares() {
  using namespace smb::rpc;
  std::vector<ShareEntry> v;
  v.push_back({"IPC$", kStypeIpc | kStypeSpecial, "IPC Service", "", 0, kShiUsesUnlimited, 0});
  v.push_back({"public", kStypeDisktree, "Public files", "C:\\srv\\public", 0, 10, 1});
  for (int i = 0; i < 40; ++i) {
    std::string name = "share" + std::to_string(i);
    v.push_back(
        {name, kStypeDisktree, "generated " + name, "C:\\srv\\" + name, 0, kShiUsesUnlimited, 0});
  }
  return v;
}

smb::Bytes bind_pdu(std::uint16_t max_frag) {
  using namespace smb::rpc;
  BindPdu b;
  b.header.type = PduType::bind;
  b.header.call_id = 1;
  b.max_xmit_frag = max_frag;
  b.max_recv_frag = max_frag;
  b.contexts.push_back(ContextElement{0, srvsvc_syntax(), {ndr20_syntax()}});
  smb::Bytes out;
  encode(b, out);
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  smb::rpc::ServerInfo server;
  server.netbios_name = "FUZZ";
  server.server_string = "fuzz";
  auto pipe = smb::rpc::open_pipe("srvsvc", server, fuzz_shares);
  if (!pipe) __builtin_trap();
  smb::Bytes out;
  const std::uint8_t flags = data[0];
  if (flags & 1) {
    pipe->write(bind_pdu((flags & 2) ? smb::rpc::kMustRecvFragSize : 4280));
    pipe->read(1 << 16, out);
  }
  // Set while the current message was read in part (BUFFER_OVERFLOW).
  bool mid_message = false;
  auto track = [&mid_message](smb::NtStatus s) {
    if (s == smb::NtStatus::BUFFER_OVERFLOW) mid_message = true;
    if (s == smb::NtStatus::SUCCESS) mid_message = false;
  };
  smb::ByteReader r(smb::ByteSpan(data, size), 1);
  while (r.remaining() >= 3) {
    std::uint8_t op = r.u8();
    std::uint16_t length = r.u16();
    switch (op % 3) {
      case 0: {
        smb::ByteSpan chunk = r.bytes(std::min<std::size_t>(length, r.remaining()));
        pipe->write(chunk);
        break;
      }
      case 1:
        track(pipe->read(length, out));
        if (out.size() > length) __builtin_trap();
        break;
      default: {
        smb::ByteSpan chunk = r.bytes(std::min<std::size_t>(length, r.remaining()));
        track(pipe->transceive(chunk, length, out));
        if (out.size() > length) __builtin_trap();
        break;
      }
    }
  }
  // Whatever is queued must be whole PDUs the decoders accept.
  while (pipe->has_output()) {
    smb::NtStatus s = pipe->read(1 << 20, out);
    if (s != smb::NtStatus::SUCCESS) __builtin_trap();
    if (mid_message) {  // the tail of a message read in part before
      mid_message = false;
      continue;
    }
    smb::rpc::Header h;
    if (!smb::rpc::decode_header(out, h) || h.frag_length != out.size()) __builtin_trap();
  }
  return 0;
}
