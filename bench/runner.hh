// Runs a benchmark: one thread per connection, each driving the jobs assigned to it
// through the connection's poll loop with `iodepth` requests in flight per job.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

#include "bench/histogram.hh"
#include "bench/options.hh"

namespace smb::bench {

inline constexpr double kTimelineStep = 0.1;  // seconds per throughput sample

struct Stats {
  Histogram all;    // every operation, nanoseconds
  Histogram reads;  // io workload only
  Histogram writes;
  std::uint64_t read_bytes = 0;
  std::uint64_t write_bytes = 0;
  std::uint64_t errors = 0;
  std::uint64_t verified_bytes = 0;
  std::uint64_t verify_failures = 0;
  std::vector<std::uint64_t> timeline_ops;  // per kTimelineStep, ramp included
  std::vector<std::uint64_t> timeline_bytes;
  std::vector<std::string> messages;  // first errors and verify failures

  void merge(const Stats& o);
  void note(const std::string& message);
};

struct RunResult {
  Stats stats;
  double seconds = 0;  // measured time (after ramp)
  // The measured window on CLOCK_MONOTONIC (std::chrono::steady_clock), in seconds.
  double window_start = 0;
  double window_end = 0;
  double cpu_user = 0;
  double cpu_system = 0;
  std::string dialect;
  std::string signing;
  std::string encryption;
  std::string failure;  // set when the run could not complete
};

// Counters the progress line reads while the run goes on.
struct Progress {
  std::atomic<std::uint64_t> ops{0};
  std::atomic<std::uint64_t> bytes{0};
  std::atomic<bool> running{false};
  std::atomic<bool> abort{false};
};

RunResult run_benchmark(const BenchOptions& options, Progress& progress);

}  // namespace smb::bench
