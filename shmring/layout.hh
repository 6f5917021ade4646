// The segment's layout, shared by both processes: header, ring control blocks,
// descriptor arrays and data slots.
//
//   0        header page: magic, version, geometry (written once by the creator)
//   4096     ring control page: per ring a producer line and a consumer line
//   8192     descriptors of ring 0 (creator -> attacher), then of ring 1 (attacher -> creator)
//   ...      data slots, page aligned, slot_count x slot_size
//
// Both processes run on the same host, so multi-byte fields in the rings are native
// endian; the header is explicitly little-endian so it can be decoded from any byte copy.
// Each side computes the layout from geometry it trusts (its own, or the header copy it
// validated once at attach) and never re-reads geometry from the shared mapping.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <type_traits>

#include "smbd/base/buffer_descriptor.hh"

namespace smb::shmring {

inline constexpr std::uint64_t kMagic = 0x31524d4853424d53;  // "SMBSHMR1"
inline constexpr std::uint32_t kVersion = 1;
inline constexpr std::uint64_t kPageSize = 4096;
inline constexpr std::uint64_t kHeaderSize = kPageSize;
inline constexpr std::uint32_t kDescriptorSize = 128;

// Limits on geometry. They bound every product computed from header fields, so the
// layout arithmetic cannot overflow, and keep a hostile header from asking for an
// absurd mapping.
inline constexpr std::uint32_t kMaxRingCapacity = 1u << 16;
inline constexpr std::uint32_t kMaxSlotCount = 1u << 16;
inline constexpr std::uint32_t kMinSlotSize = 64;
inline constexpr std::uint32_t kMaxSlotSize = 16u << 20;  // above SMB3's 8 MiB max read/write
inline constexpr std::uint64_t kMaxSegmentSize = std::uint64_t{64} << 30;

enum class Errc {
  bad_magic,      // header magic does not match
  bad_version,    // header version is not ours
  bad_geometry,   // a geometry field is out of range or inconsistent
  size_mismatch,  // the fd's size differs from what the geometry needs
  not_sealed,     // the segment fd is not a memfd sealed against shrinking
  bad_handshake,  // the handshake message or its fds are malformed
  system,         // an OS call failed
};

const char* to_string(Errc code);

class Error : public std::runtime_error {
 public:
  Error(Errc code, const std::string& what) : std::runtime_error(what), code_(code) {}
  Errc code() const noexcept { return code_; }

 private:
  Errc code_;
};

struct Geometry {
  std::uint32_t ring_capacity = 256;  // descriptors per ring, a power of two
  std::uint32_t slot_count = 64;
  std::uint32_t slot_size = 1u << 20;  // bytes; a multiple of 64
  friend bool operator==(const Geometry&, const Geometry&) = default;
};

// Ring 0 carries descriptors from the creator to the attacher, ring 1 the other way.
enum class RingId : unsigned { creator_to_attacher = 0, attacher_to_creator = 1 };

struct Layout {
  Geometry geometry;
  std::array<std::uint64_t, 2> control_offset{};
  std::array<std::uint64_t, 2> descriptors_offset{};
  std::uint64_t slots_offset = 0;
  std::uint64_t total_size = 0;

  std::uint64_t control(RingId r) const { return control_offset[static_cast<unsigned>(r)]; }
  std::uint64_t descriptors(RingId r) const { return descriptors_offset[static_cast<unsigned>(r)]; }
};

// The layout for `g`, or nullopt when `g` is outside the limits above.
std::optional<Layout> compute_layout(const Geometry& g);

// Writes the header for `layout` into the first kHeaderSize bytes of `out`.
void encode_header(const Layout& layout, std::span<std::uint8_t> out);

// Decodes and validates a private copy of the header. `fd_size` is the size of the file
// the header came from; it must equal the size the geometry needs. Throws Error.
Layout decode_header(std::span<const std::uint8_t> header, std::uint64_t fd_size);

// Control block of one ring. Producer and consumer fields sit on separate 128-byte
// blocks (two cache lines, so adjacent-line prefetch does not couple them either).
// Positions are free-running 64-bit counters; entry = position & (capacity - 1).
struct RingControl {
  alignas(128) std::uint64_t head;  // written by the producer only
  std::uint32_t producer_waiting;   // producer sleeps until the ring has space
  alignas(128) std::uint64_t tail;  // written by the consumer only
  std::uint32_t consumer_sleeping;  // consumer sleeps until the ring has entries
};
static_assert(sizeof(RingControl) == 256);
static_assert(std::is_trivially_copyable_v<RingControl>);

inline constexpr std::uint32_t kNoSlot = 0xFFFFFFFF;
inline constexpr std::size_t kPayloadSize = 96;
inline constexpr std::size_t kMaxBuffers = kPayloadSize / sizeof(BufferDescriptorV1);

// One ring entry. shmring interprets none of these fields itself except through the
// validating accessors (Channel::slot_bytes, get_buffers): the protocol above decides
// what `op`, `flags` and `status` mean. A receiver gets its own copy, so fields are
// stable once received, but every one of them is peer-controlled until checked.
struct Descriptor {
  std::uint16_t op = 0;
  std::uint16_t flags = 0;
  std::uint32_t status = 0;
  std::uint64_t request_id = 0;
  std::uint32_t slot = kNoSlot;   // data slot index, or kNoSlot
  std::uint32_t slot_offset = 0;  // byte offset of the data inside the slot
  std::uint32_t length = 0;       // bytes of data in the slot
  std::uint32_t payload_length = 0;
  std::array<std::uint8_t, kPayloadSize> payload{};
};
static_assert(sizeof(Descriptor) == kDescriptorSize);
static_assert(std::is_trivially_copyable_v<Descriptor>);

// Stores `buffers` (at most kMaxBuffers) as the payload; false when there are too many.
// The payload holds the client's buffers ([MS-SMBD] 2.2.3.1) as the struct lays them out.
bool set_buffers(Descriptor& d, std::span<const BufferDescriptorV1> buffers);
// The buffer descriptors of a received payload; nullopt when payload_length is not a
// whole number of descriptors or exceeds the payload area.
struct BufferList {
  std::array<BufferDescriptorV1, kMaxBuffers> items{};
  std::size_t count = 0;
  std::span<const BufferDescriptorV1> view() const { return {items.data(), count}; }
};
std::optional<BufferList> get_buffers(const Descriptor& d);

// True when [offset, offset + length) lies inside `size` bytes (64-bit arithmetic).
constexpr bool in_bounds(std::uint64_t offset, std::uint64_t length, std::uint64_t size) {
  return offset <= size && length <= size - offset;
}

}  // namespace smb::shmring
