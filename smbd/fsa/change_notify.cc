#include "smbd/fsa/change_notify.hh"

#include "smbd/base/bytes.hh"
#include "smbd/vfs/dir_watch.hh"

namespace smb::fsa {

namespace {

constexpr std::size_t kEntryHeader = 12;  // MS-FSCC 2.7.1: NextEntryOffset, Action, length

std::size_t entry_size(const std::string& name) {
  Bytes utf16;
  utf8_to_utf16le(name, utf16);
  return kEntryHeader + utf16.size();
}

std::size_t padded(std::size_t n) { return (n + 3) & ~std::size_t{3}; }

}  // namespace

std::vector<MappedChange> map_dir_change(std::uint32_t what, bool is_directory, bool renamed) {
  namespace c = vfs::dir_change;
  std::vector<MappedChange> out;
  const std::uint32_t name_filter =
      is_directory ? notify_filter::DIR_NAME : notify_filter::FILE_NAME;
  if (what & c::created) out.push_back({notify_action::ADDED, name_filter});
  if (what & c::deleted) out.push_back({notify_action::REMOVED, name_filter});
  if (what & c::moved_from)
    out.push_back(
        {renamed ? notify_action::RENAMED_OLD_NAME : notify_action::REMOVED, name_filter});
  if (what & c::moved_to)
    out.push_back({renamed ? notify_action::RENAMED_NEW_NAME : notify_action::ADDED, name_filter});
  // A file (not a directory) renamed or moved is reported modified under its new name to
  // a watcher of its attributes or creation time that does not watch file names, as
  // Windows does (smbtorture's smb2.notify.mask-change and rec tell the two cases apart).
  if ((what & c::moved_to) && !is_directory)
    out.push_back({notify_action::MODIFIED, notify_filter::ATTRIBUTES | notify_filter::CREATION,
                   notify_filter::FILE_NAME});
  // Writes and truncation change the size and the last write time.
  if (what & c::data)
    out.push_back({notify_action::MODIFIED, notify_filter::SIZE | notify_filter::LAST_WRITE});
  // IN_ATTRIB stands for mode and owner (attributes, security), the times set by hand,
  // and extended attributes: EAs, DOS attributes, creation time, the NT ACL and named
  // streams all live there. Linux does not say which, so each of them may match.
  if (what & c::metadata)
    out.push_back({notify_action::MODIFIED,
                   notify_filter::ATTRIBUTES | notify_filter::LAST_WRITE |
                       notify_filter::LAST_ACCESS | notify_filter::CREATION | notify_filter::EA |
                       notify_filter::SECURITY | notify_filter::STREAM_NAME |
                       notify_filter::STREAM_SIZE | notify_filter::STREAM_WRITE});
  return out;
}

std::size_t notify_information_size(const std::vector<NotifyChange>& changes) {
  std::size_t size = 0;
  for (const NotifyChange& change : changes) size = padded(size) + entry_size(change.name);
  return size;
}

bool ChangeBuffer::add(std::uint32_t filter, std::uint32_t action, std::string name) {
  if ((filter & filter_) == 0) return false;
  if (overflowed_) return true;
  std::size_t size = padded(size_) + entry_size(name);
  if (size > limit_) {
    overflow();
    return true;
  }
  size_ = size;
  changes_.push_back({action, std::move(name)});
  return true;
}

void ChangeBuffer::overflow() {
  overflowed_ = true;
  changes_.clear();
  size_ = 0;
}

ChangeBuffer::Taken ChangeBuffer::take(std::uint32_t output_buffer_length) {
  Taken taken;
  // MS-FSA 2.1.5.10: changes that do not fit the request's buffer are reported as
  // STATUS_NOTIFY_ENUM_DIR with no data.
  if (overflowed_ || size_ > output_buffer_length)
    taken.status = NtStatus::NOTIFY_ENUM_DIR;
  else
    taken.changes = std::move(changes_);
  changes_.clear();
  size_ = 0;
  overflowed_ = false;
  return taken;
}

}  // namespace smb::fsa
