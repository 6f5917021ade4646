// Messages between the master and its workers over a SOCK_SEQPACKET socketpair.
//
// The master parses no client bytes: a worker reads NEGOTIATE itself, then claims the
// ClientGUID. If another worker owns it, the connection (fd + the bytes already read)
// travels to that worker through the master with SCM_RIGHTS.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <optional>

#include "smbd/base/bytes.hh"
#include "smbd/base/unique_fd.hh"

namespace smb::server {

using ClientGuid = std::array<std::uint8_t, 16>;

enum class ControlType : std::uint32_t {
  // worker → master
  CLAIM_CLIENT = 1,      // guid: may this worker own the client?
  HANDOFF = 2,           // guid + fd + initial bytes: pass this connection to the owner
  CONNECTION_COUNT = 3,  // count: live connections in this worker
  RELEASE_CLIENT = 4,    // this worker has no connection left and wants to exit
  // Sessions are announced so that a binding request reaching another worker (another
  // ClientGUID) gets the answer Windows gives: payload session id (8 bytes) + facts.
  SESSION_ANNOUNCE = 5,
  SESSION_GONE = 6,   // payload: session id
  SESSION_QUERY = 7,  // payload: session id
  // A failed logon from a source address, counted across workers (logon pacing):
  // payload token (8 bytes) + the address; answered with LOGON_FAILURES.
  LOGON_FAILED = 8,
  // What this worker serves, for smbstatus: payload the query's token (8 bytes), then the
  // report's lines (status_report.hh).
  STATUS_REPORT = 9,
  // master → worker
  CLAIM_GRANTED = 10,
  CLAIM_OWNED_ELSEWHERE = 11,
  NEW_CONNECTION = 12,  // fd + initial bytes (a NEGOTIATE already read)
  SHUTDOWN = 13,
  // The master no longer routes the client here; connections passed before this message
  // are already queued ahead of it on the control socket.
  RELEASE_DONE = 14,
  SESSION_FACTS = 15,   // payload: session id, then its facts when some worker has it
  LOGON_FAILURES = 16,  // payload: the token, then the address's recent failures (4 bytes)
  STATUS_QUERY = 17,    // payload: a token (8 bytes), answered with STATUS_REPORT
  // Durable opens (docs/architecture.md, durable handles). A worker announces each durable
  // open it keeps disconnected (payload: its persistent FileId, 8 bytes) and that it is no
  // longer (reconnected, closed). A worker asked to reconnect an open it does not hold
  // sends DURABLE_FETCH (payload: durable_fetch.hh's request; guid: its ClientGUID); the
  // master passes it to the holder with `count` set to the asker's pid, or answers
  // DURABLE_RESULT OBJECT_NAME_NOT_FOUND itself. The holder answers DURABLE_RESULT with
  // `count` the asker's pid and, when it hands the open over, the descriptor attached;
  // the master passes it on.
  DURABLE_KEPT = 18,
  DURABLE_GONE = 19,
  DURABLE_FETCH = 20,
  DURABLE_RESULT = 21,
  // MS-SMB2 3.3.5.5.3: a new session names a PreviousSessionId another worker holds.
  // Payload: token (8), the session id (8), the new session's durable owner. The master
  // passes it to the session's worker with `count` the asker's pid, which ends the
  // session when its owner is the same and answers SESSION_REPLACED (payload: the token,
  // `count` the asker) through the master; with no such worker the master answers.
  SESSION_REPLACE = 22,
  SESSION_REPLACED = 23,
};

// The master forgets a source address's failed logons after this long without one.
inline constexpr std::chrono::seconds kFailedLogonMemory{60};
// Source addresses whose failures it keeps at most; past it, those of addresses quiet
// for kFailedLogonMemory are dropped first, and new ones are not counted.
inline constexpr std::size_t kMaxFailedLogonAddresses = 4096;

struct ControlMessage {
  ControlType type = ControlType::SHUTDOWN;
  ClientGuid guid{};
  std::uint32_t count = 0;
  Bytes payload;  // initial bytes of a passed connection
  // NEW_CONNECTION / HANDOFF of an rdmaproxy channel socket.
  std::uint32_t flags = 0;
};
// ControlMessage::flags bit: the passed fd is an RDMA channel socket
// (server/rdma_transport.hh), not a TCP connection.
inline constexpr std::uint32_t kControlRdmaChannel = 0x1;
// DURABLE_RESULT from the master: the open is held, but still connected, by another
// worker (the asker may try again shortly).
inline constexpr std::uint32_t kControlDurableBusy = 0x2;

// The payload of a passed RDMA channel: the proxy's HELLO (already read from the channel
// socket by the worker that passes it) and then the NEGOTIATE request.
Bytes pack_rdma_handoff(ByteSpan hello, ByteSpan negotiate);
// False when `payload` is not such a pair (it comes from another worker: checked anyway).
bool unpack_rdma_handoff(ByteSpan payload, ByteSpan& hello, ByteSpan& negotiate);

// Largest message on the control socket: a NEGOTIATE request is far below this.
inline constexpr std::size_t kMaxControlMessage = 128 * 1024;

// Sends one message, with `fd` attached when valid. Returns false on error (errno set).
bool send_control(int socket, const ControlMessage& message, int fd = -1);

// Receives one message and at most one fd. Returns std::nullopt on EOF, error or a
// malformed message; errno is EAGAIN when nothing was pending on a non-blocking socket.
std::optional<ControlMessage> receive_control(int socket, UniqueFd& fd);

}  // namespace smb::server
