#include "smbd/vfs/ranges.hh"

#include <fcntl.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <limits>

#include "smbd/base/errno_map.hh"
#include "smbd/base/unique_fd.hh"

namespace smb::vfs {

namespace {

constexpr std::uint64_t kMaxOffset = static_cast<std::uint64_t>(std::numeric_limits<off_t>::max());
constexpr std::size_t kCopyBuffer = 1 << 20;

NtStatus write_zeros(int fd, std::uint64_t offset, std::uint64_t end) {
  static const Bytes zeros(64 * 1024, 0);
  while (offset < end) {
    const std::size_t n =
        static_cast<std::size_t>(std::min<std::uint64_t>(zeros.size(), end - offset));
    const ssize_t w = ::pwrite(fd, zeros.data(), n, static_cast<off_t>(offset));
    if (w < 0) {
      if (errno == EINTR) continue;
      return last_error();
    }
    offset += static_cast<std::uint64_t>(w);
  }
  return NtStatus::SUCCESS;
}

}  // namespace

NtStatus end_of_file(int fd, std::uint64_t& out) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) return last_error();
  out = static_cast<std::uint64_t>(st.st_size);
  return NtStatus::SUCCESS;
}

NtStatus zero_range(int fd, std::uint64_t offset, std::uint64_t end, bool punch) {
  std::uint64_t size = 0;
  if (NtStatus s = end_of_file(fd, size); s != NtStatus::SUCCESS) return s;
  // Zeroing beyond the end of the file changes nothing: the size stays.
  end = std::min({end, size, kMaxOffset});
  if (offset >= end) return NtStatus::SUCCESS;
  const int mode = (punch ? FALLOC_FL_PUNCH_HOLE : FALLOC_FL_ZERO_RANGE) | FALLOC_FL_KEEP_SIZE;
  if (::fallocate(fd, mode, static_cast<off_t>(offset), static_cast<off_t>(end - offset)) == 0) {
    return NtStatus::SUCCESS;
  }
  if (errno != EOPNOTSUPP && errno != ENOSYS) return last_error();
  return write_zeros(fd, offset, end);
}

NtStatus allocated_ranges(int fd, std::uint64_t offset, std::uint64_t length,
                          std::size_t max_ranges, std::vector<AllocatedRange>& out, bool& more) {
  out.clear();
  more = false;
  std::uint64_t size = 0;
  if (NtStatus s = end_of_file(fd, size); s != NtStatus::SUCCESS) return s;
  const std::uint64_t end = std::min(
      size, length > kMaxOffset - std::min(offset, kMaxOffset) ? kMaxOffset : offset + length);
  std::uint64_t at = offset;
  while (at < end) {
    off_t data = ::lseek(fd, static_cast<off_t>(at), SEEK_DATA);
    if (data < 0) {
      if (errno == ENXIO) break;  // no data from here to the end
      if (errno != EINVAL && errno != EOPNOTSUPP) return last_error();
      data = static_cast<off_t>(at);  // no SEEK_DATA here: all of it is data
    }
    if (static_cast<std::uint64_t>(data) >= end) break;
    off_t hole = ::lseek(fd, data, SEEK_HOLE);
    if (hole < 0) hole = static_cast<off_t>(end);
    const std::uint64_t range_end = std::min(static_cast<std::uint64_t>(hole), end);
    if (out.size() == max_ranges) {
      more = true;
      break;
    }
    out.push_back({static_cast<std::uint64_t>(data), range_end - static_cast<std::uint64_t>(data)});
    at = range_end;
  }
  return NtStatus::SUCCESS;
}

NtStatus copy_range(int source_fd, const FileData& source, std::uint64_t source_offset,
                    int target_fd, FileData& target, std::uint64_t target_offset,
                    std::uint32_t length, bool direct, std::uint64_t& done) {
  done = 0;
  if (source_offset > kMaxOffset - length || target_offset > kMaxOffset - length) {
    return NtStatus::INVALID_PARAMETER;
  }
  while (direct && done < length) {
    loff_t in = static_cast<loff_t>(source_offset + done);
    loff_t out = static_cast<loff_t>(target_offset + done);
    const ssize_t n = ::copy_file_range(source_fd, &in, target_fd, &out, length - done, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      // Other file systems, one file's overlapping ranges, kernels without it: by hand.
      if (errno == EXDEV || errno == EINVAL || errno == EOPNOTSUPP || errno == ENOSYS) break;
      return last_error();
    }
    if (n == 0) break;  // the source ended early (truncated meanwhile): by hand from here
    done += static_cast<std::uint64_t>(n);
  }
  if (done == length) return NtStatus::SUCCESS;
  // The whole rest is read before any of it is written, so that overlapping ranges of
  // one file copy as the client's chunk says (the rest is at most one chunk).
  Bytes buffer(std::min<std::size_t>(length - done, kCopyBuffer));
  while (done < length) {
    const std::size_t n = std::min<std::size_t>(buffer.size(), length - done);
    std::size_t got = 0;
    NtStatus s = source.read(source_offset + done, MutableByteSpan(buffer.data(), n), got);
    if (s == NtStatus::END_OF_FILE || (s == NtStatus::SUCCESS && got < n)) {
      return NtStatus::INVALID_VIEW_SIZE;  // the source shrank below the range
    }
    if (s != NtStatus::SUCCESS) return s;
    std::size_t wrote = 0;
    s = target.write(target_offset + done, ByteSpan(buffer.data(), n), wrote);
    done += wrote;
    if (s != NtStatus::SUCCESS) return s;
  }
  return NtStatus::SUCCESS;
}

bool clones_blocks_in(int directory) {
  UniqueFd source(::openat(directory, ".", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600));
  UniqueFd target(::openat(directory, ".", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600));
  if (!source || !target) return false;
  file_clone_range range{};  // the whole (empty) file: only whether it can be done
  range.src_fd = source.get();
  return ::ioctl(target.get(), FICLONERANGE, &range) == 0;
}

NtStatus clone_range(int source_fd, std::uint64_t source_offset, int target_fd,
                     std::uint64_t target_offset, std::uint64_t length) {
  if (source_offset > kMaxOffset - std::min(length, kMaxOffset) ||
      target_offset > kMaxOffset - std::min(length, kMaxOffset)) {
    return NtStatus::INVALID_PARAMETER;
  }
  if (length == 0) return NtStatus::SUCCESS;
  file_clone_range range{};
  range.src_fd = source_fd;
  range.src_offset = source_offset;
  range.src_length = length;
  range.dest_offset = target_offset;
  if (::ioctl(target_fd, FICLONERANGE, &range) == 0) return NtStatus::SUCCESS;
  switch (errno) {
    case EOPNOTSUPP:
    case ENOTTY:
    case EXDEV:
    case EINVAL:
      return NtStatus::NOT_SUPPORTED;
    default:
      return last_error();
  }
}

}  // namespace smb::vfs
