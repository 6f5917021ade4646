// Symbolic links as reparse points (vfs/symlink.hh): FSCTL_GET_REPARSE_POINT of a link
// the share does not follow, opened itself with FILE_OPEN_REPARSE_POINT ([MS-FSA]
// 2.1.5.9.20), and the Symbolic Link Error Response of a CREATE that stopped on one
// ([MS-SMB2] 2.2.2.2.1). Reparse points are not made or removed here:
// FSCTL_SET_REPARSE_POINT and FSCTL_DELETE_REPARSE_POINT answer STATUS_NOT_SUPPORTED.
#include <algorithm>
#include <memory>
#include <string>

#include "smbd/proto/reparse.hh"
#include "smbd/vfs/symlink.hh"
#include "smbd/worker/blocking.hh"
#include "smbd/worker/fsctl.hh"
#include "smbd/worker/worker.hh"

namespace smb::server {

SymbolicLinkReparse symlink_reparse(std::string_view target) {
  SymbolicLinkReparse link;
  link.substitute_name = std::string(target);
  std::replace(link.substitute_name.begin(), link.substitute_name.end(), '/', '\\');
  link.print_name = link.substitute_name;
  // [MS-FSCC] 2.1.2.4: a target not starting at a root is relative to the link's directory.
  if (target.empty() || target.front() != '/') link.flags = SYMLINK_FLAG_RELATIVE;
  return link;
}

void reply_stopped_on_symlink(const RequestPtr& req, const vfs::SymlinkStop& stop) {
  req->reply_error(NtStatus::STOPPED_ON_SYMLINK,
                   encode_symlink_error(symlink_reparse(stop.target), stop.unparsed_path_length));
}

void fsctl_reparse_point(const RequestPtr& req, const IoctlRequest& request) {
  Open* open = file_open(req);
  if (open == nullptr) return;
  if (request.ctl_code != FSCTL_GET_REPARSE_POINT) {
    req->reply(NtStatus::NOT_SUPPORTED);
    return;
  }
  auto target = std::make_shared<std::string>();
  auto status = std::make_shared<NtStatus>(NtStatus::SUCCESS);
  // Only a link opened itself is a reparse point (NOT_A_REPARSE_POINT otherwise): an
  // open through a followed link has its target's descriptor.
  run_blocking(
      req->worker.loop(),
      [fd = open->fd, target, status]() { *status = vfs::read_symlink(fd->get(), {}, *target); },
      [req, request, target, status]() {
        if (!req->refresh()) return;
        if (*status != NtStatus::SUCCESS) {
          req->reply(*status);
          return;
        }
        Bytes output = encode_reparse(symlink_reparse(*target));
        // [MS-FSA] 2.1.5.9.20: room for less than the header is BUFFER_TOO_SMALL; for less
        // than the whole, as much as fits with BUFFER_OVERFLOW.
        if (request.max_output_response < kReparseHeaderSize) {
          req->reply(NtStatus::BUFFER_TOO_SMALL);
          return;
        }
        NtStatus result = NtStatus::SUCCESS;
        if (output.size() > request.max_output_response) {
          output.resize(request.max_output_response);
          result = NtStatus::BUFFER_OVERFLOW;
        }
        reply_ioctl(req, request, std::move(output), result);
      });
}

}  // namespace smb::server
