#include "smbd/fsa/create.hh"

#include "smbd/fsa/access.hh"
#include "smbd/fsa/backend.hh"
#include "smbd/fsa/share_modes.hh"
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

bool overwrites(vfs::CreateAction action) {
  return action == vfs::CreateAction::FILE_OVERWRITTEN ||
         action == vfs::CreateAction::FILE_SUPERSEDED;
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
  plan.granted_access = access;
  plan.share_access = parameters.share_access;
  plan.delete_on_close = delete_on_close;
  vfs::OpenRequest& request = plan.request;
  request.desired_access = access;
  request.file_attributes = parameters.file_attributes;
  request.share_access = parameters.share_access;
  request.create_disposition = disposition;
  request.create_options = parameters.create_options;
  request.new_file = scope.new_file;
  // A mapped file must not be truncated behind its MappedFile's back: open_file() drops
  // the old data through the mapping.
  request.defer_truncate = scope.share && scope.share->backend() == vfs::Backend::pmem;
  return NtStatus::SUCCESS;
}

NtStatus open_file(const CreatePlan& plan, OpenedFile& out) {
  vfs::OpenResult& r = out.result;
  NtStatus status = plan.share->open(plan.path, plan.request, r);
  if (status != NtStatus::SUCCESS) return status;
  out.fd = std::make_shared<UniqueFd>(std::move(r.fd));
  if (plan.security_descriptor && r.create_action == vfs::CreateAction::FILE_CREATED) {
    status = vfs::set_security_descriptor(out.fd->get(), *plan.security_descriptor,
                                          plan.security_information);
    // Not created after all: a file that cannot carry the descriptor is not left.
    if (status != NtStatus::SUCCESS) {
      (void)plan.share->remove(r.path, out.fd->get());
      return status;
    }
  }
  bool truncate = plan.request.defer_truncate && overwrites(r.create_action);
  bool data_access = (plan.granted_access & kDataAccess) != 0;
  if (r.is_directory || (!data_access && !truncate)) return NtStatus::SUCCESS;
  status = open_file_data(out.fd, r.writable, plan.share->backend(), out.io);
  out.unmapped = status != NtStatus::SUCCESS && plan.share->backend() == vfs::Backend::pmem;
  if (status != NtStatus::SUCCESS || !truncate) return status;
  status = out.io->set_end_of_file(0);
  if (status != NtStatus::SUCCESS) return status;
  return vfs::query_info(out.fd->get(), r.name, r.info);
}

NtStatus admit_open(OpenTable& table, const CreatePlan& plan, const OpenedFile& file,
                    FileOpen& open) {
  const vfs::OpenResult& r = file.result;
  open.key = FileKey{r.info.device, r.info.file_id};
  open.granted_access = plan.granted_access;
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
