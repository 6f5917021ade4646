// A break notification goes on to another channel of the client when the channel it was
// sent on does not deliver it (MS-SMB2 3.3.4.6, smbd/worker/break_delivery.hh). Two TCP
// channels of one session; the first is made to act as if its client acknowledged
// nothing (the test-only FSCTL_SMBTORTURE_FORCE_UNACKED_TIMEOUT, which the harness's
// server serves); another client's open then breaks the batch oplock held through the
// first channel. The server sends the break again on the second channel, where the
// client acknowledges it, and the other client's open goes on without waiting for the
// break's acknowledgement timeout (35 s). The silent channel is disconnected; the session
// and its open live on over the second channel.
#include <doctest/doctest.h>

#include <chrono>
#include <string>
#include <vector>

#include "smbd/client/connection.hh"
#include "smbd/proto/ioctl.hh"
#include "smbd/proto/oplock_break.hh"
#include "tests/integration/smbdirect/harness.hh"

using namespace smb;
using namespace smbdirect_test;
using namespace std::chrono_literals;

namespace {

client::Options options_for(const Guid& client_guid) {
  client::Options o;
  o.min_dialect = 0x0311;
  o.client_guid = client_guid;
  return o;
}

Bytes force_unacked_request() {
  IoctlRequest io;
  io.ctl_code = FSCTL_SMBTORTURE_FORCE_UNACKED_TIMEOUT;
  io.file_id = FileId{~std::uint64_t{0}, ~std::uint64_t{0}};
  io.flags = kIoctlIsFsctl;
  return encode_body(io);
}

}  // namespace

TEST_CASE("a break the first channel does not deliver goes out on the next one") {
  Server server;
  const std::string unc = "\\\\127.0.0.1\\data";
  Guid guid{};
  guid[0] = 0x5a;
  guid[15] = 0xa5;
  auto first = client::Connection::connect("127.0.0.1", server.port, options_for(guid));
  std::uint64_t sid = first->session_setup(server.credentials());
  client::Tree tree = first->tree_connect(sid, unc);
  auto second = client::Connection::connect("127.0.0.1", server.port, options_for(guid));
  second->bind_session(*first, sid, server.credentials());

  CreateRequest open;
  open.requested_oplock_level = OplockLevel::BATCH;
  open.desired_access = client::access::GENERIC_READ | client::access::GENERIC_WRITE;
  open.share_access = 7;
  open.create_disposition = CreateDisposition::FILE_OVERWRITE_IF;
  open.name = "held-through-two-channels.txt";
  CreateResponse held;
  REQUIRE(first->create(tree, open, held) == NtStatus::SUCCESS);
  REQUIRE(held.oplock_level == OplockLevel::BATCH);

  // Sent without a session, as smbtorture sends it.
  client::Call block;
  block.command = Command::IOCTL;
  block.body = force_unacked_request();
  REQUIRE(first->call(block).status() == NtStatus::SUCCESS);

  std::vector<std::string> breaks;  // the channels the break arrived on, in order
  first->on_break([&](const client::Connection::Break& b) {
    CHECK(b.kind == OplockBreakKind::OPLOCK);
    breaks.push_back("first");  // not acknowledged: this channel is "blocked"
  });
  second->on_break([&](const client::Connection::Break& b) {
    CHECK(b.kind == OplockBreakKind::OPLOCK);
    breaks.push_back("second");
    // Only the break to level II asks for an acknowledgement (MS-SMB2 3.3.4.6); the
    // WRITE below breaks the level II that is left to none.
    if (b.oplock.oplock_level != OplockLevel::II) return;
    client::Call ack;
    ack.command = Command::OPLOCK_BREAK;
    ack.session_id = sid;
    ack.tree_id = tree.tree_id;
    OplockBreak acknowledgment;
    acknowledgment.oplock_level = OplockLevel::II;
    acknowledgment.file_id = b.oplock.file_id;
    ack.body = encode_body(acknowledgment);
    second->submit(std::move(ack),
                   [](const client::Response& r) { CHECK(r.status() == NtStatus::SUCCESS); });
  });

  auto other = client::Connection::connect("127.0.0.1", server.port);
  std::uint64_t other_sid = other->session_setup(server.credentials());
  client::Tree other_tree = other->tree_connect(other_sid, unc);
  CreateRequest again = open;
  again.create_disposition = CreateDisposition::FILE_OPEN;
  bool opened = false;
  NtStatus status = NtStatus::UNSUCCESSFUL;
  OplockLevel level = OplockLevel::BATCH;
  other->create_async(other_tree, again, [&](NtStatus s, const CreateResponse& r) {
    opened = true;
    status = s;
    level = r.oplock_level;
  });

  bool first_dropped = false;
  // Well before the break's acknowledgement timeout: only the second channel's
  // acknowledgement lets the open through in time.
  bool done = wait_until(
      [&] {
        if (!first_dropped) {
          try {
            first->poll(0);
          } catch (const client::Error&) {
            first_dropped = true;
          }
        }
        second->poll(0);
        other->poll(0);
        return opened && first_dropped;
      },
      20s);
  CHECK(done);
  CHECK(first_dropped);
  REQUIRE(opened);
  CHECK(status == NtStatus::SUCCESS);
  CHECK(level == OplockLevel::II);
  CHECK(breaks == std::vector<std::string>{"first", "second"});

  // The session goes on over the second channel, with the open made through the first.
  const Bytes data{'s', 't', 'i', 'l', 'l'};
  CHECK(second->write(tree, held.file_id, 0, data) == NtStatus::SUCCESS);
  CHECK(second->close(tree, held.file_id) == NtStatus::SUCCESS);
  CHECK(server.log_problems().empty());
}
