#include <doctest/doctest.h>

#include "smbd/vfs/nt_time.hh"

using namespace smb::vfs;

TEST_CASE("nt time: epoch and round trip at 100 ns resolution") {
  CHECK(nt_time_from_unix(0, 0) == kNtUnixEpochDelta);
  CHECK(kNtUnixEpochDelta == 116444736000000000ULL);
  // 2000-01-01T00:00:00Z = 946684800 -> 125911584000000000.
  CHECK(nt_time_from_unix(946684800, 0) == 125911584000000000ULL);
  CHECK(nt_time_from_unix(1, 123456789) == kNtUnixEpochDelta + 10000000 + 1234567);
  timespec ts{1700000000, 987654321};
  const auto nt = nt_time_from_timespec(ts);
  const timespec back = timespec_from_nt_time(nt);
  CHECK(back.tv_sec == ts.tv_sec);
  CHECK(back.tv_nsec == 987654300);  // truncated to 100 ns
  CHECK(nt_time_from_timespec(back) == nt);
  // Before 1970 and before 1601.
  CHECK(nt_time_from_unix(-1, 0) == kNtUnixEpochDelta - 10000000);
  CHECK(timespec_from_nt_time(kNtUnixEpochDelta - 10000000).tv_sec == -1);
  CHECK(nt_time_from_unix(-20000000000LL, 0) == 0);
  CHECK(timespec_from_nt_time(0).tv_sec == -11644473600LL);
  CHECK(nt_time_is_no_change(0));
  CHECK(nt_time_is_no_change(~0ULL));
  CHECK(nt_time_is_no_change(~0ULL - 1));
  CHECK_FALSE(nt_time_is_no_change(kNtUnixEpochDelta));
}
