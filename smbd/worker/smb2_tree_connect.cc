// TREE_CONNECT (MS-SMB2 3.3.5.7).
#include <algorithm>
#include <cctype>
#include <set>

#include "smbd/conf/identity.hh"
#include "smbd/conf/log.hh"
#include "smbd/fsa/backend.hh"
#include "smbd/proto/tree_connect.hh"
#include "smbd/proto/tree_disconnect.hh"
#include "smbd/worker/access.hh"
#include "smbd/worker/dispatch.hh"
#include "smbd/worker/worker.hh"

namespace smb::server {

namespace {

// "\\server\share" → "share".
std::string share_from_path(const std::string& path) {
  std::size_t slash = path.find_last_of('\\');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

// Says once per worker how a pmem share's files are served: through MAP_SYNC mappings on
// fs-dax, or the page cache with msync (fsa/backend.hh). The worker does it, not the
// master, which touches no files.
void log_pmem_mode(const conf::Share& share) {
  static std::set<std::string> logged;  // the loop thread's only
  if (!logged.insert(share.name).second) return;
  // The probe reads the mount table and the device as the process, not as a user.
  credentials::IdentityScope as_process(credentials::process_identity());
  std::string mode;
  std::string error;
  if (fsa::describe_pmem_share(share.path, mode, error)) {
    log::notice(nullptr, "share [%s]: %s (%s)", share.name.c_str(), mode.c_str(),
                share.path.c_str());
  } else {
    log::warning(nullptr, "share [%s]: pmem mode unknown: %s", share.name.c_str(), error.c_str());
  }
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
  // MS-SMB2 3.3.5.7: a tree connect the server has no room for fails with
  // STATUS_INSUFFICIENT_RESOURCES (each holds the share root open).
  if (session.trees.size() >= conf.global.max_trees_per_session) {
    log::notice(c->peer().c_str(), "tree connect refused: the session has %zu tree connects",
                session.trees.size());
    req->reply(NtStatus::INSUFFICIENT_RESOURCES);
    return;
  }

  TreeConnect tree;
  TreeConnectResponse response;
  if (iequals(name, "IPC$")) {
    tree.identity = session.identity;
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
      log::notice(c->peer().c_str(), "user '%s' refused access to share [%s]", session.user.c_str(),
                  share->name.c_str());
      req->reply(NtStatus::ACCESS_DENIED);
      return;
    }
    // Who the share's requests run as: force user, force group, admin users.
    std::string why;
    const std::string& user =
        session.guest || session.anonymous ? conf.global.guest_account : session.user;
    auto identity = session.identity ? conf::share_identity(*session.identity, user, *share, why)
                                     : std::nullopt;
    if (!identity) {
      log::notice(c->peer().c_str(), "user '%s' refused access to share [%s]: %s",
                  session.user.c_str(), share->name.c_str(), why.c_str());
      req->reply(NtStatus::ACCESS_DENIED);
      return;
    }
    tree.identity = credentials::can_switch()
                        ? std::make_shared<const PosixIdentity>(std::move(*identity))
                        : credentials::process_identity();
    auto fs = std::make_shared<vfs::Share>();
    std::string error;
    vfs::Backend backend = share->pmem ? vfs::Backend::pmem : vfs::Backend::posix;
    NtStatus opened = NtStatus::ACCESS_DENIED;
    {
      // The root is reached as the share's user, as Samba changes into it as the user.
      credentials::IdentityScope as_user(tree.identity);
      if (as_user.ok()) opened = vfs::Share::open(share->path, *fs, &error, backend);
    }
    if (opened != NtStatus::SUCCESS) {
      log::error(c->peer().c_str(), "share [%s]: cannot open %s as %s: %s", share->name.c_str(),
                 share->path.c_str(), tree.identity->describe().c_str(), error.c_str());
      req->reply(NtStatus::BAD_NETWORK_NAME);
      return;
    }
    fs->set_short_name_lookup(share->mangled_names != conf::MangledNames::NO);
    if (share->pmem) log_pmem_mode(*share);
    tree.share_name = share->name;
    tree.kernel_oplocks = share->kernel_oplocks;
    tree.fs = std::move(fs);
    tree.read_only = share->read_only;
    tree.hide_unreadable = share->hide_unreadable;
    tree.new_file.create_mask = static_cast<mode_t>(share->create_mask);
    tree.new_file.directory_mask = static_cast<mode_t>(share->directory_mask);
    tree.new_file.force_create_mode = static_cast<mode_t>(share->force_create_mode);
    tree.new_file.force_directory_mode = static_cast<mode_t>(share->force_directory_mode);
    tree.new_file.inherit_permissions = share->inherit_permissions;
    tree.new_file.inherit_owner = share->inherit_owner != conf::InheritOwner::NO;
    tree.new_file.store_dos_attributes = share->store_dos_attributes;
    tree.ea_support = share->ea_support;
    tree.streams = share->streams_xattr;
    tree.maximal_access = tree.read_only ? kFileGenericReadAccess : kFileAllAccess;
    if (share->acl_xattr) {
      const vfs::LogonKind kind = session.anonymous ? vfs::LogonKind::anonymous
                                  : session.guest   ? vfs::LogonKind::guest
                                                    : vfs::LogonKind::user;
      tree.nt_token = std::make_shared<const vfs::NtToken>(
          vfs::make_nt_token(tree.identity->uid, tree.identity->gid, tree.identity->groups, kind));
    }
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
  // MS-SMB2 2.2.10: listings leave out what the user may not read.
  if (tree.hide_unreadable) response.share_flags |= kShareFlagAccessBasedDirectoryEnum;
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

}  // namespace smb::server
