// Which backend serves a share's files: the POSIX one (vfs/posix_file_data.hh) or, on a
// `pmem = yes` share, the persistent-memory one (pmem/mapped_file_data.hh). Both answer
// through vfs::FileData, so nothing above this file knows which it got.
#pragma once

#include <memory>
#include <string>

#include "smbd/base/ntstatus.hh"
#include "smbd/base/unique_fd.hh"
#include "smbd/vfs/file_data.hh"
#include "smbd/vfs/share.hh"

namespace smb::fsa {

// The data of the regular file behind `fd` (kept alive with it), opened with `writable`
// access, in a share served by `backend`. A pmem file is mapped, or shares the mapping
// of another open of it in this process; a write-only descriptor cannot be mapped
// (ACCESS_DENIED). Blocking: call from a pool thread.
NtStatus open_file_data(std::shared_ptr<UniqueFd> fd, bool writable, vfs::Backend backend,
                        std::shared_ptr<vfs::FileData>& out);

// How files of a pmem share at `root` are served, for the log at share load (the modes
// of pmem::persistence_mode). Found by mapping an unnamed temporary file there; false
// with `error` set when none could be made.
bool describe_pmem_share(const std::string& root, std::string& mode, std::string& error);

}  // namespace smb::fsa
