#include "shmring/layout.hh"

#include <bit>
#include <cstring>

namespace smb::shmring {
namespace {

constexpr std::uint64_t round_up(std::uint64_t v, std::uint64_t to) {
  return (v + to - 1) / to * to;
}

void put32(std::uint8_t* p, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<std::uint8_t>(v >> (8 * i));
}
void put64(std::uint8_t* p, std::uint64_t v) {
  for (int i = 0; i < 8; ++i) p[i] = static_cast<std::uint8_t>(v >> (8 * i));
}
std::uint32_t get32(const std::uint8_t* p) {
  std::uint32_t v = 0;
  for (int i = 3; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}
std::uint64_t get64(const std::uint8_t* p) {
  return get32(p) | (static_cast<std::uint64_t>(get32(p + 4)) << 32);
}

// Header field offsets.
constexpr std::size_t kOffMagic = 0;
constexpr std::size_t kOffVersion = 8;
constexpr std::size_t kOffHeaderSize = 12;
constexpr std::size_t kOffDescriptorSize = 16;
constexpr std::size_t kOffRingCapacity = 20;
constexpr std::size_t kOffSlotCount = 24;
constexpr std::size_t kOffSlotSize = 28;
constexpr std::size_t kOffTotalSize = 32;
constexpr std::size_t kHeaderFieldsEnd = 40;

}  // namespace

const char* to_string(Errc code) {
  switch (code) {
    case Errc::bad_magic:
      return "bad magic";
    case Errc::bad_version:
      return "bad version";
    case Errc::bad_geometry:
      return "bad geometry";
    case Errc::size_mismatch:
      return "segment size mismatch";
    case Errc::not_sealed:
      return "segment fd is not a sealed memfd";
    case Errc::bad_handshake:
      return "bad handshake";
    case Errc::system:
      return "system error";
  }
  return "unknown";
}

std::optional<Layout> compute_layout(const Geometry& g) {
  if (g.ring_capacity < 2 || g.ring_capacity > kMaxRingCapacity ||
      !std::has_single_bit(g.ring_capacity))
    return std::nullopt;
  if (g.slot_count < 1 || g.slot_count > kMaxSlotCount) return std::nullopt;
  if (g.slot_size < kMinSlotSize || g.slot_size > kMaxSlotSize || g.slot_size % 64 != 0)
    return std::nullopt;

  // With the limits above every term below is < 2^41, so nothing overflows 64 bits.
  Layout l;
  l.geometry = g;
  l.control_offset = {kHeaderSize, kHeaderSize + sizeof(RingControl)};
  const std::uint64_t ring_bytes =
      round_up(std::uint64_t{g.ring_capacity} * kDescriptorSize, kPageSize);
  l.descriptors_offset[0] = kHeaderSize + kPageSize;
  l.descriptors_offset[1] = l.descriptors_offset[0] + ring_bytes;
  l.slots_offset = l.descriptors_offset[1] + ring_bytes;
  l.total_size = l.slots_offset + round_up(std::uint64_t{g.slot_count} * g.slot_size, kPageSize);
  if (l.total_size > kMaxSegmentSize) return std::nullopt;
  return l;
}

void encode_header(const Layout& layout, std::span<std::uint8_t> out) {
  if (out.size() < kHeaderSize) throw std::length_error("shmring: header buffer too small");
  std::memset(out.data(), 0, kHeaderSize);
  std::uint8_t* p = out.data();
  put64(p + kOffMagic, kMagic);
  put32(p + kOffVersion, kVersion);
  put32(p + kOffHeaderSize, static_cast<std::uint32_t>(kHeaderSize));
  put32(p + kOffDescriptorSize, kDescriptorSize);
  put32(p + kOffRingCapacity, layout.geometry.ring_capacity);
  put32(p + kOffSlotCount, layout.geometry.slot_count);
  put32(p + kOffSlotSize, layout.geometry.slot_size);
  put64(p + kOffTotalSize, layout.total_size);
}

Layout decode_header(std::span<const std::uint8_t> header, std::uint64_t fd_size) {
  if (header.size() < kHeaderFieldsEnd)
    throw Error(Errc::size_mismatch, "shmring: segment smaller than its header");
  const std::uint8_t* p = header.data();
  if (get64(p + kOffMagic) != kMagic) throw Error(Errc::bad_magic, "shmring: bad magic");
  if (get32(p + kOffVersion) != kVersion)
    throw Error(Errc::bad_version, "shmring: unsupported version");
  if (get32(p + kOffHeaderSize) != kHeaderSize || get32(p + kOffDescriptorSize) != kDescriptorSize)
    throw Error(Errc::bad_geometry, "shmring: unexpected header or descriptor size");
  Geometry g;
  g.ring_capacity = get32(p + kOffRingCapacity);
  g.slot_count = get32(p + kOffSlotCount);
  g.slot_size = get32(p + kOffSlotSize);
  std::optional<Layout> layout = compute_layout(g);
  if (!layout) throw Error(Errc::bad_geometry, "shmring: geometry out of range");
  if (get64(p + kOffTotalSize) != layout->total_size)
    throw Error(Errc::bad_geometry, "shmring: total size disagrees with geometry");
  if (fd_size != layout->total_size)
    throw Error(Errc::size_mismatch, "shmring: segment size differs from its geometry");
  return *layout;
}

bool set_buffers(Descriptor& d, std::span<const BufferDescriptorV1> buffers) {
  if (buffers.size() > kMaxBuffers) return false;
  d.payload.fill(0);
  // An empty span may carry a null pointer, which memcpy must not be given.
  if (!buffers.empty()) std::memcpy(d.payload.data(), buffers.data(), buffers.size_bytes());
  d.payload_length = static_cast<std::uint32_t>(buffers.size_bytes());
  return true;
}

std::optional<BufferList> get_buffers(const Descriptor& d) {
  const std::uint32_t len = d.payload_length;
  if (len > kPayloadSize || len % sizeof(BufferDescriptorV1) != 0) return std::nullopt;
  BufferList list;
  list.count = len / sizeof(BufferDescriptorV1);
  std::memcpy(list.items.data(), d.payload.data(), len);
  return list;
}

}  // namespace smb::shmring
