// Share modes and delete-pending between the opens of one file (MS-FSA 2.1.5.1.2.2,
// 2.1.5.15.3), and what a close leaves behind (MS-FSA 2.1.5.5), over the open table.
#pragma once

#include <cstdint>
#include <optional>

#include "smbd/base/ntstatus.hh"
#include "smbd/fsa/file_open.hh"
#include "smbd/fsa/open_table.hh"

namespace smb::fsa {

// Whether a new open of a file with `access` (granted) and `share_access` may join the
// file's `record`: DELETE_PENDING when the file is delete-pending, SHARING_VIOLATION when
// it conflicts with an open in the record (MS-FSA 2.1.5.1.2.2), else SUCCESS.
// Whether an open with `access` and `share_access` conflicts with `existing`.
bool sharing_conflicts(const ShareEntry& existing, std::uint32_t access,
                       std::uint32_t share_access);
NtStatus check_sharing(const FileRecord& record, std::uint32_t access, std::uint32_t share_access);

// Records `open` (key, granted access and sharing mode set) in the table when
// check_sharing() admits it against the file's other opens.
NtStatus admit(OpenTable& table, FileOpen& open);

// Whether `renamed` may take a new name in the directory `target_directory`, replacing
// the file `replaced` if the name is taken by another file (MS-FSA 2.1.5.14.11). The
// rename opens the new name's directory for adding an entry (FILE_ADD_FILE, or
// FILE_ADD_SUBDIRECTORY for a directory) sharing read and write, as Windows does: an
// open of that directory with DELETE access, or one that does not share writing, makes
// it SHARING_VIOLATION (DELETE_PENDING when the directory is to go). A replaced file
// that is open anywhere makes it ACCESS_DENIED.
NtStatus check_rename(const OpenTable& table, const FileOpen& renamed,
                      const FileKey& target_directory, const std::optional<FileKey>& replaced);

// MS-FSA 2.1.5.15.3 FileDispositionInformation: marks the file of `open` to be deleted
// when its last open closes, or takes the mark back; the caller has checked that the
// open has DELETE access and that the file may be deleted.
void set_disposition(OpenTable& table, FileOpen& open, bool delete_file);

// `open` leaves its file's record (MS-FSA 2.1.5.5). When it was to delete the file
// (delete-on-close or delete-pending), the file goes if this was its last open, and is
// delete-pending for the opens left otherwise. True when the caller is to delete the
// file now.
bool leave(OpenTable& table, FileOpen& open);

}  // namespace smb::fsa
