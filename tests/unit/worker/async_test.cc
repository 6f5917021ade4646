// Requests that wait (async.hh, MS-SMB2 3.3.4.2, 3.3.5.16), through a LOCK that has to
// wait for another open's lock: the interim response and what goes with it, the final
// response, CANCEL by AsyncId and by MessageId, an element that waits in the middle of a
// compound, signing and encryption of both answers, and the ends a wait comes to when its
// open closes or its connection goes.
#include <doctest/doctest.h>

#include <map>

#include "gate_harness.hh"
#include "smbd/proto/cancel.hh"
#include "smbd/proto/close.hh"
#include "smbd/proto/lock.hh"
#include "smbd/proto/negotiate.hh"
#include "smbd/proto/write.hh"
#include "smbd/worker/async.hh"

using namespace smb;
using namespace smb::server;
using namespace smb::server::test;

namespace {

constexpr std::uint32_t kExclusive = kLockFlagExclusiveLock;
constexpr std::uint32_t kNow = kLockFlagExclusiveLock | kLockFlagFailImmediately;

Bytes lock_body(FileId id, std::uint64_t offset, std::uint64_t length, std::uint32_t flags) {
  LockRequest q;
  q.file_id = id;
  q.locks.push_back({offset, length, flags});
  return encode_body(q);
}

Bytes write_body(FileId id, std::uint64_t offset, ByteSpan data) {
  WriteRequest q;
  q.data_length = static_cast<std::uint32_t>(data.size());
  q.offset = offset;
  q.file_id = id;
  Bytes body = encode_body(q);
  body.insert(body.end(), data.begin(), data.end());
  return body;
}

struct Waiting {
  Setup s;
  FileId holder, waiter;
  explicit Waiting(std::uint16_t dialect = 0x0210, std::uint32_t capabilities = 0)
      : s({}, dialect, "share", kUser, capabilities) {
    holder = s.open("locked.bin");
    waiter = s.open("locked.bin");
    Element e = s.element(Command::LOCK, lock_body(holder, 0, 10, kNow));
    REQUIRE(s.client.call(e).status() == NtStatus::SUCCESS);
  }
  std::size_t waiters() { return s.server.worker().client().locks()->segment().waiter_count(); }
  // A CANCEL naming `message_id`, or with `async_id` the async request.
  void cancel(std::uint64_t message_id, std::uint64_t async_id = 0) {
    Element e = s.element(Command::CANCEL, encode_body(CancelRequest{}));
    e.sign = false;  // CANCEL is taken unsigned (dispatch.cc)
    Bytes m = s.client.build(e);
    store_le64(&m[24], message_id);
    if (async_id != 0) {
      store_le32(&m[16], load_le32(&m[16]) | kFlagAsyncCommand);
      store_le64(&m[32], async_id);
    }
    s.client.peer().send_message(m);
  }
};

}  // namespace

TEST_CASE("a LOCK that waits answers PENDING at once, with the answers before it, then completes") {
  Waiting w;
  Element write = w.s.element(Command::WRITE, write_body(w.waiter, 100, Bytes{'a', 'b', 'c'}));
  Element lock = w.s.element(Command::LOCK, lock_body(w.waiter, 5, 1, kExclusive));
  lock.credit_request = 7;
  auto first =
      w.s.client.exchange(w.s.client.compound({w.s.client.build(write), w.s.client.build(lock)}));
  REQUIRE(first.size() == 2);
  CHECK(first[0].status() == NtStatus::SUCCESS);
  CHECK((first[0].header.flags & kFlagAsyncCommand) == 0);
  const Header& interim = first[1].header;
  CHECK(interim.status == NtStatus::PENDING);
  CHECK((interim.flags & kFlagAsyncCommand) != 0);
  CHECK(interim.async_id != 0);
  CHECK(interim.credit_request_response == 7);
  CHECK((interim.flags & kFlagSigned) != 0);
  CHECK(w.s.client.signature_valid(first[1].pdu));
  CHECK(w.waiters() == 1);

  // The holder unlocks: the waiter's LOCK completes under the same AsyncId, no credits.
  Element unlock = w.s.element(Command::LOCK, lock_body(w.holder, 0, 10, kLockFlagUnlock));
  CHECK(w.s.client.call(unlock).status() == NtStatus::SUCCESS);
  auto last = w.s.client.receive();
  REQUIRE(last.size() == 1);
  CHECK(last[0].status() == NtStatus::SUCCESS);
  CHECK(last[0].header.message_id == interim.message_id);
  CHECK(last[0].header.async_id == interim.async_id);
  CHECK((last[0].header.flags & kFlagAsyncCommand) != 0);
  CHECK(last[0].header.credit_request_response == 0);
  CHECK(w.s.client.signature_valid(last[0].pdu));
  CHECK(w.waiters() == 0);
  // Granted: the holder's open now meets the waiter's lock.
  Element again = w.s.element(Command::LOCK, lock_body(w.holder, 5, 1, kNow));
  CHECK(w.s.client.call(again).status() == NtStatus::LOCK_NOT_GRANTED);
}

TEST_CASE("CANCEL by AsyncId or by MessageId ends a waiting LOCK with STATUS_CANCELLED") {
  Waiting w;
  for (bool by_async_id : {true, false}) {
    auto interim = w.s.client.exchange(
        w.s.client.build(w.s.element(Command::LOCK, lock_body(w.waiter, 0, 1, kExclusive))));
    REQUIRE(interim.size() == 1);
    REQUIRE(interim[0].status() == NtStatus::PENDING);
    w.cancel(interim[0].header.message_id, by_async_id ? interim[0].header.async_id : 0);
    auto last = w.s.client.receive();
    REQUIRE(last.size() == 1);
    CHECK(last[0].status() == NtStatus::CANCELLED);
    CHECK(last[0].header.async_id == interim[0].header.async_id);
    CHECK(w.waiters() == 0);
  }
  // Nothing was locked: the waiter's open holds no lock to unlock.
  Element unlock = w.s.element(Command::LOCK, lock_body(w.waiter, 0, 1, kLockFlagUnlock));
  CHECK(w.s.client.call(unlock).status() == NtStatus::RANGE_NOT_LOCKED);
}

TEST_CASE("an element that waits in the middle of a compound holds the chain, without interim") {
  Waiting w;
  Element lock = w.s.element(Command::LOCK, lock_body(w.waiter, 0, 1, kExclusive));
  Element write = w.s.element(Command::WRITE, write_body(w.waiter, 100, Bytes{'x'}));
  Bytes lock_element = w.s.client.build(lock);
  std::uint64_t lock_id = load_le64(&lock_element[24]);
  w.s.client.peer().send_message(w.s.client.compound({lock_element, w.s.client.build(write)}));
  // Nothing comes while the LOCK waits: once it is recorded as waiting, no answer (not
  // even an interim one) has been sent.
  CHECK(w.s.server.run_until([&] { return w.waiters() == 1; }));
  CHECK_FALSE(w.s.client.peer().receive_message().has_value());
  w.cancel(lock_id);
  auto replies = w.s.client.receive();
  REQUIRE(replies.size() == 2);
  CHECK(replies[0].status() == NtStatus::CANCELLED);
  CHECK((replies[0].header.flags & kFlagAsyncCommand) == 0);
  CHECK(replies[1].status() == NtStatus::SUCCESS);
}

TEST_CASE("the interim and final answers of an encrypted request are encrypted") {
  Waiting w(0x0300, kGlobalCapEncryption);
  Element lock = w.s.element(Command::LOCK, lock_body(w.waiter, 0, 1, kExclusive));
  lock.encrypt = true;
  lock.sign = false;
  auto interim = w.s.client.exchange(w.s.client.build(lock), w.s.session);
  REQUIRE(interim.size() == 1);
  CHECK(interim[0].status() == NtStatus::PENDING);
  CHECK(w.s.client.last_encrypted());
  Element unlock = w.s.element(Command::LOCK, lock_body(w.holder, 0, 10, kLockFlagUnlock));
  CHECK(w.s.client.call(unlock).status() == NtStatus::SUCCESS);
  auto last = w.s.client.receive();
  REQUIRE(last.size() == 1);
  CHECK(last[0].status() == NtStatus::SUCCESS);
  CHECK(w.s.client.last_encrypted());
}

TEST_CASE("closing the waiting open ends its LOCK with RANGE_NOT_LOCKED") {
  Waiting w;
  auto interim = w.s.client.exchange(
      w.s.client.build(w.s.element(Command::LOCK, lock_body(w.waiter, 0, 1, kExclusive))));
  REQUIRE(interim.size() == 1);
  CloseRequest close;
  close.file_id = w.waiter;
  w.s.client.peer().send_message(w.s.client.build(w.s.element(Command::CLOSE, encode_body(close))));
  // Both answer: the LOCK on a later turn of the loop, the CLOSE once the pool has run
  // it, in either order.
  std::map<Command, NtStatus> answered;
  for (int i = 0; i < 2; ++i) {
    auto replies = w.s.client.receive();
    REQUIRE(replies.size() == 1);
    answered[replies[0].header.command] = replies[0].status();
  }
  CHECK(answered.at(Command::CLOSE) == NtStatus::SUCCESS);
  CHECK(answered.at(Command::LOCK) == NtStatus::RANGE_NOT_LOCKED);
  CHECK(w.waiters() == 0);
}

TEST_CASE("a lost connection ends its waits: no waiter is left in the table") {
  Waiting w;
  auto interim = w.s.client.exchange(
      w.s.client.build(w.s.element(Command::LOCK, lock_body(w.waiter, 0, 1, kExclusive))));
  REQUIRE(interim.size() == 1);
  CHECK(w.waiters() == 1);
  auto* locks = w.s.server.worker().client().locks();
  w.s.client.peer().reset();
  CHECK(w.s.server.run_until([&] { return locks->segment().waiter_count() == 0; }));
  // The session went with its only channel: its locks went with its opens.
  CHECK(w.s.server.run_until([&] { return locks->segment().lock_count() == 0; }));
}

TEST_CASE("waits on one connection are bounded: the one past the bound is refused") {
  Waiting w;
  for (std::size_t i = 0; i < kMaxPendingPerConnection; ++i) {
    auto interim = w.s.client.exchange(
        w.s.client.build(w.s.element(Command::LOCK, lock_body(w.waiter, 0, 1, kExclusive))));
    REQUIRE(interim.size() == 1);
    REQUIRE(interim[0].status() == NtStatus::PENDING);
  }
  CHECK(w.waiters() == kMaxPendingPerConnection);
  Element one_more = w.s.element(Command::LOCK, lock_body(w.waiter, 0, 1, kExclusive));
  CHECK(w.s.client.call(one_more).status() == NtStatus::INSUFFICIENT_RESOURCES);
  CHECK(w.waiters() == kMaxPendingPerConnection);
}
