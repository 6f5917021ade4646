// Directory enumeration for QUERY_DIRECTORY ([MS-SMB2] 3.3.5.18, [MS-FSA] 2.1.5.6.3).
#pragma once

#include <cstddef>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "smbd/base/ntstatus.hh"
#include "smbd/base/unique_fd.hh"
#include "smbd/vfs/file.hh"
#include "smbd/vfs/names.hh"
#include "smbd/vfs/share.hh"

namespace smb::vfs {

struct DirEntry {
  std::string name;
  FileInfo info;
};

// Whether an entry is listed, asked with an O_PATH descriptor of it ("." and ".." are
// always listed). Empty: every entry is.
using EntryFilter = std::function<bool(int fd)>;

// What a listing's consumer did with the entry it was handed.
enum class Take {
  more,  // taken; hand over the next one
  last,  // taken; stop here
  none,  // not taken (it did not fit): stop, and hand it over first next time
};

// A snapshot of a directory's names, taken at open() and at each restart: "." and ".."
// first (also at the share root, as Windows servers return them there; ".." of the root
// describes the root itself, so nothing outside the share is shown), then the other
// entries in byte order, with a cursor ([MS-FSA] 2.1.5.6.3 Open.QueryLastEntry).
// Entries are stat'ed when reached: symlinks are followed beneath the share root, and one
// leading outside or nowhere is described by the link itself. Entries removed after the
// snapshot are skipped.
//
// Safe to use from several threads at once: each call holds the enumerator for its
// whole run, so a restart never pulls the snapshot from under another call's listing.
// The order of concurrent calls is not defined; the SMB layer runs one query of an open
// at a time, in the order the client sent them.
class DirEnumerator {
 public:
  // `share` must outlive the enumerator; `smb_path` names an existing directory.
  NtStatus open(const Share& share, std::string_view smb_path);

  // Hands `take` the entries from the cursor on whose names match `expression`, in
  // order, moving the cursor past each one taken, until the end of the snapshot or
  // `take` says stop. With `restart`, a fresh snapshot is taken first and the listing
  // starts from its beginning. SUCCESS also when nothing matched; INVALID_HANDLE before
  // a successful open().
  // Entries `visible` refuses are left out.
  NtStatus list(const NameExpression& expression, bool restart,
                const std::function<Take(const DirEntry&)>& take, const EntryFilter& visible = {});

 private:
  NtStatus snapshot();  // requires mu_
  NtStatus stat_entry(const std::string& name, FileInfo& out, const EntryFilter& visible) const;

  std::mutex mu_;
  const Share* share_ = nullptr;
  UniqueFd dir_;
  std::string relative_;  // on-disk path from the share root ("" for the root)
  std::vector<std::string> names_;
  std::size_t position_ = 0;
};

}  // namespace smb::vfs
