// LOGOFF (MS-SMB2 3.3.5.6).
#include <strings.h>

#include "smbd/conf/log.hh"
#include "smbd/crypto/session_keys.hh"
#include "smbd/proto/logoff.hh"
#include "smbd/proto/session_setup.hh"
#include "smbd/worker/dispatch.hh"
#include "smbd/worker/negotiate_policy.hh"
#include "smbd/worker/worker.hh"

namespace smb::server {

void handle_logoff(const RequestPtr& req) {
  ClientState& client = req->client();
  std::uint64_t id = req->session->id;
  // Its opens close, which ends the requests waiting on them, but durable ones are kept
  // for a reconnect from a new session (MS-SMB2 3.3.5.6); any other request of the
  // session still waiting ends too (async.hh).
  client.disconnect_opens_of(id);
  req->worker.end_waits([id](const PendingKey& k) { return k.session_id == id; },
                        AsyncEnd::session_gone);
  LogoffResponse response;
  Response out;
  out.body = encode_body(response);
  out.has_body = true;
  // The response is signed with the session's key: the session is closed to requests now
  // and removed once the response is on its way.
  req->session->logged_off = true;
  Worker* w = &req->worker;
  out.after_send = [w, id]() { w->client().remove_session(id); };
  req->complete(std::move(out));
}

}  // namespace smb::server
