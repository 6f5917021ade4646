// TREE_CONNECT (MS-SMB2 3.3.5.7) and TREE_DISCONNECT (3.3.5.8).
#include <algorithm>
#include <cctype>

#include "conf/log.hh"
#include "proto/tree_connect.hh"
#include "proto/tree_disconnect.hh"
#include "server/access.hh"
#include "server/dispatch.hh"
#include "server/worker.hh"

namespace smb::server {

namespace {

// "\\server\share" → "share".
std::string share_from_path(const std::string& path) {
  std::size_t slash = path.find_last_of('\\');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() &&
         std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

}  // namespace

void handle_tree_connect(const RequestPtr& req) {
  TreeConnectRequest request;
  if (decode(req->pdu, request) != NtStatus::SUCCESS) {
    req->reply(NtStatus::INVALID_PARAMETER);
    return;
  }
  Connection* c = req->connection();
  Session& session = *req->session;
  const auto& conf = req->worker.config().conf;
  std::string name = share_from_path(request.path);
  if (name.empty() || name.size() > 80) {
    req->reply(NtStatus::BAD_NETWORK_NAME);
    return;
  }

  TreeConnect tree;
  TreeConnectResponse response;
  if (iequals(name, "IPC$")) {
    tree.is_ipc = true;
    tree.share_name = "IPC$";
    tree.maximal_access = kFileAllAccess;
    response.share_type = kShareTypePipe;
  } else {
    const conf::Share* share = conf.find_share(name);
    if (share == nullptr || !share->available) {
      req->reply(NtStatus::BAD_NETWORK_NAME);
      return;
    }
    if (!user_may_use_share(session, *share, conf.global)) {
      log::notice(c->peer().c_str(), "user '%s' refused access to share [%s]",
                  session.user.c_str(), share->name.c_str());
      req->reply(NtStatus::ACCESS_DENIED);
      return;
    }
    auto fs = std::make_shared<vfs::Share>();
    std::string error;
    vfs::Backend backend = share->pmem ? vfs::Backend::pmem : vfs::Backend::posix;
    if (vfs::Share::open(share->path, *fs, &error, backend) != NtStatus::SUCCESS) {
      log::error(c->peer().c_str(), "share [%s]: cannot open %s: %s", share->name.c_str(),
                 share->path.c_str(), error.c_str());
      req->reply(NtStatus::BAD_NETWORK_NAME);
      return;
    }
    tree.share_name = share->name;
    tree.fs = std::move(fs);
    tree.read_only = share->read_only;
    tree.create_mask = share->create_mask;
    tree.directory_mask = share->directory_mask;
    tree.maximal_access = tree.read_only ? kFileGenericReadAccess : kFileAllAccess;
    response.share_type = kShareTypeDisk;
    // MS-SMB2 3.3.5.7: a share that requires encryption refuses clients that cannot.
    bool share_encrypt = share->smb_encrypt == conf::Encrypt::REQUIRED ||
                         conf.global.smb_encrypt == conf::Encrypt::REQUIRED;
    if (share_encrypt) {
      if (session.encryptor == nullptr) {
        req->reply(NtStatus::ACCESS_DENIED);
        return;
      }
      tree.encrypt_required = true;
    }
    if (share->smb_encrypt == conf::Encrypt::DESIRED && session.encryptor != nullptr)
      tree.encrypt_required = true;
  }
  tree.id = session.next_tree_id++;
  if (tree.encrypt_required) response.share_flags |= kShareFlagEncryptData;
  response.maximal_access = tree.maximal_access;
  // A tree connect that requires encryption must itself not travel in the clear after
  // this; the response to this request follows the session's rule.
  std::uint32_t id = tree.id;
  session.trees.emplace(id, std::move(tree));
  log::info(c->peer().c_str(), "tree connect to [%s] as id %u", name.c_str(), id);

  Response out;
  out.body = encode_body(response);
  out.has_body = true;
  out.tree_id_override = id;
  req->complete(std::move(out));
}

void handle_tree_disconnect(const RequestPtr& req) {
  ClientState& client = req->client();
  std::uint64_t session_id = req->session->id;
  std::uint32_t tree_id = req->tree->id;
  auto opens = client.take_opens_of(session_id, tree_id);
  for (auto& open : opens)
    if (client.settle_delete_on_close(*open)) finish_close(*open);
  TreeDisconnectResponse response;
  Response out;
  out.body = encode_body(response);
  out.has_body = true;
  req->session->trees.erase(tree_id);
  req->complete(std::move(out));
}

}  // namespace smb::server
