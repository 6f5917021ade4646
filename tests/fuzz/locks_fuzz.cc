// libFuzzer target for the host-wide byte-range lock table (hostwide/lock_segment.hh) as
// a worker reads it when the writer is not trusted: another process (a buggy or hostile
// worker) may have written anything into the slots and the high-water marks. The input
// is
//   u32 lock_high, u32 waiter_high, the bytes of the 16 lock slots and 4 waiter slots
//   (as many as the input holds; the rest stays as the previous input left it), then a
//   script: one byte per operation, then its fields
//     0 lock (u8 owner, u8 open, u8 offset, u8 length, u8 flags: exclusive, waits)
//     1 unlock (u8 owner, u8 open, u8 offset, u8 length)
//     2 I/O check (u8 owner, u8 open, u8 offset, u8 length, u8 write)
//     3 close an open (u8 owner, u8 open)
//     4 a worker gone (u8 owner)
//     5 a waiter gives up (u8 owner, u8 token)
// through the MS-FSA rules of fsa/byte_range_locks.hh, two workers' views of one table.
// Whatever the slots hold: no access outside the arrays, no crash, and once the table has
// checked itself (an operation answered), a second look finds nothing to repair.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>

#include "smbd/fsa/byte_range_locks.hh"
#include "smbd/hostwide/lock_segment.hh"

using namespace smb;

namespace {

struct Input {
  const std::uint8_t* p;
  std::size_t n;
  bool take(void* out, std::size_t len) {
    if (n < len) return false;
    std::memcpy(out, p, len);
    p += len;
    n -= len;
    return true;
  }
  std::uint8_t byte() {
    std::uint8_t b = 0;
    take(&b, 1);
    return b;
  }
};

std::shared_ptr<hostwide::LockSegment> segment() {
  static std::shared_ptr<hostwide::LockSegment> s = [] {
    std::string error;
    std::shared_ptr<hostwide::LockSegment> made = hostwide::LockSegment::create(16, 4, error);
    if (!made) __builtin_trap();
    return made;
  }();
  return s;
}

// Small numbers spread over the 64-bit space, edges included.
std::uint64_t spread(std::uint8_t v) {
  switch (v >> 6) {
    case 0:
      return v & 0x3F;
    case 1:
      return ~std::uint64_t{0} - (v & 0x3F);
    case 2:
      return std::uint64_t{1} << (v & 0x3F);
    default:
      return 0xFFFFFFFFull + (v & 0x3F);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto table = segment();
  Input in{data, size};
  std::uint32_t lock_high = 0, waiter_high = 0;
  in.take(&lock_high, 4);
  in.take(&waiter_high, 4);
  table->header().lock_high = lock_high;
  table->header().waiter_high = waiter_high;
  auto locks = table->lock_slots();
  auto waiters = table->waiter_slots();
  in.take(locks.data(), std::min(in.n, locks.size_bytes()));
  in.take(waiters.data(), std::min(in.n, waiters.size_bytes()));

  pid_t pids[2] = {1000, 2000};
  fsa::ByteRangeLocks views[2] = {fsa::ByteRangeLocks(table, pids[0], [](pid_t) {}),
                                  fsa::ByteRangeLocks(table, pids[1], [](pid_t) {})};
  const fsa::FileKey file{1, 1};
  for (int steps = 0; in.n > 0 && steps < 256; ++steps) {
    std::uint8_t op = in.byte() % 6;
    std::uint8_t who = in.byte() & 1;
    fsa::LockOwner owner{file, in.byte() & 3u};
    switch (op) {
      case 0: {
        std::uint64_t offset = spread(in.byte()), length = spread(in.byte());
        std::uint8_t flags = in.byte();
        fsa::LockRange r{offset, length, (flags & 1) != 0};
        NtStatus s = views[who].lock(owner, std::span<const fsa::LockRange>(&r, 1),
                                     (flags & 2) != 0 ? 5 : 0);
        if (s != NtStatus::SUCCESS && s != NtStatus::LOCK_NOT_GRANTED &&
            s != NtStatus::INSUFFICIENT_RESOURCES && s != NtStatus::INTERNAL_ERROR &&
            s != NtStatus::INVALID_LOCK_RANGE)
          __builtin_trap();
        break;
      }
      case 1:
        (void)views[who].unlock(owner, spread(in.byte()), spread(in.byte()));
        break;
      case 2: {
        std::uint64_t offset = spread(in.byte()), length = in.byte();
        (void)views[who].check_io(owner, offset, length, (in.byte() & 1) != 0);
        break;
      }
      case 3:
        views[who].unlock_all(owner);
        break;
      case 4: {
        std::vector<pid_t> wake;
        (void)table->remove_owner(static_cast<pid_t>(in.byte()) + 1, wake);
        for (pid_t p : wake)
          if (p <= 0) __builtin_trap();  // a waiter named by the table is a real pid
        break;
      }
      default:
        table->remove_waiter(pids[who], in.byte());
        break;
    }
  }
  // The table has checked itself by now, or does so here: a second look is clean.
  bool found = false;
  (void)table->any(
      {9, 9}, [](const hostwide::LockRecord&) { return false; }, found);
  if (table->any(
          {9, 9}, [](const hostwide::LockRecord&) { return false; }, found) !=
      hostwide::LockResult::OK)
    __builtin_trap();
  return 0;
}
