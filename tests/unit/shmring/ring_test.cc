#include <doctest/doctest.h>

#include <cstring>
#include <vector>

#include "shmring/ring.hh"

using namespace smb::shmring;

namespace {

// A segment in ordinary memory: the rings only need bytes laid out as the layout says.
struct Memory {
  struct alignas(128) Chunk {
    std::uint8_t bytes[128];
  };
  explicit Memory(const Geometry& g)
      : layout(*compute_layout(g)), chunks(layout.total_size / sizeof(Chunk)) {}
  std::span<std::uint8_t> bytes() {
    return {reinterpret_cast<std::uint8_t*>(chunks.data()), layout.total_size};
  }
  RingControl& control(RingId r) {
    return *reinterpret_cast<RingControl*>(bytes().data() + layout.control(r));
  }
  Layout layout;
  std::vector<Chunk> chunks;
};

Descriptor numbered(std::uint64_t n) {
  Descriptor d;
  d.request_id = n;
  d.op = static_cast<std::uint16_t>(n);
  d.payload[95] = static_cast<std::uint8_t>(n);
  return d;
}

constexpr RingId kRing = RingId::creator_to_attacher;

}  // namespace

TEST_CASE("ring: full and empty at the edges") {
  Memory m(Geometry{4, 1, 64});
  RingProducer p(m.bytes(), m.layout, kRing);
  RingConsumer c(m.bytes(), m.layout, kRing);
  Descriptor d;
  CHECK(c.try_pop(d) == RingStatus::empty);
  for (std::uint64_t i = 0; i < 4; ++i) CHECK(p.try_push(numbered(i)) == RingStatus::ok);
  CHECK(p.try_push(numbered(4)) == RingStatus::full);
  CHECK_FALSE(p.has_space());
  CHECK(c.try_pop(d) == RingStatus::ok);
  CHECK(d.request_id == 0);
  CHECK(p.has_space());
  CHECK(p.try_push(numbered(4)) == RingStatus::ok);
  CHECK(p.try_push(numbered(5)) == RingStatus::full);
  for (std::uint64_t i = 1; i <= 4; ++i) {
    REQUIRE(c.try_pop(d) == RingStatus::ok);
    CHECK(d.request_id == i);
  }
  CHECK(c.try_pop(d) == RingStatus::empty);
  // The other ring is untouched.
  RingConsumer other(m.bytes(), m.layout, RingId::attacher_to_creator);
  CHECK(other.try_pop(d) == RingStatus::empty);
}

TEST_CASE("ring: wrap-around keeps order across many laps") {
  Memory m(Geometry{8, 1, 64});
  RingProducer p(m.bytes(), m.layout, kRing);
  RingConsumer c(m.bytes(), m.layout, kRing);
  std::uint64_t sent = 0, got = 0;
  Descriptor d;
  // Batch sizes 1..8 so the positions land on every entry of the ring at every phase.
  for (int round = 0; round < 2000; ++round) {
    const int batch = round % 8 + 1;
    for (int i = 0; i < batch; ++i) REQUIRE(p.try_push(numbered(sent++)) == RingStatus::ok);
    for (int i = 0; i < batch; ++i) {
      REQUIRE(c.try_pop(d) == RingStatus::ok);
      REQUIRE(d.request_id == got);
      REQUIRE(d.payload[95] == static_cast<std::uint8_t>(got));
      ++got;
    }
    REQUIRE(c.try_pop(d) == RingStatus::empty);
  }
  CHECK(m.control(kRing).head == sent);
  CHECK(m.control(kRing).tail == got);
}

TEST_CASE("ring: hostile head positions make the consumer stop, not read") {
  const std::uint64_t bad_heads[] = {5, 1000, ~0ull, ~0ull - 2, 1ull << 63};
  for (std::uint64_t bad : bad_heads) {
    CAPTURE(bad);
    Memory m(Geometry{4, 1, 64});
    RingConsumer c(m.bytes(), m.layout, kRing);
    m.control(kRing).head = bad;  // more than `capacity` ahead, or behind the tail
    Descriptor d;
    CHECK(c.try_pop(d) == RingStatus::corrupt);
    CHECK(c.corrupt());
    // Latched: a later plausible head does not revive the ring.
    m.control(kRing).head = 1;
    CHECK(c.try_pop(d) == RingStatus::corrupt);
    CHECK_FALSE(c.has_entries());
    CHECK(c.prepare_sleep());  // a corrupt ring never puts its reader to sleep
  }
}

TEST_CASE("ring: head moved backwards after entries were seen") {
  Memory m(Geometry{8, 1, 64});
  RingProducer p(m.bytes(), m.layout, kRing);
  RingConsumer c(m.bytes(), m.layout, kRing);
  for (int i = 0; i < 6; ++i) REQUIRE(p.try_push(numbered(i)) == RingStatus::ok);
  Descriptor d;
  REQUIRE(c.try_pop(d) == RingStatus::ok);  // caches head = 6
  for (int i = 1; i < 6; ++i) REQUIRE(c.try_pop(d) == RingStatus::ok);
  m.control(kRing).head = 4;  // behind our tail of 6
  CHECK(c.try_pop(d) == RingStatus::corrupt);
}

TEST_CASE("ring: hostile tail positions make the producer stop, not overwrite") {
  Memory m(Geometry{4, 1, 64});
  RingProducer p(m.bytes(), m.layout, kRing);
  for (int i = 0; i < 4; ++i) REQUIRE(p.try_push(numbered(i)) == RingStatus::ok);
  SUBCASE("tail past head") {
    m.control(kRing).tail = 5;
    CHECK(p.try_push(numbered(4)) == RingStatus::corrupt);
  }
  SUBCASE("tail far ahead") {
    m.control(kRing).tail = 1ull << 62;
    CHECK(p.try_push(numbered(4)) == RingStatus::corrupt);
  }
  SUBCASE("tail moved backwards") {
    m.control(kRing).tail = 2;
    REQUIRE(p.try_push(numbered(4)) == RingStatus::ok);  // sees tail 2
    m.control(kRing).tail = 1;
    // One more push fits without re-reading the tail; the next one re-reads it and
    // finds it behind the value already seen.
    REQUIRE(p.try_push(numbered(5)) == RingStatus::ok);
    CHECK(p.try_push(numbered(6)) == RingStatus::corrupt);
  }
  CHECK(p.corrupt());
  CHECK(p.try_push(numbered(9)) == RingStatus::corrupt);
  CHECK_FALSE(p.has_space());
}

TEST_CASE("ring: the consumer reads each entry once into its own copy") {
  Memory m(Geometry{4, 1, 64});
  RingProducer p(m.bytes(), m.layout, kRing);
  RingConsumer c(m.bytes(), m.layout, kRing);
  REQUIRE(p.try_push(numbered(7)) == RingStatus::ok);
  Descriptor d;
  REQUIRE(c.try_pop(d) == RingStatus::ok);
  // The producer rewrites the (already consumed) entry; our copy is unaffected.
  std::memset(m.bytes().data() + m.layout.descriptors(kRing), 0xEE, kDescriptorSize);
  CHECK(d.request_id == 7);
  CHECK(m.control(kRing).tail == 1);
}

TEST_CASE("ring: wake-up flags") {
  Memory m(Geometry{2, 1, 64});
  RingProducer p(m.bytes(), m.layout, kRing);
  RingConsumer c(m.bytes(), m.layout, kRing);
  // An idle consumer announces sleep; the next push must ring it, exactly once.
  CHECK_FALSE(c.prepare_sleep());
  CHECK(m.control(kRing).consumer_sleeping == 1);
  REQUIRE(p.try_push(numbered(1)) == RingStatus::ok);
  CHECK(p.consumer_needs_wakeup());
  REQUIRE(p.try_push(numbered(2)) == RingStatus::ok);
  CHECK_FALSE(p.consumer_needs_wakeup());
  // Entries present: the consumer must not sleep, and leaves no flag behind.
  CHECK(c.prepare_sleep());
  CHECK(m.control(kRing).consumer_sleeping == 0);

  // The ring is full: the producer announces it waits; a pop must ring it.
  CHECK_FALSE(p.prepare_wait_for_space());
  Descriptor d;
  REQUIRE(c.try_pop(d) == RingStatus::ok);
  CHECK(c.producer_needs_wakeup());
  CHECK_FALSE(c.producer_needs_wakeup());
  CHECK(p.prepare_wait_for_space());
  CHECK(m.control(kRing).producer_waiting == 0);
}
