#include "smbd/fsa/caching.hh"

#include <algorithm>

#include "smbd/base/wire.hh"
#include "smbd/fsa/oplocks.hh"
#include "smbd/fsa/share_modes.hh"

namespace smb::fsa {

namespace {

namespace am = access_mask;
using hostwide::Caching;
using hostwide::kBreakAwaitsAck;
using hostwide::kBreakNotify;
using hostwide::kLeaseHandle;
using hostwide::kLeaseRead;
using hostwide::kLeaseWrite;
using hostwide::OpenEntry;

// An open without data access gets no caching beside other opens.
constexpr std::uint32_t kDataAccess =
    am::FILE_READ_DATA | am::FILE_WRITE_DATA | am::FILE_APPEND_DATA | am::FILE_EXECUTE | am::DELETE;

// A "stat open" breaks no caching (MS-FSA 2.1.5.17.2: the oplock break rules leave out
// opens asking only for these rights). Windows' lists, which smbtorture's statopen tests
// hold: an oplock is not broken by an open for FILE_READ_ATTRIBUTES,
// FILE_WRITE_ATTRIBUTES and SYNCHRONIZE only; a lease not by one for those and
// READ_CONTROL only. Any other right (EAs, DELETE, WRITE_DAC...) breaks.
constexpr std::uint32_t kOplockStatAccess =
    am::FILE_READ_ATTRIBUTES | am::FILE_WRITE_ATTRIBUTES | am::SYNCHRONIZE;
constexpr std::uint32_t kLeaseStatAccess = kOplockStatAccess | am::READ_CONTROL;

bool only_rights(std::uint32_t access, std::uint32_t rights) {
  return (access & rights) != 0 && (access & ~rights) == 0;
}

bool breaking(const OpenEntry& e) { return (e.break_flags & kBreakAwaitsAck) != 0; }

void add_ring(std::vector<pid_t>& ring, pid_t pid) {
  if (pid > 0 && std::find(ring.begin(), ring.end(), pid) == ring.end()) ring.push_back(pid);
}

// Marks a break of the lease `holder` holds, to `to`, on every entry of the lease.
// MS-SMB2 3.3.4.7: the client acknowledges only a break from a state with W or H. While
// a break of the lease is awaited, a further break only lowers the state the lease must
// reach (breaking_required): the client is told of it when it acknowledges the first
// (acknowledge_lease), as Windows does.
void break_lease(hostwide::FileState& state, const OpenEntry& holder, std::uint8_t to,
                 std::vector<pid_t>& ring, bool& wait) {
  OpenEntry lease_holder = holder;
  if (breaking(lease_holder)) {
    const auto required = static_cast<std::uint8_t>(lease_holder.lease.breaking_required & to);
    for (OpenEntry& e : state.entries)
      if (same_lease(e, lease_holder)) e.lease.breaking_required = required;
    wait = true;
    return;
  }
  std::uint8_t from = holder.lease.state;
  if ((from & to) == from) return;
  bool ack = (from & (kLeaseWrite | kLeaseHandle)) != 0;
  for (OpenEntry& e : state.entries) {
    if (!same_lease(e, lease_holder)) continue;
    e.break_flags |= kBreakNotify;
    e.lease.breaking_to = to;
    if (ack) {
      e.break_flags |= kBreakAwaitsAck;
      e.lease.breaking_required = to;
    } else {
      e.lease.state = to;
      e.lease.breaking_required = 0;
    }
    // MS-SMB2 3.3.4.7: a v2 lease's epoch counts its state changes.
    if (e.lease.version == 2)
      e.lease.epoch = static_cast<std::uint16_t>(lease_holder.lease.epoch + 1);
  }
  add_ring(ring, holder.owner);
  wait = wait || ack;
}

void break_oplock(OpenEntry& e, Caching to, std::vector<pid_t>& ring, bool& wait) {
  if (e.caching == Caching::LEVEL_TWO) {
    // MS-SMB2 3.3.4.6: a level II oplock goes to none without an acknowledgement.
    e.caching = Caching::NONE;
    e.oplock_breaking_to = Caching::NONE;
    e.break_flags |= kBreakNotify;
  } else {
    e.oplock_breaking_to = to;
    e.break_flags |= kBreakNotify | kBreakAwaitsAck;
    wait = true;
  }
  add_ring(ring, e.owner);
}

bool holds_handle_caching(const OpenEntry& e) {
  return e.caching == Caching::BATCH ||
         (e.caching == Caching::LEASE && (e.lease.state & kLeaseHandle) != 0);
}

}  // namespace

bool same_lease(const OpenEntry& a, const OpenEntry& b) {
  return a.caching == Caching::LEASE && b.caching == Caching::LEASE && a.client == b.client &&
         a.lease.key == b.lease.key;
}

std::uint8_t grantable_lease_state(std::uint32_t requested) {
  switch (requested) {
    case kLeaseRead:
    case kLeaseRead | kLeaseHandle:
    case kLeaseRead | kLeaseWrite:
    case kLeaseRead | kLeaseHandle | kLeaseWrite:
      return static_cast<std::uint8_t>(requested);
    default:
      return 0;
  }
}

OpenOutcome decide_open(hostwide::FileState& state, OpenEntry& incoming, const OpenIntent& intent) {
  OpenOutcome out;
  const CachingRequest& request = intent.request;
  incoming.caching = Caching::NONE;
  incoming.break_flags = 0;
  if (request.oplock == OplockType::LEVEL_GRANULAR) {
    incoming.caching = Caching::LEASE;  // for same_lease() while deciding
    incoming.lease.key = request.lease.key;
  }
  auto refuse = [&](NtStatus status) {
    incoming.caching = Caching::NONE;
    out.verdict = OpenVerdict::REFUSE;
    out.status = status;
    return out;
  };
  auto wait = [&]() {
    incoming.caching = Caching::NONE;
    out.verdict = OpenVerdict::WAIT;
    if (std::find(state.waiters.begin(), state.waiters.end(), intent.self) == state.waiters.end())
      state.waiters.push_back(intent.self);
    return out;
  };
  if (state.delete_pending) return refuse(NtStatus::DELETE_PENDING);
  // An overwrite writes the file whatever access it asked for.
  const bool no_data = (intent.access & kDataAccess) == 0 && !request.overwrites;
  // An entry without access (the mark an open of a named stream leaves on its file, whose
  // caching is the stream's own) breaks nothing either.
  const bool no_access = intent.access == 0 && !request.overwrites;
  const bool oplock_stat =
      no_access || (only_rights(intent.access, kOplockStatAccess) && !request.overwrites);
  const bool lease_stat =
      no_access || (only_rights(intent.access, kLeaseStatAccess) && !request.overwrites);
  // Whether this open leaves the caching of `e` alone.
  auto leaves_alone = [&](const OpenEntry& e) {
    return same_lease(e, incoming) || (e.caching == Caching::LEASE ? lease_stat : oplock_stat);
  };

  // MS-FSA 2.1.5.1.2: an open waits while a break of another's caching is in progress
  // (what it would break of a lease being broken lowers what that break must reach).
  bool in_progress = false;
  for (const OpenEntry& e : state.entries)
    if (!leaves_alone(e) && breaking(e)) in_progress = true;
  // Oplock breaks in progress hold every opener; a lease's only as the rules below say.
  bool oplock_in_progress = false;
  for (const OpenEntry& e : state.entries)
    if (!leaves_alone(e) && breaking(e) && e.caching != Caching::LEASE) oplock_in_progress = true;

  // Share modes (MS-FSA 2.1.5.1.2.2). Handle caching (a batch oplock, a lease with H) of
  // a conflicting open is broken first: its client may close the handle it kept open.
  bool conflict = false, only_cached = true;
  for (const OpenEntry& e : state.entries) {
    if (!sharing_conflicts({e.granted_access, e.share_access}, intent.access, intent.share_access))
      continue;
    conflict = true;
    if (same_lease(e, incoming) || !holds_handle_caching(e)) only_cached = false;
  }
  if (conflict) {
    if (!only_cached) return in_progress ? wait() : refuse(NtStatus::SHARING_VIOLATION);
    // Only handle caching goes: a batch oplock to level II, a lease loses H.
    bool must_wait = in_progress;
    for (OpenEntry& e : state.entries) {
      if (!sharing_conflicts({e.granted_access, e.share_access}, intent.access,
                             intent.share_access))
        continue;
      if (e.caching == Caching::LEASE)
        break_lease(state, e, static_cast<std::uint8_t>(e.lease.state & ~kLeaseHandle), out.ring,
                    must_wait);
      else if (breaking(e))
        must_wait = true;
      else
        break_oplock(e, Caching::LEVEL_TWO, out.ring, must_wait);
    }
    return must_wait ? wait() : refuse(NtStatus::SHARING_VIOLATION);
  }

  // MS-FSA 2.1.5.17.2 / 2.1.5.18.2: the caching other opens hold against this one.
  bool must_wait = oplock_in_progress;
  {
    for (OpenEntry& e : state.entries) {
      if (leaves_alone(e)) continue;
      switch (e.caching) {
        case Caching::EXCLUSIVE:
        case Caching::BATCH:
          if (breaking(e))
            must_wait = true;
          else
            break_oplock(e, request.overwrites ? Caching::NONE : Caching::LEVEL_TWO, out.ring,
                         must_wait);
          break;
        case Caching::LEVEL_TWO:
          if (request.overwrites) break_oplock(e, Caching::NONE, out.ring, must_wait);
          break;
        case Caching::LEASE: {
          // W goes (an overwrite takes everything); the opener waits for the break of W
          // only. A lease whose break is awaited holds an opener that breaks nothing more
          // of it, and one that tries again after waiting (as Windows orders them: the
          // breaking3 and breaking4 tests).
          const std::uint8_t held = e.lease.state;
          const auto to =
              request.overwrites ? std::uint8_t{0} : static_cast<std::uint8_t>(held & ~kLeaseWrite);
          const bool was_breaking = breaking(e);
          if ((held & ~to) == 0) {
            if (was_breaking) must_wait = true;
            break;
          }
          bool ignored = false;
          break_lease(state, e, to, out.ring, ignored);
          if ((held & kLeaseWrite) != 0 || (was_breaking && request.retry)) must_wait = true;
          break;
        }
        case Caching::NONE:
          break;
      }
    }
  }
  if (must_wait) return wait();

  // The grant.
  bool others = false, non_stat_others = false, oplock_holders = false, handle_leases = false;
  for (const OpenEntry& e : state.entries) {
    if (same_lease(e, incoming)) continue;
    others = true;
    // A stat open beside a lease takes no W from it (Windows grants RWH beside one).
    if (e.caching != Caching::NONE || !only_rights(e.granted_access, kLeaseStatAccess))
      non_stat_others = true;
    if (e.caching != Caching::NONE && e.caching != Caching::LEASE) oplock_holders = true;
    if (e.caching == Caching::LEASE && (e.lease.state & kLeaseHandle) != 0) handle_leases = true;
  }
  if (request.oplock == OplockType::LEVEL_GRANULAR) {
    const std::uint8_t requested = grantable_lease_state(request.lease.state);
    std::uint8_t grant = requested;
    // MS-SMB2 3.3.5.9.8: W only while the file has no other open; beside an oplock a
    // lease holds R at most (as Windows grants them).
    if (non_stat_others) grant &= static_cast<std::uint8_t>(~kLeaseWrite);
    if (oplock_holders) grant &= kLeaseRead;
    incoming.lease = hostwide::LeaseRecord{};
    incoming.lease.key = request.lease.key;
    incoming.lease.parent_key = request.lease.parent_key;
    incoming.lease.parent_set = request.lease.parent_set;
    incoming.lease.version = request.lease.version == 2 ? 2 : 1;
    incoming.lease.epoch = request.lease.epoch;
    // An existing lease of this client and key on the file: it is shared, and only grows
    // while no break of it is in progress.
    const OpenEntry* existing = nullptr;
    for (const OpenEntry& e : state.entries)
      if (same_lease(e, incoming)) existing = &e;
    if (existing != nullptr) {
      incoming.lease = existing->lease;
      incoming.break_flags = existing->break_flags & kBreakAwaitsAck;
      if (!breaking(*existing)) {
        // An upgrade takes effect only when the state asked for is a strict superset of
        // the one held and can be held beside the other opens; else nothing changes.
        const std::uint8_t held = existing->lease.state;
        std::uint8_t grown = held;
        if ((requested & held) == held && requested != held && grant == requested)
          grown = requested;
        if (grown != existing->lease.state) {
          incoming.lease.state = grown;
          if (incoming.lease.version == 2) ++incoming.lease.epoch;
          for (OpenEntry& e : state.entries)
            if (same_lease(e, incoming)) {
              e.lease.state = grown;
              e.lease.epoch = incoming.lease.epoch;
            }
        }
      }
    } else {
      incoming.lease.state = grant;
      // MS-SMB2 3.3.5.9.11: a new v2 lease's epoch follows the one the client sent.
      if (incoming.lease.version == 2) ++incoming.lease.epoch;
    }
    incoming.caching = Caching::LEASE;
    return out;
  }
  switch (request.oplock) {
    case OplockType::LEVEL_ONE:
    case OplockType::LEVEL_BATCH:
      // A lone opener gets it, also one for attributes only (as Windows grants it).
      if (!others) {
        incoming.caching =
            request.oplock == OplockType::LEVEL_ONE ? Caching::EXCLUSIVE : Caching::BATCH;
        break;
      }
      [[fallthrough]];
    case OplockType::LEVEL_TWO:
      // Beside a lease with H no oplock is granted (as Windows does).
      incoming.caching = no_data || handle_leases ? Caching::NONE : Caching::LEVEL_TWO;
      break;
    default:
      incoming.caching = Caching::NONE;
  }
  return out;
}

std::vector<pid_t> break_readers(hostwide::FileState& state, const OpenEntry& writer) {
  std::vector<pid_t> ring;
  bool ignored = false;
  // The writer's own level II oplock goes too (MS-FSA 2.1.4.12); its own lease stays.
  // Other leases with R (R or RH) go to none; Windows asks to acknowledge a break of H,
  // the writer does not wait for it.
  for (OpenEntry& e : state.entries) {
    if (same_lease(e, writer)) continue;
    if (e.caching == Caching::LEVEL_TWO) break_oplock(e, Caching::NONE, ring, ignored);
    if (e.caching == Caching::LEASE && (e.lease.state & kLeaseRead) != 0 &&
        (e.lease.state & kLeaseWrite) == 0)
      break_lease(state, e, 0, ring, ignored);
  }
  return ring;
}

std::vector<pid_t> break_directory_leases(hostwide::FileState& state,
                                          const std::array<std::uint8_t, 16>& client,
                                          const std::array<std::uint8_t, 16>* parent_key) {
  std::vector<pid_t> ring;
  bool ignored = false;
  for (OpenEntry& e : state.entries) {
    if (e.caching != Caching::LEASE || e.lease.state == 0) continue;
    if (parent_key != nullptr && e.client == client && e.lease.key == *parent_key) continue;
    break_lease(state, e, 0, ring, ignored);
  }
  return ring;
}

bool break_handle_leases(hostwide::FileState& state, const OpenEntry& renamer,
                         std::vector<pid_t>& ring) {
  if (renamer.caching != Caching::LEASE) return false;
  bool held = false;
  for (OpenEntry& e : state.entries) {
    if (e.caching != Caching::LEASE || same_lease(e, renamer) ||
        (e.lease.state & kLeaseHandle) == 0)
      continue;
    held = true;
    bool ignored = false;
    break_lease(state, e, static_cast<std::uint8_t>(e.lease.state & ~kLeaseHandle), ring, ignored);
  }
  return held;
}

NtStatus acknowledge_oplock(OpenEntry& entry, Caching level, Caching& granted) {
  granted = entry.caching;
  if (!breaking(entry) || entry.caching == Caching::LEASE) return kStatusInvalidOplockProtocol;
  if (level != Caching::NONE && level != Caching::LEVEL_TWO) return NtStatus::INVALID_PARAMETER;
  // MS-SMB2 3.3.5.22.1: a client may give up more than asked, never keep more.
  granted = entry.oplock_breaking_to == Caching::NONE ? Caching::NONE : level;
  entry.caching = granted;
  entry.oplock_breaking_to = Caching::NONE;
  entry.break_flags = 0;
  return NtStatus::SUCCESS;
}

NtStatus acknowledge_lease(hostwide::FileState& state, const std::array<std::uint8_t, 16>& client,
                           const std::array<std::uint8_t, 16>& key, std::uint8_t lease_state,
                           std::uint8_t& granted) {
  OpenEntry probe;
  probe.caching = Caching::LEASE;
  probe.client = client;
  probe.lease.key = key;
  OpenEntry* lease = nullptr;
  for (OpenEntry& e : state.entries)
    if (same_lease(e, probe)) lease = &e;
  if (lease == nullptr) return NtStatus::OBJECT_NAME_NOT_FOUND;
  granted = lease->lease.state;
  if (!breaking(*lease)) return NtStatus::UNSUCCESSFUL;
  // MS-SMB2 3.3.5.22.2: the state acknowledged must be within what the break allows.
  if ((lease_state & ~lease->lease.breaking_to) != 0) return NtStatus::REQUEST_NOT_ACCEPTED;
  granted = lease_state;
  // A state above what the break must reach (opens met the lease while it broke): the
  // next break starts at once, in Windows' steps: from a state with W or H to R (or to
  // what is required, when that holds R) with an acknowledgement, from R to none without.
  const std::uint8_t required = lease->lease.breaking_required;
  const bool further = (lease_state & ~required) != 0;
  const bool ack = further && (lease_state & (kLeaseWrite | kLeaseHandle)) != 0;
  for (OpenEntry& e : state.entries) {
    if (!same_lease(e, probe)) continue;
    e.lease.state = lease_state;
    e.lease.breaking_to = 0;
    e.lease.breaking_required = 0;
    e.break_flags = 0;
    if (!further) continue;
    e.break_flags = kBreakNotify;
    if (ack) {
      e.break_flags |= kBreakAwaitsAck;
      e.lease.breaking_to = static_cast<std::uint8_t>((required | kLeaseRead) & lease_state);
      e.lease.breaking_required = required;
    } else {
      e.lease.state = required;
      e.lease.breaking_to = required;
    }
  }
  return NtStatus::SUCCESS;
}

bool force_breaks(hostwide::FileState& state, const std::function<bool(const OpenEntry&)>& which) {
  bool forced = false;
  for (OpenEntry& e : state.entries) {
    if (!breaking(e) || !which(e)) continue;
    if (e.caching == Caching::LEASE) {
      e.lease.state = e.lease.breaking_to & e.lease.breaking_required;
      e.lease.breaking_to = 0;
      e.lease.breaking_required = 0;
    } else {
      e.caching = e.oplock_breaking_to;
      e.oplock_breaking_to = Caching::NONE;
    }
    e.break_flags = 0;
    forced = true;
  }
  return forced;
}

}  // namespace smb::fsa
