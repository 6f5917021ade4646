// Oplocks on the SMB2 side (MS-SMB2 3.3.1.10, 3.3.4.6): the wire's oplock levels against
// the object store's (fsa/oplocks.hh decides and holds them), and the break notification
// the object store's break handler sends.
#pragma once

#include <functional>

#include "smbd/fsa/file_open.hh"
#include "smbd/proto/create.hh"
#include "smbd/worker/request.hh"
#include "smbd/worker/server_state.hh"

namespace smb::server {

class Worker;

// MS-FSA 2.1.5.18: SMB2_OPLOCK_LEVEL_II is LEVEL_TWO, EXCLUSIVE LEVEL_ONE, BATCH
// LEVEL_BATCH, LEASE LEVEL_GRANULAR; NONE and values no level has are LEVEL_NONE.
fsa::OplockType to_oplock_type(OplockLevel level);
OplockLevel to_oplock_level(fsa::OplockType type);

// MS-SMB2 3.3.4.6: tells the client holding the oplock of `open` that it is being broken
// to `new_level`, on the channel the open was last used on or, when that is gone or does
// not deliver it, the next channel of its session (break_delivery.hh). False when the
// session has no channel left; `undeliverable` runs then, or later when every channel
// failed to deliver it.
bool send_oplock_break(Worker& worker, Open& open, fsa::OplockType new_level,
                       std::function<void()> undeliverable = {});

// MS-SMB2 3.3.4.7: tells the client holding the lease of `open` that it is being broken,
// on its oldest connection, then the next oldest while one fails to deliver it; a break
// no connection delivers takes effect (give_up_break) when it asked for an
// acknowledgement.
bool send_lease_break(Worker& worker, Open& open, const fsa::SharedOpenTable::BreakNotice& notice);

// A request waiting for breaks of other opens' caching to be acknowledged (MS-SMB2
// 3.3.5.9 a CREATE, 3.3.5.21.1 a rename): it goes async at once (async.hh: Windows
// answers STATUS_PENDING when a break is needed). `retry` runs on the loop whenever this
// worker's doorbell rings (an acknowledgement, a close, a dead holder's opens removed),
// and, with true, at the break timeout after the host table has made the breaks of the
// file `key` take effect (MS-SMB2 3.3.6.1); the wait ends when it returns true, having
// completed the request, or when the request's wait is ended from outside (CANCEL,
// LOGOFF, TREE_DISCONNECT, the connection lost): it is then answered STATUS_CANCELLED.
// No thread waits and nothing polls.
void wait_for_breaks(const RequestPtr& req, fsa::FileKey key, unsigned timeout_seconds,
                     std::function<bool(bool)> retry);

// MS-SMB2 3.3.4.7: `by` added, removed, renamed or modified an entry of `directory`
// (fsa::FileOpen::parent): the directory's leases break, in every worker, but the one
// `by` names as its parent. Nothing without the host table or for kernel oplocks.
void directory_changed(ClientState& client, const fsa::FileKey& directory, const Open& by);

// The doorbell rang: sends the breaks other openers marked on this worker's opens in the
// host table; a break no channel can carry takes effect at once.
void deliver_breaks(Worker& worker);

}  // namespace smb::server
