// The open table of the host (open_table.hh) over the shared-memory segment every worker
// maps (hostwide/open_segment.hh): share modes and delete-pending hold between the opens
// of all workers. One view per worker, used from its event loop only.
//
// Oplocks and leases live in the same records (fsa/caching.hh decides them): insert()
// grants the caching the open's CachingRequest asks for, or marks breaks, rings the
// holders' doorbells and answers PENDING; the opener tries again when its own doorbell
// rings. Watches see only this worker's changes.
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
  // With caching (the default): PENDING when breaks of other opens' caching are due
  // first; `open` is not recorded then and the caller tries again when rung.

  // A durable open passing to another worker (MS-SMB2 3.3.5.9.7 from another client):
  // its record becomes worker `new_owner`'s open `new_token` of client `client`, and this
  // view forgets it without leaving the table. False when it has no record.
  bool hand_over(FileOpen& open, pid_t new_owner, std::uint64_t new_token,
                 const std::array<std::uint8_t, 16>& client);
  // A token for an open another worker hands over to this one.
  std::uint64_t reserve_token() { return ++next_token_; }
  // Takes up the open handed over as `token` (its record already says so).
  void adopt(FileOpen& open, std::uint64_t token);

  // A break to tell this worker's client: one per lease, one per oplock.
  struct BreakNotice {
    FileOpen* open = nullptr;
    bool lease = false;
    OplockType new_level = OplockType::LEVEL_NONE;  // an oplock's
    std::uint8_t current_state = 0;                 // a lease's
    std::uint8_t new_state = 0;
    std::uint16_t epoch = 0;
    bool ack_required = false;
  };
  // The breaks other openers marked on this worker's opens since the last call.
  std::vector<BreakNotice> take_breaks();
  // MS-SMB2 3.3.5.22.1: the client acknowledges the oplock break of `open`.
  NtStatus acknowledge_oplock(FileOpen& open, OplockType level, OplockType& granted);
  // MS-SMB2 3.3.5.22.2: the client acknowledges the break of its lease `lease_key` on the
  // file of `open`.
  NtStatus acknowledge_lease(FileOpen& open, const std::array<std::uint8_t, 16>& lease_key,
                             std::uint8_t lease_state, std::uint8_t& granted);
  // The breaks a waiting opener of `key` waited for take effect unacknowledged (its
  // timeout passed).
  void force_breaks(const FileKey& key);
  // The break of `open` cannot be told to its client: it takes effect at once.
  void give_up_break(FileOpen& open);
  // `writer` writes or truncates the file: read caching of other opens goes.
  void break_readers(FileOpen& writer);
  // `by` (an open of this worker's client, or a CREATE about to be one) added, removed,
  // renamed or modified an entry of `directory`: the directory's leases go to none but
  // the one `by` names as its parent (caching.hh: break_directory_leases). Nobody waits.
  void break_directory_leases(const FileKey& directory, const FileOpen& by);
  // `renamer` renames the file: other leases' handle caching goes (caching.hh:
  // break_handle_leases). True while one still holds it; this worker is rung when that
  // changes.
  bool break_handle_leases(FileOpen& renamer);

 private:
  void ring(const std::vector<pid_t>& workers);
  // Refreshes this worker's opens of `key` from the file's state.
  void refresh(const FileKey& key, const hostwide::FileState& state);
  void notify(const FileKey& key) { watches_.notify(key); }

  hostwide::OpenSegment& segment_;
  pid_t owner_;
  std::array<std::uint8_t, 16> client_{};
  std::uint64_t next_token_ = 0;
  std::map<const FileOpen*, std::uint64_t> tokens_;  // this worker's opens in the segment
  std::map<std::uint64_t, FileOpen*> by_token_;
  std::map<FileKey, std::vector<FileOpen*>> local_;  // to mark them delete-pending
  FileWatches watches_;
};

}  // namespace smb::fsa
