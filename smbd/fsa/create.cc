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
  // Reading attributes is granted to whoever may list the directory (as NTFS does through
  // FILE_LIST_DIRECTORY on the parent); every user of a share here may.
  access |= am::FILE_READ_ATTRIBUTES;
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
  request.create_options = parameters.create_options;
  request.new_file = scope.new_file;
  request.eas = parameters.eas;
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
  NtStatus status = plan.share->open(plan.path, plan.request, r, &checks);
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
  bool truncate = overwrites(r.create_action);
  bool data_access = (out.granted_access.value_or(plan.granted_access) & kDataAccess) != 0;
  if (r.is_directory || (!data_access && !truncate)) return NtStatus::SUCCESS;
  status = open_file_data(out.fd, r.writable, plan.share->backend(), out.io);
  out.unmapped = status != NtStatus::SUCCESS && plan.share->backend() == vfs::Backend::pmem;
  if (status != NtStatus::SUCCESS) return status;
  // An empty file has nothing to lose: its overwrite needs no second step.
  out.truncate_after_admission = truncate && (r.info.end_of_file != 0 || r.info.allocation_size != 0);
  return NtStatus::SUCCESS;
}

NtStatus finish_overwrite(OpenedFile& file) {
  if (!file.truncate_after_admission || !file.io) return NtStatus::SUCCESS;
  if (NtStatus status = file.io->set_end_of_file(0); status != NtStatus::SUCCESS) return status;
  file.truncate_after_admission = false;
  return vfs::query_info(file.fd->get(), file.result.name, file.result.info);
}

NtStatus admit_open(OpenTable& table, const CreatePlan& plan, const OpenedFile& file,
                    FileOpen& open) {
  const vfs::OpenResult& r = file.result;
  open.key = FileKey{r.info.device, r.info.file_id};
  open.granted_access = file.granted_access.value_or(plan.granted_access);
  // Only the file's own stored descriptor lets a delete go past the directory's mode
  // (which may hold a sticky bit); DELETE from the share or from the parent's
  // FILE_DELETE_CHILD leaves it to the kernel.
  open.delete_granted_by_acl =
      file.granted_by_acl && file.acl_grants_delete && (open.granted_access & am::DELETE) != 0;
  open.share_access = plan.share_access;
  // Before admission: the table records it with the open.
  open.delete_on_close = plan.delete_on_close || r.delete_on_close;
  if (NtStatus status = admit(table, open); status != NtStatus::SUCCESS) return status;
  open.fd = file.fd;
  open.io = file.io;
  open.fs = plan.share;
  open.path = r.path;
  open.is_directory = r.is_directory;
  return NtStatus::SUCCESS;
}

}  // namespace smb::fsa
