#include "smbd/fsa/read_write.hh"

#include "smbd/base/wire.hh"

namespace smb::fsa {

namespace {

// MS-FSA 2.1.5.3, 2.1.5.4: MAXLONGLONG, the largest signed 64-bit offset.
constexpr std::uint64_t kMaxLongLong = 0x7FFFFFFFFFFFFFFFull;
// MS-FSA 2.1.5.4: MAXFILESIZE, the largest file NTFS allows.
constexpr std::uint64_t kMaxFileSize = 0xFFFFFFF0000ull;
// MS-FSA 2.1.5.4: ByteOffset -1 (all ones on the wire) asks for the end of the file.
constexpr std::uint64_t kWriteToEndOfFile = ~std::uint64_t{0};

bool append_only(const DataOpen& open) {
  return (open.granted_access & access_mask::FILE_WRITE_DATA) == 0;
}

}  // namespace

NtStatus check_read_range(std::uint64_t offset, std::uint32_t length) {
  if (offset > kMaxLongLong || length > kMaxLongLong - offset) return NtStatus::INVALID_PARAMETER;
  return NtStatus::SUCCESS;
}

NtStatus check_read(const DataOpen& open) {
  if (open.is_directory) return NtStatus::INVALID_DEVICE_REQUEST;
  // MS-SMB2 3.3.5.12: FILE_READ_DATA, or FILE_EXECUTE (a client reading to execute).
  if ((open.granted_access & (access_mask::FILE_READ_DATA | access_mask::FILE_EXECUTE)) == 0)
    return NtStatus::ACCESS_DENIED;
  if (open.io == nullptr) return NtStatus::INVALID_DEVICE_REQUEST;
  return NtStatus::SUCCESS;
}

NtStatus check_write(const DataOpen& open, std::uint64_t offset, std::uint32_t length,
                     WritePosition& where) {
  if (open.is_directory) return NtStatus::INVALID_DEVICE_REQUEST;
  // An open without FILE_WRITE_DATA may only add to the end of the file, wherever it
  // asks to write; all ones is how it says so.
  bool at_end = append_only(open);
  if (!(at_end && offset == kWriteToEndOfFile)) {
    if (offset > kMaxLongLong || (length != 0 && offset >= kMaxFileSize))
      return NtStatus::INVALID_PARAMETER;
    if (length != 0 && length >= kMaxFileSize - offset) return NtStatus::DISK_FULL;
  }
  if ((open.granted_access & (access_mask::FILE_WRITE_DATA | access_mask::FILE_APPEND_DATA)) == 0 ||
      open.read_only_share)
    return NtStatus::ACCESS_DENIED;
  if (open.io == nullptr) return NtStatus::INVALID_DEVICE_REQUEST;
  where.at_end = at_end;
  where.offset = at_end ? 0 : offset;
  return NtStatus::SUCCESS;
}

NtStatus read(const vfs::FileData& io, std::uint64_t offset, MutableByteSpan into,
              std::size_t& done) {
  return io.read(offset, into, done);
}

bool read_without_waiting(const vfs::FileData& io, std::uint64_t offset, MutableByteSpan into,
                          std::size_t& done, vfs::LoopRead in_memory) {
  return io.read_nowait(offset, into, done, in_memory);
}

NtStatus write(vfs::FileData& io, const WritePosition& where, ByteSpan data,
               std::size_t& done) {
  return where.at_end ? io.append(data, done) : io.write(where.offset, data, done);
}

NtStatus check_read_count(std::size_t done, std::uint32_t length, std::uint32_t minimum_count) {
  if (done < minimum_count || (done == 0 && length != 0)) return NtStatus::END_OF_FILE;
  return NtStatus::SUCCESS;
}

std::uint64_t position_after_read(std::uint64_t offset, std::size_t done) { return offset + done; }

std::optional<std::uint64_t> position_after_write(const WritePosition& where, std::size_t done) {
  if (where.at_end) return std::nullopt;
  return where.offset + done;
}

}  // namespace smb::fsa
