// Flushing an open's cached data to stable storage (MS-FSA 2.1.5.7).
#pragma once

#include "smbd/base/ntstatus.hh"
#include "smbd/fsa/file_open.hh"

namespace smb::fsa {

// On the loop: ACCESS_DENIED for an open with neither FILE_WRITE_DATA nor
// FILE_APPEND_DATA (MS-SMB2 3.3.5.11), INVALID_DEVICE_REQUEST for one without a data
// path (a directory, or a file opened without data access).
NtStatus check_flush(const FileOpen& open);

// On a pool thread: the data and metadata of the file reach stable storage. For a pmem
// file the data is durable already and only the metadata is synced.
NtStatus flush(const vfs::FileIo& io);

}  // namespace smb::fsa
