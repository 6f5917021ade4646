// Drives one srvsvc PipeEndpoint from a line protocol on stdin, so that an RPC client
// written in another language can talk to it (impacket_roundtrip.py):
//   W <hex>        write; prints "<status>"
//   R <max>        read;  prints "<status> <hex>"
//   T <max> <hex>  FSCTL_PIPE_TRANSCEIVE; prints "<status> <hex>"
// Status is the NTSTATUS as 8 hex digits. Options: --extra-shares N adds N generated
// disk shares to the fixed test set, so that responses need several fragments.
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <string>

#include "smbd/rpc/pipe.hh"
#include "test_shares.hh"

namespace {

bool parse_hex(std::string_view text, smb::Bytes& out) {
  auto value = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  out.clear();
  if (text.size() % 2 != 0) return false;
  for (std::size_t i = 0; i < text.size(); i += 2) {
    int hi = value(text[i]);
    int lo = value(text[i + 1]);
    if (hi < 0 || lo < 0) return false;
    out.push_back(static_cast<std::uint8_t>(hi * 16 + lo));
  }
  return true;
}

std::string to_hex(smb::ByteSpan b) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string s;
  for (std::uint8_t c : b) {
    s.push_back(kHex[c >> 4]);
    s.push_back(kHex[c & 15]);
  }
  return s;
}

std::string status_hex(smb::NtStatus s) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%08x", static_cast<unsigned>(s));
  return buf;
}

}  // namespace

int main(int argc, char** argv) {
  std::size_t extra = 0;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--extra-shares" && i + 1 < argc) {
      extra = std::strtoul(argv[++i], nullptr, 10);
    } else {
      std::cerr << "usage: rpc_pipe_tool [--extra-shares N]\n";
      return 2;
    }
  }
  auto pipe = smb::rpc::open_pipe("srvsvc", smb::rpc::test::server_info(),
                                  [extra] { return smb::rpc::test::shares(extra); });
  std::string line;
  smb::Bytes data;
  smb::Bytes out;
  while (std::getline(std::cin, line)) {
    if (line.size() < 2 || line[1] != ' ') {
      std::cerr << "bad command\n";
      return 2;
    }
    std::string_view rest = std::string_view(line).substr(2);
    if (line[0] == 'W') {
      if (!parse_hex(rest, data)) return 2;
      std::cout << status_hex(pipe->write(data)) << std::endl;
    } else if (line[0] == 'R') {
      std::size_t max = std::strtoul(std::string(rest).c_str(), nullptr, 10);
      smb::NtStatus s = pipe->read(max, out);
      std::cout << status_hex(s) << ' ' << to_hex(out) << std::endl;
    } else if (line[0] == 'T') {
      std::size_t space = rest.find(' ');
      if (space == std::string_view::npos) return 2;
      std::size_t max = std::strtoul(std::string(rest.substr(0, space)).c_str(), nullptr, 10);
      if (!parse_hex(rest.substr(space + 1), data)) return 2;
      smb::NtStatus s = pipe->transceive(data, max, out);
      std::cout << status_hex(s) << ' ' << to_hex(out) << std::endl;
    } else {
      std::cerr << "bad command\n";
      return 2;
    }
  }
  return 0;
}
