// The open table of the host (open_table.hh) over the shared-memory segment every worker
// maps (hostwide/open_segment.hh): share modes and delete-pending hold between the opens
// of all workers. One view per worker, used from its event loop only.
//
// Watches see only this worker's changes: waking the waiters of other workers is not
// done here.
#pragma once

#include <sys/types.h>

#include <array>
#include <cstdint>
#include <map>
#include <vector>

#include "smbd/fsa/open_table.hh"
#include "smbd/hostwide/open_segment.hh"

namespace smb::fsa {

class SharedOpenTable final : public OpenTable {
 public:
  // The view of the worker `owner` (its pid) of `segment`, which must outlive it.
  SharedOpenTable(hostwide::OpenSegment& segment, pid_t owner);
  ~SharedOpenTable() override;

  // The ClientGUID recorded with this worker's opens.
  void set_client(const std::array<std::uint8_t, 16>& client);

  std::optional<FileRecord> lookup(const FileKey& key) const override;
  // INSUFFICIENT_RESOURCES when the table is full; INTERNAL_ERROR when the file's record
  // was found damaged (the table repairs itself; the open is refused).
  NtStatus insert(FileOpen& open, const Admission& admit) override;
  FileRecord remove(FileOpen& open) override;
  void set_delete_pending(const FileKey& key, bool pending) override;
  [[nodiscard]] Watch watch(const FileKey& key, std::function<void()> changed) override;

 private:
  void notify(const FileKey& key) { watches_.notify(key); }

  hostwide::OpenSegment& segment_;
  pid_t owner_;
  std::array<std::uint8_t, 16> client_{};
  std::uint64_t next_token_ = 0;
  std::map<const FileOpen*, std::uint64_t> tokens_;  // this worker's opens in the segment
  std::map<FileKey, std::vector<FileOpen*>> local_;  // to mark them delete-pending
  FileWatches watches_;
};

}  // namespace smb::fsa
