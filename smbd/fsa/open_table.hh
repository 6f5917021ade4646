// The table of open files (MS-FSA 2.1.1.4 File.OpenList, Samba's locking.tdb): per file,
// the opens of it with their access and sharing mode, and whether the file is
// delete-pending. It is the one place fsa learns about other opens of a file, behind a
// small interface keyed by file id, so that a table shared by every worker of the host
// (a shared-memory segment) or of a cluster can take the place of the one here without
// a change elsewhere in fsa/.
//
// A record's changes are made under the table's lock for that file: insert() runs the
// caller's admission check on the record as it is and records the open only when the
// check passes, so no other open of the file slips in between.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <vector>

#include "smbd/base/ntstatus.hh"
#include "smbd/fsa/file_open.hh"

namespace smb::fsa {

// One open of a file as the table records it (Samba's share_mode_entry).
struct ShareEntry {
  std::uint32_t granted_access = 0;
  std::uint32_t share_access = 0;
  bool operator==(const ShareEntry&) const = default;
};

// What the table knows of one file.
struct FileRecord {
  bool delete_pending = false;  // MS-FSA 2.1.5.15.3: no new open until the last one closes
  std::vector<ShareEntry> entries;
};

// Cancels a watch when destroyed.
class Watch {
 public:
  Watch() = default;
  explicit Watch(std::function<void()> cancel) : cancel_(std::move(cancel)) {}
  Watch(Watch&& other) noexcept : cancel_(std::move(other.cancel_)) { other.cancel_ = nullptr; }
  Watch& operator=(Watch&& other) noexcept;
  Watch(const Watch&) = delete;
  Watch& operator=(const Watch&) = delete;
  ~Watch() { cancel(); }
  void cancel();

 private:
  std::function<void()> cancel_;
};

// The watches of one process's table, by file: each fires once, at the next change of
// the file's record (OpenTable::watch). Not thread-safe: the event loop's.
class FileWatches {
 public:
  [[nodiscard]] Watch add(const FileKey& key, std::function<void()> changed);
  // Fires, and forgets, every watch of the file; a callback may watch again or change
  // the table.
  void notify(const FileKey& key);

 private:
  std::map<FileKey, std::map<std::uint64_t, std::function<void()>>> watches_;
  std::uint64_t next_ = 0;
};

class OpenTable {
 public:
  // Decides on the record as it is whether a new open may join it.
  using Admission = std::function<NtStatus(const FileRecord& record)>;

  virtual ~OpenTable() = default;

  // The file's record; nothing when no open of it is recorded.
  virtual std::optional<FileRecord> lookup(const FileKey& key) const = 0;
  // Records `open` under open.key with its granted access and sharing mode when `admit`
  // returns SUCCESS for the current record; otherwise returns what `admit` returned.
  virtual NtStatus insert(FileOpen& open, const Admission& admit) = 0;
  // Takes `open` (inserted before) out of its file's record. An open that was to delete
  // the file (open.delete_on_close) leaves it delete-pending for the opens left, in the
  // same step. Returns the record left: its entries (none when it was the file's last
  // open) and whether the file is to be deleted.
  virtual FileRecord remove(FileOpen& open) = 0;
  // Marks the file delete-pending, or clears the mark (MS-FSA 2.1.5.15.3).
  virtual void set_delete_pending(const FileKey& key, bool pending) = 0;
  // Calls `changed` once, at the next change of the file's record (an open inserted or
  // removed, delete-pending set or cleared); a waiter looks again and watches again.
  // Destroying the Watch cancels it; it must not outlive the table.
  [[nodiscard]] virtual Watch watch(const FileKey& key, std::function<void()> changed) = 0;
};

// The table of one process, for the opens it holds itself. Not thread-safe: used from the
// event loop only. The delete-pending mark is kept on every open of the file
// (FileOpen::delete_pending), where the SMB layer reads it.
class LocalOpenTable final : public OpenTable {
 public:
  std::optional<FileRecord> lookup(const FileKey& key) const override;
  NtStatus insert(FileOpen& open, const Admission& admit) override;
  FileRecord remove(FileOpen& open) override;
  void set_delete_pending(const FileKey& key, bool pending) override;
  [[nodiscard]] Watch watch(const FileKey& key, std::function<void()> changed) override;

 private:
  FileRecord record_of(const std::vector<FileOpen*>& opens) const;
  void notify(const FileKey& key) { watches_.notify(key); }

  std::map<FileKey, std::vector<FileOpen*>> files_;
  FileWatches watches_;
};

}  // namespace smb::fsa
