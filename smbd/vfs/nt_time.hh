// NT time: 100-nanosecond intervals since 1601-01-01 UTC ([MS-DTYP] 2.3.3 FILETIME).
#pragma once

#include <time.h>

#include <cstdint>

namespace smb::vfs {

// 100-ns intervals between 1601-01-01 and 1970-01-01.
inline constexpr std::uint64_t kNtUnixEpochDelta = 116444736000000000ULL;

// Sub-100-ns precision is truncated; times before 1601 become 0.
std::uint64_t nt_time_from_unix(std::int64_t seconds, std::uint32_t nanoseconds);
std::uint64_t nt_time_from_timespec(const timespec& ts);
// Inverse of nt_time_from_timespec at 100-ns resolution.
timespec timespec_from_nt_time(std::uint64_t nt);

// [MS-FSCC] 2.4.7: in a set request 0 means "do not change" and -1 (and, since
// Windows 8, -2) means "stop updating it on this handle"; neither is a real time.
constexpr bool nt_time_is_no_change(std::uint64_t nt) {
  return nt == 0 || nt == ~std::uint64_t{0} || nt == ~std::uint64_t{0} - 1;
}

}  // namespace smb::vfs
