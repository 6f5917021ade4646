#include <doctest/doctest.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <cstring>
#include <thread>

#include "shmring/channel.hh"
#include "smbd/base/fd_passing.hh"
#include "shmring/slot_pool.hh"
#include "test_util.hh"

using namespace smb::shmring;
using smb::UniqueFd;
using smb::Received;
using smb::receive_with_fds;
using smb::send_with_fds;
using namespace smb::shmring::test;
using namespace std::chrono_literals;

namespace {

const Geometry kGeometry{8, 4, 4096};

bool readable(int fd, int timeout_ms = 0) {
  pollfd p{fd, POLLIN, 0};
  return ::poll(&p, 1, timeout_ms) == 1 && (p.revents & POLLIN) != 0;
}

Errc attach_error(UniqueFd socket) {
  try {
    Channel::attach(std::move(socket), 1000);
  } catch (const Error& e) {
    return e.code();
  }
  FAIL("attach accepted a bad handshake");
  return Errc::system;
}

}  // namespace

TEST_CASE("channel: handshake gives both sides the same segment and geometry") {
  auto [creator, attacher] = channel_pair(kGeometry);
  CHECK(creator.role() == Role::creator);
  CHECK(attacher.role() == Role::attacher);
  CHECK(attacher.geometry() == kGeometry);
  CHECK(creator.segment().layout().total_size == attacher.segment().layout().total_size);

  // Data written through one mapping is visible through the other.
  Descriptor d;
  d.slot = 2;
  d.slot_offset = 100;
  d.length = 5;
  auto mine = creator.slot_bytes(d);
  REQUIRE(mine);
  std::memcpy(mine->data(), "hello", 5);
  REQUIRE(creator.send(d) == RingStatus::ok);
  Descriptor got;
  REQUIRE(attacher.receive(got) == RingStatus::ok);
  auto theirs = attacher.slot_bytes(got);
  REQUIRE(theirs);
  CHECK(std::memcmp(theirs->data(), "hello", 5) == 0);

  got.status = 0xC0000001;
  REQUIRE(attacher.send(got) == RingStatus::ok);
  Descriptor back;
  REQUIRE(creator.receive(back) == RingStatus::ok);
  CHECK(back.status == 0xC0000001);
  CHECK(creator.receive(back) == RingStatus::empty);
  CHECK(attacher.receive(back) == RingStatus::empty);
}

TEST_CASE("channel: hostile slot fields are refused by slot_bytes") {
  auto [creator, attacher] = channel_pair(kGeometry);
  const Descriptor bad[] = {
      Descriptor{.slot = 4, .length = 1},
      Descriptor{.slot = kNoSlot, .length = 1},
      Descriptor{.slot = 0, .slot_offset = 4000, .length = 97},
      Descriptor{.slot = 1, .slot_offset = 0xFFFFFFFF, .length = 2},
      Descriptor{.slot = 3, .slot_offset = 0, .length = 0xFFFFFFFF},
  };
  for (const Descriptor& d : bad) {
    REQUIRE(creator.send(d) == RingStatus::ok);
    Descriptor got;
    REQUIRE(attacher.receive(got) == RingStatus::ok);
    CHECK_FALSE(attacher.slot_bytes(got));
  }
}

TEST_CASE("channel: doorbell rings only for a sleeping consumer") {
  auto [creator, attacher] = channel_pair(kGeometry);
  Descriptor d;
  // Busy consumer (not armed): sending makes no system call on the doorbell.
  REQUIRE(creator.send(d) == RingStatus::ok);
  CHECK_FALSE(readable(attacher.doorbell_fd()));
  REQUIRE(attacher.receive(d) == RingStatus::ok);

  // Armed consumer: the next send writes its eventfd, and poll() sees it.
  CHECK_FALSE(attacher.arm(Interest::receive));
  REQUIRE(creator.send(d) == RingStatus::ok);
  CHECK(readable(attacher.doorbell_fd()));
  attacher.disarm(Interest::receive);
  attacher.clear_doorbell();
  CHECK_FALSE(readable(attacher.doorbell_fd()));
  // Arming with an entry waiting says "don't sleep".
  CHECK(attacher.arm(Interest::receive));
  CHECK(attacher.wait(Interest::receive, 0ms) == WaitResult::ready);
  REQUIRE(attacher.receive(d) == RingStatus::ok);
  CHECK(attacher.wait(Interest::receive, 10ms) == WaitResult::timeout);
}

TEST_CASE("channel: wait() wakes on a send from another thread") {
  auto [creator, attacher] = channel_pair(kGeometry);
  for (int round = 0; round < 200; ++round) {
    std::thread sender([&creator = creator, round] {
      if (round % 2 == 0) std::this_thread::sleep_for(1ms);
      Descriptor d;
      d.request_id = static_cast<std::uint64_t>(round);
      REQUIRE(creator.send(d) == RingStatus::ok);
    });
    REQUIRE(attacher.wait(Interest::receive, 5s) == WaitResult::ready);
    Descriptor d;
    REQUIRE(attacher.receive(d) == RingStatus::ok);
    CHECK(d.request_id == static_cast<std::uint64_t>(round));
    sender.join();
  }
}

TEST_CASE("channel: a full sender sleeps and is woken when space frees up") {
  auto [creator, attacher] = channel_pair(kGeometry);
  Descriptor d;
  for (std::uint32_t i = 0; i < kGeometry.ring_capacity; ++i)
    REQUIRE(creator.send(d) == RingStatus::ok);
  CHECK(creator.send(d) == RingStatus::full);
  CHECK(creator.wait(Interest::send, 10ms) == WaitResult::timeout);
  std::thread receiver([&attacher = attacher] {
    std::this_thread::sleep_for(5ms);
    Descriptor got;
    REQUIRE(attacher.receive(got) == RingStatus::ok);
  });
  CHECK(creator.wait(Interest::send, 5s) == WaitResult::ready);
  receiver.join();
  CHECK(creator.send(d) == RingStatus::ok);
}

TEST_CASE("channel: hostile ring positions report corrupt instead of hanging") {
  auto [creator, attacher] = channel_pair(kGeometry);
  // The attacher writes an impossible head on the ring the creator reads.
  control(attacher, RingId::attacher_to_creator).head = 1000;
  Descriptor d;
  CHECK(creator.receive(d) == RingStatus::corrupt);
  CHECK(creator.corrupt());
  CHECK(creator.wait(Interest::receive, 5s) == WaitResult::corrupt);
  CHECK(creator.wait(Interest::either, 5s) == WaitResult::corrupt);

  // And an impossible tail on the ring the attacher writes.
  auto [c2, a2] = channel_pair(kGeometry);
  for (std::uint32_t i = 0; i < kGeometry.ring_capacity; ++i) REQUIRE(a2.send(d) == RingStatus::ok);
  control(c2, RingId::attacher_to_creator).tail = 1ull << 40;
  CHECK(a2.send(d) == RingStatus::corrupt);
  CHECK(a2.wait(Interest::send, 5s) == WaitResult::corrupt);
}

TEST_CASE("channel: peer hangup is reported after its last entries are drained") {
  auto [creator, attacher] = channel_pair(kGeometry);
  Descriptor d;
  d.request_id = 42;
  REQUIRE(attacher.send(d) == RingStatus::ok);
  { Channel gone = std::move(attacher); }
  CHECK(creator.wait(Interest::receive, 5s) == WaitResult::ready);
  REQUIRE(creator.receive(d) == RingStatus::ok);
  CHECK(d.request_id == 42);
  CHECK(creator.wait(Interest::receive, 5s) == WaitResult::peer_gone);
  CHECK(creator.peer_gone());
  CHECK(creator.wait(Interest::send, 5s) == WaitResult::ready);  // space is still there
}

TEST_CASE("channel: peer hangup wakes a sleeping waiter") {
  auto [creator, attacher] = channel_pair(kGeometry);
  std::thread closer([&attacher = attacher] {
    std::this_thread::sleep_for(5ms);
    Channel gone = std::move(attacher);
  });
  CHECK(creator.wait(Interest::receive, 5s) == WaitResult::peer_gone);
  closer.join();
}

TEST_CASE("channel: a destroyed channel releases every fd and mapping") {
  const int fds_before = count_open_fds();
  const int maps_before = count_segment_mappings();
  {
    auto [creator, attacher] = channel_pair(kGeometry);
    CHECK(count_open_fds() > fds_before);
    CHECK(count_segment_mappings() == maps_before + 2);
  }
  CHECK(count_open_fds() == fds_before);
  CHECK(count_segment_mappings() == maps_before);
}

TEST_CASE("handshake: malformed messages and wrong fds are refused") {
  const int fds_before = count_open_fds();
  Segment seg = Segment::create(kGeometry);
  UniqueFd bell1(::eventfd(0, EFD_CLOEXEC)), bell2(::eventfd(0, EFD_CLOEXEC));
  std::array<std::uint8_t, 12> hello = {'S', 'H', 'M', 'R', 'I', 'N', 'G', 0, 1, 0, 0, 0};

  SUBCASE("valid") {
    auto [a, b] = socket_pair();
    send_with_fds(a.get(), hello, std::array{seg.fd(), bell1.get(), bell2.get()});
    Channel c = Channel::attach(std::move(b), 1000);
    CHECK(c.geometry() == kGeometry);
  }
  SUBCASE("too few fds") {
    auto [a, b] = socket_pair();
    send_with_fds(a.get(), hello, std::array{seg.fd(), bell1.get()});
    CHECK(attach_error(std::move(b)) == Errc::bad_handshake);
  }
  SUBCASE("too many fds") {
    auto [a, b] = socket_pair();
    send_with_fds(a.get(), hello, std::array{seg.fd(), bell1.get(), bell2.get(), bell1.get()});
    CHECK(attach_error(std::move(b)) == Errc::bad_handshake);
  }
  SUBCASE("no fds") {
    auto [a, b] = socket_pair();
    send_with_fds(a.get(), hello, std::span<const int>());
    CHECK(attach_error(std::move(b)) == Errc::bad_handshake);
  }
  SUBCASE("bad magic") {
    auto [a, b] = socket_pair();
    hello[0] = 'X';
    send_with_fds(a.get(), hello, std::array{seg.fd(), bell1.get(), bell2.get()});
    CHECK(attach_error(std::move(b)) == Errc::bad_handshake);
  }
  SUBCASE("bad version") {
    auto [a, b] = socket_pair();
    hello[8] = 2;
    send_with_fds(a.get(), hello, std::array{seg.fd(), bell1.get(), bell2.get()});
    CHECK(attach_error(std::move(b)) == Errc::bad_version);
  }
  SUBCASE("long message") {
    auto [a, b] = socket_pair();
    std::array<std::uint8_t, 64> longer{};
    std::memcpy(longer.data(), hello.data(), hello.size());
    send_with_fds(a.get(), longer, std::array{seg.fd(), bell1.get(), bell2.get()});
    CHECK(attach_error(std::move(b)) == Errc::bad_handshake);
  }
  SUBCASE("a pipe instead of a doorbell") {
    auto [a, b] = socket_pair();
    int p[2];
    REQUIRE(::pipe2(p, O_CLOEXEC) == 0);
    UniqueFd r(p[0]), w(p[1]);
    send_with_fds(a.get(), hello, std::array{seg.fd(), bell1.get(), w.get()});
    CHECK(attach_error(std::move(b)) == Errc::bad_handshake);
  }
  SUBCASE("an eventfd instead of the segment") {
    auto [a, b] = socket_pair();
    send_with_fds(a.get(), hello, std::array{bell1.get(), bell1.get(), bell2.get()});
    CHECK(attach_error(std::move(b)) == Errc::not_sealed);
  }
  SUBCASE("peer closes without a handshake") {
    auto [a, b] = socket_pair();
    a.reset();
    CHECK(attach_error(std::move(b)) == Errc::bad_handshake);
  }
  SUBCASE("peer never sends") {
    auto [a, b] = socket_pair();
    try {
      Channel::attach(std::move(b), 20);
      FAIL("attach returned without a handshake");
    } catch (const Error& e) {
      CHECK(e.code() == Errc::system);
    }
  }
  { Segment drop = std::move(seg); }
  bell1.reset();
  bell2.reset();
  // Every fd the refused handshakes carried was closed.
  CHECK(count_open_fds() == fds_before);
}

TEST_CASE("fd passing: data and descriptors arrive together; extras are closed") {
  auto [a, b] = socket_pair();
  UniqueFd e1(::eventfd(5, EFD_CLOEXEC)), e2(::eventfd(9, EFD_CLOEXEC));
  const std::array<std::uint8_t, 3> data = {1, 2, 3};
  send_with_fds(a.get(), data, std::array{e1.get(), e2.get()});
  std::array<std::uint8_t, 16> buf{};
  Received r = receive_with_fds(b.get(), buf, 2, 1000);
  CHECK(r.bytes == 3);
  CHECK_FALSE(r.truncated);
  REQUIRE(r.fds.size() == 2);
  std::uint64_t v = 0;
  REQUIRE(::read(r.fds[1].get(), &v, sizeof v) == sizeof v);
  CHECK(v == 9);

  const int before = count_open_fds();
  send_with_fds(a.get(), data, std::array{e1.get(), e2.get(), e1.get()});
  Received r2 = receive_with_fds(b.get(), buf, 1, 1000);
  CHECK(r2.truncated);
  CHECK(r2.fds.size() <= 1);
  r2.fds.clear();
  CHECK(count_open_fds() == before);

  a.reset();
  Received eof = receive_with_fds(b.get(), buf, 2, 1000);
  CHECK(eof.bytes == 0);
}

TEST_CASE("slot pool: exhaustion, reuse and peer-supplied indices") {
  SlotPool pool(3);
  CHECK(pool.available() == 3);
  auto a = pool.acquire(), b = pool.acquire(), c = pool.acquire();
  REQUIRE((a && b && c));
  CHECK(*a == 0);
  CHECK(*b != *a);
  CHECK_FALSE(pool.acquire());
  CHECK(pool.release(*b));
  CHECK_FALSE(pool.release(*b));  // double release
  CHECK_FALSE(pool.release(3));   // out of range
  CHECK_FALSE(pool.release(kNoSlot));
  CHECK(pool.acquire() == b);
  CHECK(pool.available() == 0);
  CHECK(pool.in_use(*c));
  CHECK_FALSE(pool.in_use(7));
}
