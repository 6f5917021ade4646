// libFuzzer target for the host table's records (hostwide/open_segment.hh) as a worker
// reads them, not trusting the writer: the input first overwrites the free-list heads
// and every file and entry slot (caching fields, lease records with the state a break
// must reach, waiters, links) as a misbehaving or dying writer could have left them, then
// plays a script of this worker's calls (lookups, admissions through the caching rules,
// acknowledgements, forced breaks, a rename's handle breaks, notifications taken,
// removals). Nothing may read or write outside the
// segment, loop without bound, or crash; a damaged record is refused and rebuilt.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "smbd/fsa/caching.hh"
#include "smbd/hostwide/open_segment.hh"

using namespace smb;
using namespace smb::hostwide;

namespace {

constexpr std::uint32_t kCapacity = 8;

struct Input {
  const std::uint8_t* p;
  std::size_t n;
  std::uint8_t byte() {
    if (n == 0) return 0;
    --n;
    return *p++;
  }
  void take(void* out, std::size_t len) {
    std::size_t k = len < n ? len : n;
    std::memcpy(out, p, k);
    std::memset(static_cast<std::uint8_t*>(out) + k, 0, len - k);
    p += k;
    n -= k;
  }
};

OpenSegment& segment() {
  static std::string error;
  static auto created = OpenSegment::create(kCapacity, error);
  if (!created) __builtin_trap();
  return *created;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  OpenSegment& table = segment();
  // A clean table first, so that one input does not depend on the ones before it.
  for (pid_t owner = 0; owner < 8; ++owner) table.remove_owner(owner);
  Input in{data, size};
  in.take(&table.header().free_file, sizeof table.header().free_file);
  in.take(&table.header().free_entry, sizeof table.header().free_entry);
  for (auto& slot : table.file_slots()) {
    in.take(&slot, sizeof slot);
    slot.device %= 4;  // few files, so that operations meet the slots' records
    slot.inode %= 4;
  }
  for (auto& slot : table.entry_slots()) {
    in.take(&slot, sizeof slot);
    slot.owner %= 8;
  }
  while (in.n > 0) {
    std::uint8_t op = in.byte();
    FileId id{in.byte() % 4u, in.byte() % 4u};
    pid_t owner = in.byte() % 8;
    FileState state;
    switch (op % 7) {
      case 0:
        (void)table.lookup(id, state);
        break;
      case 1: {
        OpenEntry entry;
        entry.owner = owner;
        entry.token = in.byte();
        entry.client[0] = in.byte() % 4;
        entry.granted_access = in.byte() * 0x10101u;
        entry.share_access = in.byte() % 8;
        fsa::OpenIntent intent;
        intent.access = entry.granted_access;
        intent.share_access = entry.share_access;
        intent.request.oplock = static_cast<fsa::OplockType>(in.byte() % 5);
        intent.request.lease.key[0] = in.byte() % 4;
        intent.request.lease.state = in.byte();
        intent.request.lease.version = in.byte() % 3;
        const std::uint8_t flags = in.byte();
        intent.request.overwrites = (flags & 1) != 0;
        intent.request.retry = (flags & 2) != 0;
        intent.self = owner;
        (void)table.insert(id, entry, [&](FileState& s, OpenEntry& incoming) {
          return fsa::decide_open(s, incoming, intent).verdict == fsa::OpenVerdict::ADMIT;
        });
        break;
      }
      case 2: {
        std::array<std::uint8_t, 16> client{}, key{};
        client[0] = in.byte() % 4;
        key[0] = in.byte() % 4;
        std::uint8_t lease_state = in.byte(), granted = 0;
        (void)table.update(id, [&](FileState& s) {
          (void)fsa::acknowledge_lease(s, client, key, lease_state, granted);
        });
        break;
      }
      case 3:
        (void)table.update(id, [&](FileState& s) {
          for (auto& e : s.entries) {
            Caching kept;
            (void)fsa::acknowledge_oplock(e, static_cast<Caching>(in.byte() % 5), kept);
          }
          (void)fsa::force_breaks(s, [](const OpenEntry&) { return true; });
          if (!s.entries.empty()) (void)fsa::break_readers(s, s.entries.front());
          std::vector<pid_t> ring;
          if (!s.entries.empty()) (void)fsa::break_handle_leases(s, s.entries.back(), ring);
        });
        break;
      case 4:
        (void)table.take_notifications(owner);
        break;
      case 5:
        (void)table.remove(id, owner, in.byte(), (in.byte() & 1) != 0, state);
        break;
      case 6:
        (void)table.remove_owner(owner);
        break;
    }
  }
  (void)table.open_count();
  return 0;
}
