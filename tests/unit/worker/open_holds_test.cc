#include <doctest/doctest.h>

#include <functional>
#include <string>
#include <vector>

#include "smbd/worker/open_holds.hh"

namespace smb::server {
namespace {

// Deferred functions run when the test says (a later turn of the loop).
struct Deferred {
  std::vector<std::function<void()>> queue;
  OpenHolds holds{[this](std::function<void()> fn) { queue.push_back(std::move(fn)); }};
  void run() {
    auto now = std::move(queue);
    queue.clear();
    for (auto& fn : now) fn();
  }
};

TEST_CASE("open holds: a CLOSE of an open not held runs at once") {
  Deferred d;
  bool closed = false;
  d.holds.when_released(FileId{1, 2}, [&] { closed = true; });
  CHECK(closed);
  CHECK(d.queue.empty());
}

TEST_CASE("open holds: a CLOSE waits for the last hold, and runs on a later turn") {
  Deferred d;
  FileId id{1, 2};
  FileId other{1, 3};
  d.holds.hold(id);
  d.holds.hold(id);
  d.holds.hold(other);
  std::string order;
  d.holds.when_released(id, [&] { order += "a"; });
  d.holds.when_released(id, [&] { order += "b"; });
  CHECK(d.holds.held(id));
  d.holds.release(id);
  d.run();
  CHECK(order.empty());  // one hold left
  d.holds.release(other);
  d.run();
  CHECK(order.empty());  // another open's hold says nothing of this one
  d.holds.release(id);
  CHECK(order.empty());  // deferred, not run inside the release
  CHECK_FALSE(d.holds.held(id));
  d.run();
  CHECK(order == "ab");
  // A release too many is ignored.
  d.holds.release(id);
  d.run();
  CHECK(order == "ab");
}

}  // namespace
}  // namespace smb::server
