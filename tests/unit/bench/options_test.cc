#include <doctest/doctest.h>

#include <cstdlib>

#include "bench/options.hh"

using namespace smb::bench;

TEST_CASE("sizes") {
  CHECK(parse_size("512") == 512u);
  CHECK(parse_size("4k") == 4096u);
  CHECK(parse_size("4K") == 4096u);
  CHECK(parse_size("1M") == 1u << 20);
  CHECK(parse_size("1MiB") == 1u << 20);
  CHECK(parse_size("2g") == 2ull << 30);
  CHECK_FALSE(parse_size("").has_value());
  CHECK_FALSE(parse_size("k").has_value());
  CHECK_FALSE(parse_size("4x").has_value());
  CHECK_FALSE(parse_size("-1").has_value());
  CHECK_FALSE(parse_size("99999999999999999999").has_value());
  CHECK_FALSE(parse_size("17179869184g").has_value());
}

TEST_CASE("a full command line") {
  BenchOptions o;
  std::string e = parse_options({"//127.0.0.1:4455/share",
                                 "-U",
                                 "DOM\\alice%secret",
                                 "--dialect",
                                 "3.0-3.1.1",
                                 "--encrypt",
                                 "aes-128-gcm",
                                 "--jobs",
                                 "4",
                                 "--connections=2",
                                 "--iodepth",
                                 "16",
                                 "--bs",
                                 "64k",
                                 "--size",
                                 "8M",
                                 "--rw",
                                 "randrw",
                                 "--rwmixread",
                                 "70",
                                 "--runtime",
                                 "5",
                                 "--verify",
                                 "--json",
                                 "out.json",
                                 "--plot",
                                 "out.svg"},
                                o);
  REQUIRE(e.empty());
  CHECK(o.host == "127.0.0.1");
  CHECK(o.port == 4455);
  CHECK(o.share == "share");
  CHECK(o.domain == "DOM");
  CHECK(o.user == "alice");
  CHECK(o.password == "secret");
  CHECK(o.min_dialect == 0x0300);
  CHECK(o.max_dialect == 0x0311);
  CHECK(o.encrypt == smb::crypto::Cipher::AES_128_GCM);
  CHECK(o.jobs == 4);
  CHECK(o.connections == 2);
  CHECK(o.iodepth == 16);
  CHECK(o.bs == 65536);
  CHECK(o.size == 8u << 20);
  CHECK(o.rw == RwMode::randrw);
  CHECK(o.rwmixread == 70);
  CHECK(o.runtime == 5.0);
  CHECK(o.verify);
}

TEST_CASE("SMB Direct transport: port 5445 unless given") {
  BenchOptions o;
  CHECK(parse_options({"//h/s", "--transport", "rdma"}, o).empty());
  CHECK(o.transport == "rdma");
  CHECK(o.rdma_fabric == "verbs");
  CHECK(o.port == 5445);
  BenchOptions p;
  CHECK(parse_options({"//h:7000/s", "--transport=rdma", "--rdma-fabric", "soft"}, p).empty());
  CHECK(p.port == 7000);
  CHECK(p.rdma_fabric == "soft");
  CHECK(p.rdma_channel == "inline");
}

TEST_CASE("RDMA channels: v1 and v1-invalidate over SMB Direct only") {
  BenchOptions o;
  CHECK(parse_options({"//h/s", "--transport", "rdma", "--rdma-channel", "v1"}, o).empty());
  CHECK(o.rdma_channel == "v1");
  BenchOptions p;
  CHECK(parse_options({"//h/s", "--transport", "rdma", "--rdma-channel=v1-invalidate"}, p).empty());
  CHECK(p.rdma_channel == "v1-invalidate");
  BenchOptions q;
  CHECK(parse_options({"//h/s", "--rdma-channel", "v1"}, q) ==
        "--rdma-channel needs SMB Direct (--transport rdma or --rdma-connections)");
  BenchOptions r;
  CHECK_FALSE(parse_options({"//h/s", "--transport", "rdma", "--rdma-channel", "v2"}, r).empty());
}

TEST_CASE("multi-channel: SMB Direct channels besides the connections, one session") {
  BenchOptions o;
  CHECK(parse_options({"//h/s", "--multichannel", "--connections", "2", "--rdma-connections", "2",
                       "--rdma-port", "7445", "--rdma-channel", "v1"},
                      o)
            .empty());
  CHECK(o.multichannel);
  CHECK(o.channels() == 4);
  CHECK(o.rdma_port == 7445);
  BenchOptions p;
  CHECK(parse_options({"//h/s", "--rdma-connections", "1"}, p) ==
        "--rdma-connections needs --multichannel");
  BenchOptions q;
  CHECK_FALSE(parse_options({"//h/s", "--multichannel", "--dialect", "2.1"}, q).empty());
}

TEST_CASE("command line errors") {
  BenchOptions o;
  CHECK_FALSE(parse_options({"//h/s", "--transport", "udp"}, o).empty());
  CHECK_FALSE(parse_options({"//h/s", "--transport", "rdma", "--rdma-fabric", "ib"}, o).empty());
  CHECK_FALSE(parse_options({"--bs", "4k"}, o).empty());
  CHECK_FALSE(parse_options({"//h/s", "--rw", "sideways"}, o).empty());
  CHECK_FALSE(parse_options({"//h/s", "--iodepth", "0"}, o).empty());
  CHECK_FALSE(parse_options({"//h/s", "--rwmixread", "101"}, o).empty());
  CHECK_FALSE(parse_options({"//h/s", "--plot", "x.pdf"}, o).empty());
  CHECK_FALSE(parse_options({"//h/s", "--dialect", "2.1", "--encrypt", "aes-128-ccm"}, o).empty());
  BenchOptions r;
  CHECK(parse_options({"//h/s", "--workload", "replay:ops.txt"}, r).empty());
  CHECK(r.workload == Workload::replay);
  CHECK(r.replay_file == "ops.txt");
  CHECK(r.runtime == 10.0);  // the default duration
}

TEST_CASE("password from SMB_PASSWORD") {
  setenv("SMB_PASSWORD", "from-env", 1);
  BenchOptions o;
  CHECK(parse_options({"//h/s", "-U", "bob"}, o).empty());
  CHECK(o.password == "from-env");
  unsetenv("SMB_PASSWORD");
}
