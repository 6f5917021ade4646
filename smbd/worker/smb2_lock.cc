// LOCK (MS-SMB2 3.3.5.14) over the host's byte-range locks (fsa/byte_range_locks.hh).
//
// A request either unlocks (every element SMB2_LOCKFLAG_UNLOCK, taken in order; the first
// failure stops it, the unlocks before it stay done) or locks (all elements or none). Only
// a request of one element without SMB2_LOCKFLAG_FAIL_IMMEDIATELY may wait: when its range
// is taken it goes async (async.hh), records itself as waiting on the file in the same
// step as the failed attempt, and tries again whenever its worker's doorbell rings (a
// lock of the file went, in this worker or another, or the master removed a dead
// worker's). CANCEL ends the wait with STATUS_CANCELLED; closing the open, its tree or
// its session with STATUS_RANGE_NOT_LOCKED, as Windows does.
//
// Lock sequence numbers (MS-SMB2 3.3.5.14): verified, as the specification says, when the
// connection is 3.x with SMB2_GLOBAL_CAP_MULTI_CHANNEL (a LOCK replayed on another
// channel is answered SUCCESS without locking again). The other cases (resilient, durable
// and persistent opens) do not arise: this server grants none of them. Windows verifies
// only for resilient and persistent opens (<314>); Samba follows the specification.
#include <chrono>
#include <memory>
#include <vector>

#include "smbd/proto/lock.hh"
#include "smbd/proto/negotiate.hh"
#include "smbd/worker/async.hh"
#include "smbd/worker/dispatch.hh"
#include "smbd/worker/worker.hh"

namespace smb::server {

namespace {

constexpr std::uint32_t kLockKinds = kLockFlagSharedLock | kLockFlagExclusiveLock;

// A LOCK waiting for its range; lives in its doorbell listener and its pending entry.
struct BlockedLock {
  RequestPtr req;
  fsa::LockOwner owner;
  std::vector<fsa::LockRange> ranges;
  std::uint64_t waiter = 0;    // its record in the lock table
  std::uint64_t listener = 0;  // its doorbell listener
  bool finished = false;
};

std::uint64_t next_waiter = 1;  // one worker per process: unique among its waiters

void answer_success(const RequestPtr& req) {
  Response out;
  out.body = encode_body(LockResponse{});
  out.has_body = true;
  req->complete(std::move(out));
}

// Stops the wait at once; the answer goes now, or (`later`, when the wait was ended by
// another request's handler) on the next turn of the loop, so that the rest of this
// request's compound does not run inside that handler (async.hh).
void finish(const std::shared_ptr<BlockedLock>& blocked, NtStatus status, bool later = false) {
  if (blocked->finished) return;
  blocked->finished = true;
  Worker& worker = blocked->req->worker;
  worker.forget_doorbell(blocked->listener);
  // A granted lock's record went with the grant; any other end leaves it to take out.
  fsa::ByteRangeLocks* locks = worker.client().locks();
  if (status != NtStatus::SUCCESS && locks != nullptr) locks->stop_waiting(blocked->waiter);
  RequestPtr req = blocked->req;
  auto answer = [req, status]() {
    if (status == NtStatus::SUCCESS)
      answer_success(req);
    else
      req->reply(status);
  };
  if (later)
    worker.after(std::chrono::milliseconds(0), answer);
  else
    answer();
}

void retry(const std::shared_ptr<BlockedLock>& blocked) {
  if (blocked->finished) return;
  fsa::ByteRangeLocks* locks = blocked->req->worker.client().locks();
  if (locks == nullptr) {
    finish(blocked, NtStatus::INSUFFICIENT_RESOURCES);
    return;
  }
  NtStatus status = locks->lock(blocked->owner, blocked->ranges, blocked->waiter);
  if (status != NtStatus::LOCK_NOT_GRANTED) finish(blocked, status);
}

void unlock(const RequestPtr& req, const LockRequest& request, fsa::ByteRangeLocks& locks,
            const fsa::LockOwner& owner) {
  for (const LockElement& e : request.locks) {
    if (e.flags != kLockFlagUnlock) {
      req->reply(NtStatus::INVALID_PARAMETER);
      return;
    }
    if (NtStatus s = locks.unlock(owner, e.offset, e.length); s != NtStatus::SUCCESS) {
      req->reply(s);
      return;
    }
  }
  answer_success(req);
}

}  // namespace

void handle_lock(const RequestPtr& req) {
  LockRequest request;
  if (decode(req->pdu, request) != NtStatus::SUCCESS) {
    req->reply(NtStatus::INVALID_PARAMETER);
    return;
  }
  Open& open = *req->open;
  // MS-FSA 2.1.5.8: no byte-range locks on directories (nor on pipes).
  if (open.pipe || open.is_directory) {
    req->reply(NtStatus::INVALID_PARAMETER);
    return;
  }
  fsa::ByteRangeLocks* locks = req->client().locks();
  if (locks == nullptr) {
    req->reply(NtStatus::INSUFFICIENT_RESOURCES);
    return;
  }
  fsa::LockOwner owner = lock_owner_of(open);
  // MS-SMB2 3.3.5.14: a LockSequenceIndex of 1..64 names a bucket; the same number as the
  // last successful LOCK of that bucket is a replay, answered without locking.
  std::uint8_t* bucket = nullptr;
  std::uint8_t sequence = request.lock_sequence_number & 0x0F;
  if (Connection* c = req->connection()) {
    const NegotiatedState& n = c->negotiated();
    bool verify = n.dialect >= 0x0300 && (n.server_capabilities & kGlobalCapMultiChannel) != 0;
    if (verify && request.lock_sequence_index >= 1 && request.lock_sequence_index <= 64)
      bucket = &open.lock_sequences[request.lock_sequence_index - 1];
  }
  if (bucket != nullptr) {
    if (*bucket == sequence) {
      answer_success(req);
      return;
    }
    *bucket = 0xFF;
  }
  // The bucket remembers the number once the LOCK has succeeded (also after a wait).
  if (bucket != nullptr) {
    FileId id = req->file_id;
    std::uint32_t index = request.lock_sequence_index - 1;
    auto wrapped = req->complete;
    req->complete = [wrapped, id, index, sequence, &worker = req->worker](Response r) {
      if (r.status == NtStatus::SUCCESS)
        if (Open* o = worker.client().open(id)) o->lock_sequences[index] = sequence;
      wrapped(std::move(r));
    };
  }
  // MS-SMB2 3.3.5.14: the first element says whether the request unlocks or locks.
  const std::uint32_t first = request.locks.front().flags;
  if (first == kLockFlagUnlock) {
    unlock(req, request, *locks, owner);
    return;
  }
  // Locks: SHARED or EXCLUSIVE, with or without FAIL_IMMEDIATELY; only a lone element may
  // wait (without FAIL_IMMEDIATELY), every element of several must fail at once.
  std::vector<fsa::LockRange> ranges;
  for (std::size_t i = 0; i < request.locks.size(); ++i) {
    const LockElement& e = request.locks[i];
    std::uint32_t kind = e.flags & kLockKinds;
    bool valid_kind = kind == kLockFlagSharedLock || kind == kLockFlagExclusiveLock;
    bool waits = (e.flags & kLockFlagFailImmediately) == 0;
    if (!valid_kind || (e.flags & ~(kLockKinds | kLockFlagFailImmediately)) != 0 ||
        (waits && request.locks.size() > 1)) {
      req->reply(NtStatus::INVALID_PARAMETER);
      return;
    }
    ranges.push_back({e.offset, e.length, kind == kLockFlagExclusiveLock});
  }
  // MS-FSA 2.1.5.7: a byte-range lock breaks the file's level II oplocks and read leases.
  if (fsa::SharedOpenTable* table = req->client().host_files();
      table != nullptr && req->open->caching_in_table)
    table->break_readers(*req->open);
  bool may_wait = (first & kLockFlagFailImmediately) == 0;
  if (!may_wait) {
    NtStatus status = locks->lock(owner, ranges);
    if (status == NtStatus::SUCCESS)
      answer_success(req);
    else
      req->reply(status);
    return;
  }
  auto blocked = std::make_shared<BlockedLock>();
  blocked->req = req;
  blocked->owner = owner;
  blocked->ranges = std::move(ranges);
  blocked->waiter = next_waiter++;
  NtStatus status = locks->lock(owner, blocked->ranges, blocked->waiter);
  if (status != NtStatus::LOCK_NOT_GRANTED) {
    if (status == NtStatus::SUCCESS)
      answer_success(req);
    else
      req->reply(status);
    return;
  }
  // Taken: wait on the loop until a lock of the file goes.
  std::weak_ptr<BlockedLock> weak = blocked;
  blocked->listener = req->worker.on_doorbell([weak]() {
    if (auto b = weak.lock()) retry(b);
  });
  auto went =
      go_async(req, [blocked](AsyncEnd reason) { finish(blocked, status_for(reason, NtStatus::RANGE_NOT_LOCKED), true); });
  // The waiter was recorded with the failed attempt, in the same step: a release after
  // it rings this worker, and the ring waits on the doorbell until the loop turns, when
  // the listener is there.
  if (!went) finish(blocked, NtStatus::INSUFFICIENT_RESOURCES);
}

}  // namespace smb::server
