// MS-SMB2 3.3.5.2.10: channel sequence numbers of an open, against the sequence of
// requests (and expected answers) that Windows gives.
#include <doctest/doctest.h>

#include "smbd/worker/server_state.hh"

using namespace smb::server;

TEST_CASE("a WRITE with a stale channel sequence is refused, a newer one moves the open on") {
  Open open;
  struct Step {
    std::uint16_t sequence;
    bool accepted;
  };
  // Each request completes before the next one is sent.
  const Step steps[] = {
      {0, true},       {0x8000, false}, {0x8001, false}, {0xFFFF, false}, {0x7FFF, true},
      {0x7FFE, false}, {0, false},      {0x4000, false}, {0x8000, true},  {0xFFFF, true},
      {0, true},       {1, true},       {0, false},      {1, true},       {0xFFFF, false},
  };
  for (const auto& step : steps) {
    CAPTURE(step.sequence);
    SequenceCheck check = admit_channel_sequence(open, step.sequence, false, true);
    CHECK((check == SequenceCheck::counted) == step.accepted);
    CHECK((check == SequenceCheck::refused) == !step.accepted);
    if (check == SequenceCheck::counted) release_channel_sequence(open, step.sequence);
    CHECK(open.outstanding_requests == 0);
  }
}

TEST_CASE("reads pass with any sequence; a replay waits for the older requests to drain") {
  Open open;
  CHECK(admit_channel_sequence(open, 0, false, true) == SequenceCheck::counted);  // in flight
  // The client moves the open to sequence 1 while the first WRITE is outstanding.
  CHECK(admit_channel_sequence(open, 1, false, true) == SequenceCheck::counted);
  CHECK(open.outstanding_pre_requests == 1);
  CHECK(open.outstanding_requests == 1);
  // A stale READ is not refused and not counted.
  CHECK(admit_channel_sequence(open, 0x9000, false, false) == SequenceCheck::passed);
  // A replayed WRITE of the current sequence must wait for the older one.
  CHECK(admit_channel_sequence(open, 1, true, true) == SequenceCheck::refused);
  release_channel_sequence(open, 0);  // the WRITE of sequence 0 completes
  CHECK(open.outstanding_pre_requests == 0);
  CHECK(admit_channel_sequence(open, 1, true, true) == SequenceCheck::counted);
  release_channel_sequence(open, 1);
  release_channel_sequence(open, 1);
  CHECK(open.outstanding_requests == 0);
}
