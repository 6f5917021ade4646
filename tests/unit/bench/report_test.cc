// smbbench's JSON report parses back with every field as given, whatever characters a
// share name or a server's message holds.
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "bench/report.hh"

using namespace smb::bench;

TEST_CASE("the JSON report parses back, quotes and control characters in names included") {
  BenchOptions o;
  o.host = "127.0.0.1";
  o.port = 4450;
  o.share = "share \"quoted\" \\ back\tslash";
  RunResult r;
  r.seconds = 2.5;
  r.window_start = 100.25;
  r.window_end = 102.75;
  r.dialect = "3.1.1";
  r.signing = "none";
  r.encryption = "none";
  r.failure = "line one\nline \x01 two \xff";  // invalid UTF-8 is replaced, not passed on
  r.stats.messages.push_back("job 0: open \"x\": 0xc0000034");
  r.stats.all.record(1500);
  r.stats.all.record(2500);

  nlohmann::json j = nlohmann::json::parse(format_json(o, r));
  CHECK(j["target"] == "//127.0.0.1:4450/share \"quoted\" \\ back\tslash");
  CHECK(j["seconds"] == doctest::Approx(2.5));
  CHECK(j["window"]["start_monotonic_s"] == doctest::Approx(100.25));
  CHECK(j["window"]["end_monotonic_s"] == doctest::Approx(102.75));
  CHECK(j["all"]["ops"] == 2);
  CHECK(j["all"]["iops"] == doctest::Approx(0.8));
  CHECK(j["messages"][0] == "job 0: open \"x\": 0xc0000034");
  std::string failure = j["failure"];
  CHECK(failure.rfind("line one\nline \x01 two ", 0) == 0);
  CHECK(failure.find('\xff') == std::string::npos);
  CHECK(j["all"]["lat_us"].contains("p99"));
}
