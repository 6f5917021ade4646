// TREE_DISCONNECT (MS-SMB2 3.3.5.8).
#include <algorithm>
#include <cctype>

#include "smbd/conf/log.hh"
#include "smbd/proto/tree_connect.hh"
#include "smbd/proto/tree_disconnect.hh"
#include "smbd/worker/access.hh"
#include "smbd/worker/dispatch.hh"
#include "smbd/worker/worker.hh"

namespace smb::server {

void handle_tree_disconnect(const RequestPtr& req) {
  ClientState& client = req->client();
  std::uint64_t session_id = req->session->id;
  std::uint32_t tree_id = req->tree->id;
  client.close_opens_of(session_id, tree_id);
  req->worker.end_waits(
      [session_id, tree_id](const PendingKey& k) {
        return k.session_id == session_id && k.tree_id == tree_id;
      },
      AsyncEnd::tree_gone);
  TreeDisconnectResponse response;
  Response out;
  out.body = encode_body(response);
  out.has_body = true;
  req->session->trees.erase(tree_id);
  req->complete(std::move(out));
}

}  // namespace smb::server
