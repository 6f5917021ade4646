#include <doctest/doctest.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <array>
#include <vector>

#include "shmring/layout.hh"
#include "shmring/segment.hh"

using namespace smb::shmring;
using smb::BufferDescriptorV1;
using smb::UniqueFd;

namespace {

const Geometry kSmall{8, 4, 4096};

std::vector<std::uint8_t> header_for(const Geometry& g) {
  std::vector<std::uint8_t> h(kHeaderSize);
  encode_header(*compute_layout(g), h);
  return h;
}

Errc decode_error(std::span<const std::uint8_t> header, std::uint64_t fd_size) {
  try {
    decode_header(header, fd_size);
  } catch (const Error& e) {
    return e.code();
  }
  FAIL("decode_header accepted a bad header");
  return Errc::system;
}

// A sealed memfd of `size` bytes whose start holds `header`, as a hostile creator could
// send it.
UniqueFd crafted_memfd(std::span<const std::uint8_t> header, std::uint64_t size, unsigned seals) {
  UniqueFd fd(::memfd_create("crafted", MFD_CLOEXEC | MFD_ALLOW_SEALING));
  REQUIRE(fd);
  REQUIRE(::ftruncate(fd.get(), static_cast<off_t>(size)) == 0);
  const std::size_t n = std::min<std::size_t>(header.size(), size);
  REQUIRE(::pwrite(fd.get(), header.data(), n, 0) == static_cast<ssize_t>(n));
  if (seals != 0) REQUIRE(::fcntl(fd.get(), F_ADD_SEALS, seals) == 0);
  return fd;
}

Errc attach_error(UniqueFd fd) {
  try {
    Segment::attach(std::move(fd));
  } catch (const Error& e) {
    return e.code();
  }
  FAIL("attach accepted a bad segment");
  return Errc::system;
}

void put32(std::vector<std::uint8_t>& h, std::size_t at, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) h[at + i] = static_cast<std::uint8_t>(v >> (8 * i));
}

}  // namespace

TEST_CASE("layout: regions are page aligned, disjoint and inside the segment") {
  const Layout l = *compute_layout(Geometry{256, 64, 1u << 20});
  CHECK(l.control(RingId::creator_to_attacher) == kHeaderSize);
  CHECK(l.control(RingId::attacher_to_creator) == kHeaderSize + sizeof(RingControl));
  CHECK(l.descriptors(RingId::creator_to_attacher) == 2 * kPageSize);
  CHECK(l.descriptors(RingId::attacher_to_creator) == 2 * kPageSize + 256 * kDescriptorSize);
  CHECK(l.slots_offset == 2 * kPageSize + 2 * 256 * kDescriptorSize);
  CHECK(l.slots_offset % kPageSize == 0);
  CHECK(l.total_size == l.slots_offset + 64 * (1u << 20));
}

TEST_CASE("layout: geometry limits") {
  CHECK(compute_layout(Geometry{2, 1, 64}));
  CHECK(compute_layout(Geometry{kMaxRingCapacity, 1, kMaxSlotSize}));
  CHECK_FALSE(compute_layout(Geometry{0, 1, 64}));
  CHECK_FALSE(compute_layout(Geometry{1, 1, 64}));
  CHECK_FALSE(compute_layout(Geometry{12, 1, 64}));  // not a power of two
  CHECK_FALSE(compute_layout(Geometry{2 * kMaxRingCapacity, 1, 64}));
  CHECK_FALSE(compute_layout(Geometry{8, 0, 64}));
  CHECK_FALSE(compute_layout(Geometry{8, kMaxSlotCount + 1, 64}));
  CHECK_FALSE(compute_layout(Geometry{8, 1, 32}));
  CHECK_FALSE(compute_layout(Geometry{8, 1, 100}));  // not a multiple of 64
  CHECK_FALSE(compute_layout(Geometry{8, 1, kMaxSlotSize + 64}));
  CHECK_FALSE(compute_layout(Geometry{8, kMaxSlotCount, kMaxSlotSize}));  // > 64 GiB
}

TEST_CASE("header: round trip and every rejected field") {
  const Layout l = *compute_layout(kSmall);
  std::vector<std::uint8_t> h = header_for(kSmall);
  const Layout back = decode_header(h, l.total_size);
  CHECK(back.geometry == kSmall);
  CHECK(back.total_size == l.total_size);

  CHECK(decode_error(std::span(h).first(20), l.total_size) == Errc::size_mismatch);
  CHECK(decode_error(h, l.total_size - 1) == Errc::size_mismatch);
  CHECK(decode_error(h, l.total_size + kPageSize) == Errc::size_mismatch);

  auto bad = h;
  bad[0] ^= 1;
  CHECK(decode_error(bad, l.total_size) == Errc::bad_magic);
  bad = h;
  put32(bad, 8, kVersion + 1);
  CHECK(decode_error(bad, l.total_size) == Errc::bad_version);
  bad = h;
  put32(bad, 12, 8192);  // header size
  CHECK(decode_error(bad, l.total_size) == Errc::bad_geometry);
  bad = h;
  put32(bad, 16, 64);  // descriptor size
  CHECK(decode_error(bad, l.total_size) == Errc::bad_geometry);
  bad = h;
  put32(bad, 20, 7);  // ring capacity
  CHECK(decode_error(bad, l.total_size) == Errc::bad_geometry);
  bad = h;
  put32(bad, 24, 0xFFFFFFFF);  // slot count
  CHECK(decode_error(bad, l.total_size) == Errc::bad_geometry);
  bad = h;
  put32(bad, 28, 0x80000000);  // slot size
  CHECK(decode_error(bad, l.total_size) == Errc::bad_geometry);
  bad = h;
  put32(bad, 24, 8);  // a valid geometry whose total disagrees with the stored total
  CHECK(decode_error(bad, l.total_size) == Errc::bad_geometry);
}

TEST_CASE("attach: validates the fd against the geometry it claims") {
  const Layout l = *compute_layout(kSmall);
  const auto h = header_for(kSmall);
  constexpr unsigned seals = F_SEAL_SHRINK | F_SEAL_GROW;

  Segment ok = Segment::attach(crafted_memfd(h, l.total_size, seals));
  CHECK(ok.geometry() == kSmall);
  CHECK(ok.bytes().size() == l.total_size);

  // An fd smaller than the geometry says would fault on access past its end.
  CHECK(attach_error(crafted_memfd(h, l.total_size - kPageSize, seals)) == Errc::size_mismatch);
  CHECK(attach_error(crafted_memfd(h, 16, seals)) == Errc::size_mismatch);
  CHECK(attach_error(crafted_memfd(h, 0, seals)) == Errc::size_mismatch);
  // Without the shrink seal the creator could truncate it under us later.
  CHECK(attach_error(crafted_memfd(h, l.total_size, 0)) == Errc::not_sealed);
  CHECK(attach_error(crafted_memfd(h, l.total_size, F_SEAL_GROW)) == Errc::not_sealed);
  auto bad = h;
  bad[7] = 0;
  CHECK(attach_error(crafted_memfd(bad, l.total_size, seals)) == Errc::bad_magic);

  // Not a memfd at all.
  int p[2];
  REQUIRE(::pipe2(p, O_CLOEXEC) == 0);
  UniqueFd keep(p[1]);
  CHECK(attach_error(UniqueFd(p[0])) == Errc::not_sealed);
}

TEST_CASE("segment: create seals the memfd and the creator's slot_bytes checks ranges") {
  Segment s = Segment::create(kSmall);
  const int seals = ::fcntl(s.fd(), F_GET_SEALS);
  CHECK((seals & F_SEAL_SHRINK) != 0);
  CHECK((seals & F_SEAL_GROW) != 0);
  CHECK(::ftruncate(s.fd(), 4096) != 0);

  auto first = s.slot_bytes(0, 0, 4096);
  REQUIRE(first);
  CHECK(first->data() == s.bytes().data() + s.layout().slots_offset);
  auto last = s.slot_bytes(3, 4000, 96);
  REQUIRE(last);
  CHECK(last->data() + last->size() == s.bytes().data() + s.layout().slots_offset + 4 * 4096);
  CHECK(s.slot_bytes(3, 4096, 0));
  CHECK_FALSE(s.slot_bytes(4, 0, 0));
  CHECK_FALSE(s.slot_bytes(kNoSlot, 0, 0));
  CHECK_FALSE(s.slot_bytes(0, 4096, 1));
  CHECK_FALSE(s.slot_bytes(0, 1, 4096));
  CHECK_FALSE(s.slot_bytes(0, 0xFFFFFFFF, 2));  // offset + length wraps in 32 bits
  CHECK_FALSE(s.slot_bytes(0, 2, 0xFFFFFFFF));

  CHECK_THROWS_AS(Segment::create(Geometry{3, 1, 64}), Error);
}

TEST_CASE("descriptor: buffer descriptors in the payload") {
  Descriptor d;
  const std::array<BufferDescriptorV1, 3> bufs = {BufferDescriptorV1{0x1000, 7, 4096},
                                                  BufferDescriptorV1{1ull << 40, 8, 512},
                                                  BufferDescriptorV1{~0ull, ~0u, ~0u}};
  REQUIRE(set_buffers(d, bufs));
  auto got = get_buffers(d);
  REQUIRE(got);
  REQUIRE(got->count == 3);
  CHECK(got->items[0] == bufs[0]);
  CHECK(got->items[2] == bufs[2]);

  std::array<BufferDescriptorV1, kMaxBuffers + 1> too_many{};
  CHECK_FALSE(set_buffers(d, too_many));
  CHECK(set_buffers(d, std::span(too_many).first(kMaxBuffers)));

  d.payload_length = 17;
  CHECK_FALSE(get_buffers(d));
  d.payload_length = kPayloadSize + 16;
  CHECK_FALSE(get_buffers(d));
  d.payload_length = 0xFFFFFFF0;
  CHECK_FALSE(get_buffers(d));
  d.payload_length = 0;
  CHECK(get_buffers(d)->count == 0);
}
