// Presenting a run: the result table, JSON, and the gnuplot plot.
#pragma once

#include <string>

#include "bench/options.hh"
#include "bench/runner.hh"

namespace smb::bench {

std::string format_table(const BenchOptions& o, const RunResult& r);
std::string format_json(const BenchOptions& o, const RunResult& r);
// Writes the data and script next to a temporary directory and runs gnuplot. Returns an
// error message or empty.
std::string write_plot(const BenchOptions& o, const RunResult& r, const std::string& file);
std::string format_size(std::uint64_t bytes);

}  // namespace smb::bench
