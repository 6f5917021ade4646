// The [MS-FSCC] structures QUERY_INFO, SET_INFO and QUERY_DIRECTORY carry, made from (and
// into) the backend's own structs: vfs::FileInfo (vfs/file.hh), vfs::VolumeInfo
// (vfs/share.hh), vfs::BasicInfoChange. The backend knows no wire format; this is where
// its figures meet it.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "smbd/base/wire.hh"
#include "smbd/proto/fscc.hh"
#include "smbd/vfs/file.hh"
#include "smbd/vfs/share.hh"

namespace smb::server {

// [MS-FSCC] 2.4 query classes of one file.
fscc::FileBasicInformation to_basic(const vfs::FileInfo& info);
fscc::FileStandardInformation to_standard(const vfs::FileInfo& info, bool delete_pending);
fscc::FileNetworkOpenInformation to_network_open(const vfs::FileInfo& info);
// One QUERY_DIRECTORY entry (the union of the directory classes' fields).
fscc::DirectoryEntry to_directory_entry(std::string_view name, const vfs::FileInfo& info);

// SET_INFO FileBasicInformation as the change the backend makes.
vfs::BasicInfoChange to_basic_change(const fscc::FileBasicInformation& basic,
                                     bool store_dos_attributes);

// [MS-FSCC] 2.4.15 FILE_FULL_EA_INFORMATION from a CREATE's ExtA context or a SET_INFO:
// INVALID_PARAMETER for a malformed list, INVALID_EA_NAME for a name Windows refuses
// (vfs::valid_ea_name).
NtStatus decode_ea_list(ByteSpan in, std::vector<vfs::ExtendedAttribute>& out);
fscc::FileFullEaEntry to_full_ea(const vfs::ExtendedAttribute& ea);
// FileEaInformation's EaSize: the bytes of the whole FILE_FULL_EA_INFORMATION list (as
// Samba counts it); 0 without EAs.
std::uint32_t ea_size(const std::vector<vfs::ExtendedAttribute>& eas);

// [MS-FSCC] 2.5 file-system classes of a share.
fscc::FileFsSizeInformation to_fs_size(const vfs::VolumeInfo& volume);
fscc::FileFsFullSizeInformation to_fs_full_size(const vfs::VolumeInfo& volume);
// [MS-FSCC] 2.5.1: the attribute bits of the volume's facts, and "NTFS" as the file
// system's name, which is what Windows clients expect to see.
fscc::FileFsAttributeInformation to_fs_attribute(const vfs::VolumeInfo& volume);
fscc::FileFsVolumeInformation to_fs_volume(const vfs::VolumeInfo& volume, std::string label);

// [MS-SMB2] 2.2.37 / 2.2.39 AdditionalInformation of SMB2_0_INFO_SECURITY: the bits this
// server knows; others are ignored (3.3.5.20.3, 3.3.5.21.3).
inline constexpr std::uint32_t kSecurityInformationKnown =
    kOwnerSecurityInformation | kGroupSecurityInformation | kDaclSecurityInformation |
    kSaclSecurityInformation | kLabelSecurityInformation | kAttributeSecurityInformation |
    kScopeSecurityInformation | kBackupSecurityInformation;
// The parts that need ACCESS_SYSTEM_SECURITY, which no open has: CREATE refuses it
// (PRIVILEGE_NOT_HELD), so asking for them is ACCESS_DENIED.
inline constexpr std::uint32_t kSystemSecurityParts =
    kSaclSecurityInformation | kScopeSecurityInformation | kBackupSecurityInformation;

// The last component of an open's share-relative path (backslash separated): the name
// the backend's '.'-means-HIDDEN default looks at.
std::string last_component(const std::string& path);

}  // namespace smb::server
