#include "smbd/worker/request.hh"

#include "smbd/worker/blocking.hh"
#include "smbd/worker/worker.hh"

namespace smb::server {

Connection* Request::connection() const { return worker.connection(connection_id); }

ClientState& Request::client() const { return worker.client(); }

// MS-SMB2 3.3.5.2.5: a request for more than 64 KiB must have paid for it in credits.
bool credit_charge_covers(const Request& req, std::uint64_t bytes) {
  if (req.connection() == nullptr) return false;
  if (req.connection()->negotiated().dialect == 0x0202) return bytes <= 65536;
  std::uint64_t needed = bytes == 0 ? 1 : (bytes - 1) / 65536 + 1;
  std::uint16_t charge = req.header.credit_charge == 0 ? 1 : req.header.credit_charge;
  return charge >= needed;
}

bool Request::refresh() {
  if (connection() == nullptr) return false;
  ClientState& state = client();
  session = state.session(header.session_id);
  if (session == nullptr || session->logged_off) {
    reply(NtStatus::USER_SESSION_DELETED);
    return false;
  }
  if (tree != nullptr) {
    auto it = session->trees.find(header.tree_id);
    if (it == session->trees.end()) {
      tree = nullptr;
      reply(NtStatus::NETWORK_NAME_DELETED);
      return false;
    }
    tree = &it->second;
  }
  if (open != nullptr) {
    open = state.open(file_id);
    if (open == nullptr) {
      reply(NtStatus::FILE_CLOSED);
      return false;
    }
  }
  // The continuation runs as the request's user again (docs/security.md).
  if (!Serving::resume(identity_for(session, tree), *this)) {
    reply(NtStatus::ACCESS_DENIED);
    return false;
  }
  return true;
}

}  // namespace smb::server
