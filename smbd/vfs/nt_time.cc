#include "smbd/vfs/nt_time.hh"

namespace smb::vfs {

namespace {
constexpr std::int64_t kTicksPerSecond = 10'000'000;
// Seconds from 1601 to 1970.
constexpr std::int64_t kEpochSeconds =
    static_cast<std::int64_t>(kNtUnixEpochDelta) / kTicksPerSecond;
}  // namespace

std::uint64_t nt_time_from_unix(std::int64_t seconds, std::uint32_t nanoseconds) {
  if (seconds < -kEpochSeconds) return 0;
  // Seconds since 1601 are non-negative here; the product cannot overflow for any
  // time a 64-bit NT time can represent (year 30828).
  const auto since_1601 = static_cast<std::uint64_t>(seconds + kEpochSeconds);
  if (since_1601 > ~std::uint64_t{0} / kTicksPerSecond - 1) return ~std::uint64_t{0} - 2;
  return since_1601 * kTicksPerSecond + nanoseconds / 100;
}

std::uint64_t nt_time_from_timespec(const timespec& ts) {
  return nt_time_from_unix(static_cast<std::int64_t>(ts.tv_sec),
                           static_cast<std::uint32_t>(ts.tv_nsec));
}

timespec timespec_from_nt_time(std::uint64_t nt) {
  timespec ts{};
  const auto seconds = static_cast<std::int64_t>(nt / kTicksPerSecond);
  ts.tv_sec = static_cast<time_t>(seconds - kEpochSeconds);
  ts.tv_nsec = static_cast<long>((nt % kTicksPerSecond) * 100);
  return ts;
}

}  // namespace smb::vfs
