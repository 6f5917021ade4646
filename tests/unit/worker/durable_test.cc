// The messages that hand a durable open from one worker to another (worker/durable.hh):
// both round-trip, and damaged bytes are refused.
#include "smbd/worker/durable.hh"

#include <doctest/doctest.h>

using namespace smb;
using namespace smb::server;

TEST_CASE("a durable fetch round-trips and refuses damaged bytes") {
  DurableFetch fetch;
  fetch.token = 3;
  fetch.persistent_id = 0x1122334455667788ull;
  fetch.volatile_id = 9;
  fetch.table_token = 11;
  fetch.v2 = true;
  fetch.create_guid[5] = 0x42;
  fetch.owner = "uid:1000";
  fetch.share_name = "tmp";
  Bytes bytes = encode(fetch);
  auto back = decode_fetch(bytes);
  REQUIRE(back);
  CHECK(back->persistent_id == fetch.persistent_id);
  CHECK(back->v2);
  CHECK(!back->lease_asked);
  CHECK(back->create_guid == fetch.create_guid);
  CHECK(back->owner == "uid:1000");
  CHECK(back->share_name == "tmp");
  for (std::size_t cut = 0; cut < bytes.size(); ++cut)
    CHECK(!decode_fetch(ByteSpan(bytes).first(cut)));
  bytes.push_back(0);
  CHECK(!decode_fetch(bytes));
}

TEST_CASE("a handed-over open's state round-trips, and only a batch oplock's open is taken") {
  Open open;
  open.path = "dir\\file.txt";
  open.key = {7, 8};
  open.granted_access = 0x12019F;
  open.share_access = 1;
  open.oplock_level = fsa::OplockType::LEVEL_BATCH;
  open.position = 4096;
  open.lock_sequences[3] = 5;
  open.durable.emplace();
  open.durable->timeout = std::chrono::milliseconds(60000);
  open.durable->owner = "uid:1000";
  open.durable->share_name = "tmp";
  open.durable->disconnected = true;
  open.durable->deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  Bytes bytes = encode_result(42, NtStatus::SUCCESS, &open);
  Open back;
  std::uint64_t token = 0;
  NtStatus status = NtStatus::INTERNAL_ERROR;
  REQUIRE(decode_result(bytes, token, status, back));
  CHECK(token == 42);
  CHECK(status == NtStatus::SUCCESS);
  CHECK(back.path == open.path);
  CHECK(back.key == open.key);
  CHECK(back.granted_access == open.granted_access);
  CHECK(back.position == 4096);
  CHECK(back.lock_sequences[3] == 5);
  REQUIRE(back.durable);
  CHECK(back.durable->owner == "uid:1000");
  CHECK(back.durable->deadline > std::chrono::steady_clock::now() + std::chrono::seconds(20));
  for (std::size_t cut = 12; cut < bytes.size(); ++cut) {
    Open partial;
    CHECK(!decode_result(ByteSpan(bytes).first(cut), token, status, partial));
  }
  open.oplock_level = fsa::OplockType::LEVEL_GRANULAR;
  Open leased;
  CHECK(!decode_result(encode_result(1, NtStatus::SUCCESS, &open), token, status, leased));

  DurableFetch fetch;
  fetch.owner = "uid:1000";
  fetch.share_name = "tmp";
  CHECK(check_handover(open, fetch) == NtStatus::OBJECT_NAME_NOT_FOUND);  // leased
  open.oplock_level = fsa::OplockType::LEVEL_BATCH;
  CHECK(check_handover(open, fetch) == NtStatus::SUCCESS);
  fetch.owner = "uid:1001";
  CHECK(check_handover(open, fetch) == NtStatus::ACCESS_DENIED);
  fetch.owner = "uid:1000";
  fetch.v2 = true;
  fetch.create_guid[0] = 1;
  CHECK(check_handover(open, fetch) == NtStatus::OBJECT_NAME_NOT_FOUND);
  open.durable->disconnected = false;
  fetch.v2 = false;
  CHECK(check_handover(open, fetch) == NtStatus::OBJECT_NAME_NOT_FOUND);
}
