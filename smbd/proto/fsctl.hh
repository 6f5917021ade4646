// The payloads of the file-system controls ([MS-FSCC] 2.3) a file server interprets:
// sparse files, zeroing, allocated ranges and object ids. Pure: bounded decoders over the
// IOCTL's input buffer, encoders of its output buffer. (The server-side copy payloads,
// which are MS-SMB2's own, are in ioctl.hh.)
#pragma once

#include <array>
#include <cstdint>
#include <vector>

#include "smbd/base/bytes.hh"
#include "smbd/base/ntstatus.hh"
#include "smbd/proto/file_id.hh"

namespace smb {

inline constexpr std::uint32_t FSCTL_GET_OBJECT_ID = 0x0009009C;
inline constexpr std::uint32_t FSCTL_SET_OBJECT_ID = 0x00090098;
inline constexpr std::uint32_t FSCTL_SET_OBJECT_ID_EXTENDED = 0x000900BC;
inline constexpr std::uint32_t FSCTL_DELETE_OBJECT_ID = 0x000900A0;
inline constexpr std::uint32_t FSCTL_DUPLICATE_EXTENTS_TO_FILE = 0x00098344;

// [MS-FSCC] 2.3.64 FILE_SET_SPARSE_BUFFER: SetSparse is optional; no buffer means TRUE
// ([MS-FSA] 2.1.5.9.30). Any nonzero byte sets.
NtStatus decode_set_sparse(ByteSpan input, bool& sparse);

// [MS-FSCC] 2.3.75 FILE_ZERO_DATA_INFORMATION.
struct FileZeroDataInformation {
  std::int64_t file_offset = 0;
  std::int64_t beyond_final_zero = 0;
  bool operator==(const FileZeroDataInformation&) const = default;
};
NtStatus decode_fsctl(ByteSpan input, FileZeroDataInformation& out);
Bytes encode_fsctl(const FileZeroDataInformation& in);

// [MS-FSCC] 2.3.41 FILE_ALLOCATED_RANGE_BUFFER: the input of
// FSCTL_QUERY_ALLOCATED_RANGES, and each element of its output.
inline constexpr std::size_t kAllocatedRangeSize = 16;
struct FileAllocatedRange {
  std::int64_t file_offset = 0;
  std::int64_t length = 0;
  bool operator==(const FileAllocatedRange&) const = default;
};
NtStatus decode_fsctl(ByteSpan input, FileAllocatedRange& out);
Bytes encode_fsctl(const FileAllocatedRange& in);
// The output: the ranges one after the other.
Bytes encode_allocated_ranges(const std::vector<FileAllocatedRange>& ranges);
NtStatus decode_allocated_ranges(ByteSpan output, std::vector<FileAllocatedRange>& out);

// [MS-FSCC] 2.1.3.1 FILE_OBJECTID_BUFFER (type 1: with BirthVolumeId, BirthObjectId and
// DomainId): the output of FSCTL_GET_OBJECT_ID and FSCTL_CREATE_OR_GET_OBJECT_ID.
inline constexpr std::size_t kObjectIdBufferSize = 64;
struct FileObjectIdBuffer {
  std::array<std::uint8_t, 16> object_id{};
  std::array<std::uint8_t, 16> birth_volume_id{};
  std::array<std::uint8_t, 16> birth_object_id{};
  std::array<std::uint8_t, 16> domain_id{};
  bool operator==(const FileObjectIdBuffer&) const = default;
};
NtStatus decode_fsctl(ByteSpan buffer, FileObjectIdBuffer& out);
Bytes encode_fsctl(const FileObjectIdBuffer& in);

// [MS-FSCC] 2.3.8 DUPLICATE_EXTENTS_DATA: the source named by an SMB2 FileId.
inline constexpr std::size_t kDuplicateExtentsDataSize = 40;
struct DuplicateExtentsData {
  FileId source;
  std::int64_t source_file_offset = 0;
  std::int64_t target_file_offset = 0;
  std::int64_t byte_count = 0;
  bool operator==(const DuplicateExtentsData&) const = default;
};
NtStatus decode_fsctl(ByteSpan input, DuplicateExtentsData& out);
Bytes encode_fsctl(const DuplicateExtentsData& in);

}  // namespace smb
