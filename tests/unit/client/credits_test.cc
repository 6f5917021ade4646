#include <doctest/doctest.h>

#include "smbd/client/credits.hh"

using smb::client::CreditWindow;

TEST_CASE("credit charge of multi-credit requests (MS-SMB2 3.1.5.2)") {
  CHECK(CreditWindow::charge_for(0, 0) == 1);
  CHECK(CreditWindow::charge_for(100, 0) == 1);
  CHECK(CreditWindow::charge_for(65536, 0) == 1);
  CHECK(CreditWindow::charge_for(65537, 0) == 2);
  CHECK(CreditWindow::charge_for(0, 1 << 20) == 16);
  CHECK(CreditWindow::charge_for(48, 8u << 20) == 128);
}

TEST_CASE("message ids advance by the charge and credits are spent and granted") {
  CreditWindow w(64, 1);
  REQUIRE(w.can_spend(1));
  auto neg = w.spend(0);  // NEGOTIATE: charge 0 counts as one
  CHECK(neg.message_id == 0);
  CHECK(neg.credit_request == 64);  // asks up to the target
  CHECK_FALSE(w.can_spend(1));
  w.on_response(31, 0, neg.extra, true);
  CHECK(w.available() == 31);
  CHECK(w.in_flight() == 0);
  auto big = w.spend(16);
  CHECK(big.message_id == 1);
  CHECK(w.next_message_id() == 17);
  CHECK(w.available() == 15);
  CHECK(w.in_flight() == 16);
  CHECK_FALSE(w.can_spend(16));
  CHECK(w.can_spend(15));
  auto small = w.spend(1);
  CHECK(small.message_id == 17);
  w.on_response(16, 16, big.extra, true);
  w.on_response(1, 1, small.extra, true);
  CHECK(w.available() == 31);
  CHECK(w.in_flight() == 0);
}

TEST_CASE("an interim response grants credits but keeps the request outstanding") {
  CreditWindow w(8, 4);
  auto s = w.spend(1);
  CHECK(w.in_flight() == 1);
  w.on_response(1, 1, s.extra, false);  // STATUS_PENDING interim
  CHECK(w.in_flight() == 1);
  CHECK(w.available() == 4);
  w.on_response(0, 1, s.extra, true);
  CHECK(w.in_flight() == 0);
  CHECK(w.available() == 4);
}

TEST_CASE("a deep queue does not ask for more than the target in all") {
  CreditWindow w(100, 100);
  unsigned asked = 0;
  for (int i = 0; i < 50; ++i) asked += w.spend(1).credit_request;
  // 50 requests of charge 1 ask for their own credit back and nothing beyond.
  CHECK(asked == 50);
  CreditWindow grow(200, 10);
  unsigned extra = 0;
  for (int i = 0; i < 10; ++i) extra += grow.spend(1).extra;
  CHECK(extra == 190);
}
