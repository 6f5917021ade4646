// Requests that wait (MS-SMB2 3.3.4.2 Sending an Interim Response for an Asynchronous
// Operation, 3.3.5.16 Receiving an SMB2 CANCEL Request).
//
// A handler whose request has to wait for something outside its control (a lock another
// client holds) calls go_async(). The request is then pending on its connection:
//  - when it is the last element of its message (or alone), an interim response goes out
//    at once: STATUS_PENDING, SMB2_FLAGS_ASYNC_COMMAND, a fresh AsyncId (unique on the
//    connection), the credits the request asked for, signed and encrypted as the final
//    response will be. The answers of the elements before it in a compound go with it.
//    The final response carries the same AsyncId and grants no further credits.
//  - an element that is not the last of its compound waits without an interim response,
//    and the message waits with it (MS-SMB2 3.3.4.2 lets only the last element of a
//    compound go async; Windows and Samba do the same).
// The handler completes the request later, exactly once, through req->complete() as any
// handler does: signing, encryption and compounding rules are the gate's (connection.cc).
//
// Nothing is parked per waiting request: the waiter is a callback on the loop, woken by
// whatever it waits for (a doorbell, a timer).
//
// `on_end` says what ending the wait early does; it runs on the loop, at most once, and
// must take the waiter out of whatever it waits on at once, and complete the request
// (with the status its command answers for the reason). It runs inside whatever ended
// the wait (a CANCEL, CLOSE, LOGOFF or TREE_DISCONNECT handler, the loss of the
// connection): completing the request there would run the rest of its compound inside
// that handler, so it completes it on a later turn of the loop (Worker::after). It runs
// for:
//   cancelled        a CANCEL named the request (by MessageId, or by AsyncId once async)
//   open_closed      the open the request names was closed (CLOSE, or by the two below)
//   tree_gone        TREE_DISCONNECT of its tree
//   session_gone     LOGOFF of its session, or the session lost its last channel
//   connection_lost  the connection went: the answer goes nowhere, but the waiter must
//                    still stop waiting
// A request that completes by itself leaves the pending list then; `on_end` no longer runs.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>

#include "smbd/worker/request.hh"

namespace smb::server {

// AsyncEnd, AsyncEndFn and PendingKey are in connection.hh.

// At most this many requests wait on one connection. The interim response grants the
// credits a request asks for, so credits do not bound them; a wait beyond this is refused
// (the handler answers STATUS_INSUFFICIENT_RESOURCES, as MS-SMB2 3.3.4.2 lets a server
// do with asynchronous operations past an implementation-specific limit).
inline constexpr std::size_t kMaxPendingPerConnection = 512;

// Makes `req` wait (see above). The AsyncId given to it, 0 when it waits without one (not
// the last element of its compound); nothing when it cannot wait (its connection is gone
// already, or kMaxPendingPerConnection requests wait on it), and the handler then
// completes the request at once itself.
std::optional<std::uint64_t> go_async(const RequestPtr& req, AsyncEndFn on_end);

}  // namespace smb::server
