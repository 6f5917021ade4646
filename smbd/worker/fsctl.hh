// The file-system controls of IOCTL (MS-SMB2 3.3.5.15), one file per family:
// fsctl_copy.cc (server-side copy, 3.3.5.15.6), fsctl_ranges.cc (sparse files, zeroing,
// allocated ranges: [MS-FSA] 2.1.5.9.22, .30, .39), fsctl_object_id.cc (object ids),
// fsctl_reparse.cc (symbolic links as reparse points, [MS-FSA] 2.1.5.9.20); the test-only
// FSCTLs smbtorture drives in fsctl_smbtorture.cc.
// smb2_ioctl.cc decodes the IOCTL and picks one of these by CtlCode.
#pragma once

#include <cstdint>

#include "smbd/base/bytes.hh"
#include "smbd/base/ntstatus.hh"
#include "smbd/proto/ioctl.hh"
#include "smbd/vfs/symlink.hh"
#include "smbd/worker/request.hh"

namespace smb::server {

// Answers the IOCTL with `output`; a status other than SUCCESS is sent with the body
// (BUFFER_OVERFLOW with partial output, INVALID_PARAMETER with the copy limits).
void reply_ioctl(const RequestPtr& req, const IoctlRequest& request, Bytes output,
                 NtStatus status = NtStatus::SUCCESS);

void fsctl_request_resume_key(const RequestPtr& req, const IoctlRequest& request);
void fsctl_copychunk(const RequestPtr& req, const IoctlRequest& request);
void fsctl_duplicate_extents(const RequestPtr& req, const IoctlRequest& request);

void fsctl_set_sparse(const RequestPtr& req, const IoctlRequest& request);

// The open of a file-system control: null, once the request is answered, when the open
// has gone (FILE_CLOSED) or is a named pipe (INVALID_DEVICE_REQUEST).
Open* file_open(const RequestPtr& req);
void fsctl_set_zero_data(const RequestPtr& req, const IoctlRequest& request);
void fsctl_query_allocated_ranges(const RequestPtr& req, const IoctlRequest& request);
void fsctl_compression(const RequestPtr& req, const IoctlRequest& request);

void fsctl_object_id(const RequestPtr& req, const IoctlRequest& request);

// FSCTL_GET_REPARSE_POINT; FSCTL_SET_REPARSE_POINT and FSCTL_DELETE_REPARSE_POINT answer
// NOT_SUPPORTED.
void fsctl_reparse_point(const RequestPtr& req, const IoctlRequest& request);
// Whether the file open as `fd` (its name `name`) has FILE_ATTRIBUTE_SPARSE_FILE
// (FSCTL_SET_SPARSE). Blocking: off the loop.
bool is_sparse(int fd, const std::string& name);

// Test-only FSCTLs (fsctl_smbtorture.cc): whether `ctl_code` is one, and serving it
// (INVALID_DEVICE_REQUEST unless `smbd:FSCTL_SMBTORTURE = yes`).
bool is_smbtorture_fsctl(std::uint32_t ctl_code);
void fsctl_smbtorture(const RequestPtr& req, const IoctlRequest& request);

// The answer to a CREATE that stopped on a symbolic link: STATUS_STOPPED_ON_SYMLINK with
// the Symbolic Link Error Response ([MS-SMB2] 2.2.2.2.1).
void reply_stopped_on_symlink(const RequestPtr& req, const vfs::SymlinkStop& stop);

}  // namespace smb::server
