// The shared segment: a sealed memfd mapped with Boost.Interprocess.
//
// The creator sizes the memfd from its geometry and seals it against shrinking and
// growing, so neither process can later make part of the mapping vanish (which would
// turn an in-bounds access into SIGBUS). The attacher insists on that seal, reads the
// header through a private copy, validates it against the fd size, and only then maps.
#pragma once

#include <boost/interprocess/mapped_region.hpp>
#include <cstdint>
#include <optional>
#include <span>

#include "shmring/layout.hh"
#include "smbd/base/unique_fd.hh"

namespace smb::shmring {

class Segment {
 public:
  // Creates and maps a new segment. Throws Error (bad_geometry, system).
  static Segment create(const Geometry& geometry);
  // Validates and maps a segment received from the peer. Throws Error.
  static Segment attach(UniqueFd fd);

  Segment(Segment&&) noexcept = default;
  Segment& operator=(Segment&&) noexcept = default;

  // The trusted layout: the creator's own, or the attacher's validated copy.
  const Layout& layout() const { return layout_; }
  const Geometry& geometry() const { return layout_.geometry; }
  std::span<std::uint8_t> bytes() const {
    return {static_cast<std::uint8_t*>(region_.get_address()), region_.get_size()};
  }
  int fd() const { return fd_.get(); }

  // The bytes [offset, offset + length) of slot `slot`, or nullopt when any of the
  // three is out of range. The arguments usually come from the peer.
  std::optional<std::span<std::uint8_t>> slot_bytes(std::uint32_t slot, std::uint32_t offset,
                                                    std::uint32_t length) const;

 private:
  Segment(UniqueFd fd, const Layout& layout);

  UniqueFd fd_;
  Layout layout_;
  boost::interprocess::mapped_region region_;
};

}  // namespace smb::shmring
