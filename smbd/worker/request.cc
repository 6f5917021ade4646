#include "smbd/worker/request.hh"

#include "smbd/proto/error.hh"

#include "smbd/worker/blocking.hh"
#include "smbd/worker/worker.hh"

namespace smb::server {

Connection* Request::connection() const { return worker.connection(connection_id); }

ClientState& Request::client() const { return worker.client(); }

void Request::reply_error(NtStatus status, Bytes error_data) const {
  ErrorResponse error;
  Connection* c = connection();
  if (c != nullptr && c->negotiated().dialect == 0x0311) {
    error.contexts.push_back(ErrorContext{kErrorIdDefault, std::move(error_data)});
  } else {
    error.error_data = std::move(error_data);
  }
  Response out;
  out.status = status;
  out.body = encode_body(error);
  out.has_body = true;
  complete(std::move(out));
}

bool Request::needs_encryption() const {
  if (encrypted) return true;
  if (session != nullptr && session->encryptor != nullptr && session->encrypt_data) return true;
  return tree != nullptr && tree->encrypt_required;
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
