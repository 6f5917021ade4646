// Directory enumeration for QUERY_DIRECTORY ([MS-SMB2] 3.3.5.18, [MS-FSA] 2.1.5.6.3).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "smbd/base/ntstatus.hh"
#include "smbd/vfs/file.hh"
#include "smbd/vfs/share.hh"
#include "smbd/base/unique_fd.hh"

namespace smb::vfs {

struct DirEntry {
  std::string name;
  FileInfo info;
};

// A snapshot of a directory's names, taken at open() and at each restart(): "." and
// ".." first (also at the share root, as Windows servers return them there; ".." of
// the root describes the root itself, so nothing outside the share is shown), then the
// other entries in byte order. Entries are stat'ed when reached: symlinks are followed
// beneath the share root, and one leading outside or nowhere is described by the link
// itself. Entries removed after the snapshot are skipped. One enumerator is used by
// one request at a time (the SMB layer serialises requests on an open).
class DirEnumerator {
 public:
  // `share` must outlive the enumerator; `smb_path` names an existing directory.
  NtStatus open(const Share& share, std::string_view smb_path);
  NtStatus restart();

  // The next entry at or after the cursor whose name matches `expression`
  // ([MS-FSA] 2.1.4.4), without consuming it: NO_MORE_FILES at the end.
  NtStatus peek(std::string_view expression, DirEntry& out);
  // Consumes the entry the last successful peek returned.
  void advance();

 private:
  NtStatus stat_entry(const std::string& name, FileInfo& out) const;

  const Share* share_ = nullptr;
  UniqueFd dir_;
  std::string relative_;  // on-disk path from the share root ("" for the root)
  std::vector<std::string> names_;
  std::size_t position_ = 0;
};

}  // namespace smb::vfs
