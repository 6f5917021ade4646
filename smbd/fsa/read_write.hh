// The object store's side of READ and WRITE on a data file ([MS-FSA] 2.1.5.3 Server
// Requests a Read, 2.1.5.4 Server Requests a Write): the checks on offsets, lengths and
// access that come before any byte moves, the I/O between a FileData and a buffer the
// caller provides, and what follows it (END_OF_FILE, MinimumCount, the open's position).
//
// The same rules serve every way the bytes travel: the caller brings a WRITE's data into
// a buffer (from the SMB2 message, or by RDMA into a shared slot) and gives a READ the
// buffer its data leaves from; nothing here knows which. Named pipes are not data files
// and are not served here.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>

#include "smbd/base/bytes.hh"
#include "smbd/base/ntstatus.hh"
#include "smbd/vfs/file_data.hh"

namespace smb::fsa {

// What the read and write rules look at in an open.
struct DataOpen {
  std::uint32_t granted_access = 0;  // Open.GrantedAccess
  bool is_directory = false;         // Open.Stream.StreamType is DirectoryStream
  bool read_only_share = false;      // the tree connect's share is read-only
  const vfs::FileData* io = nullptr;   // the data path; null for an open without one
};

// MS-FSA 2.1.5.3: offsets are signed 64-bit; a READ whose range does not fit below
// MAXLONGLONG is INVALID_PARAMETER.
NtStatus check_read_range(std::uint64_t offset, std::uint32_t length);

// MS-FSA 2.1.5.3 and the access check of MS-SMB2 3.3.5.12: a directory cannot be read
// (INVALID_DEVICE_REQUEST), the open must have FILE_READ_DATA or FILE_EXECUTE
// (ACCESS_DENIED) and a data path.
NtStatus check_read(const DataOpen& open);

// Where a WRITE puts its bytes.
struct WritePosition {
  bool at_end = false;       // at the end of the file, whatever the offset says
  std::uint64_t offset = 0;  // otherwise here
};

// MS-FSA 2.1.5.4 and the access check of MS-SMB2 3.3.5.13, in the order Windows applies
// them: a directory is INVALID_DEVICE_REQUEST; an offset of all ones means "at the end"
// only for an append-only open (FILE_APPEND_DATA without FILE_WRITE_DATA), any other
// offset is signed and a WRITE may not start at or past MAXFILESIZE (INVALID_PARAMETER)
// nor end there (DISK_FULL); then FILE_WRITE_DATA or FILE_APPEND_DATA on a writable
// share (ACCESS_DENIED), and a data path. On SUCCESS `where` says where the bytes go.
NtStatus check_write(const DataOpen& open, std::uint64_t offset, std::uint32_t length,
                     WritePosition& where);

// The I/O, for a libuv pool thread. read() fills `into` from `offset` (as FileData::read:
// END_OF_FILE when nothing could be read); write() stores all of `data` where `where`
// says (durable on SUCCESS for pmem).
NtStatus read(const vfs::FileData& io, std::uint64_t offset, MutableByteSpan into, std::size_t& done);
NtStatus write(vfs::FileData& io, const WritePosition& where, ByteSpan data, std::size_t& done);
// read() on the event loop when that cannot block (the data is in the page cache); false
// means: do read() on the pool. `in_memory`: how large a read of an in-memory file
// system is done here (vfs/file_data.hh).
bool read_without_waiting(const vfs::FileData& io, std::uint64_t offset, MutableByteSpan into,
                          std::size_t& done, vfs::LoopRead in_memory);

// MS-SMB2 3.3.5.12 on top of MS-FSA 2.1.5.3: a READ that asked for `length` bytes and
// got `done` fails with END_OF_FILE when that is fewer than MinimumCount, or nothing.
NtStatus check_read_count(std::size_t done, std::uint32_t length, std::uint32_t minimum_count);

// Open.CurrentByteOffset after a successful READ or WRITE (FilePositionInformation,
// [MS-FSCC] 2.4.35): the byte after the last one moved. A WRITE at the end of the file
// leaves it unchanged (nullopt).
std::uint64_t position_after_read(std::uint64_t offset, std::size_t done);
std::optional<std::uint64_t> position_after_write(const WritePosition& where, std::size_t done);

}  // namespace smb::fsa
