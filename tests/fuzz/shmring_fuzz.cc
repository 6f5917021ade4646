// libFuzzer target for shmring: the input plays the untrusted peer. It is decoded as a
// segment header, then as a script of peer writes (ring positions, wake-up flags,
// descriptor bytes) interleaved with this side's consumer and producer calls over a
// segment held in a heap buffer of exactly its size, so any access outside it is caught.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

#include "shmring/layout.hh"
#include "shmring/ring.hh"

using namespace smb::shmring;
using smb::BufferDescriptorV1;

namespace {

const Geometry kGeometry{8, 4, 256};
constexpr RingId kRx = RingId::attacher_to_creator;  // the peer produces, we consume
constexpr RingId kTx = RingId::creator_to_attacher;  // we produce, the peer consumes

struct Input {
  const std::uint8_t* p;
  std::size_t n;
  bool take(void* out, std::size_t len) {
    if (n < len) return false;
    std::memcpy(out, p, len);
    p += len;
    n -= len;
    return true;
  }
};

struct alignas(128) Chunk {
  std::uint8_t bytes[128];
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  // The header decoder against a peer-written header page and a peer-claimed size.
  if (size >= 8) {
    std::uint64_t claimed;
    std::memcpy(&claimed, data, 8);
    try {
      const Layout l = decode_header({data + 8, size - 8}, claimed);
      if (l.total_size != claimed || l.total_size > kMaxSegmentSize) __builtin_trap();
    } catch (const Error&) {
    }
  }

  const Layout layout = *compute_layout(kGeometry);
  std::vector<Chunk> memory(layout.total_size / sizeof(Chunk));
  std::span<std::uint8_t> seg(reinterpret_cast<std::uint8_t*>(memory.data()), layout.total_size);
  RingControl& rx = *reinterpret_cast<RingControl*>(seg.data() + layout.control(kRx));
  RingControl& tx = *reinterpret_cast<RingControl*>(seg.data() + layout.control(kTx));
  RingConsumer consumer(seg, layout, kRx);
  RingProducer producer(seg, layout, kTx);

  Input in{data, size};
  std::uint8_t op;
  std::uint64_t sink = 0;
  for (int steps = 0; steps < 4096 && in.take(&op, 1); ++steps) {
    switch (op % 7) {
      case 0: {  // the peer publishes a head on the ring we read
        std::uint64_t v;
        if (!in.take(&v, 8)) return 0;
        rx.head = v;
        break;
      }
      case 1: {  // the peer publishes a tail on the ring we write
        std::uint64_t v;
        if (!in.take(&v, 8)) return 0;
        tx.tail = v;
        break;
      }
      case 2: {  // the peer writes a descriptor entry
        std::uint8_t index;
        Descriptor d;
        if (!in.take(&index, 1) || !in.take(&d, sizeof d)) return 0;
        std::memcpy(seg.data() + layout.descriptors(kRx) +
                        (index % kGeometry.ring_capacity) * kDescriptorSize,
                    &d, sizeof d);
        break;
      }
      case 3: {  // we drain: every popped descriptor's data is touched if it validates
        Descriptor d;
        for (std::uint32_t i = 0; i <= kGeometry.ring_capacity; ++i) {
          const RingStatus s = consumer.try_pop(d);
          if (s != RingStatus::ok) break;
          const Geometry& g = layout.geometry;
          if (d.slot < g.slot_count && in_bounds(d.slot_offset, d.length, g.slot_size)) {
            const std::uint8_t* at = seg.data() + layout.slots_offset +
                                     std::uint64_t{d.slot} * g.slot_size + d.slot_offset;
            for (std::uint32_t k = 0; k < d.length; ++k) sink += at[k];
          }
          if (auto bufs = get_buffers(d))
            for (const BufferDescriptorV1& b : bufs->view()) sink += b.length;
        }
        (void)consumer.producer_needs_wakeup();
        break;
      }
      case 4: {  // we post until the ring is full or found corrupt
        Descriptor d;
        for (std::uint32_t i = 0; i <= kGeometry.ring_capacity; ++i)
          if (producer.try_push(d) != RingStatus::ok) break;
        (void)producer.consumer_needs_wakeup();
        break;
      }
      case 5: {  // the peer flips the wake-up flags
        std::uint8_t f;
        if (!in.take(&f, 1)) return 0;
        rx.producer_waiting = f & 1;
        tx.consumer_sleeping = (f >> 1) & 1;
        break;
      }
      default:  // we go to sleep or wait for space
        (void)consumer.prepare_sleep();
        consumer.cancel_sleep();
        (void)producer.prepare_wait_for_space();
        producer.cancel_wait_for_space();
        break;
    }
  }
  // The producer never has more than `capacity` entries outstanding, corrupt or not.
  if (producer.in_flight() > producer.capacity()) __builtin_trap();
  return static_cast<int>(sink & 0);
}
