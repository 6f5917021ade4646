#include "smbd/proto/fscc.hh"

namespace smb::fscc {

namespace {

void put_times(ByteWriter& w, std::uint64_t creation, std::uint64_t access, std::uint64_t write,
               std::uint64_t change) {
  w.u64(creation);
  w.u64(access);
  w.u64(write);
  w.u64(change);
}

// FileNameLength (4 bytes, in bytes) followed by the UTF-16LE name.
void put_counted_name(ByteWriter& w, const std::string& name) {
  const std::size_t at = w.size();
  w.u32(0);
  utf8_to_utf16le(name, w.buffer());
  w.patch_u32(at, static_cast<std::uint32_t>(w.size() - at - 4));
}

}  // namespace

// ---- Query classes ----

void encode(const FileBasicInformation& v, ByteWriter& w) {
  put_times(w, v.creation_time, v.last_access_time, v.last_write_time, v.change_time);
  w.u32(v.file_attributes);
  w.u32(0);  // Reserved
}

void encode(const FileStandardInformation& v, ByteWriter& w) {
  w.u64(v.allocation_size);
  w.u64(v.end_of_file);
  w.u32(v.number_of_links);
  w.u8(v.delete_pending ? 1 : 0);
  w.u8(v.directory ? 1 : 0);
  w.u16(0);  // Reserved
}

void encode(const FileInternalInformation& v, ByteWriter& w) { w.u64(v.index_number); }
void encode(const FileEaInformation& v, ByteWriter& w) { w.u32(v.ea_size); }
void encode(const FileAccessInformation& v, ByteWriter& w) { w.u32(v.access_flags); }
void encode(const FilePositionInformation& v, ByteWriter& w) { w.u64(v.current_byte_offset); }
void encode(const FileModeInformation& v, ByteWriter& w) { w.u32(v.mode); }
void encode(const FileAlignmentInformation& v, ByteWriter& w) { w.u32(v.alignment_requirement); }
void encode(const FileNameInformation& v, ByteWriter& w) { put_counted_name(w, v.file_name); }

void encode(const FileAllInformation& v, ByteWriter& w) {
  encode(v.basic, w);
  encode(v.standard, w);
  encode(v.internal, w);
  encode(v.ea, w);
  encode(v.access, w);
  encode(v.position, w);
  encode(v.mode, w);
  encode(v.alignment, w);
  encode(v.name, w);
}

void encode(const FileNetworkOpenInformation& v, ByteWriter& w) {
  put_times(w, v.creation_time, v.last_access_time, v.last_write_time, v.change_time);
  w.u64(v.allocation_size);
  w.u64(v.end_of_file);
  w.u32(v.file_attributes);
  w.u32(0);  // Reserved
}

void encode(const FileAttributeTagInformation& v, ByteWriter& w) {
  w.u32(v.file_attributes);
  w.u32(v.reparse_tag);
}

void encode(std::span<const FileStreamEntry> streams, ByteWriter& w) {
  const std::size_t base = w.size();
  std::size_t previous = 0;
  bool first = true;
  for (const FileStreamEntry& s : streams) {
    if (!first) {
      w.align(8, base);
      w.patch_u32(previous, static_cast<std::uint32_t>(w.size() - previous));
    }
    first = false;
    previous = w.size();
    w.u32(0);  // NextEntryOffset, patched when another entry follows
    const std::size_t length_at = w.size();
    w.u32(0);  // StreamNameLength
    w.u64(s.stream_size);
    w.u64(s.stream_allocation_size);
    utf8_to_utf16le(s.stream_name, w.buffer());
    w.patch_u32(length_at, static_cast<std::uint32_t>(w.size() - length_at - 20));
  }
}

// ---- Set classes ----

namespace {

NtStatus fixed_size(ByteSpan in, std::size_t size) {
  return in.size() < size ? NtStatus::INFO_LENGTH_MISMATCH : NtStatus::SUCCESS;
}

}  // namespace

NtStatus decode(ByteSpan in, FileBasicInformation& out) {
  // 2.4.7 is 40 bytes; the trailing 4-byte Reserved field is not required, as some
  // clients send the 36-byte packed form.
  if (NtStatus st = fixed_size(in, 36); st != NtStatus::SUCCESS) return st;
  ByteReader r(in);
  out.creation_time = r.u64();
  out.last_access_time = r.u64();
  out.last_write_time = r.u64();
  out.change_time = r.u64();
  out.file_attributes = r.u32();
  return NtStatus::SUCCESS;
}

NtStatus decode(ByteSpan in, FileRenameInformation& out) {
  // 2.4.37.2: ReplaceIfExists(1) Reserved(7) RootDirectory(8) FileNameLength(4) FileName.
  if (NtStatus st = fixed_size(in, 20); st != NtStatus::SUCCESS) return st;
  ByteReader r(in);
  out.replace_if_exists = r.u8() != 0;
  r.skip(7);
  out.root_directory = r.u64();
  const std::uint32_t name_length = r.u32();
  if (name_length > r.remaining()) return NtStatus::INFO_LENGTH_MISMATCH;
  if (name_length % 2 != 0) return NtStatus::INVALID_PARAMETER;
  if (!utf16le_to_utf8(r.bytes(name_length), out.file_name)) return NtStatus::INVALID_PARAMETER;
  return NtStatus::SUCCESS;
}

void encode(const FileRenameInformation& v, ByteWriter& w) {
  const std::size_t start = w.size();
  const Bytes name = utf16le(v.file_name);
  w.u8(v.replace_if_exists ? 1 : 0);
  w.zeros(7);  // Reserved
  w.u64(v.root_directory);  // 0 for network operations
  w.u32(static_cast<std::uint32_t>(name.size()));
  w.bytes(name);
  // 2.4.37.2: the structure is at least 24 bytes, FileName included.
  if (w.size() - start < 24) w.zeros(24 - (w.size() - start));
}

void encode(const FileDispositionInformation& v, ByteWriter& w) {
  w.u8(v.delete_pending ? 1 : 0);
}

NtStatus decode(ByteSpan in, FileDispositionInformation& out) {
  if (NtStatus st = fixed_size(in, 1); st != NtStatus::SUCCESS) return st;
  out.delete_pending = in[0] != 0;
  return NtStatus::SUCCESS;
}

NtStatus decode(ByteSpan in, FileDispositionInformationEx& out) {
  if (NtStatus st = fixed_size(in, 4); st != NtStatus::SUCCESS) return st;
  out.flags = load_le32(in.data());
  return NtStatus::SUCCESS;
}

NtStatus decode(ByteSpan in, FileEndOfFileInformation& out) {
  if (NtStatus st = fixed_size(in, 8); st != NtStatus::SUCCESS) return st;
  out.end_of_file = load_le64(in.data());
  return NtStatus::SUCCESS;
}

NtStatus decode(ByteSpan in, FileAllocationInformation& out) {
  if (NtStatus st = fixed_size(in, 8); st != NtStatus::SUCCESS) return st;
  out.allocation_size = load_le64(in.data());
  return NtStatus::SUCCESS;
}

NtStatus decode(ByteSpan in, FilePositionInformation& out) {
  if (NtStatus st = fixed_size(in, 8); st != NtStatus::SUCCESS) return st;
  out.current_byte_offset = load_le64(in.data());
  return NtStatus::SUCCESS;
}

NtStatus decode(ByteSpan in, FileModeInformation& out) {
  if (NtStatus st = fixed_size(in, 4); st != NtStatus::SUCCESS) return st;
  out.mode = load_le32(in.data());
  // [MS-FSA] 2.1.5.14.8: only the documented mode bits may be set, and the two
  // synchronous-I/O bits are exclusive.
  if ((out.mode & ~file_mode::kValidMask) != 0) return NtStatus::INVALID_PARAMETER;
  constexpr std::uint32_t sync_both =
      file_mode::FILE_SYNCHRONOUS_IO_ALERT | file_mode::FILE_SYNCHRONOUS_IO_NONALERT;
  if ((out.mode & sync_both) == sync_both) return NtStatus::INVALID_PARAMETER;
  return NtStatus::SUCCESS;
}

NtStatus decode(ByteSpan in, std::vector<FileFullEaEntry>& out) {
  // 2.4.15: NextEntryOffset(4) Flags(1) EaNameLength(1) EaValueLength(2)
  // EaName(EaNameLength + NUL) EaValue(EaValueLength); entries 4-byte aligned.
  out.clear();
  if (NtStatus st = fixed_size(in, 8); st != NtStatus::SUCCESS) return st;
  std::uint64_t offset = 0;
  while (true) {
    if (!in_bounds(offset, 8, in.size())) return NtStatus::INVALID_PARAMETER;
    ByteReader r(in, static_cast<std::size_t>(offset));
    const std::uint32_t next = r.u32();
    FileFullEaEntry e;
    e.flags = r.u8();
    const std::uint8_t name_length = r.u8();
    const std::uint16_t value_length = r.u16();
    ByteSpan name = r.bytes(name_length);
    const std::uint8_t terminator = r.u8();
    ByteSpan value = r.bytes(value_length);
    if (!r.ok() || terminator != 0) return NtStatus::INVALID_PARAMETER;
    if (next != 0 && (next % 4 != 0 || next < r.position() - offset)) {
      return NtStatus::INVALID_PARAMETER;
    }
    e.ea_name.assign(name.begin(), name.end());
    e.ea_value.assign(value.begin(), value.end());
    out.push_back(std::move(e));
    if (next == 0) break;
    offset += next;
  }
  return NtStatus::SUCCESS;
}

std::size_t encoded_size(const FileFullEaEntry& e) {
  return 8 + e.ea_name.size() + 1 + e.ea_value.size();
}

void encode(const std::vector<FileFullEaEntry>& entries, ByteWriter& w) {
  for (std::size_t i = 0; i < entries.size(); ++i) {
    const FileFullEaEntry& e = entries[i];
    const std::size_t size = encoded_size(e);
    const std::size_t padded = (size + 3) & ~std::size_t{3};
    const bool last = i + 1 == entries.size();
    w.u32(last ? 0 : static_cast<std::uint32_t>(padded));
    w.u8(e.flags);
    w.u8(static_cast<std::uint8_t>(e.ea_name.size()));
    w.u16(static_cast<std::uint16_t>(e.ea_value.size()));
    w.bytes(ByteSpan(reinterpret_cast<const std::uint8_t*>(e.ea_name.data()), e.ea_name.size()));
    w.u8(0);
    w.bytes(e.ea_value);
    if (!last) w.zeros(padded - size);
  }
}

NtStatus decode_get_ea_list(ByteSpan in, std::vector<std::string>& names) {
  // 2.4.15.1: NextEntryOffset(4) EaNameLength(1) EaName(EaNameLength + NUL).
  names.clear();
  std::uint64_t offset = 0;
  while (true) {
    if (!in_bounds(offset, 5, in.size())) return NtStatus::INVALID_PARAMETER;
    ByteReader r(in, static_cast<std::size_t>(offset));
    const std::uint32_t next = r.u32();
    const std::uint8_t name_length = r.u8();
    ByteSpan name = r.bytes(name_length);
    const std::uint8_t terminator = r.u8();
    if (!r.ok() || terminator != 0) return NtStatus::INVALID_PARAMETER;
    if (next != 0 && next < r.position() - offset) return NtStatus::INVALID_PARAMETER;
    names.emplace_back(name.begin(), name.end());
    if (next == 0) break;
    offset += next;
  }
  return NtStatus::SUCCESS;
}

// ---- File system classes ----

void encode(const FileFsVolumeInformation& v, ByteWriter& w) {
  w.u64(v.volume_creation_time);
  w.u32(v.volume_serial_number);
  const std::size_t length_at = w.size();
  w.u32(0);  // VolumeLabelLength
  w.u8(v.supports_objects ? 1 : 0);
  w.u8(0);  // Reserved
  utf8_to_utf16le(v.volume_label, w.buffer());
  w.patch_u32(length_at, static_cast<std::uint32_t>(w.size() - length_at - 6));
}

void encode(const FileFsSizeInformation& v, ByteWriter& w) {
  w.u64(v.total_allocation_units);
  w.u64(v.available_allocation_units);
  w.u32(v.sectors_per_allocation_unit);
  w.u32(v.bytes_per_sector);
}

void encode(const FileFsFullSizeInformation& v, ByteWriter& w) {
  w.u64(v.total_allocation_units);
  w.u64(v.caller_available_allocation_units);
  w.u64(v.actual_available_allocation_units);
  w.u32(v.sectors_per_allocation_unit);
  w.u32(v.bytes_per_sector);
}

void encode(const FileFsDeviceInformation& v, ByteWriter& w) {
  w.u32(v.device_type);
  w.u32(v.characteristics);
}

void encode(const FileFsAttributeInformation& v, ByteWriter& w) {
  w.u32(v.file_system_attributes);
  w.u32(static_cast<std::uint32_t>(v.maximum_component_name_length));
  put_counted_name(w, v.file_system_name);
}

void encode(const FileFsSectorSizeInformation& v, ByteWriter& w) {
  w.u32(v.logical_bytes_per_sector);
  w.u32(v.physical_bytes_per_sector_for_atomicity);
  w.u32(v.physical_bytes_per_sector_for_performance);
  w.u32(v.file_system_effective_physical_bytes_per_sector_for_atomicity);
  w.u32(v.flags);
  w.u32(v.byte_offset_for_sector_alignment);
  w.u32(v.byte_offset_for_partition_alignment);
}

void encode(const FileFsObjectIdInformation& v, ByteWriter& w) {
  w.bytes(v.object_id);
  w.bytes(v.extended_info);
}

// ---- Directory classes ----

bool is_directory_class(FileInfoClass c) {
  switch (c) {
    case FileInfoClass::FileDirectoryInformation:
    case FileInfoClass::FileFullDirectoryInformation:
    case FileInfoClass::FileBothDirectoryInformation:
    case FileInfoClass::FileNamesInformation:
    case FileInfoClass::FileIdBothDirectoryInformation:
    case FileInfoClass::FileIdFullDirectoryInformation:
    case FileInfoClass::FileIdExtdDirectoryInformation:
      return true;
    default:
      return false;
  }
}

std::size_t directory_entry_fixed_size(FileInfoClass c) {
  switch (c) {
    case FileInfoClass::FileDirectoryInformation:  // 2.4.10
      return 64;
    case FileInfoClass::FileFullDirectoryInformation:  // 2.4.14
      return 68;
    case FileInfoClass::FileIdFullDirectoryInformation:  // 2.4.18
      return 80;
    case FileInfoClass::FileBothDirectoryInformation:  // 2.4.8
      return 94;
    case FileInfoClass::FileIdBothDirectoryInformation:  // 2.4.17
      return 104;
    case FileInfoClass::FileIdExtdDirectoryInformation:  // 2.4.19
      return 88;
    case FileInfoClass::FileNamesInformation:  // 2.4.28
      return 12;
    default:
      return 0;
  }
}

DirectoryEntryWriter::DirectoryEntryWriter(ByteWriter& out, FileInfoClass info_class,
                                           std::size_t max_bytes)
    : out_(out), class_(info_class), max_bytes_(max_bytes), base_(out.size()) {}

bool DirectoryEntryWriter::append(const DirectoryEntry& e) {
  const std::size_t fixed = directory_entry_fixed_size(class_);
  if (fixed == 0) return false;
  const Bytes name = utf16le(e.file_name);
  std::size_t start = size();
  if (count_ > 0) start = (start + 7) & ~std::size_t{7};
  if (start > max_bytes_ || fixed + name.size() > max_bytes_ - start) return false;

  out_.zeros(start - size());
  const std::size_t entry = base_ + start;
  if (count_ > 0) out_.patch_u32(last_entry_, static_cast<std::uint32_t>(entry - last_entry_));
  last_entry_ = entry;
  ++count_;

  ByteWriter& w = out_;
  w.u32(0);  // NextEntryOffset, patched when another entry follows
  w.u32(e.file_index);
  if (class_ == FileInfoClass::FileNamesInformation) {
    w.u32(static_cast<std::uint32_t>(name.size()));
    w.bytes(name);
    return true;
  }
  put_times(w, e.creation_time, e.last_access_time, e.last_write_time, e.change_time);
  w.u64(e.end_of_file);
  w.u64(e.allocation_size);
  w.u32(e.file_attributes);
  w.u32(static_cast<std::uint32_t>(name.size()));
  switch (class_) {
    case FileInfoClass::FileDirectoryInformation:
      break;
    case FileInfoClass::FileFullDirectoryInformation:
      w.u32(e.ea_size);
      break;
    case FileInfoClass::FileIdFullDirectoryInformation:
      w.u32(e.ea_size);
      w.u32(0);  // Reserved
      w.u64(e.file_id);
      break;
    case FileInfoClass::FileBothDirectoryInformation:
    case FileInfoClass::FileIdBothDirectoryInformation: {
      w.u32(e.ea_size);
      Bytes short_name = utf16le(e.short_name);
      if (short_name.size() > 24) short_name.resize(24);  // 8.3 names are at most 12 chars
      w.u8(static_cast<std::uint8_t>(short_name.size()));
      w.u8(0);  // Reserved1
      w.bytes(short_name);
      w.zeros(24 - short_name.size());
      if (class_ == FileInfoClass::FileIdBothDirectoryInformation) {
        w.u16(0);  // Reserved2
        w.u64(e.file_id);
      }
      break;
    }
    case FileInfoClass::FileIdExtdDirectoryInformation:
      w.u32(e.ea_size);
      w.u32(e.reparse_point_tag);
      w.u64(e.file_id);  // FileId is 128 bits: the 64-bit id, zero-extended
      w.u64(0);
      break;
    default:
      break;
  }
  w.bytes(name);
  return true;
}

}  // namespace smb::fscc
