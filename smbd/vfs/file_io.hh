// The data path of an open regular file: READ, WRITE, FLUSH and size changes.
//
// A file of a POSIX share is read and written with pread/pwrite on its descriptor. A
// file of a `pmem = yes` share is served from a pmem::MappedFile (pmem/mapped_file.hh):
// a WRITE is stored into the mapping and is durable when write() returns (MAP_SYNC and
// libpmem's persist on fs-dax, msync otherwise), a READ copies from the mapping. Every
// FileIo of one file in this process shares one MappedFile, so they agree on its size;
// for the same reason every size change of such a file should go through its FileIo (a
// truncation the mapping does not know of is found only when a copy faults on a dropped
// page; the copy is then retried with the real size: pmem/mapped_file.hh).
//
// Thread-safe: the SMB layer calls it from libuv pool threads.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "smbd/base/bytes.hh"
#include "smbd/base/ntstatus.hh"
#include "smbd/vfs/share.hh"
#include "smbd/base/unique_fd.hh"

namespace smb::pmem {
class MappedFile;
}

namespace smb::vfs {

class FileIo {
 public:
  // The data path of the regular file behind `fd` (kept alive with it), opened with
  // `writable` access, in a share with `backend`. For pmem the file is mapped, or the
  // MappedFile of another open of it is shared; a write-only descriptor cannot be
  // mapped (ACCESS_DENIED).
  static NtStatus open(std::shared_ptr<UniqueFd> fd, bool writable, Backend backend,
                       std::shared_ptr<FileIo>& out);

  bool mapped() const { return mapped_ != nullptr; }
  // The MappedFile of a pmem file, else null.
  const pmem::MappedFile* mapping() const { return mapped_.get(); }
  // For logs: the mode names of describe_pmem_share for a mapped file, else "posix".
  const char* mode() const;

  // As vfs::read: END_OF_FILE when nothing could be read.
  NtStatus read(std::uint64_t offset, MutableByteSpan buffer, std::size_t& done) const;
  // Reads only if that cannot block (data in the page cache), for the event loop. True
  // when the whole request was answered (all of it, or everything up to the end of the
  // file); false means: do read() on a pool thread.
  bool read_nowait(std::uint64_t offset, MutableByteSpan buffer, std::size_t& done) const;
  // Writes all of `data` at `offset`; for pmem it is durable on SUCCESS.
  NtStatus write(std::uint64_t offset, ByteSpan data, std::size_t& done) const;
  // Writes `data` at the current end of the file.
  NtStatus append(ByteSpan data, std::size_t& done) const;
  // FLUSH: fsync. For pmem the data is durable already; this syncs the metadata.
  NtStatus flush() const;
  // [MS-FSA] 2.1.5.14.5 FileEndOfFileInformation.
  NtStatus set_end_of_file(std::uint64_t end_of_file) const;
  // [MS-FSA] 2.1.5.14.3 FileAllocationInformation (vfs::set_allocation_size).
  NtStatus set_allocation_size(std::uint64_t allocation_size) const;

 private:
  FileIo() = default;

  std::shared_ptr<UniqueFd> fd_;
  std::shared_ptr<pmem::MappedFile> mapped_;
  bool writable_ = false;
};

// How files of a pmem share at `root` are served, for the log at share load:
// "pmem: MAP_SYNC" (fs-dax: stores persisted with libpmem, no msync),
// "pmem: forced" (PMEM_IS_PMEM_FORCE=1 without MAP_SYNC) or "page cache + msync".
// Found by mapping an unnamed temporary file there; false with `error` set when none
// could be made.
bool describe_pmem_share(const std::string& root, std::string& mode, std::string& error);

}  // namespace smb::vfs
