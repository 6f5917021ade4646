#include "bench/report.hh"

#include <nlohmann/json.hpp>

#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace smb::bench {

namespace {

constexpr double kPercentiles[] = {50, 90, 99, 99.9};

std::string printf_string(const char* format, ...) __attribute__((format(printf, 1, 2)));
std::string printf_string(const char* format, ...) {
  char buf[512];
  va_list args;
  va_start(args, format);
  std::vsnprintf(buf, sizeof buf, format, args);
  va_end(args);
  return buf;
}

double us(std::uint64_t ns) { return static_cast<double>(ns) / 1000.0; }

std::string row(const char* name, const Histogram& h, std::uint64_t bytes, double seconds) {
  double s = seconds > 0 ? seconds : 1;
  return printf_string("%-7s %10llu %11.0f %9.1f %8.1f %8.1f %8.1f %8.1f %8.1f %9.1f\n", name,
                       static_cast<unsigned long long>(h.count()), h.count() / s, bytes / s / 1e6,
                       us(h.min()), us(h.percentile(50)), us(h.percentile(90)),
                       us(h.percentile(99)), us(h.percentile(99.9)), us(h.max()));
}

nlohmann::ordered_json json_hist(const Histogram& h, std::uint64_t bytes, double seconds) {
  double s = seconds > 0 ? seconds : 1;
  nlohmann::ordered_json latency;
  latency["min"] = us(h.min());
  latency["mean"] = h.mean() / 1000.0;
  for (double p : kPercentiles) latency[printf_string("p%g", p)] = us(h.percentile(p));
  latency["max"] = us(h.max());
  nlohmann::ordered_json out;
  out["ops"] = h.count();
  out["iops"] = h.count() / s;
  out["bytes"] = bytes;
  out["mb_per_s"] = bytes / s / 1e6;
  out["lat_us"] = std::move(latency);
  return out;
}

}  // namespace

std::string format_size(std::uint64_t b) {
  if (b >= (1u << 30) && b % (1u << 30) == 0) return std::to_string(b >> 30) + "G";
  if (b >= (1u << 20) && b % (1u << 20) == 0) return std::to_string(b >> 20) + "M";
  if (b >= (1u << 10) && b % (1u << 10) == 0) return std::to_string(b >> 10) + "k";
  return std::to_string(b);
}

std::string format_table(const BenchOptions& o, const RunResult& r) {
  std::string out;
  out += printf_string("smbbench //%s:%u/%s  dialect %s  signing %s  encryption %s\n",
                       o.host.c_str(), o.port, o.share.c_str(), r.dialect.c_str(),
                       r.signing.c_str(), r.encryption.c_str());
  std::string what = workload_name(o.workload);
  if (o.workload == Workload::io)
    what += std::string(" ") + rw_name(o.rw) + " bs " + format_size(o.bs) + " size " +
            format_size(o.size);
  out += printf_string("workload %s  connections %u jobs %u iodepth %u nrfiles %u  %.2f s%s\n",
                       what.c_str(), std::min(o.channels(), o.jobs), o.jobs, o.iodepth, o.nrfiles,
                       r.seconds, o.verify ? "  verify" : "");
  out += printf_string("%-7s %10s %11s %9s %8s %8s %8s %8s %8s %9s\n", "", "ops", "IOPS", "MB/s",
                       "min", "p50", "p90", "p99", "p99.9", "max(us)");
  const Stats& s = r.stats;
  if (o.workload == Workload::io || o.workload == Workload::replay) {
    if (s.reads.count() > 0) out += row("read", s.reads, s.read_bytes, r.seconds);
    if (s.writes.count() > 0) out += row("write", s.writes, s.write_bytes, r.seconds);
  }
  out += row("all", s.all, s.read_bytes + s.write_bytes, r.seconds);
  double cpu = r.cpu_user + r.cpu_system;
  out += printf_string("client CPU: user %.2f s, system %.2f s (%.0f%% of one core)\n", r.cpu_user,
                       r.cpu_system, r.seconds > 0 ? 100.0 * cpu / r.seconds : 0.0);
  if (o.verify)
    out += printf_string("verify: %.1f MB checked, %llu failure(s)\n", s.verified_bytes / 1e6,
                         static_cast<unsigned long long>(s.verify_failures));
  if (s.errors > 0)
    out += printf_string("errors: %llu\n", static_cast<unsigned long long>(s.errors));
  for (const auto& m : s.messages) out += "  " + m + "\n";
  return out;
}

std::string format_json(const BenchOptions& o, const RunResult& r) {
  const Stats& s = r.stats;
  // A JSON library writes it: names of shares, directories and error messages may hold
  // any character, and invalid UTF-8 from a server is replaced rather than passed on.
  nlohmann::ordered_json j;
  j["target"] = "//" + o.host + ":" + std::to_string(o.port) + "/" + o.share;
  j["dialect"] = r.dialect;
  j["signing"] = r.signing;
  j["encryption"] = r.encryption;
  j["workload"] = workload_name(o.workload);
  j["rw"] = rw_name(o.rw);
  j["bs"] = o.bs;
  j["size"] = o.size;
  j["connections"] = std::min(o.channels(), o.jobs);
  j["multichannel"] = o.multichannel;
  j["rdma_connections"] = o.rdma_connections;
  j["jobs"] = o.jobs;
  j["iodepth"] = o.iodepth;
  j["nrfiles"] = o.nrfiles;
  j["verify"] = o.verify;
  j["seconds"] = r.seconds;
  // The measured part of the run on CLOCK_MONOTONIC, so that a caller can relate figures
  // it samples itself (a server's CPU time) to exactly this window.
  j["window"] = {{"start_monotonic_s", r.window_start}, {"end_monotonic_s", r.window_end}};
  j["all"] = json_hist(s.all, s.read_bytes + s.write_bytes, r.seconds);
  j["read"] = json_hist(s.reads, s.read_bytes, r.seconds);
  j["write"] = json_hist(s.writes, s.write_bytes, r.seconds);
  j["cpu"] = {{"user_s", r.cpu_user}, {"system_s", r.cpu_system}};
  j["errors"] = s.errors;
  j["verified_bytes"] = s.verified_bytes;
  j["verify_failures"] = s.verify_failures;
  auto timeline = nlohmann::ordered_json::array();
  for (std::size_t i = 0; i < s.timeline_ops.size(); ++i)
    timeline.push_back({i * kTimelineStep, s.timeline_ops[i], s.timeline_bytes[i]});
  j["timeline"] = std::move(timeline);
  j["messages"] = s.messages;
  j["failure"] = r.failure;
  return j.dump(2, ' ', false, nlohmann::ordered_json::error_handler_t::replace) + "\n";
}

std::string write_plot(const BenchOptions& o, const RunResult& r, const std::string& file) {
  namespace fs = std::filesystem;
  char tmpl[] = "/tmp/smbbench-plot-XXXXXX";
  if (mkdtemp(tmpl) == nullptr) return "cannot create a temporary directory";
  fs::path dir(tmpl);
  const Stats& s = r.stats;
  {
    // Percentile curve: x is 1 / (1 - p), so that 90, 99, 99.9 are evenly spaced.
    std::ofstream pct(dir / "pct.dat");
    for (double t = 0; t <= 5.0001; t += 0.02) {
      double p = 100.0 * (1.0 - std::pow(10.0, -t));
      if (p <= 0) p = 0.0001;
      pct << std::pow(10.0, t) << " " << us(s.all.percentile(p)) << " " << us(s.reads.percentile(p))
          << " " << us(s.writes.percentile(p)) << "\n";
    }
    std::ofstream tl(dir / "timeline.dat");
    for (std::size_t i = 0; i < s.timeline_ops.size(); ++i)
      tl << (i + 0.5) * kTimelineStep << " " << s.timeline_bytes[i] / kTimelineStep / 1e6 << " "
         << s.timeline_ops[i] / kTimelineStep << "\n";
  }
  const bool svg = file.ends_with(".svg");
  std::ofstream g(dir / "plot.gp");
  g << (svg ? "set terminal svg size 900,900 dynamic\n" : "set terminal png size 900,900\n");
  g << "set output '" << fs::absolute(file).string() << "'\n";
  g << "set multiplot layout 2,1 title 'smbbench " << workload_name(o.workload) << " "
    << (o.workload == Workload::io ? rw_name(o.rw) : "") << " bs " << format_size(o.bs)
    << " iodepth " << o.iodepth << " jobs " << o.jobs << " (dialect " << r.dialect << ", signing "
    << r.signing << ", encryption " << r.encryption << ")'\n";
  g << "set grid\nset logscale x\nset logscale y\n"
       "set xtics ('0' 1, '90' 10, '99' 100, '99.9' 1000, '99.99' 10000, '99.999' 100000)\n"
       "set xlabel 'percentile'\nset ylabel 'latency (us)'\nset key top left\n";
  g << "plot '" << (dir / "pct.dat").string() << "' using 1:2 with lines lw 2 title 'all'";
  if (s.reads.count() > 0 && s.writes.count() > 0)
    g << ", '' using 1:3 with lines title 'read', '' using 1:4 with lines title 'write'";
  g << "\nunset logscale x\nunset logscale y\nset xtics auto\n"
       "set xlabel 'time (s)'\nset ylabel 'MB/s'\nset y2label 'IOPS'\nset y2tics\n"
       "set ytics nomirror\nset yrange [0:*]\nset y2range [0:*]\n";
  g << "plot '" << (dir / "timeline.dat").string()
    << "' using 1:2 axes x1y1 with lines lw 2 title 'MB/s', '' using 1:3 axes x1y2 with lines "
       "title 'IOPS'\nunset multiplot\n";
  g.close();
  pid_t pid = fork();
  if (pid == 0) {
    std::string script = (dir / "plot.gp").string();
    execlp("gnuplot", "gnuplot", script.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  int status = 0;
  if (pid < 0 || waitpid(pid, &status, 0) < 0) return "cannot run gnuplot";
  std::error_code ec;
  fs::remove_all(dir, ec);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    return WIFEXITED(status) && WEXITSTATUS(status) == 127 ? "gnuplot is not installed"
                                                           : "gnuplot failed";
  return {};
}

}  // namespace smb::bench
