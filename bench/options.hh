// The smbbench command line (fio-like) and its size/number parsing.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "smbd/crypto/algorithms.hh"

namespace smb::bench {

enum class Workload {
  io,
  create_close,
  open_close,
  // CREATE + QUERY_INFO FileAllInformation + CLOSE of a file by name, one compound: what
  // the Linux cifs client (and smbclient's allinfo) sends to stat a path.
  stat,
  // QUERY_INFO FileAllInformation of a handle the job holds open (fstat).
  fstat,
  setinfo,
  readdir,
  create_delete,
  echo,
  replay,
  lock,  // LOCK then UNLOCK of a range of one file all jobs share (each slot its own range)
  // Every job opens one shared file exclusively (share none) with a write-caching lease
  // (an oplock before 2.1) and holds it until the server breaks it for another job's
  // open; then it closes and opens again. An operation is an open that was granted.
  alternate_open
};
enum class RwMode { read, write, randread, randwrite, randrw, rw };

struct BenchOptions {
  // Connections in all: --connections, and the SMB Direct channels of --multichannel.
  unsigned channels() const { return connections + rdma_connections; }

  std::string host;
  std::uint16_t port = 445;
  std::string share;
  std::string user;  // empty: anonymous
  std::string domain;
  std::string password;
  std::uint16_t min_dialect = 0x0202;
  std::uint16_t max_dialect = 0x0311;
  bool sign = false;
  std::optional<crypto::Cipher> encrypt;
  std::string transport = "tcp";      // tcp | rdma (SMB Direct)
  std::string rdma_fabric = "verbs";  // rdma: verbs | soft
  // rdma: how READ and WRITE data travel: inline in the messages, or through an RDMA
  // channel (SMB2_CHANNEL_RDMA_V1, or _V1_INVALIDATE: the server invalidates the client's
  // registration with its answer, and the client registers the buffer again).
  std::string rdma_channel = "inline";  // inline | v1 | v1-invalidate
  bool port_given = false;
  // Multi-channel: every connection is a channel of one session (one ClientGuid), and
  // rdma_connections SMB Direct channels (to rdma_port) are bound to it besides.
  bool multichannel = false;
  unsigned rdma_connections = 0;
  std::uint16_t rdma_port = 5445;
  unsigned connections = 1;
  unsigned jobs = 1;
  unsigned iodepth = 1;
  std::uint32_t bs = 4096;
  std::uint64_t size = 16u << 20;  // per file
  unsigned nrfiles = 1;
  unsigned streams = 0;  // named streams written to every file made before the timed part
  RwMode rw = RwMode::randread;
  unsigned rwmixread = 50;
  Workload workload = Workload::io;
  std::string replay_file;
  double runtime = 0;  // seconds; 0 with ops == 0 means 10 s
  std::uint64_t ops = 0;
  double ramp = 0;
  std::uint64_t seed = 1;
  bool verify = false;
  std::string json_file;
  std::string plot_file;
  std::string directory = "smbbench";  // per-run directory in the share
  bool keep = false;                   // leave the files behind
  bool quiet = false;
};

// Parses argv (without argv[0]). Returns an error message, or empty on success; "help"
// when usage was asked for.
std::string parse_options(const std::vector<std::string>& args, BenchOptions& out);
const char* usage();

// "4k", "1M", "2g", "512" (binary multiples); nullopt when malformed or overflowing.
std::optional<std::uint64_t> parse_size(const std::string& text);
// "3.1.1", "3.0.2", "3.0", "2.1", "2.0.2" (or "311", "SMB3_11"); 0 when unknown.
std::uint16_t parse_dialect(const std::string& text);
std::string dialect_name(std::uint16_t d);
std::optional<crypto::Cipher> parse_cipher(const std::string& text);
const char* cipher_name(crypto::Cipher c);
const char* workload_name(Workload w);
const char* rw_name(RwMode m);

}  // namespace smb::bench
