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

bool send_oplock_break(Worker& worker, Open& open, fsa::OplockType new_level) {
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
  if (c == nullptr) return false;
  OplockBreak notification;
  notification.oplock_level = to_oplock_level(new_level);
  notification.file_id = open.id;
  Header h;
  h.command = Command::OPLOCK_BREAK;
  h.flags = kFlagServerToRedir;
  // MS-SMB2 3.3.4.6: an unsolicited notification carries MessageId all ones.
  h.message_id = ~std::uint64_t{0};
  h.session_id = 0;
  c->send_notification(encode_message(h, notification), open.session_id);
  log::debug(5, c->peer().c_str(), "oplock break sent for '%s'", open.path.c_str());
  return true;
}

}  // namespace smb::server
