#include "smbd/worker/oplocks.hh"

#include <fcntl.h>

#include "smbd/base/credentials.hh"
#include "smbd/conf/log.hh"
#include "smbd/proto/oplock_break.hh"
#include "smbd/worker/connection.hh"
#include "smbd/worker/dispatch.hh"
#include "smbd/worker/worker.hh"

namespace smb::server {

OplockLevel grant_oplock(Open& open, OplockLevel requested) {
  if (requested != OplockLevel::EXCLUSIVE && requested != OplockLevel::BATCH) {
    return OplockLevel::NONE;
  }
  if (open.is_directory || open.pipe || !open.fd || !open.fd->valid()) return OplockLevel::NONE;
  // Fails with EAGAIN while any other descriptor of the file is open. A lease needs the
  // file's owner or CAP_LEASE: it is taken as the process, on the user's descriptor, as
  // Samba takes kernel oplocks as root.
  credentials::IdentityScope as_process(credentials::process_identity());
  if (::fcntl(open.fd->get(), F_SETLEASE, F_WRLCK) != 0) return OplockLevel::NONE;
  open.oplock_level = static_cast<std::uint8_t>(requested);
  open.oplock_break_pending = false;
  return requested;
}

namespace {

void send_break(Worker& worker, Open& open) {
  Connection* c = worker.connection(open.connection_id);
  // MS-SMB2 3.3.4.6: when the channel the open was made on is gone, the break goes out
  // on another channel of its session.
  if (Session* session = worker.client().session(open.session_id); c == nullptr && session) {
    for (const auto& [connection_id, channel] : session->channels) {
      c = worker.connection(connection_id);
      if (c != nullptr) {
        open.connection_id = connection_id;
        break;
      }
    }
  }
  if (c == nullptr) {
    // The client's channel is gone: nothing caches for it any more.
    ::fcntl(open.fd->get(), F_SETLEASE, F_UNLCK);
    open.oplock_level = 0;
    return;
  }
  open.oplock_break_pending = true;
  OplockBreak notification;
  notification.oplock_level = OplockLevel::NONE;
  notification.file_id = open.id;
  Header h;
  h.command = Command::OPLOCK_BREAK;
  h.flags = kFlagServerToRedir;
  // MS-SMB2 3.3.4.6: an unsolicited notification carries MessageId all ones.
  h.message_id = ~std::uint64_t{0};
  h.session_id = 0;
  c->send_notification(encode_message(h, notification), open.session_id);
  log::debug(5, c->peer().c_str(), "oplock break sent for '%s'", open.path.c_str());
}

}  // namespace

void break_oplocks_on_lease_signal(Worker& worker) {
  ClientState& client = worker.client();
  for (Open* open : client.all_opens()) {
    if (open->oplock_level == 0 || open->oplock_break_pending || !open->fd) continue;
    // During a break the kernel reports the type the lease is being broken to.
    int lease = ::fcntl(open->fd->get(), F_GETLEASE);
    if (lease == F_WRLCK) continue;
    send_break(worker, *open);
  }
}

void handle_oplock_break(const RequestPtr& req) {
  if (oplock_break_kind(req->pdu) != OplockBreakKind::OPLOCK) {
    // Leases are never granted, so there is no lease break to acknowledge.
    req->reply(static_cast<NtStatus>(0xC00000E3));  // STATUS_INVALID_OPLOCK_PROTOCOL
    return;
  }
  OplockBreak ack;
  if (decode(req->pdu, ack) != NtStatus::SUCCESS) {
    req->reply(NtStatus::INVALID_PARAMETER);
    return;
  }
  Open* open = req->client().open(ack.file_id);
  if (open == nullptr || open->session_id != req->session->id) {
    req->reply(NtStatus::FILE_CLOSED);
    return;
  }
  // MS-SMB2 3.3.5.22.1: an acknowledgment without a break in progress is a protocol error.
  if (!open->oplock_break_pending) {
    req->reply(static_cast<NtStatus>(0xC00000E3));
    return;
  }
  if (ack.oplock_level != OplockLevel::NONE && ack.oplock_level != OplockLevel::II) {
    req->reply(NtStatus::INVALID_PARAMETER);
    return;
  }
  // The client has written back what it cached: let the other opener proceed.
  ::fcntl(open->fd->get(), F_SETLEASE, F_UNLCK);
  open->oplock_level = 0;
  open->oplock_break_pending = false;
  OplockBreak response;
  response.oplock_level = OplockLevel::NONE;
  response.file_id = open->id;
  req->reply(encode_body(response));
}

}  // namespace smb::server
