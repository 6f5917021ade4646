// OPLOCK_BREAK acknowledgment (MS-SMB2 3.3.5.22).
#include "smbd/fsa/oplocks.hh"
#include "smbd/proto/oplock_break.hh"
#include "smbd/worker/dispatch.hh"
#include "smbd/worker/oplocks.hh"
#include "smbd/worker/worker.hh"

namespace smb::server {

void handle_oplock_break(const RequestPtr& req) {
  if (oplock_break_kind(req->pdu) != OplockBreakKind::OPLOCK) {
    // Leases are never granted, so there is no lease break to acknowledge.
    req->reply(fsa::kStatusInvalidOplockProtocol);
    return;
  }
  OplockBreakAcknowledgment ack;
  if (decode(req->pdu, ack) != NtStatus::SUCCESS) {
    req->reply(NtStatus::INVALID_PARAMETER);
    return;
  }
  // MS-SMB2 3.3.5.22.1: the open is looked up in the session's opens.
  Open* open = req->client().open(ack.file_id);
  if (open == nullptr || open->session_id != req->session->id) {
    req->reply(NtStatus::FILE_CLOSED);
    return;
  }
  fsa::OplockType granted = fsa::OplockType::LEVEL_NONE;
  NtStatus status =
      req->client().oplocks().acknowledge(*open, to_oplock_type(ack.oplock_level), granted);
  if (status != NtStatus::SUCCESS) {
    req->reply(status);
    return;
  }
  OplockBreakResponse response;
  response.oplock_level = to_oplock_level(granted);
  response.file_id = open->id;
  req->reply(encode_body(response));
}

}  // namespace smb::server
