// Byte ranges of an open regular file, for the file-system controls ([MS-FSA] 2.1.5.9):
// the sparse flag, zeroing (punching holes), the allocated ranges, and copying ranges
// between files (server-side copy, [MS-SMB2] 3.3.5.15.6). Works on descriptors and on
// the data interface (file_data.hh); knows no wire format. Blocking: call off the loop.
#pragma once

#include <cstdint>
#include <vector>

#include "smbd/base/ntstatus.hh"
#include "smbd/vfs/file_data.hh"

namespace smb::vfs {

// [MS-FSA] 2.1.5.9.39 FSCTL_SET_ZERO_DATA: the bytes in [offset, end) below the end of
// the file read as zeros afterwards; the size does not change. In a sparse file (`punch`)
// the range becomes a hole where the file system can punch one (fallocate
// PUNCH_HOLE|KEEP_SIZE); otherwise it stays allocated (ZERO_RANGE), and zeros are written
// where the file system can do neither.
NtStatus zero_range(int fd, std::uint64_t offset, std::uint64_t end, bool punch);

struct AllocatedRange {
  std::uint64_t offset = 0;
  std::uint64_t length = 0;
  bool operator==(const AllocatedRange&) const = default;
};
// [MS-FSA] 2.1.5.9.22 FSCTL_QUERY_ALLOCATED_RANGES: the ranges holding data in
// [offset, offset + length) clipped to the end of the file, from SEEK_DATA/SEEK_HOLE
// (a file system without them reports the whole file as allocated). At most
// `max_ranges` are returned; `more` says whether ranges were left out.
NtStatus allocated_ranges(int fd, std::uint64_t offset, std::uint64_t length,
                          std::size_t max_ranges, std::vector<AllocatedRange>& out, bool& more);

// Copies `length` bytes from `source` at `source_offset` to `target` at `target_offset`
// (the source range must lie below the source's end of file, which the caller checks).
// `direct` allows copy_file_range(2) between the two descriptors, for files both served
// by the POSIX backend; otherwise, and where the kernel cannot copy between them (other
// file systems, overlapping ranges of one file), the bytes go through a buffer by the
// data interface. `done` counts the bytes written.
NtStatus copy_range(int source_fd, const FileData& source, std::uint64_t source_offset,
                    int target_fd, FileData& target, std::uint64_t target_offset,
                    std::uint32_t length, bool direct, std::uint64_t& done);

// [MS-FSA] 2.1.5.9.4 FSCTL_DUPLICATE_EXTENTS_TO_FILE: the target's range shares the
// source's blocks (FICLONERANGE). NOT_SUPPORTED where the file system cannot clone these
// ranges (no reflinks, different file systems, ranges not aligned to its blocks).
NtStatus clone_range(int source_fd, std::uint64_t source_offset, int target_fd,
                     std::uint64_t target_offset, std::uint64_t length);

// Whether files made in `directory` can share blocks (FICLONERANGE): two unnamed files
// (O_TMPFILE) made there as the calling user are cloned, nothing else is touched. False
// where the file system cannot, or the user may not make files there.
bool clones_blocks_in(int directory);

// The end of file of an open regular file.
NtStatus end_of_file(int fd, std::uint64_t& out);

}  // namespace smb::vfs
