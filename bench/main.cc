// smbbench: an fio-like load generator for SMB2/3 servers.
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <thread>

#include "bench/options.hh"
#include "bench/report.hh"
#include "bench/runner.hh"

int main(int argc, char** argv) {
  using namespace smb::bench;
  BenchOptions o;
  std::string error = parse_options(std::vector<std::string>(argv + 1, argv + argc), o);
  if (error == "help") {
    std::fputs(usage(), stdout);
    return 0;
  }
  if (!error.empty()) {
    std::fprintf(stderr, "smbbench: %s\n%s", error.c_str(), usage());
    return 2;
  }
  // A server or SMB Direct bridge that went away shows as a failed operation, not a kill.
  ::signal(SIGPIPE, SIG_IGN);
  Progress progress;
  RunResult result;
  std::thread runner([&] { result = run_benchmark(o, progress); });
  if (!o.quiet && isatty(STDERR_FILENO)) {
    // One line, rewritten every second, while the measured part runs.
    std::uint64_t last_ops = 0, last_bytes = 0;
    auto begin = std::chrono::steady_clock::now();
    bool shown = false;
    while (true) {
      for (int i = 0; i < 10 && !progress.abort; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        if (shown && !progress.running) break;
      }
      if (!progress.running) {
        if (shown || progress.abort) break;
        // Still setting up, or already done.
        if (std::chrono::steady_clock::now() - begin > std::chrono::hours(24)) break;
        if (result.seconds > 0 || !result.failure.empty()) break;
        continue;
      }
      shown = true;
      std::uint64_t ops = progress.ops, bytes = progress.bytes;
      double t = std::chrono::duration<double>(std::chrono::steady_clock::now() - begin).count();
      std::fprintf(stderr, "\r[%6.1f s] %10.0f IOPS %9.1f MB/s  %llu ops   ", t,
                   static_cast<double>(ops - last_ops), (bytes - last_bytes) / 1e6,
                   static_cast<unsigned long long>(ops));
      last_ops = ops;
      last_bytes = bytes;
    }
    if (shown) std::fputs("\n", stderr);
  }
  runner.join();
  if (!result.failure.empty()) {
    std::fprintf(stderr, "smbbench: %s\n", result.failure.c_str());
    return 1;
  }
  std::fputs(format_table(o, result).c_str(), stdout);
  if (!o.json_file.empty()) {
    std::ofstream j(o.json_file);
    j << format_json(o, result);
    if (!j) std::fprintf(stderr, "smbbench: cannot write %s\n", o.json_file.c_str());
  }
  if (!o.plot_file.empty()) {
    if (std::string e = write_plot(o, result, o.plot_file); !e.empty())
      std::fprintf(stderr, "smbbench: plot: %s\n", e.c_str());
  }
  return result.stats.verify_failures > 0 || result.stats.errors > 0 ? 3 : 0;
}
