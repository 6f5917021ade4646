// QUERY_INFO (MS-SMB2 3.3.5.20): file, file-system and security information of an open.
#include <algorithm>
#include <cctype>
#include <optional>

#include "smbd/base/security_descriptor.hh"
#include "smbd/base/wire.hh"
#include "smbd/proto/fscc.hh"
#include "smbd/proto/query_info.hh"
#include "smbd/vfs/eas.hh"
#include "smbd/vfs/file.hh"
#include "smbd/vfs/nt_acl.hh"
#include "smbd/vfs/security.hh"
#include "smbd/vfs/short_name.hh"
#include "smbd/vfs/streams.hh"
#include "smbd/worker/blocking.hh"
#include "smbd/worker/dispatch.hh"
#include "smbd/worker/info_classes.hh"
#include "smbd/worker/worker.hh"

namespace smb::server {

namespace {

using fscc::FileInfoClass;
using fscc::FsInfoClass;

// What one query produced: the encoded structure, and the size of its fixed part (a
// buffer shorter than that is INFO_LENGTH_MISMATCH; a longer but still short one gets
// BUFFER_OVERFLOW with what fits, MS-SMB2 3.3.5.20.1).
struct Encoded {
  NtStatus status = NtStatus::SUCCESS;
  Bytes data;
  std::size_t fixed = 0;
};

// The name of an open: a named stream's is "path:stream", as Windows answers.
std::string name_with_stream(const Open& open) {
  return open.stream.empty() ? open.path : open.path + ":" + open.stream;
}

Encoded query_file_class(FileInfoClass cls, const Open& open, const vfs::FileInfo& info,
                         bool delete_pending, std::uint32_t ea_size,
                         const std::vector<vfs::StreamEntry>& named_streams) {
  Encoded e;
  ByteWriter w(e.data);
  switch (cls) {
    case FileInfoClass::FileBasicInformation:
      fscc::encode(to_basic(info), w);
      break;
    case FileInfoClass::FileStandardInformation:
      fscc::encode(to_standard(info, delete_pending), w);
      break;
    case FileInfoClass::FileInternalInformation:
      fscc::encode(fscc::FileInternalInformation{info.file_id}, w);
      break;
    case FileInfoClass::FileEaInformation:
      fscc::encode(fscc::FileEaInformation{ea_size}, w);
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
      all.basic = to_basic(info);
      all.standard = to_standard(info, delete_pending);
      all.ea.ea_size = ea_size;
      all.internal.index_number = info.file_id;
      all.access.access_flags = open.granted_access;
      all.position.current_byte_offset = open.position;
      all.mode.mode = open.mode;
      all.name.file_name = "\\" + name_with_stream(open);
      fscc::encode(all, w);
      e.fixed = 104;
      break;
    }
    case FileInfoClass::FileNetworkOpenInformation:
      fscc::encode(to_network_open(info), w);
      break;
    case FileInfoClass::FileAttributeTagInformation:
      fscc::encode(fscc::FileAttributeTagInformation{info.file_attributes, info.reparse_tag}, w);
      break;
    case FileInfoClass::FileStreamInformation: {
      // [MS-FSCC] 2.4.44: the unnamed data stream of a file, then its named streams
      // (`named_streams` holds both when the share has streams; "" is the unnamed one).
      std::vector<fscc::FileStreamEntry> streams;
      if (!info.is_directory && named_streams.empty())
        streams.push_back({"::$DATA", info.end_of_file, info.allocation_size});
      for (const vfs::StreamEntry& s : named_streams) {
        if (s.name.empty())
          streams.push_back({"::$DATA", s.size, s.allocation_size});
        else
          streams.push_back({":" + s.name + ":$DATA", s.size, s.allocation_size});
      }
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
      // [MS-FSCC] 2.4.5: the 8.3 name (vfs/short_name.hh), the name itself when it is
      // 8.3; as Samba, also for the share root (whose name is empty: "").
      fscc::encode(fscc::FileNameInformation{vfs::alternate_name(open.name())}, w);
      e.fixed = 4;
      break;
    case FileInfoClass::FileNormalizedNameInformation:
    case FileInfoClass::FileNameInformation:
      fscc::encode(fscc::FileNameInformation{name_with_stream(open)}, w);
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
      fscc::encode(to_fs_volume(volume, label), w);
      e.fixed = 24;
      break;
    case FsInfoClass::FileFsSizeInformation:
      fscc::encode(to_fs_size(volume), w);
      break;
    case FsInfoClass::FileFsFullSizeInformation:
      fscc::encode(to_fs_full_size(volume), w);
      break;
    case FsInfoClass::FileFsDeviceInformation:
      fscc::encode(
          fscc::FileFsDeviceInformation{fscc::FILE_DEVICE_DISK, fscc::FILE_DEVICE_IS_MOUNTED}, w);
      break;
    case FsInfoClass::FileFsAttributeInformation:
      fscc::encode(to_fs_attribute(volume), w);
      e.fixed = 16;
      break;
    case FsInfoClass::FileFsSectorSizeInformation: {
      fscc::FileFsSectorSizeInformation s;
      s.logical_bytes_per_sector = volume.bytes_per_sector;
      s.physical_bytes_per_sector_for_atomicity = volume.bytes_per_sector;
      s.physical_bytes_per_sector_for_performance = volume.bytes_per_sector;
      s.file_system_effective_physical_bytes_per_sector_for_atomicity = volume.bytes_per_sector;
      s.flags = fscc::SSINFO_FLAGS_ALIGNED_DEVICE | fscc::SSINFO_FLAGS_PARTITION_ALIGNED_ON_DEVICE;
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

// Query flags of FileFullEaInformation (MS-SMB2 2.2.37).
constexpr std::uint32_t SL_RESTART_SCAN = 0x01;
constexpr std::uint32_t SL_RETURN_SINGLE_ENTRY = 0x02;
constexpr std::uint32_t SL_INDEX_SPECIFIED = 0x04;

// MS-FSA 2.1.5.11 (query file information), FileFullEaInformation. With a list of names: those EAs
// in its order, an empty value for a name the file does not have. Without: the file's EAs from
// Open.NextEaEntry (from the first with SL_RESTART_SCAN, or SL_INDEX_SPECIFIED, since
// SMB2 carries no index), as many as fit (one with SL_RETURN_SINGLE_ENTRY);
// NO_EAS_ON_FILE for a file without any, NO_MORE_EAS past the last, BUFFER_TOO_SMALL
// when the first does not fit, BUFFER_OVERFLOW with those that do when not all fit.
Encoded query_full_ea(Open& open, const std::vector<vfs::ExtendedAttribute>& eas,
                      const std::optional<std::vector<std::string>>& names, std::uint32_t flags,
                      std::uint32_t limit) {
  Encoded e;
  std::vector<fscc::FileFullEaEntry> selected;
  std::size_t start = 0;
  if (names) {
    for (const std::string& name : *names) {
      fscc::FileFullEaEntry entry;
      entry.ea_name = name;
      for (const vfs::ExtendedAttribute& ea : eas) {
        if (ea.name.size() == name.size() &&
            std::equal(name.begin(), name.end(), ea.name.begin(), [](char a, char b) {
              return std::tolower(static_cast<unsigned char>(a)) ==
                     std::tolower(static_cast<unsigned char>(b));
            })) {
          entry = to_full_ea(ea);
          break;
        }
      }
      selected.push_back(std::move(entry));
    }
  } else {
    if (eas.empty()) {
      e.status = NtStatus::NO_EAS_ON_FILE;
      return e;
    }
    if ((flags & (SL_RESTART_SCAN | SL_INDEX_SPECIFIED)) != 0) open.next_ea_entry = 0;
    start = open.next_ea_entry;
    if (start >= eas.size()) {
      e.status = NtStatus::NO_MORE_EAS;
      return e;
    }
    for (std::size_t i = start; i < eas.size(); ++i) selected.push_back(to_full_ea(eas[i]));
  }
  // How many whole entries fit.
  std::size_t fit = 0;
  std::size_t used = 0;
  for (const fscc::FileFullEaEntry& entry : selected) {
    const std::size_t size = fscc::encoded_size(entry);
    if (used + size > limit) break;
    used = (used + size + 3) & ~std::size_t{3};
    ++fit;
    if ((flags & SL_RETURN_SINGLE_ENTRY) != 0) break;
  }
  if (fit == 0) {
    e.status = NtStatus::BUFFER_TOO_SMALL;
    e.fixed = fscc::encoded_size(selected.front());
    return e;
  }
  const bool all = fit == selected.size() || (flags & SL_RETURN_SINGLE_ENTRY) != 0;
  selected.resize(fit);
  ByteWriter w(e.data);
  fscc::encode(selected, w);
  if (!names) open.next_ea_entry = start + fit;
  if (!all) e.status = NtStatus::BUFFER_OVERFLOW;
  return e;
}

void reply_encoded(const RequestPtr& req, Encoded e, std::uint32_t output_buffer_length) {
  if (e.status != NtStatus::SUCCESS && e.status != NtStatus::BUFFER_OVERFLOW) {
    req->reply(e.status);
    return;
  }
  NtStatus status = e.status;
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

// MS-SMB2 3.3.5.20.3: STATUS_BUFFER_TOO_SMALL carries the size needed, as one error
// context in 3.1.1 and as 4 bytes of ErrorData before (2.2.2).
void reply_buffer_too_small(const RequestPtr& req, std::uint32_t required) {
  Bytes size(4);
  store_le32(size.data(), required);
  req->reply_error(NtStatus::BUFFER_TOO_SMALL, std::move(size));
}

// QUERY_INFO SMB2_0_INFO_SECURITY: the stored descriptor on a share that stores ACLs
// (vfs/nt_acl.hh), else the one made from the file's owner, group and mode
// (vfs/security.hh).
void query_security(const RequestPtr& req, const QueryInfoRequest& request) {
  const Open& open = *req->open;
  const std::uint32_t info = request.additional_information & kSecurityInformationKnown;
  // MS-FSA 2.1.5.14: the owner, group, DACL, label and attributes need READ_CONTROL;
  // the SACL needs ACCESS_SYSTEM_SECURITY.
  if ((info & kSystemSecurityParts) != 0 ||
      ((info & ~kSystemSecurityParts) != 0 &&
       (open.granted_access & access_mask::READ_CONTROL) == 0)) {
    req->reply(NtStatus::ACCESS_DENIED);
    return;
  }
  auto fd = open.fd;
  auto descriptor = std::make_shared<dtyp::SecurityDescriptor>();
  auto status = std::make_shared<NtStatus>(NtStatus::SUCCESS);
  const std::uint32_t limit = request.output_buffer_length;
  const bool stored_acls = req->tree->nt_token != nullptr;
  run_here_or_blocking(
      req->worker.loop(), open.fs && open.fs->in_memory(open.key.device),
      [fd, descriptor, status, info, stored_acls]() {
        if (stored_acls) {
          *status = vfs::query_descriptor(fd->get(), info, *descriptor);
          return;
        }
        vfs::PosixSecurity file;
        *status = vfs::query_posix_security(fd->get(), file);
        if (*status == NtStatus::SUCCESS)
          *descriptor = vfs::security_descriptor_from_posix(file, info);
      },
      [req, descriptor, status, limit]() {
        if (!req->refresh()) return;
        if (*status != NtStatus::SUCCESS) {
          req->reply(*status);
          return;
        }
        Bytes sd = dtyp::encode(*descriptor);
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
    case InfoType::SMB2_0_INFO_FILE: {
      auto cls = static_cast<FileInfoClass>(request.file_info_class);
      // MS-SMB2 3.3.5.20.1: FileNormalizedNameInformation only on dialect 3.1.1.
      if (cls == FileInfoClass::FileNormalizedNameInformation &&
          req->session->dialect < to_u16(Dialect::SMB3_1_1)) {
        req->reply(NtStatus::NOT_SUPPORTED);
        return;
      }
      const bool full_ea = cls == FileInfoClass::FileFullEaInformation;
      if (full_ea) {
        // MS-SMB2 3.3.5.20.1: reading EAs needs FILE_READ_EA.
        if (!req->tree->ea_support) {
          req->reply(NtStatus::EAS_NOT_SUPPORTED);
          return;
        }
        if ((open.granted_access & access_mask::FILE_READ_EA) == 0) {
          req->reply(NtStatus::ACCESS_DENIED);
          return;
        }
      } else if (cls != FileInfoClass::FileAccessInformation &&
                 cls != FileInfoClass::FilePositionInformation &&
                 cls != FileInfoClass::FileModeInformation &&
                 cls != FileInfoClass::FileAlignmentInformation &&
                 (open.granted_access & access_mask::FILE_READ_ATTRIBUTES) == 0) {
        req->reply(NtStatus::ACCESS_DENIED);
        return;
      }
      std::optional<std::vector<std::string>> names;
      if (full_ea && !request.input.empty()) {
        names.emplace();
        if (fscc::decode_get_ea_list(request.input, *names) != NtStatus::SUCCESS) {
          req->reply(NtStatus::INVALID_PARAMETER);
          return;
        }
      }
      const bool want_eas =
          req->tree->ea_support && (full_ea || cls == FileInfoClass::FileEaInformation ||
                                    cls == FileInfoClass::FileAllInformation);
      auto fd = open.fd;
      std::string name = last_component(open.path);
      auto info = std::make_shared<vfs::FileInfo>();
      auto eas = std::make_shared<std::vector<vfs::ExtendedAttribute>>();
      auto streams = std::make_shared<std::vector<vfs::StreamEntry>>();
      const bool want_streams = req->tree->streams && cls == FileInfoClass::FileStreamInformation;
      auto status = std::make_shared<NtStatus>(NtStatus::SUCCESS);
      run_here_or_blocking(
          req->worker.loop(), open.fs && open.fs->in_memory(open.key.device),
          [fd, name, stream = open.stream, info, eas, streams, want_eas, want_streams, status]() {
            *status = vfs::query_stream_info(fd->get(), name, stream, *info);
            if (*status == NtStatus::SUCCESS && want_eas) *status = vfs::list_eas(fd->get(), *eas);
            if (*status == NtStatus::SUCCESS && want_streams)
              *status = vfs::list_all_streams(fd->get(), name, *streams);
          },
          [req, cls, info, eas, streams, status, limit, names = std::move(names),
           flags = request.flags]() {
            if (!req->refresh()) return;
            if (*status != NtStatus::SUCCESS) {
              req->reply(*status);
              return;
            }
            if (cls == FileInfoClass::FileFullEaInformation) {
              Encoded e = query_full_ea(*req->open, *eas, names, flags, limit);
              if (e.status == NtStatus::BUFFER_TOO_SMALL) {
                reply_buffer_too_small(req, static_cast<std::uint32_t>(e.fixed));
                return;
              }
              e.fixed = 0;
              reply_encoded(req, std::move(e), limit);
              return;
            }
            // Delete-pending is the file's: another worker's open may have set it.
            auto record = req->client().files().lookup(req->open->key);
            bool pending = req->open->delete_pending || req->open->delete_on_close ||
                           (record && record->delete_pending);
            reply_encoded(
                req, query_file_class(cls, *req->open, *info, pending, ea_size(*eas), *streams),
                limit);
          });
      return;
    }
    case InfoType::SMB2_0_INFO_FILESYSTEM: {
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
    case InfoType::SMB2_0_INFO_SECURITY:
      query_security(req, request);
      return;
    case InfoType::SMB2_0_INFO_QUOTA:
      req->reply(NtStatus::NOT_SUPPORTED);
      return;
    default:
      req->reply(NtStatus::INVALID_PARAMETER);
      return;
  }
}

}  // namespace smb::server
