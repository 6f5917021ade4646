#include "smbd/fsa/share_modes.hh"

#include "smbd/base/wire.hh"

namespace smb::fsa {

namespace {

namespace am = access_mask;
constexpr std::uint32_t kReadAccess = am::FILE_READ_DATA | am::FILE_EXECUTE;
constexpr std::uint32_t kWriteAccess = am::FILE_WRITE_DATA | am::FILE_APPEND_DATA;
// Opens with none of these take part in no sharing check (MS-FSA 2.1.5.1.2.2).
constexpr std::uint32_t kSharedAccess = kReadAccess | kWriteAccess | am::DELETE;

// Whether an open with `access` is refused by one that shares only `share_access`.
bool conflicts(std::uint32_t access, std::uint32_t share_access) {
  return ((access & kReadAccess) != 0 && (share_access & kFileShareRead) == 0) ||
         ((access & kWriteAccess) != 0 && (share_access & kFileShareWrite) == 0) ||
         ((access & am::DELETE) != 0 && (share_access & kFileShareDelete) == 0);
}

}  // namespace

bool sharing_conflicts(const ShareEntry& existing, std::uint32_t access,
                       std::uint32_t share_access) {
  if ((access & kSharedAccess) == 0 || (existing.granted_access & kSharedAccess) == 0) return false;
  return conflicts(access, existing.share_access) ||
         conflicts(existing.granted_access, share_access);
}

NtStatus check_sharing(const FileRecord& record, std::uint32_t access, std::uint32_t share_access) {
  if (record.delete_pending) return NtStatus::DELETE_PENDING;
  if ((access & kSharedAccess) == 0) return NtStatus::SUCCESS;
  for (const ShareEntry& existing : record.entries) {
    if ((existing.granted_access & kSharedAccess) == 0) continue;
    if (conflicts(access, existing.share_access) ||
        conflicts(existing.granted_access, share_access))
      return NtStatus::SHARING_VIOLATION;
  }
  return NtStatus::SUCCESS;
}

NtStatus admit(OpenTable& table, FileOpen& open) {
  return table.insert(open, [&open](const FileRecord& record) {
    return check_sharing(record, open.granted_access, open.share_access);
  });
}

NtStatus check_rename(const OpenTable& table, const FileOpen& renamed,
                      const FileKey& target_directory, const std::optional<FileKey>& replaced) {
  if (const std::optional<FileRecord> directory = table.lookup(target_directory)) {
    const std::uint32_t add_entry =
        renamed.is_directory ? am::FILE_ADD_SUBDIRECTORY : am::FILE_ADD_FILE;
    if (NtStatus st = check_sharing(*directory, add_entry, kFileShareRead | kFileShareWrite);
        st != NtStatus::SUCCESS)
      return st;
  }
  if (replaced && *replaced != renamed.key) {
    const std::optional<FileRecord> target = table.lookup(*replaced);
    if (target && !target->entries.empty()) return NtStatus::ACCESS_DENIED;
  }
  return NtStatus::SUCCESS;
}

void set_disposition(OpenTable& table, FileOpen& open, bool delete_file) {
  open.delete_on_close = delete_file;
  table.set_delete_pending(open.key, delete_file);
}

bool leave(OpenTable& table, FileOpen& open) {
  // The table makes the file delete-pending for the opens left in the same step as it
  // takes this one out, so that a last close elsewhere in between still deletes it.
  FileRecord left = table.remove(open);
  return left.entries.empty() && left.delete_pending;
}

}  // namespace smb::fsa
