#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

#include "bench/histogram.hh"

using smb::bench::Histogram;

namespace {

// The exact value at a percentile, by the same rank rule the histogram uses.
std::uint64_t exact(std::vector<std::uint64_t> v, double p) {
  std::sort(v.begin(), v.end());
  auto rank = static_cast<std::size_t>(std::ceil(p / 100.0 * static_cast<double>(v.size())));
  rank = std::clamp<std::size_t>(rank, 1, v.size());
  return v[rank - 1];
}

void check_within_error(const Histogram& h, const std::vector<std::uint64_t>& values) {
  for (double p : {1.0, 10.0, 50.0, 90.0, 99.0, 99.9, 99.99, 100.0}) {
    double want = static_cast<double>(exact(values, p));
    double got = static_cast<double>(h.percentile(p));
    CAPTURE(p);
    CHECK(std::abs(got - want) <= want * Histogram::kMaxRelativeError + 0.5);
  }
}

}  // namespace

TEST_CASE("histogram buckets cover every value with bounded width") {
  for (std::uint64_t v : {0ull, 1ull, 127ull, 128ull, 129ull, 255ull, 256ull, 1000ull, 123456789ull,
                          (1ull << 40) + 12345ull, ~0ull}) {
    std::size_t i = Histogram::index_of(v);
    REQUIRE(i < Histogram::bucket_count());
    CHECK(Histogram::bucket_low(i) <= v);
    CHECK(v - Histogram::bucket_low(i) < Histogram::bucket_width(i));
    CHECK(static_cast<double>(Histogram::bucket_width(i)) / 2 <=
          std::max(1.0, static_cast<double>(v) * Histogram::kMaxRelativeError * 2));
  }
  // Buckets are contiguous and increasing.
  for (std::size_t i = 1; i < Histogram::bucket_count(); ++i)
    REQUIRE(Histogram::bucket_low(i) ==
            Histogram::bucket_low(i - 1) + Histogram::bucket_width(i - 1));
}

TEST_CASE("histogram percentiles of a uniform distribution are within the stated error") {
  std::mt19937_64 rng(7);
  std::uniform_int_distribution<std::uint64_t> d(1000, 5000000);
  std::vector<std::uint64_t> values(200000);
  Histogram h;
  for (auto& v : values) h.record(v = d(rng));
  CHECK(h.count() == values.size());
  CHECK(h.min() == *std::min_element(values.begin(), values.end()));
  CHECK(h.max() == *std::max_element(values.begin(), values.end()));
  check_within_error(h, values);
}

TEST_CASE("histogram percentiles of a long-tailed (log-normal) distribution") {
  std::mt19937_64 rng(11);
  std::lognormal_distribution<double> d(10.0, 1.5);  // median ~22 us in ns, long tail
  std::vector<std::uint64_t> values(300000);
  Histogram h;
  for (auto& v : values) h.record(v = static_cast<std::uint64_t>(d(rng)) + 1);
  check_within_error(h, values);
  double mean = 0;
  for (auto v : values) mean += static_cast<double>(v);
  CHECK(h.mean() == doctest::Approx(mean / static_cast<double>(values.size())).epsilon(1e-9));
}

TEST_CASE("histogram of a constant and of small exact values") {
  Histogram h;
  h.record(42, 1000);
  CHECK(h.percentile(0.1) == 42);
  CHECK(h.percentile(50) == 42);
  CHECK(h.percentile(100) == 42);
  Histogram s;
  for (std::uint64_t v = 1; v <= 100; ++v) s.record(v);
  CHECK(s.percentile(50) == 50);
  CHECK(s.percentile(99) == 99);
  CHECK(s.percentile(100) == 100);
}

TEST_CASE("histogram merge equals recording everything in one") {
  std::mt19937_64 rng(3);
  Histogram a, b, both;
  for (int i = 0; i < 10000; ++i) {
    std::uint64_t v = rng() % 10000000;
    (i % 2 ? a : b).record(v);
    both.record(v);
  }
  a.merge(b);
  CHECK(a.count() == both.count());
  CHECK(a.min() == both.min());
  CHECK(a.max() == both.max());
  for (double p : {50.0, 90.0, 99.0, 99.9}) CHECK(a.percentile(p) == both.percentile(p));
  Histogram empty;
  CHECK(empty.percentile(99) == 0);
  CHECK(empty.count() == 0);
}
