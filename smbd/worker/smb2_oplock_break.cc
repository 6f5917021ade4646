// OPLOCK_BREAK acknowledgment (MS-SMB2 3.3.5.22): of an oplock break (3.3.5.22.1) or a
// lease break (3.3.5.22.2). Oplocks and leases of the host table are acknowledged there,
// which rings the openers waiting for the break; kernel oplocks in fsa/oplocks.hh.
#include "smbd/fsa/oplocks.hh"
#include "smbd/proto/oplock_break.hh"
#include "smbd/worker/dispatch.hh"
#include "smbd/worker/oplocks.hh"
#include "smbd/worker/worker.hh"

namespace smb::server {

namespace {

void acknowledge_lease_break(const RequestPtr& req) {
  LeaseBreakAcknowledgment ack;
  if (decode(req->pdu, ack) != NtStatus::SUCCESS) {
    req->reply(NtStatus::INVALID_PARAMETER);
    return;
  }
  ClientState& client = req->client();
  fsa::SharedOpenTable* table = client.host_files();
  // MS-SMB2 3.3.5.22.2: the lease is looked up by the client's lease key.
  Open* holder = nullptr;
  for (const auto& [id, open] : client.opens())
    if (open->caching_in_table && open->oplock_level == fsa::OplockType::LEVEL_GRANULAR &&
        open->lease.key == ack.lease_key)
      holder = open.get();
  if (table == nullptr || holder == nullptr) {
    req->reply(NtStatus::OBJECT_NAME_NOT_FOUND);
    return;
  }
  std::uint8_t granted = 0;
  NtStatus status = table->acknowledge_lease(*holder, ack.lease_key,
                                             static_cast<std::uint8_t>(ack.lease_state), granted);
  if ((ack.lease_state & ~std::uint32_t{0x07}) != 0) status = NtStatus::REQUEST_NOT_ACCEPTED;
  if (status != NtStatus::SUCCESS) {
    req->reply(status);
    return;
  }
  LeaseBreakResponse response;
  response.lease_key = ack.lease_key;
  response.lease_state = granted;
  req->reply(encode_body(response));
}

}  // namespace

void handle_oplock_break(const RequestPtr& req) {
  OplockBreakKind kind = oplock_break_kind(req->pdu);
  if (kind == OplockBreakKind::LEASE_ACK) {
    acknowledge_lease_break(req);
    return;
  }
  if (kind != OplockBreakKind::OPLOCK) {
    req->reply(NtStatus::INVALID_PARAMETER);
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
  fsa::SharedOpenTable* table = req->client().host_files();
  NtStatus status =
      open->caching_in_table && table != nullptr
          ? table->acknowledge_oplock(*open, to_oplock_type(ack.oplock_level), granted)
          : req->client().oplocks().acknowledge(*open, to_oplock_type(ack.oplock_level), granted);
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
