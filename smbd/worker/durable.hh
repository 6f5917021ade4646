// A durable open taken over by another worker (docs/architecture.md, durable handles).
//
// A reconnect (MS-SMB2 3.3.5.9.7, 3.3.5.9.12) from a connection of another ClientGUID
// lands in another worker than the one holding the disconnected open. That worker (the
// asker) reserves the open's new volatile id and host-table token and sends a
// DurableFetch through the master (control.hh, DURABLE_FETCH) to the holder, which
// checks it as a local reconnect would. When it passes, the holder re-owns the open's
// host-table entry and byte-range locks to the asker (pid, token, volatile id), forgets
// the open without closing it, and answers with the open's state (HandedOpen) and its
// descriptor (DURABLE_RESULT). Either worker may die at any step: the master removes a
// dead worker's entries, whichever holds them by then.
//
// Both messages come from another worker of this server; they are decoded with bounds
// anyway.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>

#include "smbd/base/bytes.hh"
#include "smbd/base/ntstatus.hh"
#include "smbd/worker/server_state.hh"

namespace smb::server {

struct DurableFetch {
  std::uint64_t token = 0;          // the asker's, echoed in the result
  std::uint64_t persistent_id = 0;  // the open asked for
  std::uint64_t volatile_id = 0;    // its id in the asker
  std::uint64_t table_token = 0;    // its host-table token in the asker
  bool v2 = false;                  // DH2C: create_guid must match
  bool lease_asked = false;
  std::array<std::uint8_t, 16> create_guid{};
  std::string owner;       // the asking session's durable owner
  std::string share_name;  // the share of the asking tree
};
Bytes encode(const DurableFetch& fetch);
std::optional<DurableFetch> decode_fetch(ByteSpan bytes);

// The answer: the asker's token, a status and, on success, the open's state.
Bytes encode_result(std::uint64_t token, NtStatus status, const Open* open);
// The open's state into `open` (its id, session, tree, descriptor and data are the
// asker's to set); false when the bytes are not such a state.
bool decode_result(ByteSpan bytes, std::uint64_t& token, NtStatus& status, Open& open);

// MS-SMB2 3.3.5.9.7, 3.3.5.9.12: whether `open` (disconnected) may go to a reconnect
// asking as `fetch` does: SUCCESS, ACCESS_DENIED (another user) or OBJECT_NAME_NOT_FOUND.
// A leased open is not handed over: its lease belongs to its ClientGUID, whose
// connections reach its own worker.
NtStatus check_handover(const Open& open, const DurableFetch& fetch);

}  // namespace smb::server
