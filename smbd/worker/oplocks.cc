#include "smbd/worker/oplocks.hh"

#include "smbd/conf/log.hh"
#include "smbd/proto/oplock_break.hh"
#include "smbd/worker/connection.hh"
#include "smbd/worker/dispatch.hh"
#include "smbd/worker/worker.hh"

namespace smb::server {

fsa::OplockType to_oplock_type(OplockLevel level) {
  switch (level) {
    case OplockLevel::II:
      return fsa::OplockType::LEVEL_TWO;
    case OplockLevel::EXCLUSIVE:
      return fsa::OplockType::LEVEL_ONE;
    case OplockLevel::BATCH:
      return fsa::OplockType::LEVEL_BATCH;
    case OplockLevel::LEASE:
      return fsa::OplockType::LEVEL_GRANULAR;
    case OplockLevel::NONE:
      break;
  }
  return fsa::OplockType::LEVEL_NONE;
}

OplockLevel to_oplock_level(fsa::OplockType type) {
  switch (type) {
    case fsa::OplockType::LEVEL_TWO:
      return OplockLevel::II;
    case fsa::OplockType::LEVEL_ONE:
      return OplockLevel::EXCLUSIVE;
    case fsa::OplockType::LEVEL_BATCH:
      return OplockLevel::BATCH;
    case fsa::OplockType::LEVEL_GRANULAR:
      return OplockLevel::LEASE;
    case fsa::OplockType::LEVEL_NONE:
      break;
  }
  return OplockLevel::NONE;
}

namespace {

// The channel a break of `open` goes on: the one it was made on or, when that is gone,
// another channel of its session.
Connection* break_channel(Worker& worker, Open& open) {
  Connection* c = worker.connection(open.connection_id);
  if (Session* session = worker.client().session(open.session_id); c == nullptr && session) {
    for (const auto& [connection_id, channel] : session->channels) {
      c = worker.connection(connection_id);
      if (c != nullptr) {
        open.connection_id = connection_id;
        break;
      }
    }
  }
  return c;
}

Header notification_header() {
  Header h;
  h.command = Command::OPLOCK_BREAK;
  h.flags = kFlagServerToRedir;
  // MS-SMB2 3.3.4.6, 3.3.4.7: an unsolicited notification carries MessageId all ones.
  h.message_id = ~std::uint64_t{0};
  h.session_id = 0;
  return h;
}

}  // namespace

bool send_oplock_break(Worker& worker, Open& open, fsa::OplockType new_level) {
  Connection* c = break_channel(worker, open);
  if (c == nullptr) return false;
  OplockBreak notification;
  notification.oplock_level = to_oplock_level(new_level);
  notification.file_id = open.id;
  c->send_notification(encode_message(notification_header(), notification), open.session_id);
  log::debug(5, c->peer().c_str(), "oplock break sent for '%s'", open.path.c_str());
  return true;
}

bool send_lease_break(Worker& worker, Open& open, const fsa::SharedOpenTable::BreakNotice& notice) {
  // A lease belongs to the client, not to an open's channel: Windows tells the client on
  // its first connection (smbtorture's v2_complex1 holds it), whichever made the open.
  Connection* c = worker.first_connection();
  if (c == nullptr) c = break_channel(worker, open);
  if (c == nullptr) return false;
  LeaseBreakNotification notification;
  // MS-SMB2 2.2.23.2: NewEpoch only for a v2 lease.
  notification.new_epoch = open.lease.version == 2 ? notice.epoch : 0;
  notification.flags = notice.ack_required ? kNotifyBreakLeaseFlagAckRequired : 0;
  notification.lease_key = open.lease.key;
  notification.current_lease_state = notice.current_state;
  notification.new_lease_state = notice.new_state;
  c->send_notification(encode_message(notification_header(), notification), open.session_id);
  log::debug(5, c->peer().c_str(), "lease break sent for '%s'", open.path.c_str());
  return true;
}

void deliver_breaks(Worker& worker) {
  fsa::SharedOpenTable* table = worker.client().host_files();
  if (table == nullptr) return;
  for (const auto& notice : table->take_breaks()) {
    auto& open = static_cast<Open&>(*notice.open);
    bool sent = notice.lease ? send_lease_break(worker, open, notice)
                             : send_oplock_break(worker, open, notice.new_level);
    if (!sent && notice.ack_required) table->give_up_break(open);
  }
}

}  // namespace smb::server
