#include "smbd/fsa/create.hh"

#include <fcntl.h>
#include <sys/stat.h>

#include <utility>

#include "smbd/fsa/access.hh"
#include "smbd/fsa/backend.hh"
#include "smbd/fsa/share_modes.hh"
#include "smbd/vfs/access_check.hh"
#include "smbd/vfs/nt_acl.hh"
#include "smbd/vfs/openat2.hh"
#include "smbd/vfs/security.hh"
#include "smbd/vfs/streams.hh"

namespace smb::fsa {

namespace {

namespace am = access_mask;
namespace fa = file_attribute;

// The attributes a CREATE may ask for (MS-FSA 2.1.5.1; [MS-FSCC] 2.6).
constexpr std::uint32_t kValidCreateAttributes =
    fa::FILE_ATTRIBUTE_READONLY | fa::FILE_ATTRIBUTE_HIDDEN | fa::FILE_ATTRIBUTE_SYSTEM |
    fa::FILE_ATTRIBUTE_DIRECTORY | fa::FILE_ATTRIBUTE_ARCHIVE | fa::FILE_ATTRIBUTE_NORMAL |
    fa::FILE_ATTRIBUTE_TEMPORARY | fa::FILE_ATTRIBUTE_SPARSE_FILE |
    fa::FILE_ATTRIBUTE_REPARSE_POINT | fa::FILE_ATTRIBUTE_COMPRESSED | fa::FILE_ATTRIBUTE_OFFLINE |
    fa::FILE_ATTRIBUTE_NOT_CONTENT_INDEXED | fa::FILE_ATTRIBUTE_ENCRYPTED;

// Access to the data of a file: such an open gets a FileData.
constexpr std::uint32_t kDataAccess =
    am::FILE_READ_DATA | am::FILE_WRITE_DATA | am::FILE_APPEND_DATA | am::FILE_EXECUTE;

// What an open on an O_PATH descriptor keeps of its grant (vfs/share.hh).
constexpr std::uint32_t kAttributeOnlyGrant = am::FILE_READ_ATTRIBUTES | am::READ_CONTROL |
                                              am::WRITE_DAC | am::WRITE_OWNER | am::DELETE |
                                              am::SYNCHRONIZE;

bool overwrites(vfs::CreateAction action) {
  return action == vfs::CreateAction::FILE_OVERWRITTEN ||
         action == vfs::CreateAction::FILE_SUPERSEDED;
}

// The rights a parent directory's descriptor can give an open of an entry in it in the
// entry's stead (vfs/access_check.hh: access_check_for_open).
constexpr std::uint32_t kParentStandIn = am::DELETE | am::FILE_READ_ATTRIBUTES;

// The directory an open's entry is in, and its descriptor, read only once a decision
// needs it: a create (FILE_ADD_FILE, inheritance), or a right of kParentStandIn that the
// entry's own descriptor does not give.
struct AclContext {
  int parent_fd = -1;  // where Share::open found or creates the entry; -1 for the root
  bool parent_read = false;
  bool have_parent = false;
  std::optional<dtyp::SecurityDescriptor> parent_stored;  // the parent's security.NTACL
  dtyp::SecurityDescriptor parent;                        // stored, else from its mode

  // Reads the parent's descriptor (once): UNSUCCESSFUL when it cannot be read.
  NtStatus read_parent() {
    if (parent_read) return have_parent ? NtStatus::SUCCESS : NtStatus::UNSUCCESSFUL;
    parent_read = true;
    if (parent_fd < 0) return NtStatus::UNSUCCESSFUL;
    if (vfs::read_stored_descriptor(parent_fd, parent_stored) != NtStatus::SUCCESS)
      return NtStatus::UNSUCCESSFUL;
    if (parent_stored) {
      parent = *parent_stored;
    } else {
      vfs::PosixSecurity dir;
      if (vfs::query_posix_security(parent_fd, dir) != NtStatus::SUCCESS)
        return NtStatus::UNSUCCESSFUL;
      parent = vfs::security_descriptor_from_posix(
          dir, kOwnerSecurityInformation | kGroupSecurityInformation | kDaclSecurityInformation);
    }
    have_parent = true;
    return NtStatus::SUCCESS;
  }
  const dtyp::SecurityDescriptor* parent_descriptor() {
    return read_parent() == NtStatus::SUCCESS ? &parent : nullptr;
  }
};

// Everything `sd` allows the opener, within the share's rights.
std::optional<std::uint32_t> maximal_for(const CreatePlan& plan, const dtyp::SecurityDescriptor& sd,
                                         const dtyp::SecurityDescriptor* parent) {
  std::uint32_t maximal = 0;
  if (vfs::access_check_for_open(sd, parent, *plan.token, am::MAXIMUM_ALLOWED, maximal) !=
      NtStatus::SUCCESS)
    return std::nullopt;
  return maximal & plan.maximal_access;
}

// The file `fd` refers to, against its stored descriptor (if any).
NtStatus check_existing(const CreatePlan& plan, int fd, AclContext& acl, OpenedFile& out) {
  const vfs::NtToken& token = *plan.token;
  std::optional<dtyp::SecurityDescriptor> sd;
  // A descriptor that cannot be read lets nobody but root in: it may have denied them.
  if (vfs::read_stored_descriptor(fd, sd) != NtStatus::SUCCESS)
    return token.is_root ? NtStatus::SUCCESS : NtStatus::ACCESS_DENIED;
  if (!sd) return NtStatus::SUCCESS;
  // What the file's own descriptor allows: a right is in it exactly when asking for that
  // right alone passes. The parent is asked only for what it could add.
  std::uint32_t own = 0;
  (void)vfs::access_check(*sd, token, am::MAXIMUM_ALLOWED, own);
  const dtyp::SecurityDescriptor* parent =
      (own & kParentStandIn) == kParentStandIn ? nullptr : acl.parent_descriptor();
  std::uint32_t granted = 0;
  if (NtStatus st = vfs::access_check_for_open(*sd, parent, token, plan.requested_access, granted);
      st != NtStatus::SUCCESS)
    return st;
  // Exactly what the descriptor granted ([MS-FSA] 2.1.5.1.2.1), within the share's
  // rights: FILE_READ_ATTRIBUTES only when asked for (the parent may stand in for it).
  granted &= plan.granted_access;
  if (plan.delete_on_close && (granted & am::DELETE) == 0) return NtStatus::ACCESS_DENIED;
  // [MS-FSA] 2.1.5.1.2.1: superseding or overwriting an existing file replaces its data,
  // which needs the right to write it whatever the open asked for (Windows and Samba
  // answer ACCESS_DENIED to a reader overwriting, smb2.acls.OVERWRITE_READ_ONLY_FILE).
  const vfs::CreateDisposition disposition = plan.request.create_disposition;
  if ((disposition == vfs::CreateDisposition::FILE_SUPERSEDE ||
       disposition == vfs::CreateDisposition::FILE_OVERWRITE ||
       disposition == vfs::CreateDisposition::FILE_OVERWRITE_IF) &&
      (own & am::FILE_WRITE_DATA) == 0)
    return NtStatus::ACCESS_DENIED;
  out.granted_access = granted;
  out.maximal_access = maximal_for(plan, *sd, parent);
  out.granted_by_acl = true;
  out.acl_grants_delete = (own & am::DELETE) != 0;
  return NtStatus::SUCCESS;
}

// The decisions on an existing entry, made on what Share::open opened.
NtStatus check_opened(const CreatePlan& plan, const vfs::ExistingEntry& entry, AclContext& acl,
                      OpenedFile& out) {
  acl.parent_fd = entry.name.empty() ? -1 : entry.parent;
  if (plan.token) {
    if (NtStatus st = check_existing(plan, entry.fd, acl, out); st != NtStatus::SUCCESS) return st;
  }
  if (!out.acl_grants_delete &&
      (out.granted_access.value_or(plan.granted_access) & am::DELETE) != 0 &&
      !vfs::Share::may_unlink(entry.parent, std::string(entry.name))) {
    // DELETE that only the share or the parent's FILE_DELETE_CHILD gave: the kernel would
    // refuse the unlink, so it is refused now, not lost at the close (Samba checks the
    // directory the same way at the open).
    if (plan.delete_on_close || (plan.requested_access & am::DELETE) != 0)
      return NtStatus::ACCESS_DENIED;
    out.granted_access = out.granted_access.value_or(plan.granted_access) & ~am::DELETE;
  }
  return NtStatus::SUCCESS;
}

// The parent's consent to a new entry, on a share that stores ACLs.
NtStatus check_create(const CreatePlan& plan, int parent, AclContext& acl) {
  acl.parent_fd = parent;
  if (acl.read_parent() != NtStatus::SUCCESS)
    return plan.token->is_root ? NtStatus::SUCCESS : NtStatus::ACCESS_DENIED;
  if (!acl.parent_stored) return NtStatus::SUCCESS;
  const bool directory = (plan.request.create_options & create_option::FILE_DIRECTORY_FILE) != 0;
  std::uint32_t granted = 0;
  return vfs::access_check(*acl.parent_stored, *plan.token,
                           directory ? am::FILE_ADD_SUBDIRECTORY : am::FILE_ADD_FILE, granted);
}

// A new entry on a share that stores ACLs: the CREATE's descriptor or what it inherits.
NtStatus store_new_descriptor(const CreatePlan& plan, const AclContext& acl, int fd,
                              bool is_directory) {
  vfs::PosixSecurity file;
  if (NtStatus st = vfs::query_posix_security(fd, file); st != NtStatus::SUCCESS) return st;
  dtyp::SecurityDescriptor sd;
  sd.control = dtyp::sd_control::SE_SELF_RELATIVE | dtyp::sd_control::SE_DACL_PRESENT;
  bool has_dacl = false;
  bool must_store = false;  // an owner or group the POSIX ids cannot show
  if (const auto& given = plan.security_descriptor) {
    vfs::PosixSecurityChange owners;
    bool sid_without_id = false;
    if (NtStatus st = vfs::owners_to_apply(file, given->owner.has_value(), given->owner,
                                           given->group.has_value(), given->group, *plan.token,
                                           owners, sid_without_id);
        st != NtStatus::SUCCESS)
      return st;
    if (sid_without_id) must_store = true;
    if (NtStatus st = vfs::apply_posix_security(fd, owners); st != NtStatus::SUCCESS) return st;
    if (owners.uid) file.uid = *owners.uid;
    if (owners.gid) file.gid = *owners.gid;
    if (given->dacl_present()) {
      sd.control = vfs::dacl_control_to_store(given->control) | dtyp::sd_control::SE_SELF_RELATIVE;
      sd.control &= static_cast<std::uint16_t>(~dtyp::sd_control::SE_SACL_PRESENT);
      sd.dacl = given->dacl;
      if (sd.dacl) vfs::map_generic_rights(*sd.dacl);
      has_dacl = true;
    }
  }
  sd.owner = vfs::unix_user_sid(file.uid);
  sd.group = vfs::unix_group_sid(file.gid);
  if (const auto& given = plan.security_descriptor) {
    if (given->owner) sd.owner = given->owner;
    if (given->group) sd.group = given->group;
  }
  if (!has_dacl && acl.parent_stored && acl.parent_stored->dacl) {
    const bool auto_inherit =
        (acl.parent_stored->control & dtyp::sd_control::SE_DACL_AUTO_INHERITED) != 0;
    dtyp::Acl inherited = vfs::inherited_dacl(*acl.parent_stored->dacl, is_directory, *sd.owner,
                                              *sd.group, auto_inherit);
    if (!inherited.aces.empty()) {
      if (auto_inherit) sd.control |= dtyp::sd_control::SE_DACL_AUTO_INHERITED;
      sd.dacl = std::move(inherited);
      has_dacl = true;
    }
  }
  // Nothing to store: the mode describes the entry.
  if (!has_dacl && !must_store) return NtStatus::SUCCESS;
  if (!has_dacl) {
    // Only an owner or group to keep: the DACL the mode describes goes with them.
    const dtyp::SecurityDescriptor from_mode =
        vfs::security_descriptor_from_posix(file, kDaclSecurityInformation);
    sd.control = from_mode.control | dtyp::sd_control::SE_SELF_RELATIVE;
    sd.dacl = from_mode.dacl;
  }
  return vfs::store_descriptor(fd, sd, true);
}

// What the file system is asked for: the file itself, or the file a named stream
// lives on, opened (or created, as Windows does) whatever the stream's disposition.
vfs::OpenRequest base_request(const CreatePlan& plan) {
  vfs::OpenRequest request = plan.request;
  if (plan.stream.empty()) return request;
  const CreateDisposition d = plan.request.create_disposition;
  request.create_disposition =
      d == CreateDisposition::FILE_OPEN || d == CreateDisposition::FILE_OVERWRITE
          ? CreateDisposition::FILE_OPEN
          : CreateDisposition::FILE_OPEN_IF;
  // The stream goes at its close, never the file.
  request.create_options &= ~create_option::FILE_DELETE_ON_CLOSE;
  request.eas.reset();
  request.allocation_size = 0;
  return request;
}

// After the file is open: the named stream, by its disposition ([MS-FSA] 2.1.5.1.2.1).
NtStatus open_stream(const CreatePlan& plan, OpenedFile& out) {
  vfs::OpenResult& r = out.result;
  const int fd = out.fd->get();
  const bool base_created = r.create_action == vfs::CreateAction::FILE_CREATED;
  auto fail = [&](NtStatus status) {
    if (base_created) (void)plan.share->remove(r.path, fd);
    return status;
  };
  std::string on_disk;
  bool exists = false;
  if (NtStatus st = vfs::find_stream(fd, plan.stream, on_disk, exists); st != NtStatus::SUCCESS)
    return fail(st);
  const CreateDisposition d = plan.request.create_disposition;
  bool create = false;
  switch (d) {
    case CreateDisposition::FILE_OPEN:
    case CreateDisposition::FILE_OVERWRITE:
      if (!exists) return fail(NtStatus::OBJECT_NAME_NOT_FOUND);
      r.create_action = d == CreateDisposition::FILE_OPEN ? vfs::CreateAction::FILE_OPENED
                                                          : vfs::CreateAction::FILE_OVERWRITTEN;
      break;
    case CreateDisposition::FILE_CREATE:
      if (exists) return fail(NtStatus::OBJECT_NAME_COLLISION);
      create = true;
      break;
    case CreateDisposition::FILE_OPEN_IF:
      create = !exists;
      r.create_action = vfs::CreateAction::FILE_OPENED;
      break;
    case CreateDisposition::FILE_OVERWRITE_IF:
    case CreateDisposition::FILE_SUPERSEDE:
      create = !exists;
      r.create_action = d == CreateDisposition::FILE_SUPERSEDE
                            ? vfs::CreateAction::FILE_SUPERSEDED
                            : vfs::CreateAction::FILE_OVERWRITTEN;
      break;
  }
  if (create) {
    if (NtStatus st = vfs::create_stream(fd, on_disk); st != NtStatus::SUCCESS) return fail(st);
    r.create_action = vfs::CreateAction::FILE_CREATED;
  }
  out.stream = on_disk;
  r.is_directory = false;
  if (NtStatus st = vfs::query_stream_info(fd, r.name, on_disk, r.info); st != NtStatus::SUCCESS)
    return fail(st);
  out.io = std::make_shared<vfs::StreamFileData>(out.fd, on_disk);
  // An existing stream's data goes once the open is admitted (finish_overwrite).
  out.truncate_after_admission = overwrites(r.create_action) && r.info.end_of_file != 0;
  return NtStatus::SUCCESS;
}

}  // namespace

NtStatus check_create_parameters(const CreateParameters& parameters) {
  if (static_cast<std::uint32_t>(parameters.create_disposition) >
          static_cast<std::uint32_t>(CreateDisposition::FILE_OVERWRITE_IF) ||
      ((parameters.create_options & create_option::FILE_DIRECTORY_FILE) != 0 &&
       (parameters.create_options & create_option::FILE_NON_DIRECTORY_FILE) != 0) ||
      (parameters.file_attributes & ~kValidCreateAttributes) != 0)
    return NtStatus::INVALID_PARAMETER;
  return NtStatus::SUCCESS;
}

NtStatus prepare_create(const CreateParameters& parameters, const CreateScope& scope,
                        CreatePlan& plan) {
  if (NtStatus status = check_create_parameters(parameters); status != NtStatus::SUCCESS)
    return status;
  if ((parameters.desired_access & am::ACCESS_SYSTEM_SECURITY) != 0)
    return NtStatus::PRIVILEGE_NOT_HELD;
  plan = CreatePlan{};
  if (const auto& sd = parameters.security_descriptor) {
    // A SACL needs the privilege ACCESS_SYSTEM_SECURITY needs; another owner or group
    // needs WRITE_OWNER (MS-DTYP 2.4.3) on this share.
    if (sd->sacl_present()) return NtStatus::PRIVILEGE_NOT_HELD;
    if ((sd->owner || sd->group) && (scope.maximal_access & am::WRITE_OWNER) == 0)
      return NtStatus::ACCESS_DENIED;
    plan.security_descriptor = sd;
    plan.security_information = (sd->owner ? kOwnerSecurityInformation : 0) |
                                (sd->group ? kGroupSecurityInformation : 0) |
                                (sd->dacl_present() ? kDaclSecurityInformation : 0);
  }
  std::uint32_t access = map_generic_access(parameters.desired_access, scope.maximal_access);
  if (access == 0) return NtStatus::ACCESS_DENIED;
  bool delete_on_close = (parameters.create_options & create_option::FILE_DELETE_ON_CLOSE) != 0;
  if (delete_on_close && (access & am::DELETE) == 0) return NtStatus::ACCESS_DENIED;
  // On a read-only share only FILE_OPEN and FILE_OPEN_IF (of an existing file) can work.
  CreateDisposition disposition = parameters.create_disposition;
  bool may_write =
      disposition != CreateDisposition::FILE_OPEN && disposition != CreateDisposition::FILE_OPEN_IF;
  if (scope.read_only && ((access & kWriteLikeAccess) != 0 || may_write))
    return NtStatus::ACCESS_DENIED;
  if (scope.read_only && disposition == CreateDisposition::FILE_OPEN_IF)
    disposition = CreateDisposition::FILE_OPEN;

  plan.share = scope.share;
  plan.path = parameters.path;
  std::uint32_t create_options = parameters.create_options;
  if (scope.streams) {
    vfs::StreamPath stream;
    if (NtStatus st = vfs::split_stream_path(parameters.path, stream); st != NtStatus::SUCCESS)
      return st;
    if (stream.has_stream_part) {
      // A stream is never a directory; "dir::$DATA" is the directory's data, which it
      // has none of (FILE_IS_A_DIRECTORY from the open).
      if ((create_options & create_option::FILE_DIRECTORY_FILE) != 0)
        return NtStatus::NOT_A_DIRECTORY;
      if (stream.stream.empty()) create_options |= create_option::FILE_NON_DIRECTORY_FILE;
    }
    plan.path = std::move(stream.base);
    plan.stream = std::move(stream.stream);
    plan.streams = true;
  }
  plan.token = scope.token;
  plan.requested_access = vfs::map_generic_file_rights(parameters.desired_access);
  plan.maximal_access = scope.maximal_access;
  plan.granted_access = access;
  plan.share_access = parameters.share_access;
  plan.delete_on_close = delete_on_close;
  vfs::OpenRequest& request = plan.request;
  // The file system is asked for what the client named, MAXIMUM_ALLOWED kept: with it,
  // writing is welcome but not required (vfs/share.hh). A read-only share never asks.
  request.desired_access = scope.read_only ? access : plan.requested_access;
  request.file_attributes = parameters.file_attributes;
  request.share_access = parameters.share_access;
  request.create_disposition = disposition;
  request.create_options = create_options;
  request.new_file = scope.new_file;
  request.eas = parameters.eas;
  request.allocation_size = parameters.allocation_size;
  // The old data goes only once the open is admitted (finish_overwrite): a CREATE the
  // share modes refuse must leave the file as it was. A mapped file is emptied through
  // its mapping then, never behind its MappedFile's back.
  request.defer_truncate = true;
  request.attribute_only_fallback = scope.token != nullptr;
  return NtStatus::SUCCESS;
}

NtStatus open_file(const CreatePlan& plan, OpenedFile& out) {
  AclContext acl;
  vfs::OpenChecks checks;
  checks.existing = [&](const vfs::ExistingEntry& entry) {
    return check_opened(plan, entry, acl, out);
  };
  if (plan.token) checks.create = [&](int parent) { return check_create(plan, parent, acl); };
  vfs::OpenResult& r = out.result;
  NtStatus status = plan.share->open(plan.path, base_request(plan), r, &checks);
  acl.parent_fd = -1;  // closed by now; what was read of it stays
  if (status != NtStatus::SUCCESS) return status;
  out.fd = std::make_shared<UniqueFd>(std::move(r.fd));
  const bool created = r.create_action == vfs::CreateAction::FILE_CREATED;
  if (plan.token && created) {
    status = store_new_descriptor(plan, acl, out.fd->get(), r.is_directory);
    if (status != NtStatus::SUCCESS) {
      (void)plan.share->remove(r.path, out.fd->get());
      return status;
    }
    std::optional<dtyp::SecurityDescriptor> stored;
    if (vfs::read_stored_descriptor(out.fd->get(), stored) == NtStatus::SUCCESS && stored)
      out.maximal_access = maximal_for(plan, *stored, acl.have_parent ? &acl.parent : nullptr);
  } else if (plan.security_descriptor && created) {
    status = vfs::set_security_descriptor(out.fd->get(), *plan.security_descriptor,
                                          plan.security_information);
    // Not created after all: a file that cannot carry the descriptor is not left.
    if (status != NtStatus::SUCCESS) {
      (void)plan.share->remove(r.path, out.fd->get());
      return status;
    }
  }
  if (r.attribute_only) {
    // An O_PATH descriptor: whatever the descriptor or the share granted, no data.
    out.granted_access = out.granted_access.value_or(plan.granted_access) & kAttributeOnlyGrant;
  }
  if (!plan.stream.empty()) return open_stream(plan, out);
  if (plan.streams && (out.granted_access.value_or(plan.granted_access) & am::DELETE) != 0) {
    std::vector<vfs::StreamEntry> streams;
    if (vfs::list_streams(out.fd->get(), streams) == NtStatus::SUCCESS)
      for (vfs::StreamEntry& stream : streams) out.stream_names.push_back(std::move(stream.name));
  }
  bool truncate = overwrites(r.create_action);
  bool data_access = (out.granted_access.value_or(plan.granted_access) & kDataAccess) != 0;
  if (r.is_directory || (!data_access && !truncate)) return NtStatus::SUCCESS;
  status = open_file_data(out.fd, r.writable, plan.share->backend(), out.io);
  out.unmapped = status != NtStatus::SUCCESS && plan.share->backend() == vfs::Backend::pmem;
  if (status != NtStatus::SUCCESS) return status;
  // An empty file has nothing to lose: its overwrite needs no second step.
  out.truncate_after_admission = truncate && (r.info.end_of_file != 0 || r.info.allocation_size != 0);
  if (truncate && plan.request.allocation_size != 0) {
    out.reserve_after_truncate = plan.request.allocation_size;
    out.truncate_after_admission = true;
  }
  if (truncate && plan.streams) {
    std::vector<vfs::StreamEntry> streams;
    out.drop_streams =
        vfs::list_streams(out.fd->get(), streams) == NtStatus::SUCCESS && !streams.empty();
    out.truncate_after_admission = out.truncate_after_admission || out.drop_streams;
  }
  return NtStatus::SUCCESS;
}

NtStatus finish_overwrite(OpenedFile& file) {
  if (!file.truncate_after_admission || !file.io) return NtStatus::SUCCESS;
  if (NtStatus status = file.io->set_end_of_file(0); status != NtStatus::SUCCESS) return status;
  if (file.drop_streams) {
    std::vector<vfs::StreamEntry> streams;
    if (NtStatus status = vfs::list_streams(file.fd->get(), streams); status != NtStatus::SUCCESS)
      return status;
    for (const vfs::StreamEntry& stream : streams) {
      if (NtStatus status = vfs::remove_stream(file.fd->get(), stream.name);
          status != NtStatus::SUCCESS)
        return status;
    }
    file.drop_streams = false;
  }
  if (file.reserve_after_truncate != 0) {
    if (NtStatus status = file.io->set_allocation_size(file.reserve_after_truncate);
        status != NtStatus::SUCCESS)
      return status;
    file.reserve_after_truncate = 0;
  }
  file.truncate_after_admission = false;
  return vfs::query_stream_info(file.fd->get(), file.result.name, file.stream, file.result.info);
}

FileKey key_of(const OpenedFile& file) {
  FileKey key{file.result.info.device, file.result.info.file_id};
  if (!file.stream.empty()) key.inode ^= vfs::stream_key(file.stream);
  return key;
}

NtStatus admit_open(OpenTable& table, const CreatePlan& plan, const OpenedFile& file,
                    FileOpen& open) {
  const vfs::OpenResult& r = file.result;
  open.key = key_of(file);
  open.parent = FileKey{r.parent_device, r.parent_file_id};
  open.stream = file.stream;
  open.granted_access = file.granted_access.value_or(plan.granted_access);
  // Only the file's own stored descriptor lets a delete go past the directory's mode
  // (which may hold a sticky bit); DELETE from the share or from the parent's
  // FILE_DELETE_CHILD leaves it to the kernel.
  open.delete_granted_by_acl =
      file.granted_by_acl && file.acl_grants_delete && (open.granted_access & am::DELETE) != 0;
  open.share_access = plan.share_access;
  // Before admission: the table records it with the open.
  open.delete_on_close = plan.delete_on_close || r.delete_on_close;
  const FileKey file_key{r.info.device, r.info.file_id};
  if (!file.stream.empty()) {
    // A stream of a delete-pending file cannot be opened either.
    if (auto record = table.lookup(file_key); record && record->delete_pending)
      return NtStatus::DELETE_PENDING;
  } else if ((open.granted_access & am::DELETE) != 0) {
    // Deleting the file deletes its streams: every open of one must share delete.
    for (const std::string& name : file.stream_names) {
      auto record = table.lookup(FileKey{file_key.device, file_key.inode ^ vfs::stream_key(name)});
      if (!record) continue;
      for (const ShareEntry& entry : record->entries) {
        if (sharing_conflicts(entry, am::DELETE,
                              kFileShareRead | kFileShareWrite | kFileShareDelete))
          return NtStatus::SHARING_VIOLATION;
      }
    }
  }
  if (NtStatus status = admit(table, open); status != NtStatus::SUCCESS) return status;
  if (!file.stream.empty()) {
    auto base = std::make_shared<FileOpen>();
    base->key = file_key;
    base->share_access = kFileShareRead | kFileShareWrite | kFileShareDelete;
    base->fs = plan.share;
    base->path = r.path;
    base->fd = file.fd;
    if (NtStatus status = table.insert(*base, [](const FileRecord&) { return NtStatus::SUCCESS; });
        status != NtStatus::SUCCESS) {
      (void)table.remove(open);
      return status;
    }
    open.base_entry = std::move(base);
  }
  open.fd = file.fd;
  open.io = file.io;
  open.fs = plan.share;
  open.path = r.path;
  open.is_directory = r.is_directory;
  return NtStatus::SUCCESS;
}

}  // namespace smb::fsa
