// smbdirect_peer_check: the library's SMB Direct client against a server it did not
// start (another implementation: the VM lab runs it against ksmbd over soft-RoCE).
//
//   smbdirect_peer_check [--fabric verbs|soft] [--mib N] ADDRESS PORT SHARE USER PASSWORD
//
// Over one SMB Direct connection: NEGOTIATE, SESSION_SETUP, TREE_CONNECT, inline WRITE and
// READ, then N MiB (default 64) written through RDMA channels (the server RDMA-reads our
// buffer) and read back through RDMA channels (the server RDMA-writes it), SHA-256
// compared, and one READ/WRITE pair with RDMA_V1_INVALIDATE. Prints a FAIL: line naming
// the step and exits 1 when one fails; 0 when all passed.
#include <openssl/evp.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "smbd/client/connection.hh"
#include "smbd/client/rdma_client.hh"
#include "smbd/proto/create.hh"

using namespace smb;

namespace {

[[noreturn]] void fail(const std::string& what) {
  std::printf("FAIL: %s\n", what.c_str());
  std::fflush(stdout);
  std::exit(1);
}

std::string hex(NtStatus s) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "0x%08x", static_cast<unsigned>(s));
  return buf;
}

void expect(NtStatus s, const std::string& what) {
  if (s != NtStatus::SUCCESS) fail(what + ": status " + hex(s));
}

std::array<std::uint8_t, 32> sha256(const std::vector<Bytes>& parts) {
  std::array<std::uint8_t, 32> out{};
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  EVP_DigestInit_ex(ctx, EVP_sha256(), nullptr);
  for (const Bytes& p : parts) EVP_DigestUpdate(ctx, p.data(), p.size());
  unsigned len = 0;
  EVP_DigestFinal_ex(ctx, out.data(), &len);
  EVP_MD_CTX_free(ctx);
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  client::RdmaOptions rdma;
  rdma.fabric = client::FabricKind::verbs;
  std::uint64_t mib = 64;
  std::vector<std::string> args;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--fabric" && i + 1 < argc) {
      std::string f = argv[++i];
      if (f != "verbs" && f != "soft") fail("--fabric is verbs or soft");
      rdma.fabric = f == "soft" ? client::FabricKind::soft : client::FabricKind::verbs;
    } else if (a == "--mib" && i + 1 < argc) {
      mib = std::strtoull(argv[++i], nullptr, 10);
    } else {
      args.push_back(a);
    }
  }
  if (args.size() != 5 || mib == 0) {
    std::fprintf(stderr,
                 "usage: smbdirect_peer_check [--fabric verbs|soft] [--mib N] ADDRESS PORT "
                 "SHARE USER PASSWORD\n");
    return 2;
  }
  const std::string& host = args[0];
  auto port = static_cast<std::uint16_t>(std::atoi(args[1].c_str()));
  auth::ClientCredentials cred;
  cred.user = args[3];
  cred.password = args[4];

  try {
    auto c = client::RdmaClient::connect(host, port, {}, rdma);
    auto n = c->negotiated();
    std::printf(
        "SMB Direct to %s:%u: max send %u, max receive %u, max fragmented %u/%u, "
        "max read/write %u; SMB2 dialect 0x%04x\n",
        host.c_str(), port, n.max_send_size, n.max_receive_size, n.max_fragmented_send_size,
        n.max_fragmented_recv_size, n.max_read_write_size, c->smb().dialect());
    auto& smb = c->smb();
    std::uint64_t sid = smb.session_setup(cred);
    client::Tree tree = smb.tree_connect(sid, "\\\\" + host + "\\" + args[2]);

    FileId f;
    expect(smb.open(tree, "peer-check.bin",
                    client::access::GENERIC_READ | client::access::GENERIC_WRITE |
                        client::access::DELETE,
                    CreateDisposition::FILE_OVERWRITE_IF, 0, f),
           "CREATE peer-check.bin");

    // Inline: a WRITE and a READ that fit one SMB Direct message.
    Bytes text(3000);
    for (std::size_t i = 0; i < text.size(); ++i) text[i] = static_cast<std::uint8_t>('a' + i % 26);
    expect(smb.write(tree, f, 0, text), "inline WRITE of 3000 bytes");
    Bytes back;
    expect(smb.read(tree, f, 0, 4096, back), "inline READ");
    if (back != text) fail("inline READ returned other bytes than were written");
    std::puts("inline WRITE/READ: ok");

    // RDMA channels: chunks of MaxReadWriteSize (at most 1 MiB).
    std::uint32_t chunk = std::min<std::uint32_t>(n.max_read_write_size, 1u << 20);
    if (chunk < 65536) fail("negotiated MaxReadWriteSize " + std::to_string(chunk) + " too small");
    std::uint64_t chunks = (mib << 20) / chunk;
    Bytes memory(chunk);
    std::string error;
    auto buffer = c->register_buffer(memory, error);
    if (!buffer) fail("registering " + std::to_string(chunk) + " bytes: " + error);
    std::vector<Bytes> written;
    for (std::uint64_t i = 0; i < chunks; ++i) {
      std::mt19937_64 rng(i * 7919 + 17);
      auto* p = reinterpret_cast<std::uint64_t*>(memory.data());
      for (std::size_t k = 0; k < chunk / 8; ++k) p[k] = rng();
      written.push_back(memory);
      std::uint32_t count = 0;
      expect(c->write(tree, f, i * chunk, chunk, *buffer, 0, false, count),
             "WRITE through an RDMA channel at offset " + std::to_string(i * chunk));
      if (count != chunk)
        fail("RDMA WRITE at " + std::to_string(i * chunk) + " wrote " + std::to_string(count));
    }
    std::vector<Bytes> read_back;
    for (std::uint64_t i = 0; i < chunks; ++i) {
      std::fill(memory.begin(), memory.end(), 0);
      std::uint32_t count = 0;
      expect(c->read(tree, f, i * chunk, chunk, *buffer, 0, false, count),
             "READ through an RDMA channel at offset " + std::to_string(i * chunk));
      if (count != chunk)
        fail("RDMA READ at " + std::to_string(i * chunk) + " read " + std::to_string(count));
      read_back.push_back(memory);
    }
    if (sha256(written) != sha256(read_back))
      fail(std::to_string(mib) + " MiB read back through RDMA channels differ (SHA-256)");
    std::printf("RDMA channels: %llu x %u bytes written and read back, SHA-256 equal\n",
                static_cast<unsigned long long>(chunks), chunk);

    // RDMA_V1_INVALIDATE: the response invalidates the registration it names.
    Bytes small(65536);
    for (std::size_t i = 0; i < small.size(); ++i) small[i] = static_cast<std::uint8_t>(i * 13 + 5);
    {
      auto out = c->register_buffer(small, error);
      if (!out) fail("registering 64 KiB: " + error);
      std::uint32_t count = 0;
      expect(c->write(tree, f, 0, 65536, *out, 0, true, count), "WRITE with RDMA_V1_INVALIDATE");
      if (out->valid()) fail("WRITE with RDMA_V1_INVALIDATE left the registration valid");
    }
    Bytes into(65536, 0);
    {
      auto in = c->register_buffer(into, error);
      if (!in) fail("registering 64 KiB: " + error);
      std::uint32_t count = 0;
      expect(c->read(tree, f, 0, 65536, *in, 0, true, count), "READ with RDMA_V1_INVALIDATE");
      if (in->valid()) fail("READ with RDMA_V1_INVALIDATE left the registration valid");
    }
    if (into != small) fail("READ with RDMA_V1_INVALIDATE returned other bytes than written");
    std::puts("RDMA_V1_INVALIDATE: ok");

    FileId gone;
    expect(smb.close(tree, f), "CLOSE");
    expect(smb.open(tree, "peer-check.bin", client::access::DELETE, CreateDisposition::FILE_OPEN,
                    kFileDeleteOnClose, gone),
           "open for delete");
    expect(smb.close(tree, gone), "CLOSE (delete on close)");
    smb.tree_disconnect(tree);
    smb.logoff(sid);
  } catch (const std::exception& e) {
    fail(e.what());
  }
  std::puts("PASS");
  return 0;
}
