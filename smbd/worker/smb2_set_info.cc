// SET_INFO (MS-SMB2 3.3.5.21): file information and security descriptors of an open.
#include <sys/stat.h>

#include <array>
#include <functional>
#include <memory>
#include <optional>

#include "smbd/base/security_descriptor.hh"
#include "smbd/base/wire.hh"
#include "smbd/fsa/share_modes.hh"
#include "smbd/proto/fscc.hh"
#include "smbd/proto/set_info.hh"
#include "smbd/vfs/eas.hh"
#include "smbd/vfs/file.hh"
#include "smbd/vfs/nt_acl.hh"
#include "smbd/vfs/rename_target.hh"
#include "smbd/vfs/security.hh"
#include "smbd/vfs/streams.hh"
#include "smbd/worker/blocking.hh"
#include "smbd/worker/dispatch.hh"
#include "smbd/worker/info_classes.hh"
#include "smbd/worker/oplocks.hh"
#include "smbd/worker/worker.hh"

namespace smb::server {

namespace {

using fscc::FileInfoClass;

// SET_INFO SMB2_0_INFO_SECURITY: on a share that stores ACLs the descriptor is stored
// (vfs/nt_acl.hh); elsewhere what maps onto the owner, group and mode is applied and the
// rest is refused (vfs/security.hh).
void set_security(const RequestPtr& req, const SetInfoRequest& request) {
  const Open& open = *req->open;
  const std::uint32_t info = request.additional_information & kSecurityInformationKnown;
  // MS-SMB2 3.3.5.21.3: the rights each part needs.
  if ((info & kSystemSecurityParts) != 0 ||
      ((info & (kDaclSecurityInformation | kAttributeSecurityInformation)) != 0 &&
       (open.granted_access & access_mask::WRITE_DAC) == 0) ||
      ((info &
        (kOwnerSecurityInformation | kGroupSecurityInformation | kLabelSecurityInformation)) != 0 &&
       (open.granted_access & access_mask::WRITE_OWNER) == 0) ||
      (info != 0 && req->tree->read_only)) {
    req->reply(NtStatus::ACCESS_DENIED);
    return;
  }
  if (request.buffer.empty()) {
    req->reply(NtStatus::INVALID_PARAMETER);
    return;
  }
  dtyp::SecurityDescriptor sd;
  NtStatus decoded = dtyp::decode(request.buffer, sd);
  if (decoded != NtStatus::SUCCESS) {
    req->reply(decoded);
    return;
  }
  // Labels and claims live in the SACL, which is not stored.
  const bool stored_acls = req->tree->nt_token != nullptr;
  if (stored_acls && (info & (kLabelSecurityInformation | kAttributeSecurityInformation)) != 0 &&
      sd.sacl && !sd.sacl->aces.empty()) {
    req->reply(NtStatus::NOT_SUPPORTED);
    return;
  }
  auto fd = open.fd;
  auto status = std::make_shared<NtStatus>(NtStatus::SUCCESS);
  run_blocking(
      req->worker.loop(),
      [fd, sd = std::move(sd), info, status, token = req->tree->nt_token]() {
        *status = token ? vfs::set_descriptor(fd->get(), sd, info, *token)
                        : vfs::set_security_descriptor(fd->get(), sd, info);
      },
      [req, status]() {
        if (*status != NtStatus::SUCCESS) {
          req->reply(*status);
          return;
        }
        req->reply(encode_body(SetInfoResponse{}));
      });
}

// Whether an open of this worker other than `dir` lies beneath the directory `dir`.
bool has_open_below(const RequestPtr& req, const Open& dir) {
  const std::string prefix = dir.path + "\\";
  for (const auto& [id, other] : req->client().opens()) {
    if (other.get() == &dir || !other->fs || !other->path.starts_with(prefix)) continue;
    // Another tree connect of the same share has its own Share with the same root.
    if (other->fs == dir.fs || other->fs->same_root(*dir.fs)) return true;
  }
  return false;
}

// The checks of a rename against other opens, then `rename` (MS-FSA 2.1.5.14.11): the
// new name's directory and the file it replaces, in the open table (fsa::check_rename),
// and for a directory the opens beneath it: the files under it would move under their
// opens, which Windows refuses (ACCESS_DENIED). Only this worker's opens are seen
// beneath a directory, as Samba sees only its own process's without `strict rename`.
void check_rename(const RequestPtr& req, const std::string& target, bool replace,
                  std::function<void()> rename) {
  const Open& open = *req->open;
  if (open.is_directory && has_open_below(req, open)) {
    req->reply(NtStatus::ACCESS_DENIED);
    return;
  }
  auto found = std::make_shared<vfs::RenameTarget>();
  auto status = std::make_shared<NtStatus>(NtStatus::SUCCESS);
  run_blocking(
      req->worker.loop(),
      [fs = open.fs, target, found, status]() {
        *status = vfs::find_rename_target(*fs, target, *found);
      },
      [req, found, status, replace, rename = std::move(rename)]() {
        if (!req->refresh()) return;
        if (*status == NtStatus::SUCCESS) {
          const fsa::FileKey directory{found->directory.device, found->directory.file_id};
          std::optional<fsa::FileKey> replaced;
          if (found->exists && replace)
            replaced = fsa::FileKey{found->existing.device, found->existing.file_id};
          *status = fsa::check_rename(req->client().files(), *req->open, directory, replaced);
        }
        if (*status != NtStatus::SUCCESS) {
          req->reply(*status);
          return;
        }
        rename();
      });
}

// [MS-FSA] 2.1.5.14.11 FileRenameInformation of a named stream: only to another stream
// of the same file (":name" or ":name:$DATA"); anything else is INVALID_PARAMETER.
void rename_stream(const RequestPtr& req, const std::string& target, bool replace) {
  Open& open = *req->open;
  vfs::StreamPath to;
  if (open.stream.empty() || target.empty() || target.front() != ':' ||
      vfs::split_stream_path(target, to) != NtStatus::SUCCESS || to.stream.empty()) {
    req->reply(NtStatus::INVALID_PARAMETER);
    return;
  }
  auto status = std::make_shared<NtStatus>(NtStatus::SUCCESS);
  auto renamed = std::make_shared<std::string>();
  run_blocking(
      req->worker.loop(),
      [fd = open.fd, from = open.stream, to = to.stream, replace, status, renamed]() {
        *status = vfs::rename_stream(fd->get(), from, to, replace, *renamed);
      },
      [req, status, renamed]() {
        if (!req->refresh()) return;
        if (*status != NtStatus::SUCCESS) {
          req->reply(*status);
          return;
        }
        req->open->stream = *renamed;
        req->reply(encode_body(SetInfoResponse{}));
      });
}

}  // namespace

void handle_set_info(const RequestPtr& req) {
  SetInfoRequest request;
  if (decode(req->pdu, request) != NtStatus::SUCCESS) {
    req->reply(NtStatus::INVALID_PARAMETER);
    return;
  }
  Open& open = *req->open;
  if (open.pipe) {
    req->reply(NtStatus::NOT_SUPPORTED);
    return;
  }
  if (request.info_type == InfoType::SMB2_0_INFO_SECURITY) {
    set_security(req, request);
    return;
  }
  if (request.info_type != InfoType::SMB2_0_INFO_FILE) {
    req->reply(request.info_type == InfoType::SMB2_0_INFO_FILESYSTEM ||
                       request.info_type == InfoType::SMB2_0_INFO_QUOTA
                   ? NtStatus::NOT_SUPPORTED
                   : NtStatus::INVALID_PARAMETER);
    return;
  }
  ByteSpan buffer = request.buffer;
  auto cls = static_cast<FileInfoClass>(request.file_info_class);
  auto fd = open.fd;
  auto status = std::make_shared<NtStatus>(NtStatus::SUCCESS);
  auto done_ok = [req, status]() {
    if (*status != NtStatus::SUCCESS) {
      req->reply(*status);
      return;
    }
    req->reply(encode_body(SetInfoResponse{}));
  };
  if (req->tree->read_only && cls != FileInfoClass::FilePositionInformation &&
      cls != FileInfoClass::FileModeInformation) {
    req->reply(NtStatus::ACCESS_DENIED);
    return;
  }

  switch (cls) {
    case FileInfoClass::FileBasicInformation: {
      fscc::FileBasicInformation basic;
      NtStatus s = fscc::decode(buffer, basic);
      if (s != NtStatus::SUCCESS) {
        req->reply(s);
        return;
      }
      if ((open.granted_access & access_mask::FILE_WRITE_ATTRIBUTES) == 0) {
        req->reply(NtStatus::ACCESS_DENIED);
        return;
      }
      std::string name = last_component(open.path);
      // MS-FSA 2.1.5.14.2: a LastWriteTime of -1 stops this open's writes from changing
      // it (Open.UserSetModificationTime), -2 lets them again. The time to keep is read
      // once this request's own change is made.
      constexpr std::uint64_t kStopUpdating = ~std::uint64_t{0};
      constexpr std::uint64_t kResumeUpdating = ~std::uint64_t{0} - 1;
      if (basic.last_write_time == kResumeUpdating) open.frozen_write_time.reset();
      const bool keep_write_time =
          basic.last_write_time == kStopUpdating || open.frozen_write_time.has_value();
      auto kept = std::make_shared<std::uint64_t>(0);
      run_blocking(
          req->worker.loop(),
          [fd, name, change = to_basic_change(basic, req->tree->new_file.store_dos_attributes),
           status, keep_write_time, kept]() {
            *status = vfs::set_basic_info(fd->get(), name, change);
            vfs::FileInfo info;
            if (*status == NtStatus::SUCCESS && keep_write_time &&
                vfs::query_info(fd->get(), name, info) == NtStatus::SUCCESS) {
              *kept = info.last_write_time;
            }
          },
          [req, status, keep_write_time, kept]() {
            if (!req->refresh()) return;
            if (*status == NtStatus::SUCCESS && keep_write_time && *kept != 0) {
              req->open->frozen_write_time = *kept;
            }
            if (*status != NtStatus::SUCCESS) {
              req->reply(*status);
              return;
            }
            req->reply(encode_body(SetInfoResponse{}));
          });
      return;
    }
    case FileInfoClass::FileEndOfFileInformation:
    case FileInfoClass::FileAllocationInformation: {
      if ((open.granted_access & access_mask::FILE_WRITE_DATA) == 0) {
        req->reply(NtStatus::ACCESS_DENIED);
        return;
      }
      if (open.is_directory) {
        req->reply(NtStatus::INVALID_PARAMETER);
        return;
      }
      std::uint64_t size = 0;
      bool end_of_file = cls == FileInfoClass::FileEndOfFileInformation;
      if (end_of_file) {
        fscc::FileEndOfFileInformation v;
        NtStatus s = fscc::decode(buffer, v);
        if (s != NtStatus::SUCCESS) {
          req->reply(s);
          return;
        }
        size = v.end_of_file;
      } else {
        fscc::FileAllocationInformation v;
        NtStatus s = fscc::decode(buffer, v);
        if (s != NtStatus::SUCCESS) {
          req->reply(s);
          return;
        }
        size = v.allocation_size;
      }
      if (!open.io) {
        req->reply(NtStatus::INVALID_DEVICE_REQUEST);
        return;
      }
      // MS-FSA 2.1.5.14.2, 2.1.5.14.4: a size change breaks the file's read caching.
      if (fsa::SharedOpenTable* table = req->client().host_files(); table && open.caching_in_table)
        table->break_readers(open);
      open.modified = true;
      auto io = open.io;
      run_blocking(
          req->worker.loop(),
          [io, size, end_of_file, status]() {
            *status = end_of_file ? io->set_end_of_file(size) : io->set_allocation_size(size);
          },
          done_ok);
      return;
    }
    case FileInfoClass::FileDispositionInformation:
    case FileInfoClass::FileDispositionInformationEx: {
      bool delete_file = false;
      if (cls == FileInfoClass::FileDispositionInformation) {
        fscc::FileDispositionInformation v;
        NtStatus s = fscc::decode(buffer, v);
        if (s != NtStatus::SUCCESS) {
          req->reply(s);
          return;
        }
        delete_file = v.delete_pending;
      } else {
        fscc::FileDispositionInformationEx v;
        NtStatus s = fscc::decode(buffer, v);
        if (s != NtStatus::SUCCESS) {
          req->reply(s);
          return;
        }
        delete_file = (v.flags & fscc::disposition_flag::FILE_DISPOSITION_DELETE) != 0;
      }
      if ((open.granted_access & access_mask::DELETE) == 0) {
        req->reply(NtStatus::ACCESS_DENIED);
        return;
      }
      if (!delete_file) {
        fsa::set_disposition(req->client().files(), open, false);
        req->reply(encode_body(SetInfoResponse{}));
        return;
      }
      // A named stream goes alone: the file's attributes and entries do not matter.
      const bool stream = !open.stream.empty();
      run_blocking(
          req->worker.loop(),
          [fd, status, stream]() {
            if (!stream) *status = vfs::check_delete(fd->get());
          },
          [req, status]() {
            if (!req->refresh()) return;
            if (*status != NtStatus::SUCCESS) {
              req->reply(*status);
              return;
            }
            // MS-FSA 2.1.5.14.3: the file is delete-pending for every open of it, in every
            // worker.
            fsa::set_disposition(req->client().files(), *req->open, true);
            req->reply(encode_body(SetInfoResponse{}));
          });
      return;
    }
    case FileInfoClass::FileRenameInformation:
    case FileInfoClass::FileRenameInformationEx: {
      fscc::FileRenameInformation v;
      NtStatus s = fscc::decode(buffer, v);
      if (s != NtStatus::SUCCESS) {
        req->reply(s);
        return;
      }
      if ((open.granted_access & access_mask::DELETE) == 0) {
        req->reply(NtStatus::ACCESS_DENIED);
        return;
      }
      if (v.root_directory != 0) {
        req->reply(NtStatus::INVALID_PARAMETER);
        return;
      }
      std::string target = v.file_name;
      while (!target.empty() && target.front() == '\\') target.erase(target.begin());
      if (req->tree->streams && (!open.stream.empty() || target.find(':') != std::string::npos)) {
        rename_stream(req, target, v.replace_if_exists);
        return;
      }
      auto fs = open.fs;
      std::string from = open.path;
      bool replace = v.replace_if_exists;
      auto rename = [req, fs, from, target, replace, fd, status]() {
        // The directories the name leaves and enters, whose leases the rename breaks.
        auto directories = std::make_shared<std::array<vfs::FileIdentity, 2>>();
        run_blocking(
            req->worker.loop(),
            [fs, from, target, replace, fd, status, directories, token = req->tree->nt_token]() {
              // On a share that stores ACLs the target's directory must consent.
              if (token) {
                *status = vfs::check_rename_target(*fs, target, fd->get(), replace, *token);
                if (*status != NtStatus::SUCCESS) return;
              }
              (void)vfs::directory_of(*fs, from, (*directories)[0]);
              (void)vfs::directory_of(*fs, target, (*directories)[1]);
              *status = fs->rename(from, target, replace, fd->get());
            },
            [req, status, target, directories]() {
              if (!req->refresh()) return;
              if (*status != NtStatus::SUCCESS) {
                req->reply(*status);
                return;
              }
              Open& renamed = *req->open;
              renamed.path = target;
              const auto& [left, entered] = *directories;
              const fsa::FileKey old_parent{left.device, left.file_id};
              const fsa::FileKey new_parent{entered.device, entered.file_id};
              renamed.parent = new_parent;
              directory_changed(req->client(), old_parent, renamed);
              if (!(new_parent == old_parent))
                directory_changed(req->client(), new_parent, renamed);
              req->reply(encode_body(SetInfoResponse{}));
            });
      };
      auto checked_rename = [req, target, replace, rename]() {
        check_rename(req, target, replace, rename);
      };
      // A rename through an open holding a lease first takes H from the file's other
      // leases and waits for their acknowledgement (caching.hh: break_handle_leases), as
      // Windows does before it looks at the new name.
      fsa::SharedOpenTable* table = req->client().host_files();
      if (table == nullptr || !open.caching_in_table || !table->break_handle_leases(open)) {
        checked_rename();
        return;
      }
      wait_for_breaks(req, open.key, req->worker.config().conf.global.oplock_break_timeout,
                      [req, checked_rename](bool) {
                        if (!req->refresh()) return true;
                        fsa::SharedOpenTable* t = req->client().host_files();
                        if (t != nullptr && t->break_handle_leases(*req->open)) return false;
                        checked_rename();
                        return true;
                      });
      return;
    }
    case FileInfoClass::FilePositionInformation: {
      fscc::FilePositionInformation v;
      NtStatus s = fscc::decode(buffer, v);
      if (s != NtStatus::SUCCESS) {
        req->reply(s);
        return;
      }
      open.position = v.current_byte_offset;
      req->reply(encode_body(SetInfoResponse{}));
      return;
    }
    case FileInfoClass::FileModeInformation: {
      fscc::FileModeInformation v;
      NtStatus s = fscc::decode(buffer, v);
      if (s != NtStatus::SUCCESS) {
        req->reply(s);
        return;
      }
      open.mode = v.mode;
      req->reply(encode_body(SetInfoResponse{}));
      return;
    }
    case FileInfoClass::FileFullEaInformation: {
      // MS-FSA 2.1.5.14 (set file information), FileFullEaInformation, on shares with `ea support`
      // (vfs/eas.hh).
      if (!req->tree->ea_support) {
        req->reply(NtStatus::EAS_NOT_SUPPORTED);
        return;
      }
      if ((open.granted_access & access_mask::FILE_WRITE_EA) == 0) {
        req->reply(NtStatus::ACCESS_DENIED);
        return;
      }
      auto eas = std::make_shared<std::vector<vfs::ExtendedAttribute>>();
      if (NtStatus s = decode_ea_list(buffer, *eas); s != NtStatus::SUCCESS) {
        req->reply(s);
        return;
      }
      run_blocking(
          req->worker.loop(), [fd, eas, status]() { *status = vfs::set_eas(fd->get(), *eas); },
          done_ok);
      return;
    }
    case FileInfoClass::FileLinkInformation:
      req->reply(NtStatus::NOT_SUPPORTED);
      return;
    default:
      req->reply(NtStatus::INVALID_INFO_CLASS);
      return;
  }
}

}  // namespace smb::server
