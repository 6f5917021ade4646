#include "smbd/vfs/file_io.hh"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "pmem/mapped_file.hh"
#include "smbd/vfs/file.hh"

namespace smb::vfs {

namespace {

// The MappedFiles of this process. A worker is one process, so this is the worker's
// table: every open of a file in it shares one mapping.
pmem::FileTable& mapped_files() {
  static pmem::FileTable table;
  return table;
}

const char* mode_name(const pmem::MappedFile& file) {
  if (file.map_sync()) return "pmem: MAP_SYNC";
  return file.is_pmem() ? "pmem: forced" : "page cache + msync";
}

}  // namespace

NtStatus FileIo::open(std::shared_ptr<UniqueFd> fd, bool writable, Backend backend,
                      std::shared_ptr<FileIo>& out) {
  if (!fd || !fd->valid()) return NtStatus::INVALID_HANDLE;
  std::shared_ptr<FileIo> io(new FileIo());
  io->writable_ = writable;
  if (backend == Backend::pmem) {
    NtStatus status = mapped_files().acquire(fd->get(), io->mapped_);
    if (status != NtStatus::SUCCESS) return status;
  }
  io->fd_ = std::move(fd);
  out = std::move(io);
  return NtStatus::SUCCESS;
}

NtStatus FileIo::read(std::uint64_t offset, MutableByteSpan buffer, std::size_t& done) const {
  if (mapped_) return mapped_->read(offset, buffer, done);
  return vfs::read(fd_->get(), offset, buffer, done);
}

const char* FileIo::mode() const { return mapped_ ? mode_name(*mapped_) : "posix"; }

bool FileIo::read_nowait(std::uint64_t offset, MutableByteSpan buffer, std::size_t& done) const {
  // A load from a page-cache mapping may wait for the disk, and the mapping's lock for
  // a resize: mapped files are read on the pool.
  if (mapped_) return false;
  if (buffer.empty()) {
    done = 0;
    return true;
  }
  iovec iov{buffer.data(), buffer.size()};
  ssize_t n = ::preadv2(fd_->get(), &iov, 1, static_cast<off_t>(offset), RWF_NOWAIT);
  if (n < 0) return false;
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

NtStatus FileIo::write(std::uint64_t offset, ByteSpan data, std::size_t& done) const {
  done = 0;
  if (mapped_) {
    // The MappedFile may be writable for another open of the file; this one must be.
    if (!writable_) return NtStatus::ACCESS_DENIED;
    return mapped_->write(offset, data, done);
  }
  return vfs::write(fd_->get(), offset, data, done);
}

NtStatus FileIo::append(ByteSpan data, std::size_t& done) const {
  if (mapped_) return write(mapped_->size(), data, done);
  struct stat st {};
  if (::fstat(fd_->get(), &st) != 0) return NtStatus::INVALID_HANDLE;
  return write(static_cast<std::uint64_t>(st.st_size), data, done);
}

NtStatus FileIo::flush() const {
  if (mapped_) return mapped_->flush();
  return vfs::flush(fd_->get());
}

NtStatus FileIo::set_end_of_file(std::uint64_t end_of_file) const {
  if (mapped_) {
    if (!writable_) return NtStatus::ACCESS_DENIED;
    return mapped_->set_end_of_file(end_of_file);
  }
  return vfs::set_end_of_file(fd_->get(), end_of_file);
}

NtStatus FileIo::set_allocation_size(std::uint64_t allocation_size) const {
  if (!mapped_) return vfs::set_allocation_size(fd_->get(), allocation_size);
  if (!writable_) return NtStatus::ACCESS_DENIED;
  // [MS-FSA] 2.1.5.14.3: less than the size truncates, which the mapping must do;
  // more only reserves blocks beyond the end, which the mapping never touches.
  if (allocation_size < mapped_->size()) return mapped_->set_end_of_file(allocation_size);
  return vfs::reserve_allocation(fd_->get(), allocation_size);
}

bool describe_pmem_share(const std::string& root, std::string& mode, std::string& error) {
  UniqueFd file(::open(root.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600));
  if (!file) {
    error = "cannot create a test file in " + root + ": " + std::strerror(errno);
    return false;
  }
  // A page, so that there is something to map.
  if (::ftruncate(file.get(), 4096) != 0) {
    error = "cannot size a test file in " + root + ": " + std::strerror(errno);
    return false;
  }
  std::shared_ptr<pmem::MappedFile> mapped;
  NtStatus status = pmem::MappedFile::open(file.get(), mapped);
  if (status != NtStatus::SUCCESS) {
    error = "cannot map a test file in " + root + ": " + std::string(nt_status_name(status));
    return false;
  }
  mode = mode_name(*mapped);
  return true;
}

}  // namespace smb::vfs
