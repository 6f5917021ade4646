// The data of an open regular file: what READ, WRITE, FLUSH and the size changes of
// SET_INFO do to it. One interface, two backends:
//   - PosixFileData (posix_file_data.hh): pread/pwrite on the file's descriptor;
//   - pmem::MappedFileData (pmem/mapped_file_data.hh): a `pmem = yes` share's file served
//     from a memory mapping, a WRITE durable when write() returns.
// Which one a share's file gets is decided once, at CREATE, by fsa/backend.hh; after that
// the SMB layer cannot tell them apart.
//
// Every member is safe to call from several threads at once: the SMB layer calls them
// from libuv pool threads, and read_nowait() from the event loop.
#pragma once

#include <cstddef>
#include <cstdint>

#include "smbd/base/bytes.hh"
#include "smbd/base/ntstatus.hh"

namespace smb::vfs {

// How much of an in-memory file system (tmpfs, ramfs) read_nowait() reads on the event
// loop: small reads only (a large copy goes to the pool, so that the loop sends other
// answers meanwhile), or any size (the loop signs or encrypts the data next anyway: a
// pool thread reading it would only hand it back and forth once more).
enum class LoopRead { small_only, any_size };

class FileData {
 public:
  virtual ~FileData() = default;
  FileData(const FileData&) = delete;
  FileData& operator=(const FileData&) = delete;

  // For logs: "posix", or how a mapped file's writes are made durable.
  virtual const char* mode() const = 0;
  // The data is served from a memory mapping (a load may wait for the disk).
  virtual bool mapped() const = 0;

  // Reads from `offset` until `buffer` is full or the end of the file; `done` is the
  // number of bytes read. END_OF_FILE when nothing could be read ([MS-SMB2] 3.3.5.12).
  virtual NtStatus read(std::uint64_t offset, MutableByteSpan buffer, std::size_t& done) const = 0;
  // Reads only if that cannot block, for the event loop. True when the whole request was
  // answered (all of it, or everything up to the end of the file); false means: call
  // read() on a pool thread.
  virtual bool read_nowait(std::uint64_t offset, MutableByteSpan buffer, std::size_t& done,
                           LoopRead in_memory = LoopRead::small_only) const = 0;
  // Writes all of `data` at `offset`; `done` as for read(). ACCESS_DENIED when this open
  // may not write.
  virtual NtStatus write(std::uint64_t offset, ByteSpan data, std::size_t& done) = 0;
  // Writes `data` at the current end of the file.
  virtual NtStatus append(ByteSpan data, std::size_t& done) = 0;
  // FLUSH ([MS-SMB2] 3.3.5.11): the data and metadata reach stable storage.
  virtual NtStatus flush() = 0;
  // [MS-FSA] 2.1.5.14.5 FileEndOfFileInformation: grows (zeros) or truncates the file.
  virtual NtStatus set_end_of_file(std::uint64_t end_of_file) = 0;
  // [MS-FSA] 2.1.5.14.3 FileAllocationInformation: less than the size truncates to it;
  // more reserves blocks beyond the end without changing the size.
  virtual NtStatus set_allocation_size(std::uint64_t allocation_size) = 0;

 protected:
  FileData() = default;
};

}  // namespace smb::vfs
