#include "pmem/mapped_file_data.hh"

#include <utility>

#include "smbd/vfs/posix_file_data.hh"

namespace smb::pmem {

const char* persistence_mode(const MappedFile& file) {
  if (file.map_sync()) return "pmem: MAP_SYNC";
  return file.is_pmem() ? "pmem: forced" : "page cache + msync";
}

MappedFileData::MappedFileData(std::shared_ptr<UniqueFd> fd, std::shared_ptr<MappedFile> mapped,
                               bool writable)
    : fd_(std::move(fd)), mapped_(std::move(mapped)), writable_(writable) {}

NtStatus MappedFileData::open(std::shared_ptr<UniqueFd> fd, bool writable, FileTable& table,
                              std::shared_ptr<MappedFileData>& out) {
  if (!fd || !fd->valid()) return NtStatus::INVALID_HANDLE;
  std::shared_ptr<MappedFile> mapped;
  if (NtStatus status = table.acquire(fd->get(), mapped); status != NtStatus::SUCCESS) {
    return status;
  }
  out.reset(new MappedFileData(std::move(fd), std::move(mapped), writable));
  return NtStatus::SUCCESS;
}

NtStatus MappedFileData::read(std::uint64_t offset, MutableByteSpan buffer,
                              std::size_t& done) const {
  return mapped_->read(offset, buffer, done);
}

bool MappedFileData::read_nowait(std::uint64_t, MutableByteSpan, std::size_t&,
                                 vfs::LoopRead) const {
  return false;
}

NtStatus MappedFileData::write(std::uint64_t offset, ByteSpan data, std::size_t& done) {
  done = 0;
  // The MappedFile may be writable for another open of the file; this one must be.
  if (!writable_) return NtStatus::ACCESS_DENIED;
  return mapped_->write(offset, data, done);
}

NtStatus MappedFileData::append(ByteSpan data, std::size_t& done) {
  return write(mapped_->size(), data, done);
}

NtStatus MappedFileData::flush() { return mapped_->flush(); }

NtStatus MappedFileData::set_end_of_file(std::uint64_t end_of_file) {
  if (!writable_) return NtStatus::ACCESS_DENIED;
  return mapped_->set_end_of_file(end_of_file);
}

NtStatus MappedFileData::set_allocation_size(std::uint64_t allocation_size) {
  if (!writable_) return NtStatus::ACCESS_DENIED;
  // [MS-FSA] 2.1.5.14.3: less than the size truncates, which the mapping must do; more
  // only reserves blocks beyond the end, which the mapping never touches.
  if (allocation_size < mapped_->size()) return mapped_->set_end_of_file(allocation_size);
  return vfs::reserve_allocation(fd_->get(), allocation_size);
}

}  // namespace smb::pmem
