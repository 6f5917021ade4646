#include "smbd/vfs/posix_file_data.hh"

#include <fcntl.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>
#include <limits>

#include "smbd/base/errno_map.hh"

namespace smb::vfs {

namespace {

constexpr std::uint64_t kMaxOffset = static_cast<std::uint64_t>(std::numeric_limits<off_t>::max());

// A file system that keeps its pages in memory is read on the loop up to this much at a
// time: larger copies go to the pool, so that the loop sends other answers meanwhile
// (measured: 1 MiB reads on the loop cut sequential READ throughput by a third; 4 KiB
// reads on the loop double the random READ rate).
constexpr std::size_t kInMemoryLoopRead = 128 * 1024;

bool fits_loop(std::size_t size, LoopRead in_memory) {
  return in_memory == LoopRead::any_size || size <= kInMemoryLoopRead;
}

}  // namespace

NtStatus PosixFileData::read(std::uint64_t offset, MutableByteSpan buffer,
                             std::size_t& done) const {
  done = 0;
  if (offset > kMaxOffset) return NtStatus::INVALID_PARAMETER;
  const int fd = fd_->get();
  while (done < buffer.size()) {
    const ssize_t n =
        ::pread(fd, buffer.data() + done, buffer.size() - done, static_cast<off_t>(offset + done));
    if (n < 0) {
      if (errno == EINTR) continue;
      return done > 0 ? NtStatus::SUCCESS : last_error();
    }
    if (n == 0) break;
    done += static_cast<std::size_t>(n);
  }
  if (done == 0 && !buffer.empty()) return NtStatus::END_OF_FILE;
  return NtStatus::SUCCESS;
}

bool PosixFileData::read_nowait(std::uint64_t offset, MutableByteSpan buffer, std::size_t& done,
                                LoopRead in_memory) const {
  if (buffer.empty()) {
    done = 0;
    return true;
  }
  if (offset > kMaxOffset) return false;
  switch (nowait_.load(std::memory_order_relaxed)) {
    case NowaitRead::NEVER:
      return false;
    case NowaitRead::IN_MEMORY:
      return fits_loop(buffer.size(), in_memory) && read_in_memory(offset, buffer, done);
    case NowaitRead::UNKNOWN:
    case NowaitRead::NOWAIT:
      break;
  }
  iovec iov{buffer.data(), buffer.size()};
  const ssize_t n = ::preadv2(fd_->get(), &iov, 1, static_cast<off_t>(offset), RWF_NOWAIT);
  if (n < 0) {
    if (errno != EOPNOTSUPP) return false;
    // Learnt once per open: tmpfs and ramfs hold every page in memory, so a plain read
    // does not wait for a device; elsewhere the pool reads.
    struct statfs fs {};
    const bool in_memory_fs =
        ::fstatfs(fd_->get(), &fs) == 0 && (fs.f_type == TMPFS_MAGIC || fs.f_type == RAMFS_MAGIC);
    nowait_.store(in_memory_fs ? NowaitRead::IN_MEMORY : NowaitRead::NEVER,
                  std::memory_order_relaxed);
    return in_memory_fs && fits_loop(buffer.size(), in_memory) &&
           read_in_memory(offset, buffer, done);
  }
  nowait_.store(NowaitRead::NOWAIT, std::memory_order_relaxed);
  if (static_cast<std::size_t>(n) < buffer.size()) {
    // A short read is the end of the file, or only part of the range was cached.
    struct stat st {};
    if (::fstat(fd_->get(), &st) != 0 ||
        offset + static_cast<std::uint64_t>(n) < static_cast<std::uint64_t>(st.st_size)) {
      return false;
    }
  }
  done = static_cast<std::size_t>(n);
  return true;
}

bool PosixFileData::read_in_memory(std::uint64_t offset, MutableByteSpan buffer,
                                   std::size_t& done) const {
  // The whole range or the end of the file: a failure goes to the pool, which reports it.
  return read(offset, buffer, done) == NtStatus::SUCCESS;
}

NtStatus PosixFileData::write(std::uint64_t offset, ByteSpan data, std::size_t& done) {
  done = 0;
  if (offset > kMaxOffset || data.size() > kMaxOffset - offset) return NtStatus::DISK_FULL;
  const int fd = fd_->get();
  while (done < data.size()) {
    const ssize_t n =
        ::pwrite(fd, data.data() + done, data.size() - done, static_cast<off_t>(offset + done));
    if (n < 0) {
      if (errno == EINTR) continue;
      return last_error();
    }
    done += static_cast<std::size_t>(n);
  }
  return NtStatus::SUCCESS;
}

NtStatus PosixFileData::append(ByteSpan data, std::size_t& done) {
  done = 0;
  struct stat st {};
  if (::fstat(fd_->get(), &st) != 0) return NtStatus::INVALID_HANDLE;
  return write(static_cast<std::uint64_t>(st.st_size), data, done);
}

NtStatus PosixFileData::flush() {
  return ::fsync(fd_->get()) == 0 ? NtStatus::SUCCESS : last_error();
}

NtStatus PosixFileData::set_end_of_file(std::uint64_t end_of_file) {
  if (end_of_file > kMaxOffset) return NtStatus::INVALID_PARAMETER;
  if (::ftruncate(fd_->get(), static_cast<off_t>(end_of_file)) != 0) return last_error();
  return NtStatus::SUCCESS;
}

NtStatus PosixFileData::set_allocation_size(std::uint64_t allocation_size) {
  if (allocation_size > kMaxOffset) return NtStatus::INVALID_PARAMETER;
  struct stat st {};
  if (::fstat(fd_->get(), &st) != 0) return last_error();
  if (S_ISDIR(st.st_mode)) return NtStatus::INVALID_PARAMETER;
  if (allocation_size < static_cast<std::uint64_t>(st.st_size)) {
    return set_end_of_file(allocation_size);
  }
  return reserve_allocation(fd_->get(), allocation_size);
}

NtStatus reserve_allocation(int fd, std::uint64_t allocation_size) {
  if (allocation_size > kMaxOffset) return NtStatus::INVALID_PARAMETER;
  struct stat st {};
  if (::fstat(fd, &st) != 0) return last_error();
  if (allocation_size > static_cast<std::uint64_t>(st.st_blocks) * 512) {
    if (::fallocate(fd, FALLOC_FL_KEEP_SIZE, 0, static_cast<off_t>(allocation_size)) != 0) {
      if (errno != EOPNOTSUPP) return last_error();
    }
  }
  return NtStatus::SUCCESS;
}

}  // namespace smb::vfs
