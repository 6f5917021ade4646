#include "shmring/segment.hh"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <boost/interprocess/exceptions.hpp>
#include <cerrno>
#include <cstring>
#include <new>

namespace smb::shmring {
namespace {

constexpr unsigned kRequiredSeals = F_SEAL_SHRINK;
constexpr unsigned kCreatorSeals = F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL;

[[noreturn]] void fail(const char* what, int err) {
  throw Error(Errc::system, std::string("shmring: ") + what + ": " + std::strerror(err));
}

// mapped_region maps anything that offers get_mapping_handle(); a received fd is not
// one of Boost's own objects, so this adapter presents it as one.
class FdMapping {
 public:
  explicit FdMapping(int fd) : fd_(fd) {}
  boost::interprocess::mapping_handle_t get_mapping_handle() const {
    return boost::interprocess::ipcdetail::mapping_handle_from_file_handle(fd_);
  }

 private:
  int fd_;
};

}  // namespace

Segment::Segment(UniqueFd fd, const Layout& layout) : fd_(std::move(fd)), layout_(layout) {
  try {
    region_ =
        boost::interprocess::mapped_region(FdMapping(fd_.get()), boost::interprocess::read_write, 0,
                                           static_cast<std::size_t>(layout_.total_size));
  } catch (const boost::interprocess::interprocess_exception& e) {
    throw Error(Errc::system, std::string("shmring: mapping the segment: ") + e.what());
  }
}

Segment Segment::create(const Geometry& geometry) {
  std::optional<Layout> layout = compute_layout(geometry);
  if (!layout) throw Error(Errc::bad_geometry, "shmring: geometry out of range");

  UniqueFd fd(::memfd_create("smb-shmring", MFD_CLOEXEC | MFD_ALLOW_SEALING));
  if (!fd) fail("memfd_create", errno);
  if (::ftruncate(fd.get(), static_cast<off_t>(layout->total_size)) != 0) fail("ftruncate", errno);
  if (::fcntl(fd.get(), F_ADD_SEALS, kCreatorSeals) != 0) fail("sealing the segment", errno);

  Segment s(std::move(fd), *layout);
  std::span<std::uint8_t> bytes = s.bytes();
  encode_header(s.layout_, bytes);
  // The memfd starts zeroed, which is the initial ring state; constructing the control
  // blocks explicitly starts their lifetime in this process.
  for (RingId r : {RingId::creator_to_attacher, RingId::attacher_to_creator})
    new (bytes.data() + s.layout_.control(r)) RingControl{};
  return s;
}

Segment Segment::attach(UniqueFd fd) {
  if (!fd) throw Error(Errc::bad_handshake, "shmring: no segment fd");
  const int seals = ::fcntl(fd.get(), F_GET_SEALS);
  if (seals < 0 || (static_cast<unsigned>(seals) & kRequiredSeals) != kRequiredSeals)
    throw Error(Errc::not_sealed, "shmring: segment fd is not a memfd sealed against shrinking");
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) fail("fstat", errno);
  if (!S_ISREG(st.st_mode) || st.st_size < 0)
    throw Error(Errc::not_sealed, "shmring: segment fd is not a regular memfd");

  std::array<std::uint8_t, kHeaderSize> header{};
  ssize_t n;
  do {
    n = ::pread(fd.get(), header.data(), header.size(), 0);
  } while (n < 0 && errno == EINTR);
  if (n < 0) fail("reading the segment header", errno);
  const Layout layout = decode_header(std::span(header.data(), static_cast<std::size_t>(n)),
                                      static_cast<std::uint64_t>(st.st_size));
  return Segment(std::move(fd), layout);
}

std::optional<std::span<std::uint8_t>> Segment::slot_bytes(std::uint32_t slot, std::uint32_t offset,
                                                           std::uint32_t length) const {
  const Geometry& g = layout_.geometry;
  if (slot >= g.slot_count || !in_bounds(offset, length, g.slot_size)) return std::nullopt;
  const std::uint64_t at = layout_.slots_offset + std::uint64_t{slot} * g.slot_size + offset;
  return bytes().subspan(static_cast<std::size_t>(at), length);
}

}  // namespace smb::shmring
