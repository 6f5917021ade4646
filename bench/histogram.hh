// A latency histogram with log-linear buckets (HDR style): values below 2^kSubBits are
// counted exactly; above, every power-of-two range [2^k, 2^(k+1)) is split into
// 2^kSubBits equal buckets. A percentile is reported as its bucket's midpoint, so its
// relative error is at most 2^-(kSubBits+1) (0.2 % here). Min, max and mean are exact.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace smb::bench {

class Histogram {
 public:
  static constexpr int kSubBits = 7;
  static constexpr std::uint64_t kSubCount = std::uint64_t{1} << kSubBits;
  static constexpr double kMaxRelativeError = 1.0 / (2.0 * static_cast<double>(kSubCount));

  Histogram();

  void record(std::uint64_t value, std::uint64_t times = 1);
  void merge(const Histogram& other);
  void clear();

  std::uint64_t count() const { return count_; }
  std::uint64_t min() const { return count_ == 0 ? 0 : min_; }
  std::uint64_t max() const { return max_; }
  double mean() const { return count_ == 0 ? 0.0 : static_cast<double>(sum_ / count_); }
  // The value at percentile `p` (0 < p <= 100): the midpoint of the bucket holding the
  // ceil(p/100 * count)-th smallest value, clamped to [min, max]. 0 when empty.
  std::uint64_t percentile(double p) const;

  static std::size_t index_of(std::uint64_t value);
  static std::uint64_t bucket_low(std::size_t index);
  static std::uint64_t bucket_width(std::size_t index);
  static std::size_t bucket_count();

 private:
  std::vector<std::uint64_t> counts_;
  std::uint64_t count_ = 0;
  std::uint64_t min_ = 0;
  std::uint64_t max_ = 0;
  long double sum_ = 0;  // exact enough for a mean; no overflow
};

}  // namespace smb::bench
