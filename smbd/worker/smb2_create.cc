// CREATE (MS-SMB2 3.3.5.9).
#include <algorithm>

#include "smbd/conf/log.hh"
#include "smbd/proto/close.hh"
#include "smbd/proto/create.hh"
#include "smbd/proto/flush.hh"
#include "smbd/proto/read.hh"
#include "smbd/proto/write.hh"
#include "smbd/rpc/pipe.hh"
#include "smbd/rpc/srvsvc.hh"
#include "smbd/worker/access.hh"
#include "smbd/worker/blocking.hh"
#include "smbd/worker/dispatch.hh"
#include "smbd/worker/rdma_io.hh"  // rdma
#include "smbd/worker/oplocks.hh"
#include "smbd/worker/share_modes.hh"
#include "smbd/worker/worker.hh"
#include "smbd/vfs/file_io.hh"
#include "smbd/vfs/security.hh"
#include "smbd/vfs/share.hh"

namespace smb::server {

namespace {

// Create options this server refuses as invalid (MS-SMB2 2.2.13: reserved for local use).
constexpr std::uint32_t kCreateOptionsInvalid = kFileReserveOpfilter | kFileOpenNoRecall;

// Access to the data of a file (MS-SMB2 2.2.13.1.1): such an open gets a vfs::FileIo.
constexpr std::uint32_t kDataAccess = 0x00000001u | 0x00000002u | 0x00000004u | 0x00000020u;

// What the blocking part of CREATE produced.
struct Opened {
  NtStatus status = NtStatus::SUCCESS;
  vfs::OpenResult result;
  std::shared_ptr<UniqueFd> fd;
  std::shared_ptr<vfs::FileIo> io;
  bool unmapped = false;  // a pmem share's file that could not be mapped
};

void reply_create_pipe(const RequestPtr& req, const CreateRequest& request) {
  std::string name = request.name;
  while (!name.empty() && name.front() == '\\') name.erase(name.begin());
  const auto& conf = req->worker.config().conf;
  rpc::ServerInfo info;
  info.netbios_name = conf.global.netbios_name;
  info.server_string = conf.global.server_string;
  info.workgroup = conf.global.workgroup;
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
  Open& open = req->client().new_open(session_id, req->tree->id);
  open.path = name;
  open.pipe = std::move(pipe);
  open.granted_access = map_generic_access(request.desired_access, kFileAllAccess);
  CreateResponse response;
  response.create_action = CreateAction::FILE_OPENED;
  response.file_attributes = 0x80;  // FILE_ATTRIBUTE_NORMAL
  response.file_id = open.id;
  Response out;
  out.body = encode_body(response);
  out.has_body = true;
  out.created = open.id;
  req->complete(std::move(out));
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
  if (static_cast<std::uint32_t>(request.impersonation_level) > 3 ||
      static_cast<std::uint32_t>(request.create_disposition) > 5 ||
      (request.create_options & kCreateOptionsInvalid) != 0 ||
      ((request.create_options & vfs::create_option::FILE_DIRECTORY_FILE) &&
       (request.create_options & vfs::create_option::FILE_NON_DIRECTORY_FILE)) ||
      (request.file_attributes & ~0x00007FB7u) != 0) {
    req->reply(NtStatus::INVALID_PARAMETER);
    return;
  }
  if (!request.name.empty() && request.name.front() == '\\') {
    req->reply(NtStatus::INVALID_PARAMETER);
    return;
  }
  // Extended attributes are not stored by this server (MS-SMB2 3.3.5.9.2).
  if (find_context(request.contexts, kCreateEaBuffer) != nullptr) {
    req->reply(NtStatus::EAS_NOT_SUPPORTED);
    return;
  }
  if (request.desired_access & kAccessSystemSecurity) {
    req->reply(NtStatus::PRIVILEGE_NOT_HELD);
    return;
  }
  // MS-SMB2 3.3.5.9.2: a SecD context is applied to a file this request creates (see
  // vfs/security.hh for what maps onto POSIX); it is ignored when the file exists.
  std::shared_ptr<const dtyp::SecurityDescriptor> create_sd;
  std::uint32_t create_sd_parts = 0;
  if (const CreateContext* secd = find_context(request.contexts, kCreateSdBuffer)) {
    dtyp::SecurityDescriptor sd;
    if (dtyp::decode(secd->data, sd) != NtStatus::SUCCESS) {
      req->reply(NtStatus::INVALID_PARAMETER);
      return;
    }
    // A SACL needs the privilege CREATE refuses for ACCESS_SYSTEM_SECURITY; another
    // owner or group needs the right to WRITE_OWNER on this tree.
    if (sd.sacl_present()) {
      req->reply(NtStatus::PRIVILEGE_NOT_HELD);
      return;
    }
    if ((sd.owner || sd.group) && (tree.maximal_access & 0x00080000u) == 0) {
      req->reply(NtStatus::ACCESS_DENIED);
      return;
    }
    create_sd_parts = (sd.owner ? kOwnerSecurityInformation : 0) |
                      (sd.group ? kGroupSecurityInformation : 0) |
                      (sd.dacl_present() ? kDaclSecurityInformation : 0);
    create_sd = std::make_shared<const dtyp::SecurityDescriptor>(std::move(sd));
  }
  std::uint32_t access = map_generic_access(request.desired_access, tree.maximal_access);
  if (access == 0) {
    req->reply(NtStatus::ACCESS_DENIED);
    return;
  }
  // Reading attributes is granted to whoever may list the directory (as NTFS does through
  // FILE_LIST_DIRECTORY on the parent); every tree connect here may.
  access |= 0x00000080u;  // FILE_READ_ATTRIBUTES
  bool delete_on_close = (request.create_options & vfs::create_option::FILE_DELETE_ON_CLOSE) != 0;
  if (delete_on_close && (access & 0x00010000u) == 0) {
    req->reply(NtStatus::ACCESS_DENIED);
    return;
  }
  // On a read-only share only FILE_OPEN and FILE_OPEN_IF (of an existing file) can work.
  bool may_write = request.create_disposition != CreateDisposition::FILE_OPEN &&
                   request.create_disposition != CreateDisposition::FILE_OPEN_IF;
  if (tree.read_only && ((access & kWriteLikeAccess) != 0 || may_write)) {
    req->reply(NtStatus::ACCESS_DENIED);
    return;
  }

  vfs::OpenRequest open_request;
  open_request.desired_access = access;
  open_request.file_attributes = request.file_attributes;
  open_request.share_access = request.share_access;
  open_request.create_disposition =
      static_cast<vfs::CreateDisposition>(static_cast<std::uint32_t>(request.create_disposition));
  open_request.create_options = request.create_options;
  open_request.new_file = tree.new_file;
  if (tree.read_only && request.create_disposition == CreateDisposition::FILE_OPEN_IF) {
    open_request.create_disposition = vfs::CreateDisposition::FILE_OPEN;
  }

  auto fs = tree.fs;
  // A mapped file must not be truncated behind its MappedFile's back.
  open_request.defer_truncate = fs->backend() == vfs::Backend::pmem;
  auto opened = std::make_shared<Opened>();
  std::string name = request.name;
  bool data_access = (access & kDataAccess) != 0;
  run_blocking(
      req->worker.loop(),
      [fs, name, open_request, opened, data_access, create_sd, create_sd_parts]() {
        vfs::OpenResult& r = opened->result;
        opened->status = fs->open(name, open_request, r);
        if (opened->status != NtStatus::SUCCESS) return;
        opened->fd = std::make_shared<UniqueFd>(std::move(r.fd));
        if (create_sd && r.create_action == vfs::CreateAction::FILE_CREATED) {
          opened->status =
              vfs::set_security_descriptor(opened->fd->get(), *create_sd, create_sd_parts);
          // Not created after all: a file that cannot carry the descriptor is not left.
          if (opened->status != NtStatus::SUCCESS) {
            (void)fs->remove(r.path, opened->fd->get());
            return;
          }
        }
        bool truncate = open_request.defer_truncate &&
                        (r.create_action == vfs::CreateAction::FILE_OVERWRITTEN ||
                         r.create_action == vfs::CreateAction::FILE_SUPERSEDED);
        if (r.is_directory || (!data_access && !truncate)) return;
        opened->status = vfs::FileIo::open(opened->fd, r.writable, fs->backend(), opened->io);
        opened->unmapped = opened->status != NtStatus::SUCCESS;
        if (opened->status != NtStatus::SUCCESS || !truncate) return;
        opened->status = opened->io->set_end_of_file(0);
        if (opened->status == NtStatus::SUCCESS)
          opened->status = vfs::query_info(opened->fd->get(), r.name, r.info);
      },
      [req, request, access, fs, opened, delete_on_close]() {
        if (!req->refresh()) return;
        if (opened->status != NtStatus::SUCCESS) {
          if (opened->unmapped && fs->backend() == vfs::Backend::pmem)
            log::info(req->connection() ? req->connection()->peer().c_str() : nullptr,
                      "pmem: cannot serve '%s': %s", opened->result.path.c_str(),
                      std::string(nt_status_name(opened->status)).c_str());
          req->reply(opened->status);
          return;
        }
        const vfs::OpenResult* result = &opened->result;
        ClientState& client = req->client();
        // Share modes and pending deletes of other opens of the same file (MS-FSA 2.1.5.1.2).
        FileKey key{result->info.device, result->info.file_id};
        NtStatus sharing = check_share_access(client, key, access, request.share_access);
        if (sharing != NtStatus::SUCCESS) {
          req->reply(sharing);
          return;
        }
        Open& open = client.new_open(req->session->id, req->tree->id);
        open.fd = opened->fd;
        open.io = opened->io;
        open.fs = fs;
        open.key = key;
        open.path = result->path;
        open.is_directory = result->is_directory;
        open.granted_access = access;
        open.share_access = request.share_access;
        open.delete_on_close = delete_on_close || result->delete_on_close;
        open.connection_id = req->connection_id;
        if (open.io && open.io->mapped())
          log::debug(5, req->connection() ? req->connection()->peer().c_str() : nullptr,
                     "'%s' served from a mapping (%s)", open.path.c_str(), open.io->mode());

        CreateResponse response;
        response.oplock_level = grant_oplock(open, request.requested_oplock_level);
        response.create_action =
            static_cast<CreateAction>(static_cast<std::uint32_t>(result->create_action));
        response.creation_time = result->info.creation_time;
        response.last_access_time = result->info.last_access_time;
        response.last_write_time = result->info.last_write_time;
        response.change_time = result->info.change_time;
        response.allocation_size = result->is_directory ? 0 : result->info.allocation_size;
        response.end_of_file = result->is_directory ? 0 : result->info.end_of_file;
        response.file_attributes = result->info.file_attributes;
        response.file_id = open.id;
        // Create contexts (MS-SMB2 2.2.13.2): MxAc and QFid are answered; the others
        // (durable handles, leases, timewarp, allocation size) are not granted.
        for (const auto& context : request.contexts) {
          if (context.name == kCreateQueryMaximalAccess) {
            QueryMaximalAccessResponse mxac;
            mxac.maximal_access = req->tree->maximal_access;
            response.contexts.push_back(to_context(mxac));
          } else if (context.name == kCreateQueryOnDiskId) {
            QueryOnDiskIdResponse qfid;
            qfid.disk_file_id = result->info.file_id;
            qfid.volume_id = result->info.device;
            response.contexts.push_back(to_context(qfid));
          }
        }
        Response out;
        out.body = encode_body(response);
        out.has_body = true;
        out.created = open.id;
        req->complete(std::move(out));
      });
}

}  // namespace smb::server
