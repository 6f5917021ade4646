#include "smbd/fsa/backend.hh"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "pmem/mapped_file.hh"
#include "pmem/mapped_file_data.hh"
#include "smbd/vfs/posix_file_data.hh"

namespace smb::fsa {

namespace {

// The MappedFiles of this process. A worker is one process, so this is the worker's
// table: every open of a file in it shares one mapping.
pmem::FileTable& mapped_files() {
  static pmem::FileTable table;
  return table;
}

}  // namespace

NtStatus open_file_data(std::shared_ptr<UniqueFd> fd, bool writable, vfs::Backend backend,
                        std::shared_ptr<vfs::FileData>& out) {
  if (!fd || !fd->valid()) return NtStatus::INVALID_HANDLE;
  switch (backend) {
    case vfs::Backend::posix:
      out = std::make_shared<vfs::PosixFileData>(std::move(fd));
      return NtStatus::SUCCESS;
    case vfs::Backend::pmem: {
      std::shared_ptr<pmem::MappedFileData> mapped;
      NtStatus status = pmem::MappedFileData::open(std::move(fd), writable, mapped_files(), mapped);
      if (status == NtStatus::SUCCESS) out = std::move(mapped);
      return status;
    }
  }
  return NtStatus::INVALID_PARAMETER;
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
  mode = pmem::persistence_mode(*mapped);
  return true;
}

}  // namespace smb::fsa
