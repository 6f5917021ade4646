// SMB2 TREE_CONNECT request (MS-SMB2 2.2.9, with the 3.1.1 extension of 2.2.9.1) and
// response (2.2.10). Ownership: the path and context data are copied into the structs.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "smbd/base/bytes.hh"
#include "smbd/proto/header.hh"
#include "smbd/base/ntstatus.hh"

namespace smb {

// MS-SMB2 2.2.9: Flags (3.1.1; Reserved before).
inline constexpr std::uint16_t kTreeConnectFlagClusterReconnect = 0x0001;
inline constexpr std::uint16_t kTreeConnectFlagRedirectToOwner = 0x0002;
inline constexpr std::uint16_t kTreeConnectFlagExtensionPresent = 0x0004;

// MS-SMB2 2.2.10: ShareType.
inline constexpr std::uint8_t kShareTypeDisk = 0x01;
inline constexpr std::uint8_t kShareTypePipe = 0x02;
inline constexpr std::uint8_t kShareTypePrint = 0x03;
// MS-SMB2 2.2.10: ShareFlags.
inline constexpr std::uint32_t kShareFlagManualCaching = 0x00000000;
inline constexpr std::uint32_t kShareFlagAutoCaching = 0x00000010;
inline constexpr std::uint32_t kShareFlagVdoCaching = 0x00000020;
inline constexpr std::uint32_t kShareFlagNoCaching = 0x00000030;
inline constexpr std::uint32_t kShareFlagDfs = 0x00000001;
inline constexpr std::uint32_t kShareFlagDfsRoot = 0x00000002;
inline constexpr std::uint32_t kShareFlagRestrictExclusiveOpens = 0x00000100;
inline constexpr std::uint32_t kShareFlagForceSharedDelete = 0x00000200;
inline constexpr std::uint32_t kShareFlagAllowNamespaceCaching = 0x00000400;
inline constexpr std::uint32_t kShareFlagAccessBasedDirectoryEnum = 0x00000800;
inline constexpr std::uint32_t kShareFlagForceLevelIIOplock = 0x00001000;
inline constexpr std::uint32_t kShareFlagEnableHashV1 = 0x00002000;
inline constexpr std::uint32_t kShareFlagEnableHashV2 = 0x00004000;
inline constexpr std::uint32_t kShareFlagEncryptData = 0x00008000;
inline constexpr std::uint32_t kShareFlagIdentityRemoting = 0x00040000;
inline constexpr std::uint32_t kShareFlagCompressData = 0x00100000;
inline constexpr std::uint32_t kShareFlagIsolatedTransport = 0x00200000;
// MS-SMB2 2.2.10: Capabilities.
inline constexpr std::uint32_t kShareCapDfs = 0x00000008;
inline constexpr std::uint32_t kShareCapContinuousAvailability = 0x00000010;
inline constexpr std::uint32_t kShareCapScaleout = 0x00000020;
inline constexpr std::uint32_t kShareCapCluster = 0x00000040;
inline constexpr std::uint32_t kShareCapAsymmetric = 0x00000080;
inline constexpr std::uint32_t kShareCapRedirectToOwner = 0x00000100;

// MS-SMB2 2.2.9.2: SMB2_TREE_CONNECT_CONTEXT.
struct TreeConnectContext {
  std::uint16_t type = 0;  // 1: SMB2_REMOTED_IDENTITY_TREE_CONNECT_CONTEXT_ID
  Bytes data;
  bool operator==(const TreeConnectContext&) const = default;
};

// `path` ("\\server\share", UTF-8) is found through PathOffset/PathLength whether or not
// the extension is present. With kTreeConnectFlagExtensionPresent in `flags`, the
// extension (2.2.9.1) is read and written; its TreeConnectContextOffset is taken
// relative to the start of the TREE_CONNECT request structure (after the header).
struct TreeConnectRequest {
  std::uint16_t flags = 0;
  std::string path;
  std::vector<TreeConnectContext> contexts;
  bool operator==(const TreeConnectRequest&) const = default;
};

struct TreeConnectResponse {
  std::uint8_t share_type = kShareTypeDisk;
  std::uint32_t share_flags = 0;
  std::uint32_t capabilities = 0;
  std::uint32_t maximal_access = 0;
  bool operator==(const TreeConnectResponse&) const = default;
};

NtStatus decode(ByteSpan pdu, TreeConnectRequest& out);
NtStatus decode(ByteSpan pdu, TreeConnectResponse& out);
void encode(const TreeConnectRequest& request, ByteWriter& w);
void encode(const TreeConnectResponse& response, ByteWriter& w);

}  // namespace smb
