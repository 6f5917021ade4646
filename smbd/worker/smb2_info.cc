// QUERY_INFO (MS-SMB2 3.3.5.20) and SET_INFO (3.3.5.21).
#include "smbd/conf/log.hh"
#include "smbd/proto/error.hh"
#include "smbd/proto/fscc.hh"
#include "smbd/proto/query_info.hh"
#include "smbd/base/security_descriptor.hh"
#include "smbd/proto/set_info.hh"
#include "smbd/worker/access.hh"
#include "smbd/worker/blocking.hh"
#include "smbd/worker/dispatch.hh"
#include "smbd/worker/worker.hh"
#include "smbd/vfs/file.hh"
#include "smbd/vfs/security.hh"

namespace smb::server {

namespace {

using fscc::FileInfoClass;
using fscc::FsInfoClass;

constexpr InfoType kInfoFile = InfoType::SMB2_0_INFO_FILE;
constexpr InfoType kInfoFilesystem = InfoType::SMB2_0_INFO_FILESYSTEM;
constexpr InfoType kInfoSecurity = InfoType::SMB2_0_INFO_SECURITY;
constexpr InfoType kInfoQuota = InfoType::SMB2_0_INFO_QUOTA;

constexpr std::uint32_t kReadAttributes = 0x00000080;
constexpr std::uint32_t kWriteAttributes = 0x00000100;
constexpr std::uint32_t kWriteData = 0x00000002;
constexpr std::uint32_t kDelete = 0x00010000;

// What one query produced: the encoded structure, and the size of its fixed part (a
// buffer shorter than that is INFO_LENGTH_MISMATCH; a longer but still short one gets
// BUFFER_OVERFLOW with what fits, MS-SMB2 3.3.5.20.1).
struct Encoded {
  NtStatus status = NtStatus::SUCCESS;
  Bytes data;
  std::size_t fixed = 0;
};

std::string last_component(const std::string& path) {
  std::size_t slash = path.find_last_of('\\');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

Encoded query_file_class(FileInfoClass cls, const Open& open, const vfs::FileInfo& info,
                         bool delete_pending) {
  Encoded e;
  ByteWriter w(e.data);
  switch (cls) {
    case FileInfoClass::FileBasicInformation:
      fscc::encode(vfs::to_basic(info), w);
      break;
    case FileInfoClass::FileStandardInformation:
      fscc::encode(vfs::to_standard(info, delete_pending), w);
      break;
    case FileInfoClass::FileInternalInformation:
      fscc::encode(fscc::FileInternalInformation{info.file_id}, w);
      break;
    case FileInfoClass::FileEaInformation:
      fscc::encode(fscc::FileEaInformation{0}, w);
      break;
    case FileInfoClass::FileAccessInformation:
      fscc::encode(fscc::FileAccessInformation{open.granted_access}, w);
      break;
    case FileInfoClass::FilePositionInformation:
      fscc::encode(fscc::FilePositionInformation{open.position}, w);
      break;
    case FileInfoClass::FileModeInformation:
      fscc::encode(fscc::FileModeInformation{open.mode}, w);
      break;
    case FileInfoClass::FileAlignmentInformation:
      fscc::encode(fscc::FileAlignmentInformation{0}, w);
      break;
    case FileInfoClass::FileAllInformation: {
      fscc::FileAllInformation all;
      all.basic = vfs::to_basic(info);
      all.standard = vfs::to_standard(info, delete_pending);
      all.internal.index_number = info.file_id;
      all.access.access_flags = open.granted_access;
      all.position.current_byte_offset = open.position;
      all.mode.mode = open.mode;
      all.name.file_name = "\\" + open.path;
      fscc::encode(all, w);
      e.fixed = 104;
      break;
    }
    case FileInfoClass::FileNetworkOpenInformation:
      fscc::encode(vfs::to_network_open(info), w);
      break;
    case FileInfoClass::FileAttributeTagInformation:
      fscc::encode(fscc::FileAttributeTagInformation{info.file_attributes, 0}, w);
      break;
    case FileInfoClass::FileStreamInformation: {
      std::vector<fscc::FileStreamEntry> streams;
      if (!info.is_directory)
        streams.push_back({"::$DATA", info.end_of_file, info.allocation_size});
      fscc::encode(streams, w);
      e.fixed = streams.empty() ? 0 : 32;
      break;
    }
    case FileInfoClass::FileCompressionInformation:
      // MS-FSCC 2.4.9: uncompressed files report their size and format NONE.
      w.u64(info.end_of_file);
      w.u16(0);
      w.u8(0);
      w.u8(0);
      w.u8(0);
      w.zeros(3);
      break;
    case FileInfoClass::FileAlternateNameInformation:
      // No 8.3 short names are generated (as NTFS with 8dot3 creation disabled).
      e.status = NtStatus::OBJECT_NAME_NOT_FOUND;
      return e;
    case FileInfoClass::FileNormalizedNameInformation:
    case FileInfoClass::FileNameInformation:
      fscc::encode(fscc::FileNameInformation{open.path}, w);
      e.fixed = 4;
      break;
    default:
      e.status = NtStatus::INVALID_INFO_CLASS;
      return e;
  }
  if (e.fixed == 0) e.fixed = e.data.size();
  return e;
}

Encoded query_fs_class(FsInfoClass cls, const vfs::VolumeInfo& volume, const std::string& label) {
  Encoded e;
  ByteWriter w(e.data);
  switch (cls) {
    case FsInfoClass::FileFsVolumeInformation:
      fscc::encode(volume.volume_information(label), w);
      e.fixed = 24;
      break;
    case FsInfoClass::FileFsSizeInformation:
      fscc::encode(volume.size_information(), w);
      break;
    case FsInfoClass::FileFsFullSizeInformation:
      fscc::encode(volume.full_size_information(), w);
      break;
    case FsInfoClass::FileFsDeviceInformation:
      // FILE_DEVICE_DISK, FILE_DEVICE_IS_MOUNTED
      fscc::encode(fscc::FileFsDeviceInformation{0x00000007, 0x00000020}, w);
      break;
    case FsInfoClass::FileFsAttributeInformation:
      fscc::encode(volume.attribute_information(), w);
      e.fixed = 16;
      break;
    case FsInfoClass::FileFsSectorSizeInformation: {
      fscc::FileFsSectorSizeInformation s;
      s.logical_bytes_per_sector = volume.bytes_per_sector;
      s.physical_bytes_per_sector_for_atomicity = volume.bytes_per_sector;
      s.physical_bytes_per_sector_for_performance = volume.bytes_per_sector;
      s.file_system_effective_physical_bytes_per_sector_for_atomicity = volume.bytes_per_sector;
      s.flags = 0x00000003;  // aligned device, partition aligned
      fscc::encode(s, w);
      break;
    }
    case FsInfoClass::FileFsControlInformation:
      // MS-FSCC 2.5.2: quotas are not tracked; thresholds and limits are "none".
      w.u64(0);
      w.u64(0);
      w.u64(0);
      w.u64(~std::uint64_t{0});
      w.u64(~std::uint64_t{0});
      w.u32(0);
      w.u32(0);
      break;
    case FsInfoClass::FileFsObjectIdInformation:
      fscc::encode(fscc::FileFsObjectIdInformation{}, w);
      break;
    default:
      e.status = NtStatus::INVALID_INFO_CLASS;
      return e;
  }
  if (e.fixed == 0) e.fixed = e.data.size();
  return e;
}

void reply_encoded(const RequestPtr& req, Encoded e, std::uint32_t output_buffer_length) {
  if (e.status != NtStatus::SUCCESS) {
    req->reply(e.status);
    return;
  }
  NtStatus status = NtStatus::SUCCESS;
  if (output_buffer_length < e.fixed) {
    req->reply(NtStatus::INFO_LENGTH_MISMATCH);
    return;
  }
  if (e.data.size() > output_buffer_length) {
    e.data.resize(output_buffer_length);
    status = NtStatus::BUFFER_OVERFLOW;
  }
  QueryInfoResponse response;
  response.output = std::move(e.data);
  Response out;
  out.status = status;
  out.body = encode_body(response);
  out.has_body = true;
  req->complete(std::move(out));
}

// ---- Security descriptors (SMB2_0_INFO_SECURITY) ----

constexpr std::uint32_t kReadControl = 0x00020000;
constexpr std::uint32_t kWriteDac = 0x00040000;
constexpr std::uint32_t kWriteOwner = 0x00080000;
// MS-SMB2 2.2.37 / 2.2.39: the AdditionalInformation bits; others are ignored
// (3.3.5.20.3, 3.3.5.21.3).
constexpr std::uint32_t kSecurityInformationKnown =
    kOwnerSecurityInformation | kGroupSecurityInformation | kDaclSecurityInformation |
    kSaclSecurityInformation | kLabelSecurityInformation | kAttributeSecurityInformation |
    kScopeSecurityInformation | kBackupSecurityInformation;
// The parts that need ACCESS_SYSTEM_SECURITY, which no open has: CREATE refuses it
// (PRIVILEGE_NOT_HELD), so asking for them is ACCESS_DENIED.
constexpr std::uint32_t kSystemSecurityParts =
    kSaclSecurityInformation | kScopeSecurityInformation | kBackupSecurityInformation;

// MS-SMB2 3.3.5.20.3: STATUS_BUFFER_TOO_SMALL carries the size needed, as one error
// context in 3.1.1 and as 4 bytes of ErrorData before (2.2.2).
void reply_buffer_too_small(const RequestPtr& req, std::uint32_t required) {
  Bytes size(4);
  store_le32(size.data(), required);
  ErrorResponse error;
  Connection* connection = req->connection();
  if (connection != nullptr && connection->negotiated().dialect == 0x0311) {
    error.contexts.push_back(ErrorContext{kErrorIdDefault, std::move(size)});
  } else {
    error.error_data = std::move(size);
  }
  Response out;
  out.status = NtStatus::BUFFER_TOO_SMALL;
  out.body = encode_body(error);
  out.has_body = true;
  req->complete(std::move(out));
}

// QUERY_INFO SMB2_0_INFO_SECURITY: the descriptor made from the file's owner, group and
// mode (vfs/security.hh).
void query_security(const RequestPtr& req, const QueryInfoRequest& request) {
  const Open& open = *req->open;
  const std::uint32_t info = request.additional_information & kSecurityInformationKnown;
  // MS-FSA 2.1.5.14: the owner, group, DACL, label and attributes need READ_CONTROL;
  // the SACL needs ACCESS_SYSTEM_SECURITY.
  if ((info & kSystemSecurityParts) != 0 ||
      ((info & ~kSystemSecurityParts) != 0 && (open.granted_access & kReadControl) == 0)) {
    req->reply(NtStatus::ACCESS_DENIED);
    return;
  }
  auto fd = open.fd;
  auto file = std::make_shared<vfs::PosixSecurity>();
  auto status = std::make_shared<NtStatus>(NtStatus::SUCCESS);
  const std::uint32_t limit = request.output_buffer_length;
  run_blocking(
      req->worker.loop(),
      [fd, file, status]() { *status = vfs::query_posix_security(fd->get(), *file); },
      [req, file, status, info, limit]() {
        if (!req->refresh()) return;
        if (*status != NtStatus::SUCCESS) {
          req->reply(*status);
          return;
        }
        Bytes sd = dtyp::encode(vfs::security_descriptor_from_posix(*file, info));
        // A partial descriptor is never returned (MS-SMB2 3.3.5.20.3).
        if (sd.size() > limit) {
          reply_buffer_too_small(req, static_cast<std::uint32_t>(sd.size()));
          return;
        }
        QueryInfoResponse response;
        response.output = std::move(sd);
        req->reply(encode_body(response));
      });
}

// SET_INFO SMB2_0_INFO_SECURITY: what maps onto the owner, group and mode is applied;
// the rest is refused (vfs/security.hh).
void set_security(const RequestPtr& req, const SetInfoRequest& request) {
  const Open& open = *req->open;
  const std::uint32_t info = request.additional_information & kSecurityInformationKnown;
  // MS-SMB2 3.3.5.21.3: the rights each part needs.
  if ((info & kSystemSecurityParts) != 0 ||
      ((info & (kDaclSecurityInformation | kAttributeSecurityInformation)) != 0 &&
       (open.granted_access & kWriteDac) == 0) ||
      ((info &
        (kOwnerSecurityInformation | kGroupSecurityInformation | kLabelSecurityInformation)) != 0 &&
       (open.granted_access & kWriteOwner) == 0) ||
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
  auto fd = open.fd;
  auto status = std::make_shared<NtStatus>(NtStatus::SUCCESS);
  run_blocking(
      req->worker.loop(),
      [fd, sd = std::move(sd), info, status]() {
        *status = vfs::set_security_descriptor(fd->get(), sd, info);
      },
      [req, status]() {
        if (*status != NtStatus::SUCCESS) {
          req->reply(*status);
          return;
        }
        req->reply(encode_body(SetInfoResponse{}));
      });
}

}  // namespace

void handle_query_info(const RequestPtr& req) {
  QueryInfoRequest request;
  if (decode(req->pdu, request) != NtStatus::SUCCESS) {
    req->reply(NtStatus::INVALID_PARAMETER);
    return;
  }
  Open& open = *req->open;
  if (request.output_buffer_length > req->connection()->max_transact_size()) {
    req->reply(NtStatus::INVALID_PARAMETER);
    return;
  }
  if (open.pipe) {
    req->reply(NtStatus::NOT_SUPPORTED);
    return;
  }
  std::uint32_t limit = request.output_buffer_length;
  switch (request.info_type) {
    case kInfoFile: {
      auto cls = static_cast<FileInfoClass>(request.file_info_class);
      if (cls != FileInfoClass::FileAccessInformation &&
          cls != FileInfoClass::FilePositionInformation &&
          cls != FileInfoClass::FileModeInformation &&
          cls != FileInfoClass::FileAlignmentInformation &&
          (open.granted_access & kReadAttributes) == 0) {
        req->reply(NtStatus::ACCESS_DENIED);
        return;
      }
      auto fd = open.fd;
      std::string name = last_component(open.path);
      auto info = std::make_shared<vfs::FileInfo>();
      auto status = std::make_shared<NtStatus>(NtStatus::SUCCESS);
      run_blocking(
          req->worker.loop(), [fd, name, info, status]() { *status = vfs::query_info(fd->get(), name, *info); },
          [req, cls, info, status, limit]() {
            if (!req->refresh()) return;
            if (*status != NtStatus::SUCCESS) {
              req->reply(*status);
              return;
            }
            bool pending = req->open->delete_pending || req->open->delete_on_close;
            reply_encoded(req, query_file_class(cls, *req->open, *info, pending), limit);
          });
      return;
    }
    case kInfoFilesystem: {
      auto cls = static_cast<FsInfoClass>(request.file_info_class);
      auto fs = open.fs;
      std::string label = req->tree->share_name;
      auto volume = std::make_shared<vfs::VolumeInfo>();
      auto status = std::make_shared<NtStatus>(NtStatus::SUCCESS);
      run_blocking(
          req->worker.loop(), [fs, volume, status]() { *status = fs->volume_info(*volume); },
          [req, cls, volume, status, label, limit]() {
            if (*status != NtStatus::SUCCESS) {
              req->reply(*status);
              return;
            }
            reply_encoded(req, query_fs_class(cls, *volume, label), limit);
          });
      return;
    }
    case kInfoSecurity:
      query_security(req, request);
      return;
    case kInfoQuota:
      req->reply(NtStatus::NOT_SUPPORTED);
      return;
    default:
      req->reply(NtStatus::INVALID_PARAMETER);
      return;
  }
}

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
  if (request.info_type == kInfoSecurity) {
    set_security(req, request);
    return;
  }
  if (request.info_type != kInfoFile) {
    req->reply(request.info_type == kInfoFilesystem || request.info_type == kInfoQuota
                   ? NtStatus::NOT_SUPPORTED
                   : NtStatus::INVALID_PARAMETER);
    return;
  }
  ByteSpan buffer = request.buffer;
  auto cls = static_cast<FileInfoClass>(request.file_info_class);
  auto fd = open.fd;
  auto status = std::make_shared<NtStatus>(NtStatus::SUCCESS);
  auto keep = req->message;
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
      if ((open.granted_access & kWriteAttributes) == 0) {
        req->reply(NtStatus::ACCESS_DENIED);
        return;
      }
      std::string name = last_component(open.path);
      run_blocking(req->worker.loop(), [fd, name, basic, status]() {
        *status = vfs::set_basic_info(fd->get(), name, basic);
      }, done_ok);
      return;
    }
    case FileInfoClass::FileEndOfFileInformation:
    case FileInfoClass::FileAllocationInformation: {
      if ((open.granted_access & kWriteData) == 0) {
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
      if ((open.granted_access & kDelete) == 0) {
        req->reply(NtStatus::ACCESS_DENIED);
        return;
      }
      if (!delete_file) {
        open.delete_on_close = false;
        for (Open* other : req->client().opens_of(open.key)) other->delete_pending = false;
        req->reply(encode_body(SetInfoResponse{}));
        return;
      }
      run_blocking(req->worker.loop(), [fd, status]() { *status = vfs::check_delete(fd->get()); },
                   [req, status]() {
                     if (!req->refresh()) return;
                     if (*status != NtStatus::SUCCESS) {
                       req->reply(*status);
                       return;
                     }
                     // MS-FSA 2.1.5.14.3: the file is delete-pending for every open of it.
                     req->open->delete_on_close = true;
                     for (Open* other : req->client().opens_of(req->open->key))
                       other->delete_pending = true;
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
      if ((open.granted_access & kDelete) == 0) {
        req->reply(NtStatus::ACCESS_DENIED);
        return;
      }
      if (v.root_directory != 0) {
        req->reply(NtStatus::INVALID_PARAMETER);
        return;
      }
      std::string target = v.file_name;
      while (!target.empty() && target.front() == '\\') target.erase(target.begin());
      auto fs = open.fs;
      std::string from = open.path;
      bool replace = v.replace_if_exists;
      run_blocking(req->worker.loop(), [fs, from, target, replace, fd, status]() {
        *status = fs->rename(from, target, replace, fd->get());
      }, [req, status, target]() {
        if (!req->refresh()) return;
        if (*status != NtStatus::SUCCESS) {
          req->reply(*status);
          return;
        }
        req->open->path = target;
        req->reply(encode_body(SetInfoResponse{}));
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
    case FileInfoClass::FileFullEaInformation:
      req->reply(NtStatus::EAS_NOT_SUPPORTED);
      return;
    case FileInfoClass::FileLinkInformation:
      req->reply(NtStatus::NOT_SUPPORTED);
      return;
    default:
      req->reply(NtStatus::INVALID_INFO_CLASS);
      return;
  }
}

}  // namespace smb::server
