// CREATE (MS-SMB2 3.3.5.9): the request is decoded and checked for what is SMB2's own
// (impersonation level, options reserved for local use, the name's form, create
// contexts), the object store opens the file (fsa/create.hh), and the response carries
// the oplock granted and the answers to the MxAc and QFid contexts.
#include <algorithm>

#include "smbd/conf/identity.hh"
#include "smbd/conf/log.hh"
#include "smbd/fsa/access.hh"
#include "smbd/fsa/create.hh"
#include "smbd/proto/create.hh"
#include "smbd/proto/negotiate.hh"
#include "smbd/rpc/pipe.hh"
#include "smbd/rpc/srvsvc.hh"
#include "smbd/worker/access.hh"
#include "smbd/worker/blocking.hh"
#include "smbd/worker/dispatch.hh"
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

// Answers to the create contexts (MS-SMB2 2.2.13.2): MxAc and QFid; the others (durable
// handles, leases, timewarp, allocation size) are not granted.
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

// The answer to a CREATE whose open is admitted (MS-SMB2 3.3.5.9), with the oplock it gets.
void answer_create(const RequestPtr& req, const CreateRequest& request,
                   const fsa::OpenedFile& opened, Open& open) {
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
  Response out;
  out.body = encode_body(response);
  out.has_body = true;
  out.created = open.id;
  req->complete(std::move(out));
}

// Admitted: now the old data of an overwrite may go (fsa::finish_overwrite).
void finish_create_overwrite(const RequestPtr& req, const CreateRequest& request,
                             const std::shared_ptr<fsa::OpenedFile>& opened, FileId id) {
  auto truncated = std::make_shared<NtStatus>(NtStatus::SUCCESS);
  run_blocking(
      req->worker.loop(), [opened, truncated]() { *truncated = fsa::finish_overwrite(*opened); },
      [req, request, opened, truncated, id]() {
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
        answer_create(req, request, *opened, *admitted_open);
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
  TreeConnect& tree = *req->tree;
  if (tree.is_ipc) {
    reply_create_pipe(req, request);
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
      [req, request, plan, opened, status, place, directory_leasing]() mutable {
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
        auto admit_now = [req, request, plan, opened, directory_leasing](bool retry) -> bool {
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
            answer_create(req, request, *opened, open);
            return true;
          }
          finish_create_overwrite(req, request, opened, open.id);
          return true;
        };
        if (admit_now(false)) return;
        fsa::FileKey key = fsa::key_of(*opened);
        wait_for_breaks(req, key, req->worker.config().conf.global.oplock_break_timeout,
                        [admit_now](bool) { return admit_now(true); });
      });
}

}  // namespace smb::server
