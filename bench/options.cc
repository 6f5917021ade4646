#include "bench/options.hh"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <fstream>
#include <limits>

namespace smb::bench {

const char* usage() {
  return "usage: smbbench //HOST[:PORT]/SHARE [options]\n"
         "  -U USER[%PASS]        user (DOMAIN\\USER accepted); password also from\n"
         "                        SMB_PASSWORD or --credentials FILE; no -U: anonymous\n"
         "  --credentials FILE    smbclient-style file: username=, password=, domain=\n"
         "  --dialect D[-D]       2.0.2 2.1 3.0 3.0.2 3.1.1, or a range (default 2.0.2-3.1.1)\n"
         "  --sign                sign every message\n"
         "  --encrypt CIPHER      aes-128-gcm aes-256-gcm aes-128-ccm aes-256-ccm\n"
         "  --transport T         tcp, or rdma: SMB Direct\n"
         "                        (default port 5445)\n"
         "  --rdma-fabric F       verbs (rdma-core, default) or soft (this project's\n"
         "                        software fabric)\n"
         "  --multichannel        every connection is a channel of one session\n"
         "  --rdma-connections M  with --multichannel: M SMB Direct channels besides\n"
         "                        (to --rdma-port, default 5445); jobs are spread over\n"
         "                        every channel\n"
         "  --rdma-channel C      rdma: READ and WRITE data inline in the messages\n"
         "                        (default), or through RDMA channels: v1 (RDMA_V1)\n"
         "                        or v1-invalidate (RDMA_V1_INVALIDATE)\n"
         "  --connections N       TCP connections (default 1); jobs are spread over them\n"
         "  --jobs N              independent workers, each with its own files (default 1)\n"
         "  --iodepth N           requests in flight per job (default 1)\n"
         "  --bs SIZE             I/O size (default 4k)\n"
         "  --size SIZE           size of each file (default 16M)\n"
         "  --nrfiles N           files per job (default 1)\n"
         "  --streams N           N named streams (64 bytes each) on every file laid out\n"
         "                        before the timed part (stat, open-close, readdir...)\n"
         "  --rw MODE             read write randread randwrite rw randrw (default randread)\n"
         "  --rwmixread PCT       reads in rw/randrw (default 50)\n"
         "  --workload W          io create-close open-close stat fstat setinfo readdir\n"
         "                        create-delete echo lock alternate-open replay:FILE\n"
         "                        (default io);\n"
         "                        stat: CREATE + QUERY_INFO FileAllInformation + CLOSE\n"
         "                        of a file by name in one compound (a client's stat);\n"
         "                        fstat: QUERY_INFO FileAllInformation of an open file;\n"
         "                        lock: every job locks and unlocks ranges of its own\n"
         "                        in one file all jobs share (an operation is the pair);\n"
         "                        alternate-open: every job opens one shared file\n"
         "                        exclusively with a lease (an oplock before 2.1) and\n"
         "                        holds it until a break for another job's open\n"
         "  --runtime S | --ops N stop after S seconds or N operations in all (default 10 s)\n"
         "  --ramp S              seconds not counted at the start\n"
         "  --seed N              random seed (default 1)\n"
         "  --verify              write a checkable pattern, verify every byte read\n"
         "  --json FILE           results as JSON\n"
         "  --plot FILE.svg|png   latency percentiles and throughput over time (gnuplot)\n"
         "  --dir NAME            directory for the files in the share (default smbbench)\n"
         "  --keep                leave the files in the share\n"
         "  --quiet               no progress line\n";
}

std::optional<std::uint64_t> parse_size(const std::string& text) {
  if (text.empty() || !std::isdigit(static_cast<unsigned char>(text[0]))) return std::nullopt;
  std::size_t used = 0;
  unsigned long long v = 0;
  try {
    v = std::stoull(text, &used, 10);
  } catch (...) {
    return std::nullopt;
  }
  std::string unit = text.substr(used);
  std::transform(unit.begin(), unit.end(), unit.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (!unit.empty() && unit.back() == 'b') unit.pop_back();
  if (unit.size() == 2 && unit[1] == 'i') unit.pop_back();
  int shift = 0;
  if (unit.empty())
    shift = 0;
  else if (unit == "k")
    shift = 10;
  else if (unit == "m")
    shift = 20;
  else if (unit == "g")
    shift = 30;
  else if (unit == "t")
    shift = 40;
  else
    return std::nullopt;
  if (v > (std::numeric_limits<std::uint64_t>::max() >> shift)) return std::nullopt;
  return static_cast<std::uint64_t>(v) << shift;
}

std::uint16_t parse_dialect(const std::string& t) {
  if (t == "2.0.2" || t == "202" || t == "SMB2_02") return 0x0202;
  if (t == "2.1" || t == "210" || t == "SMB2_10") return 0x0210;
  if (t == "3.0" || t == "300" || t == "SMB3_00") return 0x0300;
  if (t == "3.0.2" || t == "302" || t == "SMB3_02") return 0x0302;
  if (t == "3.1.1" || t == "311" || t == "SMB3_11") return 0x0311;
  return 0;
}

std::string dialect_name(std::uint16_t d) {
  switch (d) {
    case 0x0202:
      return "2.0.2";
    case 0x0210:
      return "2.1";
    case 0x0300:
      return "3.0";
    case 0x0302:
      return "3.0.2";
    case 0x0311:
      return "3.1.1";
    default:
      return "unknown";
  }
}

std::optional<crypto::Cipher> parse_cipher(const std::string& text) {
  std::string t = text;
  std::transform(t.begin(), t.end(), t.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (t == "aes-128-gcm" || t == "aes128gcm") return crypto::Cipher::AES_128_GCM;
  if (t == "aes-256-gcm" || t == "aes256gcm") return crypto::Cipher::AES_256_GCM;
  if (t == "aes-128-ccm" || t == "aes128ccm") return crypto::Cipher::AES_128_CCM;
  if (t == "aes-256-ccm" || t == "aes256ccm") return crypto::Cipher::AES_256_CCM;
  return std::nullopt;
}

const char* cipher_name(crypto::Cipher c) {
  switch (c) {
    case crypto::Cipher::AES_128_CCM:
      return "AES-128-CCM";
    case crypto::Cipher::AES_128_GCM:
      return "AES-128-GCM";
    case crypto::Cipher::AES_256_CCM:
      return "AES-256-CCM";
    case crypto::Cipher::AES_256_GCM:
      return "AES-256-GCM";
  }
  return "unknown";
}

const char* workload_name(Workload w) {
  switch (w) {
    case Workload::io:
      return "io";
    case Workload::create_close:
      return "create-close";
    case Workload::open_close:
      return "open-close";
    case Workload::stat:
      return "stat";
    case Workload::fstat:
      return "fstat";
    case Workload::setinfo:
      return "setinfo";
    case Workload::readdir:
      return "readdir";
    case Workload::create_delete:
      return "create-delete";
    case Workload::echo:
      return "echo";
    case Workload::replay:
      return "replay";
    case Workload::lock:
      return "lock";
    case Workload::alternate_open:
      return "alternate-open";
  }
  return "unknown";
}

const char* rw_name(RwMode m) {
  switch (m) {
    case RwMode::read:
      return "read";
    case RwMode::write:
      return "write";
    case RwMode::randread:
      return "randread";
    case RwMode::randwrite:
      return "randwrite";
    case RwMode::randrw:
      return "randrw";
    case RwMode::rw:
      return "rw";
  }
  return "unknown";
}

namespace {

bool parse_unsigned(const std::string& text, std::uint64_t max, std::uint64_t& out) {
  auto v = parse_size(text);
  if (!v || *v > max) return false;
  out = *v;
  return true;
}

bool parse_seconds(const std::string& text, double& out) {
  char* end = nullptr;
  out = std::strtod(text.c_str(), &end);
  return end != text.c_str() && *end == '\0' && out >= 0 && out < 1e7;
}

void set_user(const std::string& spec, BenchOptions& o) {
  std::string u = spec;
  if (auto pct = u.find('%'); pct != std::string::npos) {
    o.password = u.substr(pct + 1);
    u.resize(pct);
  }
  if (auto bs = u.find_first_of("\\/"); bs != std::string::npos) {
    o.domain = u.substr(0, bs);
    u = u.substr(bs + 1);
  }
  o.user = u;
}

std::string read_credentials(const std::string& path, BenchOptions& o) {
  std::ifstream in(path);
  if (!in) return "cannot read " + path;
  std::string line;
  while (std::getline(in, line)) {
    auto eq = line.find('=');
    if (eq == std::string::npos) continue;
    auto trim = [](std::string s) {
      s.erase(0, s.find_first_not_of(" \t"));
      s.erase(s.find_last_not_of(" \t\r") + 1);
      return s;
    };
    std::string key = trim(line.substr(0, eq)), value = trim(line.substr(eq + 1));
    if (key == "username")
      set_user(value, o);
    else if (key == "password")
      o.password = value;
    else if (key == "domain")
      o.domain = value;
  }
  return {};
}

}  // namespace

std::string parse_options(const std::vector<std::string>& args, BenchOptions& o) {
  bool have_target = false, have_password = false;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    auto value = [&](std::string& v) -> bool {
      if (auto eq = a.find('='); a.rfind("--", 0) == 0 && eq != std::string::npos) {
        v = a.substr(eq + 1);
        return true;
      }
      if (i + 1 >= args.size()) return false;
      v = args[++i];
      return true;
    };
    std::string name = a.substr(0, a.find('='));
    std::string v;
    std::uint64_t n = 0;
    if (a == "-h" || a == "--help") return "help";
    if (a.rfind("//", 0) == 0 && !have_target) {
      std::string rest = a.substr(2);
      auto slash = rest.find('/');
      if (slash == std::string::npos || slash + 1 >= rest.size())
        return "target is //host[:port]/share";
      std::string hostport = rest.substr(0, slash);
      o.share = rest.substr(slash + 1);
      if (!o.share.empty() && o.share.back() == '/') o.share.pop_back();
      auto colon = hostport.rfind(':');
      if (colon != std::string::npos && hostport.find(']') == std::string::npos &&
          hostport.find(':') == colon) {
        if (!parse_unsigned(hostport.substr(colon + 1), 65535, n) || n == 0) return "bad port";
        o.port = static_cast<std::uint16_t>(n);
        o.port_given = true;
        hostport.resize(colon);
      }
      o.host = hostport;
      have_target = true;
    } else if (name == "-U" || name == "--user") {
      if (!value(v)) return "-U needs a value";
      set_user(v, o);
      have_password = v.find('%') != std::string::npos;
    } else if (name == "--credentials") {
      if (!value(v)) return "--credentials needs a file";
      if (std::string e = read_credentials(v, o); !e.empty()) return e;
      have_password = true;
    } else if (name == "--dialect") {
      if (!value(v)) return "--dialect needs a value";
      auto dash = v.find('-');
      std::uint16_t lo = parse_dialect(v.substr(0, dash));
      std::uint16_t hi = dash == std::string::npos ? lo : parse_dialect(v.substr(dash + 1));
      if (lo == 0 || hi == 0 || lo > hi) return "unknown dialect " + v;
      o.min_dialect = lo;
      o.max_dialect = hi;
    } else if (name == "--sign") {
      o.sign = true;
    } else if (name == "--encrypt") {
      if (!value(v)) return "--encrypt needs a cipher";
      o.encrypt = parse_cipher(v);
      if (!o.encrypt) return "unknown cipher " + v;
    } else if (name == "--transport") {
      if (!value(v)) return "--transport needs a value";
      if (v != "tcp" && v != "rdma") return "unknown transport " + v;
      o.transport = v;
    } else if (name == "--rdma-channel") {
      if (!value(v)) return "--rdma-channel needs a value";
      if (v != "inline" && v != "v1" && v != "v1-invalidate")
        return "unknown RDMA channel " + v + " (inline, v1 or v1-invalidate)";
      o.rdma_channel = v;
    } else if (name == "--multichannel") {
      o.multichannel = true;
    } else if (name == "--rdma-connections") {
      if (!value(v) || !parse_unsigned(v, 64, n)) return "--rdma-connections needs 0 to 64";
      o.rdma_connections = static_cast<unsigned>(n);
    } else if (name == "--rdma-port") {
      if (!value(v) || !parse_unsigned(v, 65535, n) || n == 0)
        return "--rdma-port needs a port number";
      o.rdma_port = static_cast<std::uint16_t>(n);
    } else if (name == "--rdma-fabric") {
      if (!value(v)) return "--rdma-fabric needs a value";
      if (v != "verbs" && v != "soft") return "unknown fabric " + v + " (verbs or soft)";
      o.rdma_fabric = v;
    } else if (name == "--connections" || name == "--jobs" || name == "--numjobs" ||
               name == "--iodepth" || name == "--nrfiles" || name == "--streams") {
      if (!value(v) || !parse_unsigned(v, 65536, n) || n == 0)
        return name + " needs a number from 1 to 65536";
      unsigned u = static_cast<unsigned>(n);
      if (name == "--connections")
        o.connections = u;
      else if (name == "--iodepth")
        o.iodepth = u;
      else if (name == "--nrfiles")
        o.nrfiles = u;
      else if (name == "--streams")
        o.streams = u;
      else
        o.jobs = u;
    } else if (name == "--rwmixread") {
      if (!value(v) || !parse_unsigned(v, 100, n)) return "--rwmixread is a percentage";
      o.rwmixread = static_cast<unsigned>(n);
    } else if (name == "--bs") {
      if (!value(v) || !parse_unsigned(v, 16u << 20, n) || n == 0) return "bad --bs";
      o.bs = static_cast<std::uint32_t>(n);
    } else if (name == "--size") {
      if (!value(v) || !parse_unsigned(v, std::uint64_t{1} << 50, n)) return "bad --size";
      o.size = n;
    } else if (name == "--rw" || name == "--readwrite") {
      if (!value(v)) return "--rw needs a mode";
      if (v == "read")
        o.rw = RwMode::read;
      else if (v == "write")
        o.rw = RwMode::write;
      else if (v == "randread")
        o.rw = RwMode::randread;
      else if (v == "randwrite")
        o.rw = RwMode::randwrite;
      else if (v == "randrw")
        o.rw = RwMode::randrw;
      else if (v == "rw" || v == "readwrite")
        o.rw = RwMode::rw;
      else
        return "unknown --rw " + v;
    } else if (name == "--workload") {
      if (!value(v)) return "--workload needs a value";
      if (v == "io")
        o.workload = Workload::io;
      else if (v == "create-close")
        o.workload = Workload::create_close;
      else if (v == "open-close")
        o.workload = Workload::open_close;
      else if (v == "stat")
        o.workload = Workload::stat;
      else if (v == "fstat")
        o.workload = Workload::fstat;
      else if (v == "setinfo")
        o.workload = Workload::setinfo;
      else if (v == "readdir")
        o.workload = Workload::readdir;
      else if (v == "create-delete")
        o.workload = Workload::create_delete;
      else if (v == "echo")
        o.workload = Workload::echo;
      else if (v == "lock")
        o.workload = Workload::lock;
      else if (v == "alternate-open")
        o.workload = Workload::alternate_open;
      else if (v.rfind("replay:", 0) == 0 && v.size() > 7) {
        o.workload = Workload::replay;
        o.replay_file = v.substr(7);
      } else
        return "unknown workload " + v;
    } else if (name == "--runtime") {
      if (!value(v) || !parse_seconds(v, o.runtime)) return "bad --runtime";
    } else if (name == "--ops") {
      if (!value(v) || !parse_unsigned(v, std::uint64_t{1} << 62, n) || n == 0) return "bad --ops";
      o.ops = n;
    } else if (name == "--ramp" || name == "--ramp_time") {
      if (!value(v) || !parse_seconds(v, o.ramp)) return "bad --ramp";
    } else if (name == "--seed") {
      if (!value(v) || !parse_unsigned(v, ~std::uint64_t{0}, n)) return "bad --seed";
      o.seed = n;
    } else if (name == "--verify") {
      o.verify = true;
    } else if (name == "--json") {
      if (!value(v)) return "--json needs a file";
      o.json_file = v;
    } else if (name == "--plot") {
      if (!value(v)) return "--plot needs a file";
      if (!(v.ends_with(".svg") || v.ends_with(".png")))
        return "--plot file must end in .svg or .png";
      o.plot_file = v;
    } else if (name == "--dir") {
      if (!value(v) || v.empty()) return "--dir needs a name";
      o.directory = v;
    } else if (name == "--keep") {
      o.keep = true;
    } else if (name == "--quiet") {
      o.quiet = true;
    } else {
      return "unknown option " + a;
    }
  }
  if (!have_target) return "no target //host[:port]/share";
  if (o.transport == "rdma" && !o.port_given) o.port = 5445;  // [MS-SMBD] 2.1
  if (o.rdma_connections > 0 && !o.multichannel)
    return "--rdma-connections needs --multichannel";
  if (o.rdma_channel != "inline" && o.transport != "rdma" && o.rdma_connections == 0)
    return "--rdma-channel needs SMB Direct (--transport rdma or --rdma-connections)";
  if (o.multichannel && o.max_dialect < 0x0300) return "--multichannel needs dialect 3.0 or later";
  if (!have_password && !o.user.empty()) {
    if (const char* env = std::getenv("SMB_PASSWORD")) o.password = env;
  }
  if (o.size < o.bs && o.workload == Workload::io) return "--size is smaller than --bs";
  if (o.encrypt && o.max_dialect < 0x0300) return "--encrypt needs dialect 3.0 or later";
  if (o.runtime == 0 && o.ops == 0) o.runtime = 10;
  return {};
}

}  // namespace smb::bench
