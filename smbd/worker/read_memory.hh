// The memory one connection holds for READ data: the buffers files are read into and the
// responses that carry them until they are sent. It is bounded (`max read memory per
// connection`): a READ that does not fit waits, in arrival order, until earlier READs'
// data has gone out. A client granted 8,192 credits could otherwise have 512 MiB of
// 64 KiB READs in memory at once, before any of it reaches the send backlog.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>

#include "smbd/base/ntstatus.hh"
#include "smbd/worker/uv.hh"

namespace smb::server {

class ReadMemory : public std::enable_shared_from_this<ReadMemory> {
 public:
  // Held while the bytes are in use; dropping it gives them back.
  using Grant = std::shared_ptr<const void>;
  using Start = std::function<void(NtStatus, Grant)>;

  ReadMemory(uv_loop_t* loop, std::uint64_t limit);
  ~ReadMemory();
  ReadMemory(const ReadMemory&) = delete;
  ReadMemory& operator=(const ReadMemory&) = delete;

  // Calls `start` with a grant of `bytes` once they fit: at once, or later on the loop
  // when enough grants are gone. `owner` is the message the READ came in (kept alive by
  // the grant, so that its address names no other message meanwhile). Only a READ
  // whose message holds nothing waits: the elements of one compound keep their data
  // until the whole compound is answered, so one that waited could wait for itself (or
  // for another compound waiting for it). Such a READ, when it does not fit, gets
  // INSUFFICIENT_RESOURCES (MS-SMB2 3.3.5.12 leaves resource failures to the server).
  // So does one that would give its message more than `message_limit` bytes of READ
  // data: one response carries the data of a whole compound, and a response must fit a
  // transport message.
  void acquire(std::uint64_t bytes, std::shared_ptr<const void> owner, std::uint64_t message_limit,
               Start start);

  std::uint64_t held() const { return held_; }
  std::uint64_t peak() const { return peak_; }
  std::size_t waiting() const { return waiting_.size(); }

 private:
  struct Waiter {
    std::uint64_t bytes;
    std::shared_ptr<const void> owner;
    Start start;
  };
  bool fits(std::uint64_t bytes) const;
  Grant grant(std::uint64_t bytes, std::shared_ptr<const void> owner);
  void release(std::uint64_t bytes, const void* owner);
  void drain();

  uv_loop_t* loop_;
  std::uint64_t limit_;
  std::uint64_t held_ = 0;
  std::uint64_t peak_ = 0;
  std::map<const void*, std::uint64_t> held_by_;  // by message
  std::deque<Waiter> waiting_;
  uv_timer_t* drain_timer_ = nullptr;  // starts the waiting READs from the loop
};

}  // namespace smb::server
