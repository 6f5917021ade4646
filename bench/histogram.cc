#include "bench/histogram.hh"

#include <algorithm>
#include <bit>
#include <cmath>

namespace smb::bench {

std::size_t Histogram::bucket_count() { return kSubCount + (64 - kSubBits) * kSubCount; }

Histogram::Histogram() : counts_(bucket_count(), 0) {}

std::size_t Histogram::index_of(std::uint64_t v) {
  if (v < kSubCount) return static_cast<std::size_t>(v);
  int msb = 63 - std::countl_zero(v);
  int shift = msb - kSubBits;
  std::uint64_t sub = (v >> shift) - kSubCount;
  return static_cast<std::size_t>(kSubCount + static_cast<std::uint64_t>(shift) * kSubCount + sub);
}

std::uint64_t Histogram::bucket_low(std::size_t i) {
  if (i < kSubCount) return i;
  std::uint64_t shift = (i - kSubCount) / kSubCount;
  std::uint64_t sub = (i - kSubCount) % kSubCount;
  return (kSubCount + sub) << shift;
}

std::uint64_t Histogram::bucket_width(std::size_t i) {
  if (i < kSubCount) return 1;
  return std::uint64_t{1} << ((i - kSubCount) / kSubCount);
}

void Histogram::record(std::uint64_t value, std::uint64_t times) {
  if (times == 0) return;
  counts_[index_of(value)] += times;
  if (count_ == 0 || value < min_) min_ = value;
  max_ = std::max(max_, value);
  count_ += times;
  sum_ += static_cast<long double>(value) * static_cast<long double>(times);
}

void Histogram::merge(const Histogram& o) {
  if (o.count_ == 0) return;
  for (std::size_t i = 0; i < counts_.size(); ++i) counts_[i] += o.counts_[i];
  if (count_ == 0 || o.min_ < min_) min_ = o.min_;
  max_ = std::max(max_, o.max_);
  count_ += o.count_;
  sum_ += o.sum_;
}

void Histogram::clear() {
  std::fill(counts_.begin(), counts_.end(), 0);
  count_ = min_ = max_ = 0;
  sum_ = 0;
}

std::uint64_t Histogram::percentile(double p) const {
  if (count_ == 0) return 0;
  p = std::clamp(p, 0.0, 100.0);
  auto rank = static_cast<std::uint64_t>(std::ceil(p / 100.0 * static_cast<double>(count_)));
  rank = std::clamp<std::uint64_t>(rank, 1, count_);
  std::uint64_t seen = 0;
  for (std::size_t i = 0; i < counts_.size(); ++i) {
    seen += counts_[i];
    if (seen >= rank) {
      std::uint64_t mid = bucket_low(i) + (bucket_width(i) - 1) / 2;
      return std::clamp(mid, min_, max_);
    }
  }
  return max_;
}

}  // namespace smb::bench
