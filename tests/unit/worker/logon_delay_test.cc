// Pacing of failed logons (smbd/worker/logon_delay.hh).
#include <doctest/doctest.h>

#include "smbd/worker/logon_delay.hh"

using namespace smb::server;
using std::chrono::milliseconds;

TEST_CASE("failed logons: the first few are answered at once, later ones later and later") {
  for (unsigned n = 0; n <= kFreeFailedLogons; ++n) CHECK(failed_logon_delay(n) == milliseconds(0));
  CHECK(failed_logon_delay(kFreeFailedLogons + 1) == kFailedLogonStep);
  CHECK(failed_logon_delay(kFreeFailedLogons + 2) == 2 * kFailedLogonStep);
  for (unsigned n = kFreeFailedLogons + 1; n < 100; ++n)
    CHECK(failed_logon_delay(n) >= failed_logon_delay(n - 1));
  CHECK(failed_logon_delay(1000) == kMaxFailedLogonDelay);
  CHECK(failed_logon_delay(0xFFFFFFFFu) == kMaxFailedLogonDelay);
}

TEST_CASE("failed logons: counted by the peer's address, not its port") {
  CHECK(peer_host("192.0.2.1:50000") == "192.0.2.1");
  CHECK(peer_host("[2001:db8::1]:445") == "[2001:db8::1]");
  CHECK(peer_host("2001:db8::1") == "2001:db8::1");
  CHECK(peer_host("loopback") == "loopback");
  CHECK(peer_host("") == "");
}
