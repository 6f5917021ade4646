// Oplocks (MS-SMB2 3.3.1.10, 3.3.4.6, 3.3.5.22) backed by kernel file leases.
//
// An exclusive or batch oplock is granted only when the kernel grants a write lease on
// the open's descriptor (fcntl F_SETLEASE F_WRLCK): that holds only while no other
// descriptor of the file is open anywhere on the host, in this worker, another worker or
// a local process. Any later open of the file is held by the kernel and signals this
// process (SIGIO); the worker then sends an oplock break to the client, and releases the
// lease when the client acknowledges (or the kernel's lease-break time runs out), so the
// other opener proceeds only after the client has flushed what it cached.
#pragma once

#include <cstdint>

#include "smbd/proto/create.hh"
#include "smbd/worker/server_state.hh"

namespace smb::server {

class Worker;

// The oplock to grant for a new open: EXCLUSIVE or BATCH when requested and the lease is
// granted, NONE otherwise (level II and leases are not offered).
OplockLevel grant_oplock(Open& open, OplockLevel requested);

// SIGIO: sends a break for every open whose lease the kernel is breaking.
void break_oplocks_on_lease_signal(Worker& worker);

}  // namespace smb::server
