// CREATE (MS-SMB2 3.3.5.9): the request is decoded and checked for what is SMB2's own
// (impersonation level, options reserved for local use, the name's form, create
// contexts), the object store opens the file (fsa/create.hh), and the response carries
// the oplock granted and the answers to the MxAc and QFid contexts.
#include <fcntl.h>

#include <algorithm>

#include "smbd/conf/identity.hh"
#include "smbd/conf/log.hh"
#include "smbd/fsa/access.hh"
#include "smbd/fsa/backend.hh"
#include "smbd/fsa/close.hh"
#include "smbd/fsa/create.hh"
#include "smbd/proto/create.hh"
#include "smbd/proto/negotiate.hh"
#include "smbd/rpc/pipe.hh"
#include "smbd/rpc/srvsvc.hh"
#include "smbd/vfs/names.hh"
#include "smbd/worker/access.hh"
#include "smbd/worker/blocking.hh"
#include "smbd/worker/dispatch.hh"
#include "smbd/worker/durable.hh"
#include "smbd/worker/fsctl.hh"
#include "smbd/worker/info_classes.hh"
#include "smbd/worker/oplocks.hh"
#include "smbd/worker/worker.hh"

namespace smb::server {

namespace {

// Create options this server refuses as invalid (MS-SMB2 2.2.13: reserved for local use).
constexpr std::uint32_t kCreateOptionsInvalid = kFileReserveOpfilter | kFileOpenNoRecall;

// Whether the session's user administers the server: it acts as root, or some share
// names it in `admin users` (set in [global], the list applies to every share). Guests
// and anonymous users never do.
bool administers_server(const Session& session, const conf::Config& config) {
  if (session.anonymous || session.guest || session.identity == nullptr) return false;
  if (session.identity->uid == 0) return true;
  return std::any_of(config.shares.begin(), config.shares.end(), [&](const conf::Share& share) {
    return conf::user_in_list(share.admin_users, session.user, *session.identity);
  });
}

void reply_create_pipe(const RequestPtr& req, const CreateRequest& request) {
  std::string name = request.name;
  while (!name.empty() && name.front() == '\\') name.erase(name.begin());
  const auto& conf = req->worker.config().conf;
  rpc::ServerInfo info;
  info.netbios_name = conf.global.netbios_name;
  info.server_string = conf.global.server_string;
  info.workgroup = conf.global.workgroup;
  info.caller_is_admin = administers_server(*req->session, conf);
  std::uint64_t session_id = req->session->id;
  Worker* worker = &req->worker;
  auto pipe = rpc::open_pipe(name, info, [worker, session_id]() {
    std::vector<rpc::ShareEntry> shares;
    Session* s = worker->client().session(session_id);
    const auto& c = worker->config().conf;
    for (const auto& share : c.shares) {
      if (!share.browseable || !share.available) continue;
      if (s != nullptr && !user_may_use_share(*s, share, c.global)) continue;
      rpc::ShareEntry entry;
      entry.name = share.name;
      entry.type = rpc::kStypeDisktree;
      entry.comment = share.comment;
      entry.path = "C:" + share.path;
      std::replace(entry.path.begin(), entry.path.end(), '/', '\\');
      shares.push_back(std::move(entry));
    }
    rpc::ShareEntry ipc;
    ipc.name = "IPC$";
    ipc.type = rpc::kStypeIpc | rpc::kStypeSpecial;
    ipc.comment = "IPC Service (" + c.global.server_string + ")";
    shares.push_back(std::move(ipc));
    return shares;
  });
  if (!pipe) {
    req->reply(NtStatus::OBJECT_NAME_NOT_FOUND);
    return;
  }
  // MS-SMB2 3.3.5.9: an open the server has no room for fails with
  // STATUS_INSUFFICIENT_RESOURCES.
  ClientState& client = req->client();
  if (!client.reserve_open(session_id, req->worker.config().conf.global.max_opens_per_session)) {
    req->reply(NtStatus::INSUFFICIENT_RESOURCES);
    return;
  }
  client.end_create(session_id);
  Open& open = client.new_open(session_id, req->tree->id);
  open.path = name;
  open.pipe = std::move(pipe);
  open.granted_access = fsa::map_generic_access(request.desired_access, kFileAllAccess);
  CreateResponse response;
  response.create_action = CreateAction::FILE_OPENED;
  response.file_attributes = file_attribute::FILE_ATTRIBUTE_NORMAL;
  response.file_id = open.id;
  Response out;
  out.body = encode_body(response);
  out.has_body = true;
  out.created = open.id;
  req->complete(std::move(out));
}

// The SMB2 request in the object store's terms.
fsa::CreateParameters parameters_of(const CreateRequest& request) {
  fsa::CreateParameters p;
  p.path = request.name;
  p.desired_access = request.desired_access;
  p.file_attributes = request.file_attributes;
  p.share_access = request.share_access;
  p.create_disposition = request.create_disposition;
  p.create_options = request.create_options;
  return p;
}

// Answers to the create contexts (MS-SMB2 2.2.13.2): MxAc and QFid; durable handles and
// leases are answered where they are granted, AlSi is applied without an answer, and a
// TWrp never gets this far (no snapshots).
void answer_contexts(const CreateRequest& request, const TreeConnect& tree,
                     const fsa::OpenedFile& opened, CreateResponse& response) {
  const fsa::FileInfo& info = opened.result.info;
  for (const auto& context : request.contexts) {
    if (context.name == kCreateQueryMaximalAccess) {
      QueryMaximalAccessResponse mxac;
      // A stored NT ACL's answer for this user, else the share's.
      mxac.maximal_access = opened.maximal_access.value_or(tree.maximal_access);
      response.contexts.push_back(to_context(mxac));
    } else if (context.name == kCreateQueryOnDiskId) {
      QueryOnDiskIdResponse qfid;
      qfid.disk_file_id = info.file_id;
      qfid.volume_id = info.device;
      response.contexts.push_back(to_context(qfid));
    }
  }
}

// What the CREATE asks of the host table: an oplock level, or a lease (MS-SMB2
// 3.3.5.9.8 v1, 3.3.5.9.11 v2; leases from dialect 2.1, v2 from 3.0). A directory gets
// no oplock and no v1 lease; a v2 lease on it, where the connection negotiated directory
// leasing (`directory_leasing`, negotiate_policy.cc), holds R and H at most.
fsa::CachingRequest caching_request_of(const CreateRequest& request, std::uint16_t dialect,
                                       bool directory, bool directory_leasing) {
  fsa::CachingRequest wants;
  wants.overwrites = request.create_disposition == CreateDisposition::FILE_OVERWRITE ||
                     request.create_disposition == CreateDisposition::FILE_OVERWRITE_IF ||
                     request.create_disposition == CreateDisposition::FILE_SUPERSEDE;
  if (directory && request.requested_oplock_level != OplockLevel::LEASE) return wants;
  if (request.requested_oplock_level != OplockLevel::LEASE) {
    wants.oplock = to_oplock_type(request.requested_oplock_level);
    return wants;
  }
  const CreateContext* context = find_context(request.contexts, kCreateRequestLease);
  LeaseContext lease;
  if (dialect < to_u16(Dialect::SMB2_1) || context == nullptr ||
      decode_context(context->data, lease) != NtStatus::SUCCESS)
    return wants;
  wants.oplock = fsa::OplockType::LEVEL_GRANULAR;
  wants.lease.key = lease.lease_key;
  wants.lease.state = static_cast<std::uint8_t>(lease.lease_state & 0x07);
  if ((lease.lease_state & ~std::uint32_t{0x07}) != 0) wants.lease.state = 0;
  wants.lease.version = lease.v2 && dialect >= to_u16(Dialect::SMB3_0) ? 2 : 1;
  if (wants.lease.version == 2) {
    wants.lease.epoch = lease.epoch;
    wants.lease.parent_key = lease.parent_lease_key;
    wants.lease.parent_set = (lease.lease_flags & kLeaseFlagParentLeaseKeySet) != 0;
  }
  if (directory) {
    if (wants.lease.version != 2 || !directory_leasing)
      return fsa::CachingRequest{.overwrites = wants.overwrites};
    wants.lease.state &= static_cast<std::uint8_t>(~hostwide::kLeaseWrite);
  }
  return wants;
}

// MS-SMB2 3.3.5.9.8, 3.3.5.9.11: a lease key names one file for its client; a CREATE
// asking for a lease whose key an open of this client holds on another file is refused
// (STATUS_INVALID_PARAMETER). A ClientGUID is served by one worker, so this worker's
// opens are all the client's.
bool lease_key_on_other_file(ClientState& client, const fsa::FileKey& file,
                             const std::array<std::uint8_t, 16>& lease_key) {
  for (const auto& [id, open] : client.opens())
    if (open->oplock_level == fsa::OplockType::LEVEL_GRANULAR && open->lease.key == lease_key &&
        !(open->key == file))
      return true;
  return false;
}

// The RqLs answer (MS-SMB2 2.2.14.2.10, 2.2.14.2.11) for an open holding a lease.
CreateContext lease_answer(const fsa::FileOpen& open) {
  LeaseContext lease;
  lease.v2 = open.lease.version == 2;
  lease.lease_key = open.lease.key;
  lease.lease_state = open.lease.state;
  if (open.lease.breaking) lease.lease_flags |= kLeaseFlagBreakInProgress;
  if (lease.v2) {
    lease.epoch = open.lease.epoch;
    if (open.lease.parent_set) {
      lease.lease_flags |= kLeaseFlagParentLeaseKeySet;
      lease.parent_lease_key = open.lease.parent_key;
    }
  }
  return to_context(lease);
}

// The durable handle contexts of a CREATE (MS-SMB2 2.2.13.2.3, .4, .11, .12).
struct DurableContexts {
  bool dhnq = false;
  bool dhnc = false;
  bool dh2q = false;
  bool dh2c = false;
  DurableHandleRequestV2 v2;  // the DH2Q's
  DurableHandleReconnect v1_reconnect;
  DurableHandleReconnectV2 v2_reconnect;
  bool reconnect() const { return dhnc || dh2c; }
};

// MS-SMB2 3.3.5.9: the durable contexts and how they combine, checked before anything
// else (as Windows does, smbtorture's durable-open and durable-v2-open hold the order): a
// request and a reconnect of different versions, or both versions of a request, are
// INVALID_PARAMETER; a reconnect with contexts besides a lease (and, for DHnC, a DHnQ,
// which 3.3.5.9.7 ignores) is OBJECT_NAME_NOT_FOUND.
NtStatus find_durable_contexts(const CreateRequest& request, DurableContexts& out) {
  const CreateContext* dhnq = find_context(request.contexts, kCreateDurableHandleRequest);
  const CreateContext* dhnc = find_context(request.contexts, kCreateDurableHandleReconnect);
  const CreateContext* dh2q = find_context(request.contexts, kCreateDurableHandleRequestV2);
  const CreateContext* dh2c = find_context(request.contexts, kCreateDurableHandleReconnectV2);
  out.dhnq = dhnq != nullptr;
  out.dhnc = dhnc != nullptr;
  out.dh2q = dh2q != nullptr;
  out.dh2c = dh2c != nullptr;
  if ((out.dhnc && out.dh2c) || (out.dhnc && out.dh2q) || (out.dh2c && out.dhnq) ||
      (out.dh2q && out.dh2c))
    return NtStatus::INVALID_PARAMETER;
  const std::size_t lease = find_context(request.contexts, kCreateRequestLease) ? 1 : 0;
  if (out.dhnc) {
    if (decode_context(dhnc->data, out.v1_reconnect) != NtStatus::SUCCESS)
      return NtStatus::INVALID_PARAMETER;
    if (request.contexts.size() != 1 + (out.dhnq ? 1 : 0) + lease)
      return NtStatus::OBJECT_NAME_NOT_FOUND;
    out.dhnq = false;
  }
  if (out.dh2c) {
    if (decode_context(dh2c->data, out.v2_reconnect) != NtStatus::SUCCESS)
      return NtStatus::INVALID_PARAMETER;
    if (request.contexts.size() != 1 + lease) return NtStatus::OBJECT_NAME_NOT_FOUND;
  }
  if (out.dhnq) {
    DurableHandleRequest v1;
    if (decode_context(dhnq->data, v1) != NtStatus::SUCCESS || out.dh2q)
      return NtStatus::INVALID_PARAMETER;
  }
  if (dh2q && decode_context(dh2q->data, out.v2) != NtStatus::SUCCESS)
    return NtStatus::INVALID_PARAMETER;
  return NtStatus::SUCCESS;
}

// A durable open a v1 request keeps this long after its connection goes (implementation
// defined, MS-SMB2 3.3.5.9.6; Samba's value); v2 gets the client's, at most 300 s, or
// 60 s when it names none (Windows Server 2012's).
constexpr std::chrono::milliseconds kDurableV1Timeout{16 * 60 * 1000};
constexpr std::chrono::milliseconds kDurableV2DefaultTimeout{60 * 1000};
constexpr std::chrono::milliseconds kDurableV2MaxTimeout{300 * 1000};

// MS-SMB2 3.3.5.9.6, 3.3.5.9.10: a durable open is granted with a batch oplock or a
// lease with handle caching, on a file (not a directory or a named stream) whose caching
// the host table keeps. Persistent handles are never granted: no share is continuously
// available, so the flag is not answered.
void grant_durable(const Session& session, const TreeConnect& tree, const DurableContexts& asked,
                   Open& open, CreateResponse& response) {
  if (!asked.dhnq && !asked.dh2q) return;
  if (!open.caching_in_table || open.is_directory || !open.stream.empty() ||
      !holds_handle_caching(open))
    return;
  DurableState durable;
  durable.owner = durable_owner_of(session);
  durable.share_name = tree.share_name;
  if (asked.dh2q) {
    durable.v2 = true;
    durable.create_guid = asked.v2.create_guid;
    durable.timeout = asked.v2.timeout == 0 ? kDurableV2DefaultTimeout
                                            : std::min(std::chrono::milliseconds(asked.v2.timeout),
                                                       kDurableV2MaxTimeout);
    DurableHandleResponseV2 answer;
    answer.timeout = static_cast<std::uint32_t>(durable.timeout.count());
    response.contexts.push_back(to_context(answer));
  } else {
    durable.timeout = kDurableV1Timeout;
    response.contexts.push_back(to_context(DurableHandleResponse{}));
  }
  open.durable = std::move(durable);
}

// The answer to a CREATE whose open is admitted (MS-SMB2 3.3.5.9), with the oplock it gets.
void answer_create(const RequestPtr& req, const CreateRequest& request,
                   const fsa::OpenedFile& opened, Open& open, const DurableContexts& durable) {
  ClientState& client = req->client();
  if (open.io && open.io->mapped())
    log::debug(5, req->connection() ? req->connection()->peer().c_str() : nullptr,
               "'%s' served from a mapping (%s)", open.path.c_str(), open.io->mode());
  const fsa::FileInfo& info = opened.result.info;
  CreateResponse response;
  if (open.caching_in_table) {
    response.oplock_level = to_oplock_level(open.oplock_level);
    if (open.oplock_level == fsa::OplockType::LEVEL_GRANULAR)
      response.contexts.push_back(lease_answer(open));
  } else {
    response.oplock_level = to_oplock_level(
        client.oplocks().request(open, to_oplock_type(request.requested_oplock_level)));
  }
  response.create_action = opened.result.create_action;
  response.creation_time = info.creation_time;
  response.last_access_time = info.last_access_time;
  response.last_write_time = info.last_write_time;
  response.change_time = info.change_time;
  response.allocation_size = open.is_directory ? 0 : info.allocation_size;
  response.end_of_file = open.is_directory ? 0 : info.end_of_file;
  response.file_attributes = info.file_attributes;
  response.file_id = open.id;
  answer_contexts(request, *req->tree, opened, response);
  grant_durable(*req->session, *req->tree, durable, open, response);
  if (open.durable && client.on_durable_connected) client.on_durable_connected(open);
  Response out;
  out.body = encode_body(response);
  out.has_body = true;
  out.created = open.id;
  req->complete(std::move(out));
}

// Admitted: now the old data of an overwrite may go (fsa::finish_overwrite).
void finish_create_overwrite(const RequestPtr& req, const CreateRequest& request,
                             const std::shared_ptr<fsa::OpenedFile>& opened, FileId id,
                             const DurableContexts& durable) {
  auto truncated = std::make_shared<NtStatus>(NtStatus::SUCCESS);
  run_blocking(
      req->worker.loop(), [opened, truncated]() { *truncated = fsa::finish_overwrite(*opened); },
      [req, request, opened, truncated, id, durable]() {
        if (!req->refresh()) return;
        ClientState& state = req->client();
        Open* admitted_open = state.open(id);
        if (admitted_open == nullptr) {  // closed meanwhile (LOGOFF, TREE_DISCONNECT)
          req->reply(NtStatus::FILE_CLOSED);
          return;
        }
        if (*truncated != NtStatus::SUCCESS) {
          state.abandon_open(id);
          req->reply(*truncated);
          return;
        }
        answer_create(req, request, *opened, *admitted_open, durable);
      });
}

void answer_reconnect(const RequestPtr& req, const FileId& id);

// A reconnect of an open this worker does not hold: another worker (another ClientGUID)
// may hold it disconnected and hand it over (durable.hh). Only an open with a batch
// oplock moves; a leased one stays with its client.
void reconnect_from_other_worker(const RequestPtr& req, const CreateRequest& request,
                                 const DurableContexts& asked) {
  Worker& worker = req->worker;
  ClientState& client = req->client();
  DurableFetch fetch;
  fetch.persistent_id =
      asked.dh2c ? asked.v2_reconnect.file_id.persistent : asked.v1_reconnect.file_id.persistent;
  fetch.v2 = asked.dh2c;
  fetch.create_guid = asked.v2_reconnect.create_guid;
  fetch.lease_asked = find_context(request.contexts, kCreateRequestLease) != nullptr;
  fetch.owner = durable_owner_of(*req->session);
  fetch.share_name = req->tree->share_name;
  fetch.volatile_id = client.reserve_file_id();
  fetch.table_token = client.host_files()->reserve_token();
  std::shared_ptr<vfs::Share> share = req->tree->fs;
  // Who a close acts as should the open be taken up without its request.
  IdentityPtr identity = identity_for(req->session, req->tree);
  const FileId id{fetch.persistent_id, fetch.volatile_id};
  const std::uint64_t table_token = fetch.table_token;
  worker.fetch_durable(fetch, [req, share, identity, id, table_token, &worker](
                                  NtStatus status, std::unique_ptr<Open> open, UniqueFd fd) {
    if (status != NtStatus::SUCCESS) {
      if (req->refresh()) req->reply(status);
      return;
    }
    ClientState& state = worker.client();
    open->id = id;
    open->fs = share;
    open->fd = std::make_shared<UniqueFd>(std::move(fd));
    open->durable->disconnected = true;
    open->durable->identity = identity;
    // The descriptor's own mode, as the holder opened it.
    const int mode = ::fcntl(open->fd->get(), F_GETFL);
    const bool writable = mode >= 0 && (mode & O_ACCMODE) != O_RDONLY;
    // Cheap for a POSIX file; a pmem file is mapped again here.
    if (fsa::open_file_data(open->fd, writable, share->backend(), open->io) != NtStatus::SUCCESS)
      open->io.reset();
    Open& adopted = state.adopt_open(std::move(open));
    state.host_files()->adopt(adopted, table_token);
    // Until the request takes it (or if it cannot any more), it waits as it did.
    if (state.on_durable_disconnected) state.on_durable_disconnected(adopted);
    if (!req->refresh()) return;
    state.reconnect_open(adopted, req->session->id, req->tree->id, req->connection_id);
    answer_reconnect(req, id);
  });
}

// MS-SMB2 3.3.5.9.7 (DHnC), 3.3.5.9.12 (DH2C): a CREATE on a new connection takes a
// disconnected durable open back, with its oplock or lease and its byte-range locks. The
// name is not looked at, except that a lease is asked for the same file. DH2C takes a v1
// open back too (its CreateGuid is zero), as Windows and Samba do.
void reconnect_durable(const RequestPtr& req, const CreateRequest& request,
                       const DurableContexts& asked) {
  ClientState& client = req->client();
  const FileId asked_id = asked.dh2c ? asked.v2_reconnect.file_id : asked.v1_reconnect.file_id;
  Open* open = client.disconnected_open(asked_id.persistent);
  if (open == nullptr && !client.has_persistent_id(asked_id.persistent) &&
      client.host_files() != nullptr && !req->tree->kernel_oplocks) {
    reconnect_from_other_worker(req, request, asked);
    return;
  }
  if (open == nullptr || open->durable->share_name != req->tree->share_name ||
      (asked.dh2c && open->durable->create_guid != asked.v2_reconnect.create_guid)) {
    req->reply(NtStatus::OBJECT_NAME_NOT_FOUND);
    return;
  }
  // MS-SMB2 3.3.5.9.7: the reconnecting user must be the open's durable owner.
  if (open->durable->owner != durable_owner_of(*req->session)) {
    req->reply(NtStatus::ACCESS_DENIED);
    return;
  }
  // A lease held must be asked for again, with its key and for the same name; an open
  // without one cannot get one so.
  const CreateContext* rqls = find_context(request.contexts, kCreateRequestLease);
  LeaseContext lease;
  const bool leased = open->oplock_level == fsa::OplockType::LEVEL_GRANULAR;
  if (rqls != nullptr && decode_context(rqls->data, lease) != NtStatus::SUCCESS) {
    req->reply(NtStatus::INVALID_PARAMETER);
    return;
  }
  if ((rqls != nullptr) != leased || (leased && lease.lease_key != open->lease.key)) {
    req->reply(NtStatus::OBJECT_NAME_NOT_FOUND);
    return;
  }
  // With a lease the name must be the open's (Windows answers INVALID_PARAMETER, unlike
  // for an oplock, whose reconnect ignores the name).
  if (leased && !vfs::names_equal_ci(request.name, open->path)) {
    req->reply(NtStatus::INVALID_PARAMETER);
    return;
  }
  client.reconnect_open(*open, req->session->id, req->tree->id, req->connection_id);
  answer_reconnect(req, open->id);
}

// The answer to a durable reconnect (MS-SMB2 3.3.5.9.7): the open as it is, its oplock or
// lease, no durable context.
void answer_reconnect(const RequestPtr& req, const FileId& id) {
  Open* open = req->client().open(id);
  auto info = std::make_shared<fsa::FileInfo>();
  auto status = std::make_shared<NtStatus>(NtStatus::SUCCESS);
  // The descriptor is shared with the pool's work, as the open may close meanwhile.
  auto probe = std::make_shared<fsa::FileOpen>();
  probe->fd = open->fd;
  probe->path = open->path;
  probe->stream = open->stream;
  run_blocking(
      req->worker.loop(),
      [probe, info, status]() { *status = fsa::query_closed_file(*probe, *info); },
      [req, info, status, id]() {
        if (!req->refresh()) return;
        Open* back = req->client().open(id);
        if (back == nullptr || back->session_id != req->session->id) {
          req->reply(NtStatus::OBJECT_NAME_NOT_FOUND);
          return;
        }
        CreateResponse response;
        response.oplock_level = to_oplock_level(back->oplock_level);
        if (back->oplock_level == fsa::OplockType::LEVEL_GRANULAR)
          response.contexts.push_back(lease_answer(*back));
        response.create_action = CreateAction::FILE_OPENED;
        if (*status == NtStatus::SUCCESS) {
          response.creation_time = info->creation_time;
          response.last_access_time = info->last_access_time;
          response.last_write_time = info->last_write_time;
          response.change_time = info->change_time;
          response.allocation_size = info->allocation_size;
          response.end_of_file = info->end_of_file;
          response.file_attributes = info->file_attributes;
        }
        response.file_id = back->id;
        log::debug(4, req->connection() ? req->connection()->peer().c_str() : nullptr,
                   "durable open of '%s' reconnected", back->path.c_str());
        Response out;
        out.body = encode_body(response);
        out.has_body = true;
        out.created = back->id;
        req->complete(std::move(out));
      });
}

}  // namespace

void handle_create(const RequestPtr& req) {
  CreateRequest request;
  NtStatus decoded = decode(req->pdu, request);
  if (decoded != NtStatus::SUCCESS) {
    req->reply(decoded);
    return;
  }
  DurableContexts durable;
  if (NtStatus st = find_durable_contexts(request, durable); st != NtStatus::SUCCESS) {
    req->reply(st);
    return;
  }
  TreeConnect& tree = *req->tree;
  if (tree.is_ipc) {
    // No durable handles on IPC$.
    if (durable.reconnect()) {
      req->reply(NtStatus::OBJECT_NAME_NOT_FOUND);
      return;
    }
    reply_create_pipe(req, request);
    return;
  }
  if (durable.reconnect()) {
    reconnect_durable(req, request, durable);
    return;
  }
  // MS-SMB2 3.3.5.9: parameter checks before any file-system work.
  fsa::CreateParameters parameters = parameters_of(request);
  // An ImpersonationLevel that is none of the four: BAD_IMPERSONATION_LEVEL from 2.1 on.
  if (static_cast<std::uint32_t>(request.impersonation_level) > 3) {
    req->reply(req->session->dialect >= to_u16(Dialect::SMB2_1)
                   ? NtStatus::BAD_IMPERSONATION_LEVEL
                   : NtStatus::INVALID_PARAMETER);
    return;
  }
  if ((request.create_options & kCreateOptionsInvalid) != 0 ||
      fsa::check_create_parameters(parameters) != NtStatus::SUCCESS) {
    req->reply(NtStatus::INVALID_PARAMETER);
    return;
  }
  if (!request.name.empty() && request.name.front() == '\\') {
    req->reply(NtStatus::INVALID_PARAMETER);
    return;
  }
  // MS-SMB2 3.3.5.9.2: EAs for the file this request creates or overwrites; on a share
  // without `ea support` they are refused.
  if (const CreateContext* exta = find_context(request.contexts, kCreateEaBuffer)) {
    if (!tree.ea_support) {
      req->reply(NtStatus::EAS_NOT_SUPPORTED);
      return;
    }
    auto eas = std::make_shared<std::vector<vfs::ExtendedAttribute>>();
    if (NtStatus st = decode_ea_list(exta->data, *eas); st != NtStatus::SUCCESS) {
      req->reply(st);
      return;
    }
    parameters.eas = std::move(eas);
  }
  // MS-SMB2 2.2.13.2.7: TWrp asks for the file as a snapshot held it; no snapshots are
  // served (FSCTL_SRV_ENUMERATE_SNAPSHOTS lists none), so there is no such version.
  if (const CreateContext* twrp = find_context(request.contexts, kCreateTimewarpToken)) {
    TimewarpToken token;
    req->reply(decode_context(twrp->data, token) == NtStatus::SUCCESS
                   ? NtStatus::OBJECT_NAME_NOT_FOUND
                   : NtStatus::INVALID_PARAMETER);
    return;
  }
  // MS-SMB2 2.2.13.2.6: AlSi, the space a file this request creates reserves.
  if (const CreateContext* alsi = find_context(request.contexts, kCreateAllocationSize)) {
    AllocationSize size;
    if (decode_context(alsi->data, size) != NtStatus::SUCCESS) {
      req->reply(NtStatus::INVALID_PARAMETER);
      return;
    }
    parameters.allocation_size = size.allocation_size;
  }
  // MS-SMB2 3.3.5.9.2: a SecD context is applied to a file this request creates.
  if (const CreateContext* secd = find_context(request.contexts, kCreateSdBuffer)) {
    dtyp::SecurityDescriptor sd;
    if (dtyp::decode(secd->data, sd) != NtStatus::SUCCESS) {
      req->reply(NtStatus::INVALID_PARAMETER);
      return;
    }
    parameters.security_descriptor =
        std::make_shared<const dtyp::SecurityDescriptor>(std::move(sd));
  }
  fsa::CreateScope scope;
  scope.share = tree.fs;
  scope.maximal_access = tree.maximal_access;
  scope.read_only = tree.read_only;
  scope.new_file = tree.new_file;
  scope.token = tree.nt_token;
  scope.streams = tree.streams;
  auto plan = std::make_shared<fsa::CreatePlan>();
  if (NtStatus status = fsa::prepare_create(parameters, scope, *plan);
      status != NtStatus::SUCCESS) {
    req->reply(status);
    return;
  }

  // MS-SMB2 3.3.5.9: an open the server has no room for fails with
  // STATUS_INSUFFICIENT_RESOURCES; CREATEs under way hold their place.
  const std::uint64_t session_id = req->session->id;
  if (!req->client().reserve_open(session_id,
                                  req->worker.config().conf.global.max_opens_per_session)) {
    req->reply(NtStatus::INSUFFICIENT_RESOURCES);
    return;
  }
  // The place goes back however the CREATE ends (the continuation may never run).
  std::shared_ptr<void> place(nullptr, [worker = &req->worker, session_id](void*) {
    worker->client().end_create(session_id);
  });
  // MS-SMB2 3.3.5.9.11: directory leases where the connection negotiated them.
  Connection* connection = req->connection();
  const bool directory_leasing =
      connection != nullptr &&
      (connection->negotiated().server_capabilities & kGlobalCapDirectoryLeasing) != 0;
  auto opened = std::make_shared<fsa::OpenedFile>();
  auto status = std::make_shared<NtStatus>(NtStatus::SUCCESS);
  run_blocking(
      req->worker.loop(), [plan, opened, status]() { *status = fsa::open_file(*plan, *opened); },
      [req, request, plan, opened, status, place, directory_leasing, durable]() mutable {
        place.reset();
        if (!req->refresh()) return;
        if (*status != NtStatus::SUCCESS) {
          if (opened->unmapped)
            log::info(req->connection() ? req->connection()->peer().c_str() : nullptr,
                      "pmem: cannot serve '%s': %s", opened->result.path.c_str(),
                      std::string(nt_status_name(*status)).c_str());
          if (*status == NtStatus::STOPPED_ON_SYMLINK && opened->result.symlink) {
            reply_stopped_on_symlink(req, *opened->result.symlink);
            return;
          }
          req->reply(*status);
          return;
        }
        // Admission, again each time the doorbell rings while breaks of other opens'
        // caching are due (MS-FSA 2.1.5.1.2), until the break timeout forces them.
        auto admit_now = [req, request, plan, opened, directory_leasing,
                          durable](bool retry) -> bool {
          if (!req->refresh()) return true;
          ClientState& client = req->client();
          const bool in_table = client.host_files() != nullptr && !req->tree->kernel_oplocks;
          fsa::CachingRequest wants;
          if (in_table)
            wants = caching_request_of(request, req->session->dialect, opened->result.is_directory,
                                       directory_leasing);
          wants.retry = retry;
          // The key is checked also where no lease is granted (a directory).
          const fsa::CachingRequest asked =
              caching_request_of(request, req->session->dialect, false, false);
          if (in_table && asked.oplock == fsa::OplockType::LEVEL_GRANULAR &&
              lease_key_on_other_file(client, fsa::key_of(*opened), asked.lease.key)) {
            req->reply(NtStatus::INVALID_PARAMETER);
            return true;
          }
          Open& open = client.new_open(req->session->id, req->tree->id);
          open.caching_in_table = in_table;
          open.caching_request = wants;
          NtStatus admitted = fsa::admit_open(client.files(), *plan, *opened, open);
          if (admitted == NtStatus::PENDING) {
            client.take_open(open.id);
            return false;
          }
          if (admitted != NtStatus::SUCCESS) {
            client.take_open(open.id);
            req->reply(admitted);
            return true;
          }
          open.connection_id = req->connection_id;
          // MS-SMB2 3.3.4.7: a new entry breaks its directory's leases (but the one this
          // CREATE names as its parent); the creator does not wait.
          const CreateAction action = opened->result.create_action;
          if (action == CreateAction::FILE_CREATED && open.stream.empty())
            directory_changed(client, open.parent, open);
          // An overwritten file's entry changes as a written one's does, at its close.
          if (action == CreateAction::FILE_OVERWRITTEN || action == CreateAction::FILE_SUPERSEDED)
            open.modified = true;
          if (!opened->truncate_after_admission) {
            answer_create(req, request, *opened, open, durable);
            return true;
          }
          finish_create_overwrite(req, request, opened, open.id, durable);
          return true;
        };
        if (admit_now(false)) return;
        fsa::FileKey key = fsa::key_of(*opened);
        wait_for_breaks(req, key, req->worker.config().conf.global.oplock_break_timeout,
                        [admit_now](bool) { return admit_now(true); });
      });
}

}  // namespace smb::server
