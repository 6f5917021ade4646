#include "smbd/worker/info_classes.hh"

#include <utility>

namespace smb::server {

fscc::FileBasicInformation to_basic(const vfs::FileInfo& info) {
  return {info.creation_time, info.last_access_time, info.last_write_time, info.change_time,
          info.file_attributes};
}

fscc::FileStandardInformation to_standard(const vfs::FileInfo& info, bool delete_pending) {
  return {info.allocation_size, info.end_of_file, info.number_of_links, delete_pending,
          info.is_directory};
}

fscc::FileNetworkOpenInformation to_network_open(const vfs::FileInfo& info) {
  return {info.creation_time,   info.last_access_time, info.last_write_time, info.change_time,
          info.allocation_size, info.end_of_file,      info.file_attributes};
}

fscc::DirectoryEntry to_directory_entry(std::string_view name, const vfs::FileInfo& info) {
  fscc::DirectoryEntry e;
  e.creation_time = info.creation_time;
  e.last_access_time = info.last_access_time;
  e.last_write_time = info.last_write_time;
  e.change_time = info.change_time;
  e.end_of_file = info.end_of_file;
  e.allocation_size = info.allocation_size;
  e.file_attributes = info.file_attributes;
  // [MS-FSCC] 2.4.17: with FILE_ATTRIBUTE_REPARSE_POINT, EaSize is the reparse tag.
  if (info.reparse_tag != 0) e.ea_size = e.reparse_point_tag = info.reparse_tag;
  e.file_id = info.file_id;
  e.file_name = std::string(name);
  return e;
}

vfs::BasicInfoChange to_basic_change(const fscc::FileBasicInformation& basic,
                                     bool store_dos_attributes) {
  vfs::BasicInfoChange change;
  change.creation_time = basic.creation_time;
  change.last_access_time = basic.last_access_time;
  change.last_write_time = basic.last_write_time;
  change.change_time = basic.change_time;
  change.file_attributes = basic.file_attributes;
  change.store_dos_attributes = store_dos_attributes;
  return change;
}

NtStatus decode_ea_list(ByteSpan in, std::vector<vfs::ExtendedAttribute>& out) {
  out.clear();
  std::vector<fscc::FileFullEaEntry> entries;
  if (fscc::decode(in, entries) != NtStatus::SUCCESS) return NtStatus::INVALID_PARAMETER;
  for (fscc::FileFullEaEntry& e : entries) {
    if (!vfs::valid_ea_name(e.ea_name)) return NtStatus::INVALID_EA_NAME;
    out.push_back({std::move(e.ea_name), std::move(e.ea_value), e.flags});
  }
  return NtStatus::SUCCESS;
}

fscc::FileFullEaEntry to_full_ea(const vfs::ExtendedAttribute& ea) {
  return {ea.flags, ea.name, ea.value};
}

std::uint32_t ea_size(const std::vector<vfs::ExtendedAttribute>& eas) {
  std::size_t total = 0;
  for (std::size_t i = 0; i < eas.size(); ++i) {
    const std::size_t size = fscc::encoded_size(to_full_ea(eas[i]));
    total += i + 1 == eas.size() ? size : (size + 3) & ~std::size_t{3};
  }
  return static_cast<std::uint32_t>(total);
}

fscc::FileFsSizeInformation to_fs_size(const vfs::VolumeInfo& volume) {
  return {volume.total_allocation_units, volume.caller_available_allocation_units,
          volume.sectors_per_allocation_unit, volume.bytes_per_sector};
}

fscc::FileFsFullSizeInformation to_fs_full_size(const vfs::VolumeInfo& volume) {
  return {volume.total_allocation_units, volume.caller_available_allocation_units,
          volume.actual_available_allocation_units, volume.sectors_per_allocation_unit,
          volume.bytes_per_sector};
}

fscc::FileFsAttributeInformation to_fs_attribute(const vfs::VolumeInfo& volume) {
  std::uint32_t attributes = 0;
  if (volume.case_sensitive_search) attributes |= fscc::fs_attribute::FILE_CASE_SENSITIVE_SEARCH;
  if (volume.case_preserved_names) attributes |= fscc::fs_attribute::FILE_CASE_PRESERVED_NAMES;
  if (volume.unicode_on_disk) attributes |= fscc::fs_attribute::FILE_UNICODE_ON_DISK;
  // FSCTL_SET_SPARSE, SET_ZERO_DATA and QUERY_ALLOCATED_RANGES are served (fsctl_ranges.cc).
  attributes |= fscc::fs_attribute::FILE_SUPPORTS_SPARSE_FILES;
  // FSCTL_DUPLICATE_EXTENTS_TO_FILE shares blocks where the file system clones (reflinks).
  if (volume.block_refcounting) attributes |= fscc::fs_attribute::FILE_SUPPORTS_BLOCK_REFCOUNTING;
  return {attributes, static_cast<std::int32_t>(volume.maximum_component_name_length), "NTFS"};
}

fscc::FileFsVolumeInformation to_fs_volume(const vfs::VolumeInfo& volume, std::string label) {
  return {volume.creation_time, volume.serial_number, false, std::move(label)};
}

std::string last_component(const std::string& path) {
  const std::size_t slash = path.find_last_of('\\');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

}  // namespace smb::server
