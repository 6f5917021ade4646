// The oplock and lease rules of the host table (fsa/caching.hh): grants, breaks to the
// right level, waits, acknowledgements, and the shared lease of one client's key.
#include "smbd/fsa/caching.hh"

#include <doctest/doctest.h>

#include "smbd/base/wire.hh"
#include "smbd/fsa/oplocks.hh"

using namespace smb;
using namespace smb::fsa;
using hostwide::Caching;
using hostwide::FileState;
using hostwide::OpenEntry;

namespace {

namespace am = access_mask;
constexpr std::uint32_t kReadWrite = am::FILE_READ_DATA | am::FILE_WRITE_DATA;
constexpr std::uint32_t kShareAll = kFileShareRead | kFileShareWrite | kFileShareDelete;
constexpr std::uint8_t R = hostwide::kLeaseRead, H = hostwide::kLeaseHandle,
                       W = hostwide::kLeaseWrite;

std::array<std::uint8_t, 16> guid(std::uint8_t n) {
  std::array<std::uint8_t, 16> g{};
  g[0] = n;
  return g;
}

OpenIntent oplock_intent(OplockType type, pid_t self = 100, std::uint32_t share = kShareAll) {
  OpenIntent intent;
  intent.access = kReadWrite;
  intent.share_access = share;
  intent.request.oplock = type;
  intent.self = self;
  return intent;
}

OpenIntent lease_intent(std::uint8_t key, std::uint8_t state, std::uint8_t version = 1,
                        pid_t self = 100) {
  OpenIntent intent = oplock_intent(OplockType::LEVEL_GRANULAR, self);
  intent.request.lease.key = guid(key);
  intent.request.lease.state = state;
  intent.request.lease.version = version;
  return intent;
}

// Decides and, when admitted, records the open as the table would.
OpenOutcome open_as(FileState& state, pid_t owner, std::uint8_t client, const OpenIntent& intent) {
  OpenEntry incoming;
  incoming.owner = owner;
  incoming.token = state.entries.size() + 1;
  incoming.client = guid(client);
  incoming.granted_access = intent.access;
  incoming.share_access = intent.share_access;
  OpenOutcome out = decide_open(state, incoming, intent);
  if (out.verdict == OpenVerdict::ADMIT) state.entries.push_back(incoming);
  return out;
}

}  // namespace

TEST_CASE("caching: a lone opener gets the batch or exclusive oplock it asks for") {
  FileState state;
  REQUIRE(open_as(state, 1, 1, oplock_intent(OplockType::LEVEL_BATCH)).verdict ==
          OpenVerdict::ADMIT);
  CHECK(state.entries[0].caching == Caching::BATCH);
  FileState other;
  open_as(other, 1, 1, oplock_intent(OplockType::LEVEL_ONE));
  CHECK(other.entries[0].caching == Caching::EXCLUSIVE);
}

TEST_CASE("caching: a second opener breaks a batch oplock to level II and waits") {
  FileState state;
  open_as(state, 1, 1, oplock_intent(OplockType::LEVEL_BATCH));
  OpenOutcome out = open_as(state, 2, 2, oplock_intent(OplockType::LEVEL_BATCH, 2));
  REQUIRE(out.verdict == OpenVerdict::WAIT);
  CHECK(out.ring == std::vector<pid_t>{1});
  CHECK(state.waiters == std::vector<pid_t>{2});
  CHECK(state.entries[0].oplock_breaking_to == Caching::LEVEL_TWO);
  CHECK((state.entries[0].break_flags & hostwide::kBreakNotify) != 0);
  // Asked again before the acknowledgement: still waiting, nothing marked twice.
  CHECK(open_as(state, 2, 2, oplock_intent(OplockType::LEVEL_BATCH, 2)).verdict ==
        OpenVerdict::WAIT);
  Caching kept;
  REQUIRE(acknowledge_oplock(state.entries[0], Caching::LEVEL_TWO, kept) == NtStatus::SUCCESS);
  CHECK(kept == Caching::LEVEL_TWO);
  REQUIRE(open_as(state, 2, 2, oplock_intent(OplockType::LEVEL_BATCH, 2)).verdict ==
          OpenVerdict::ADMIT);
  CHECK(state.entries[1].caching == Caching::LEVEL_TWO);
}

TEST_CASE("caching: an overwrite breaks exclusive to none, and level II without waiting") {
  FileState state;
  open_as(state, 1, 1, oplock_intent(OplockType::LEVEL_ONE));
  OpenIntent overwrite = oplock_intent(OplockType::LEVEL_NONE, 2);
  overwrite.request.overwrites = true;
  REQUIRE(open_as(state, 2, 2, overwrite).verdict == OpenVerdict::WAIT);
  CHECK(state.entries[0].oplock_breaking_to == Caching::NONE);
  Caching kept;
  // A client may not keep level II when the break is to none.
  REQUIRE(acknowledge_oplock(state.entries[0], Caching::LEVEL_TWO, kept) == NtStatus::SUCCESS);
  CHECK(kept == Caching::NONE);

  FileState shared;
  open_as(shared, 1, 1, oplock_intent(OplockType::LEVEL_TWO));
  open_as(shared, 2, 2, oplock_intent(OplockType::LEVEL_TWO, 2));
  CHECK(shared.entries[0].caching == Caching::LEVEL_TWO);
  OpenOutcome out = open_as(shared, 3, 3, overwrite);
  CHECK(out.verdict == OpenVerdict::ADMIT);
  CHECK(shared.entries[0].caching == Caching::NONE);
  CHECK(shared.entries[1].caching == Caching::NONE);
  CHECK(out.ring.size() == 2);
}

TEST_CASE("caching: an acknowledgement without a break is refused") {
  FileState state;
  open_as(state, 1, 1, oplock_intent(OplockType::LEVEL_BATCH));
  Caching kept;
  CHECK(acknowledge_oplock(state.entries[0], Caching::NONE, kept) == kStatusInvalidOplockProtocol);
}

TEST_CASE("caching: lease states granted; W only for a lone opener") {
  CHECK(grantable_lease_state(R | H | W) == (R | H | W));
  CHECK(grantable_lease_state(H) == 0);
  CHECK(grantable_lease_state(W | H) == 0);
  FileState state;
  open_as(state, 1, 1, lease_intent(1, R | H | W));
  CHECK(state.entries[0].lease.state == (R | H | W));
  // Another client: the RWH lease breaks to RH, and the opener waits.
  OpenOutcome out = open_as(state, 2, 2, lease_intent(2, R | H | W, 1, 2));
  REQUIRE(out.verdict == OpenVerdict::WAIT);
  CHECK(state.entries[0].lease.breaking_to == (R | H));
  std::uint8_t granted = 0;
  CHECK(acknowledge_lease(state, guid(1), guid(1), R | H | W, granted) ==
        NtStatus::REQUEST_NOT_ACCEPTED);
  REQUIRE(acknowledge_lease(state, guid(1), guid(1), R | H, granted) == NtStatus::SUCCESS);
  REQUIRE(open_as(state, 2, 2, lease_intent(2, R | H | W, 1, 2)).verdict == OpenVerdict::ADMIT);
  CHECK(state.entries[1].lease.state == (R | H));
  CHECK(acknowledge_lease(state, guid(1), guid(1), R, granted) == NtStatus::UNSUCCESSFUL);
  CHECK(acknowledge_lease(state, guid(9), guid(1), R, granted) == NtStatus::OBJECT_NAME_NOT_FOUND);
}

TEST_CASE("caching: one client's opens with one lease key do not break each other") {
  FileState state;
  open_as(state, 1, 1, lease_intent(1, R | W));
  OpenOutcome out = open_as(state, 1, 1, lease_intent(1, R | H | W));
  REQUIRE(out.verdict == OpenVerdict::ADMIT);
  CHECK(out.ring.empty());
  // The lease grew to RWH on both opens.
  CHECK(state.entries[0].lease.state == (R | H | W));
  CHECK(state.entries[1].lease.state == (R | H | W));
  // The same client with another key is another lease: it breaks this one.
  CHECK(open_as(state, 1, 1, lease_intent(2, R)).verdict == OpenVerdict::WAIT);
}

TEST_CASE("caching: v2 epochs count the lease's changes") {
  FileState state;
  OpenIntent first = lease_intent(1, R | H | W, 2);
  first.request.lease.epoch = 0;
  open_as(state, 1, 1, first);
  CHECK(state.entries[0].lease.epoch == 1);
  open_as(state, 2, 2, lease_intent(2, R, 2, 2));
  CHECK(state.entries[0].lease.epoch == 2);  // the break's new epoch
}

TEST_CASE("caching: a read-only lease breaks to none without an acknowledgement") {
  FileState state;
  open_as(state, 1, 1, lease_intent(1, R));
  OpenIntent overwrite = oplock_intent(OplockType::LEVEL_NONE, 2);
  overwrite.request.overwrites = true;
  OpenOutcome out = open_as(state, 2, 2, overwrite);
  CHECK(out.verdict == OpenVerdict::ADMIT);
  CHECK(state.entries[0].lease.state == 0);
  CHECK(state.entries[0].break_flags == hostwide::kBreakNotify);
}

TEST_CASE("caching: a sharing conflict with handle caching breaks H first") {
  FileState state;
  open_as(state, 1, 1, lease_intent(1, R | H));
  OpenIntent exclusive = oplock_intent(OplockType::LEVEL_NONE, 2, 0);
  REQUIRE(open_as(state, 2, 2, exclusive).verdict == OpenVerdict::WAIT);
  CHECK(state.entries[0].lease.breaking_to == R);
  std::uint8_t granted;
  REQUIRE(acknowledge_lease(state, guid(1), guid(1), R, granted) == NtStatus::SUCCESS);
  // The holder kept its handle open: the conflict stands.
  OpenOutcome out = open_as(state, 2, 2, exclusive);
  CHECK(out.verdict == OpenVerdict::REFUSE);
  CHECK(out.status == NtStatus::SHARING_VIOLATION);
}

TEST_CASE("caching: a stat open breaks nothing and gets nothing") {
  FileState state;
  open_as(state, 1, 1, oplock_intent(OplockType::LEVEL_BATCH));
  OpenIntent stat = oplock_intent(OplockType::LEVEL_BATCH, 2);
  stat.access = am::FILE_READ_ATTRIBUTES;
  OpenOutcome out = open_as(state, 2, 2, stat);
  CHECK(out.verdict == OpenVerdict::ADMIT);
  CHECK(state.entries[0].caching == Caching::BATCH);
  CHECK(state.entries[1].caching == Caching::NONE);
}

TEST_CASE("caching: a forced break takes effect and the opener proceeds") {
  FileState state;
  open_as(state, 1, 1, oplock_intent(OplockType::LEVEL_BATCH));
  REQUIRE(open_as(state, 2, 2, oplock_intent(OplockType::LEVEL_ONE, 2)).verdict ==
          OpenVerdict::WAIT);
  CHECK(force_breaks(state, [](const OpenEntry&) { return true; }));
  CHECK(state.entries[0].caching == Caching::LEVEL_TWO);
  CHECK(open_as(state, 2, 2, oplock_intent(OplockType::LEVEL_ONE, 2)).verdict ==
        OpenVerdict::ADMIT);
}

TEST_CASE("caching: a write breaks level II and read leases of other opens") {
  FileState state;
  open_as(state, 1, 1, oplock_intent(OplockType::LEVEL_TWO));
  open_as(state, 2, 2, lease_intent(2, R, 1, 2));
  open_as(state, 3, 3, oplock_intent(OplockType::LEVEL_NONE, 3));
  auto ring = break_readers(state, state.entries[2]);
  CHECK(ring.size() == 2);
  CHECK(state.entries[0].caching == Caching::NONE);
  CHECK(state.entries[1].lease.state == 0);
}

TEST_CASE("caching: an upgrade needs a strict superset that can be held beside the others") {
  FileState state;
  open_as(state, 1, 1, lease_intent(1, R | H));
  open_as(state, 1, 1, lease_intent(1, R | W));  // a sidegrade: RH stays
  CHECK(state.entries[1].lease.state == (R | H));
  FileState contended;
  open_as(contended, 1, 1, lease_intent(1, R));
  open_as(contended, 1, 1, lease_intent(2, R));
  open_as(contended, 1, 1, lease_intent(1, R | H | W));  // W cannot be held beside lease 2
  CHECK(contended.entries[2].lease.state == R);
}

TEST_CASE("caching: oplocks and leases side by side") {
  FileState state;
  open_as(state, 1, 1, lease_intent(1, R | H));
  open_as(state, 2, 2, oplock_intent(OplockType::LEVEL_BATCH, 2));
  CHECK(state.entries[1].caching == Caching::NONE);  // no oplock beside an H lease
  FileState oplock_first;
  open_as(oplock_first, 1, 1, oplock_intent(OplockType::LEVEL_TWO));
  open_as(oplock_first, 2, 2, lease_intent(2, R | H | W, 1, 2));
  CHECK(oplock_first.entries[1].lease.state == R);
}

TEST_CASE("caching: a sharing conflict takes only H from a lease with W") {
  FileState state;
  open_as(state, 1, 1, lease_intent(1, R | W | H));
  OpenIntent read_only_share = oplock_intent(OplockType::LEVEL_NONE, 2, kFileShareRead);
  REQUIRE(open_as(state, 2, 2, read_only_share).verdict == OpenVerdict::WAIT);
  CHECK(state.entries[0].lease.breaking_to == (R | W));
}

TEST_CASE("caching: a lease met again while its break is awaited breaks on in steps") {
  FileState state;
  open_as(state, 1, 1, lease_intent(1, R | W | H));
  // A plain open: RWH to RH, awaited.
  REQUIRE(open_as(state, 2, 2, oplock_intent(OplockType::LEVEL_NONE, 2)).verdict ==
          OpenVerdict::WAIT);
  CHECK(state.entries[0].lease.breaking_to == (R | H));
  // An overwrite meanwhile: no second notification, the break must now reach none.
  OpenIntent overwrite = oplock_intent(OplockType::LEVEL_NONE, 3);
  overwrite.request.overwrites = true;
  state.entries[0].break_flags &= ~hostwide::kBreakNotify;  // the first was told
  REQUIRE(open_as(state, 3, 3, overwrite).verdict == OpenVerdict::WAIT);
  CHECK(state.entries[0].break_flags == hostwide::kBreakAwaitsAck);
  CHECK(state.entries[0].lease.breaking_required == 0);
  // The acknowledgement of RH starts RH to R, awaited; the plain open still waits.
  std::uint8_t granted = 0;
  REQUIRE(acknowledge_lease(state, guid(1), guid(1), R | H, granted) == NtStatus::SUCCESS);
  CHECK(granted == (R | H));
  CHECK(state.entries[0].lease.state == (R | H));
  CHECK(state.entries[0].lease.breaking_to == R);
  CHECK(state.entries[0].break_flags == (hostwide::kBreakNotify | hostwide::kBreakAwaitsAck));
  CHECK(open_as(state, 2, 2, oplock_intent(OplockType::LEVEL_NONE, 2)).verdict ==
        OpenVerdict::WAIT);
  // The acknowledgement of R: R to none without one, and the openers go on.
  REQUIRE(acknowledge_lease(state, guid(1), guid(1), R, granted) == NtStatus::SUCCESS);
  CHECK(granted == R);
  CHECK(state.entries[0].lease.state == 0);
  CHECK(state.entries[0].break_flags == hostwide::kBreakNotify);
  CHECK(open_as(state, 2, 2, oplock_intent(OplockType::LEVEL_NONE, 2)).verdict ==
        OpenVerdict::ADMIT);
  CHECK(open_as(state, 3, 3, overwrite).verdict == OpenVerdict::ADMIT);
}

TEST_CASE("caching: a write breaks another's RH lease to none and asks for an acknowledgement") {
  FileState state;
  open_as(state, 1, 1, lease_intent(1, R | H));
  open_as(state, 2, 2, lease_intent(2, R | H, 1, 2));
  auto ring = break_readers(state, state.entries[1]);
  CHECK(ring == std::vector<pid_t>{1});
  CHECK(state.entries[0].lease.breaking_to == 0);
  CHECK(state.entries[0].break_flags == (hostwide::kBreakNotify | hostwide::kBreakAwaitsAck));
  CHECK(state.entries[1].break_flags == 0);
}

TEST_CASE("caching: which rights make a stat open, for oplocks and for leases") {
  struct Case {
    std::uint32_t access;
    bool breaks_oplock, breaks_lease;
  };
  const Case cases[] = {
      {am::FILE_READ_ATTRIBUTES, false, false},
      {am::FILE_WRITE_ATTRIBUTES | am::SYNCHRONIZE, false, false},
      {am::READ_CONTROL, true, false},
      {am::FILE_READ_EA, true, true},
      {am::WRITE_DAC, true, true},
      {am::DELETE, true, true},
  };
  for (const Case& c : cases) {
    CAPTURE(c.access);
    FileState oplocked;
    open_as(oplocked, 1, 1, oplock_intent(OplockType::LEVEL_BATCH));
    OpenIntent other = oplock_intent(OplockType::LEVEL_NONE, 2);
    other.access = c.access;
    CHECK((open_as(oplocked, 2, 2, other).verdict == OpenVerdict::WAIT) == c.breaks_oplock);
    FileState leased;
    open_as(leased, 1, 1, lease_intent(1, R | W | H));
    CHECK((open_as(leased, 2, 2, other).verdict == OpenVerdict::WAIT) == c.breaks_lease);
  }
}

TEST_CASE("caching: a lone attributes-only open gets the batch oplock, and a lease beside one keeps W") {
  FileState state;
  OpenIntent stat = oplock_intent(OplockType::LEVEL_BATCH);
  stat.access = am::FILE_READ_ATTRIBUTES | am::FILE_WRITE_ATTRIBUTES | am::SYNCHRONIZE;
  open_as(state, 1, 1, stat);
  CHECK(state.entries[0].caching == Caching::BATCH);
  FileState beside;
  OpenIntent plain_stat = oplock_intent(OplockType::LEVEL_NONE);
  plain_stat.access = am::FILE_READ_ATTRIBUTES;
  open_as(beside, 1, 1, plain_stat);
  open_as(beside, 2, 2, lease_intent(1, R | W | H, 1, 2));
  CHECK(beside.entries[1].lease.state == (R | W | H));
}

TEST_CASE("caching: an opener waits for the break of W only, and a retried one for any") {
  FileState state;
  open_as(state, 1, 1, lease_intent(1, R | H));
  OpenIntent overwrite = oplock_intent(OplockType::LEVEL_NONE, 2);
  overwrite.request.overwrites = true;
  // RH to none is to be acknowledged, but the overwrite does not wait for it.
  REQUIRE(open_as(state, 2, 2, overwrite).verdict == OpenVerdict::ADMIT);
  CHECK(state.entries[0].break_flags == (hostwide::kBreakNotify | hostwide::kBreakAwaitsAck));
  CHECK(state.entries[0].lease.breaking_to == 0);
  // Nor does a second one while the break is awaited; one that tries again does.
  CHECK(open_as(state, 3, 3, overwrite).verdict == OpenVerdict::ADMIT);
  overwrite.request.retry = true;
  CHECK(open_as(state, 3, 3, overwrite).verdict == OpenVerdict::WAIT);
}

TEST_CASE("caching: a rename through a leased open takes H from the other leases") {
  FileState state;
  open_as(state, 1, 1, lease_intent(1, R | H));
  open_as(state, 1, 1, lease_intent(2, R | H));
  std::vector<pid_t> ring;
  CHECK(break_handle_leases(state, state.entries[0], ring));
  CHECK(ring == std::vector<pid_t>{1});
  CHECK(state.entries[0].break_flags == 0);  // the renamer's own lease stays
  CHECK(state.entries[1].lease.breaking_to == R);
  std::uint8_t granted = 0;
  REQUIRE(acknowledge_lease(state, guid(1), guid(2), R, granted) == NtStatus::SUCCESS);
  ring.clear();
  CHECK_FALSE(break_handle_leases(state, state.entries[0], ring));
  CHECK(ring.empty());
  // Without a lease of its own the renamer breaks nothing.
  FileState plain;
  open_as(plain, 1, 1, oplock_intent(OplockType::LEVEL_NONE));
  open_as(plain, 2, 2, lease_intent(2, R | H, 1, 2));
  CHECK_FALSE(break_handle_leases(plain, plain.entries[0], ring));
}

TEST_CASE("caching: a change of a directory's entries breaks its leases but the parent's") {
  FileState directory;
  open_as(directory, 1, 1, lease_intent(1, R | H, 2));
  open_as(directory, 2, 2, lease_intent(2, R | H, 2, 2));
  open_as(directory, 3, 3, lease_intent(3, R, 2, 3));
  REQUIRE(directory.entries.size() == 3);
  REQUIRE(directory.entries[1].lease.state == (R | H));
  const std::uint16_t epoch = directory.entries[0].lease.epoch;
  // Client 1 makes the change through an open naming its lease 1 as the parent.
  const auto parent = guid(1);
  std::vector<pid_t> ring = break_directory_leases(directory, guid(1), &parent);
  CHECK(ring == std::vector<pid_t>{2, 3});
  // Lease 1 stays; RH goes to none with an acknowledgement, R to none without.
  CHECK(directory.entries[0].lease.state == (R | H));
  CHECK(directory.entries[0].break_flags == 0);
  CHECK(directory.entries[1].lease.breaking_to == 0);
  CHECK((directory.entries[1].break_flags & hostwide::kBreakAwaitsAck) != 0);
  CHECK(directory.entries[2].lease.state == 0);
  CHECK((directory.entries[2].break_flags & hostwide::kBreakAwaitsAck) == 0);
  // The same key of another client is no parent of client 2's lease.
  FileState other;
  open_as(other, 1, 1, lease_intent(1, R | H, 2));
  CHECK(break_directory_leases(other, guid(2), &parent) == std::vector<pid_t>{1});
  CHECK(other.entries[0].lease.epoch == epoch + 1);
}
