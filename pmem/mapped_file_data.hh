// The pmem backend of an open file's data (smbd/vfs/file_data.hh): a regular file of a
// `pmem = yes` share served from its MappedFile (mapped_file.hh). A WRITE is stored into
// the mapping and is durable when write() returns (MAP_SYNC and libpmem's persist on
// fs-dax, msync otherwise); a READ copies from the mapping.
//
// Every open of one file in this process shares one MappedFile (FileTable), so they
// agree on its size; for the same reason every size change of such a file should go
// through its MappedFileData (a truncation the mapping does not know of is found only
// when a copy faults on a dropped page; the copy is then retried with the real size:
// mapped_file.hh, Sharing rules). The shared mapping is writable as soon as one open
// writes; each MappedFileData still refuses writes its own descriptor does not allow.
#pragma once

#include <cstdint>
#include <memory>

#include "pmem/mapped_file.hh"
#include "smbd/base/unique_fd.hh"
#include "smbd/vfs/file_data.hh"

namespace smb::pmem {

// How a mapped file's writes are made durable, for logs: "pmem: MAP_SYNC" (fs-dax:
// stores persisted with libpmem, no msync), "pmem: forced" (PMEM_IS_PMEM_FORCE=1
// without MAP_SYNC) or "page cache + msync".
const char* persistence_mode(const MappedFile& file);

class MappedFileData final : public vfs::FileData {
 public:
  // Maps the regular file behind `fd` (kept alive with the result), opened with
  // `writable` access, or shares the MappedFile `table` holds for it. A write-only
  // descriptor cannot be mapped (ACCESS_DENIED).
  static NtStatus open(std::shared_ptr<UniqueFd> fd, bool writable, FileTable& table,
                       std::shared_ptr<MappedFileData>& out);

  const MappedFile& mapping() const { return *mapped_; }

  const char* mode() const override { return persistence_mode(*mapped_); }
  bool mapped() const override { return true; }
  // DATA_ERROR when the mapped bytes could not be loaded (mapped_file.hh).
  NtStatus read(std::uint64_t offset, MutableByteSpan buffer, std::size_t& done) const override;
  // Never: a load from a page-cache mapping may wait for the disk, and the mapping's
  // lock for a resize, so mapped files are read on the pool.
  bool read_nowait(std::uint64_t offset, MutableByteSpan buffer, std::size_t& done,
                   vfs::LoopRead in_memory = vfs::LoopRead::small_only) const override;
  NtStatus write(std::uint64_t offset, ByteSpan data, std::size_t& done) override;
  NtStatus append(ByteSpan data, std::size_t& done) override;
  // The data is durable already; this syncs the metadata (times).
  NtStatus flush() override;
  // Resizes through the mapping, durably.
  NtStatus set_end_of_file(std::uint64_t end_of_file) override;
  NtStatus set_allocation_size(std::uint64_t allocation_size) override;

 private:
  MappedFileData(std::shared_ptr<UniqueFd> fd, std::shared_ptr<MappedFile> mapped, bool writable);

  std::shared_ptr<UniqueFd> fd_;
  std::shared_ptr<MappedFile> mapped_;
  bool writable_ = false;
};

}  // namespace smb::pmem
