// The POSIX backend of an open file's data (file_data.hh): pread/pwrite, fsync,
// ftruncate and fallocate on the descriptor the share opened.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <utility>

#include "smbd/base/unique_fd.hh"
#include "smbd/vfs/file_data.hh"

namespace smb::vfs {

class PosixFileData final : public FileData {
 public:
  // `fd` is a regular file's descriptor from Share::open(), kept alive with this object.
  explicit PosixFileData(std::shared_ptr<UniqueFd> fd) : fd_(std::move(fd)) {}

  const char* mode() const override { return "posix"; }
  bool mapped() const override { return false; }
  NtStatus read(std::uint64_t offset, MutableByteSpan buffer, std::size_t& done) const override;
  bool read_nowait(std::uint64_t offset, MutableByteSpan buffer, std::size_t& done,
                   LoopRead in_memory = LoopRead::small_only) const override;
  // Short writes are retried; a descriptor opened without write access gives the
  // errno mapping's status.
  NtStatus write(std::uint64_t offset, ByteSpan data, std::size_t& done) override;
  NtStatus append(ByteSpan data, std::size_t& done) override;
  // fsync(2).
  NtStatus flush() override;
  NtStatus set_end_of_file(std::uint64_t end_of_file) override;
  // Reserving is fallocate(KEEP_SIZE), ignored where the file system has none.
  NtStatus set_allocation_size(std::uint64_t allocation_size) override;

 private:
  // How a read that must not wait is done on this file, learnt at the first one:
  // preadv2(RWF_NOWAIT); a plain pread where the file system keeps every page in memory
  // (tmpfs and ramfs, which refuse RWF_NOWAIT); or not at all (the pool reads).
  enum class NowaitRead : std::uint8_t { UNKNOWN, NOWAIT, IN_MEMORY, NEVER };
  bool read_in_memory(std::uint64_t offset, MutableByteSpan buffer, std::size_t& done) const;

  std::shared_ptr<UniqueFd> fd_;
  mutable std::atomic<NowaitRead> nowait_{NowaitRead::UNKNOWN};
};

// The growing half of FileAllocationInformation, for every backend: reserves blocks up
// to `allocation_size` without changing the size (fallocate KEEP_SIZE; the allocation
// size is a hint, so file systems without fallocate ignore it); never truncates.
NtStatus reserve_allocation(int fd, std::uint64_t allocation_size);

}  // namespace smb::vfs
