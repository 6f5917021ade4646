// srvsvc, the Server Service Remote Protocol ([MS-SRVS]): the share list clients show
// (smbclient -L, the Windows network browser) and the server's identity.
//
// Implemented: NetrShareEnum (opnum 15) levels 0, 1, 2, 501, 502; NetrShareGetInfo
// (opnum 16) levels 0, 1, 2, 501, 502, 1005; NetrServerGetInfo (opnum 21) levels 100,
// 101, 102. Every other opnum faults with nca_s_op_rng_error.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "smbd/rpc/interface.hh"

namespace smb::rpc {

// Share types ([MS-SRVS] 2.2.2.4).
inline constexpr std::uint32_t kStypeDisktree = 0x00000000;
inline constexpr std::uint32_t kStypePrintq = 0x00000001;
inline constexpr std::uint32_t kStypeIpc = 0x00000003;
inline constexpr std::uint32_t kStypeTemporary = 0x40000000;
inline constexpr std::uint32_t kStypeSpecial = 0x80000000;  // IPC$, admin shares

// Win32 error codes (WERROR) returned by srvsvc operations ([MS-ERREF] 2.2).
inline constexpr std::uint32_t kWerrOk = 0;
inline constexpr std::uint32_t kWerrAccessDenied = 5;
inline constexpr std::uint32_t kWerrInvalidLevel = 124;
inline constexpr std::uint32_t kWerrMoreData = 234;
inline constexpr std::uint32_t kWerrNetNameNotFound = 2310;

// SHI_USES_UNLIMITED: no limit on connections ([MS-SRVS] 2.2.4.24, shi2_max_uses).
inline constexpr std::uint32_t kShiUsesUnlimited = 0xffffffff;

struct ShareEntry {
  std::string name;  // UTF-8, e.g. "public" or "IPC$"
  std::uint32_t type = kStypeDisktree;
  std::string comment;      // shi1_remark
  std::string path;         // shi2_path, reported as given (Windows form, e.g. "C:\\srv")
  std::uint32_t flags = 0;  // shi501/shi1005 flags: CSC caching mode and more (2.2.4.29)
  std::uint32_t max_uses = kShiUsesUnlimited;
  std::uint32_t current_uses = 0;
};

struct ServerInfo {
  std::string netbios_name;   // sv10x_name
  std::string server_string;  // sv101_comment
  std::string workgroup;
  std::uint32_t platform_id = 500;  // PLATFORM_ID_NT ([MS-SRVS] 2.2.4.41, sv101_platform_id)
  std::uint32_t version_major = 10;
  std::uint32_t version_minor = 0;
  // SV_TYPE_WORKSTATION | SV_TYPE_SERVER | SV_TYPE_NT | SV_TYPE_SERVER_NT (2.2.2.7).
  std::uint32_t server_type = 0x00009003;
  std::string user_path = "C:\\";  // sv102_userpath
  // The caller administers the server: only then do share-info levels 2 and 502 (which
  // carry the share's path) answer; anyone else gets ERROR_ACCESS_DENIED, as Windows
  // answers callers outside its administrative groups ([MS-SRVS] 3.1.4.8, 3.1.4.10).
  bool caller_is_admin = false;
};

// Called on every enumeration and lookup so the answer reflects the current
// configuration; it returns every share the client may see, IPC$ included.
using ShareLister = std::function<std::vector<ShareEntry>()>;

// 4b324fc8-1670-01d3-1278-5a47bf6ee188 version 3.0 ([MS-SRVS] 1.9).
const SyntaxId& srvsvc_syntax();

class Srvsvc final : public Interface {
 public:
  Srvsvc(ServerInfo server, ShareLister list_shares);

  const SyntaxId& syntax() const override { return srvsvc_syntax(); }
  std::uint32_t call(std::uint16_t opnum, ByteSpan stub, Bytes& out) override;

  static constexpr std::uint16_t kOpNetrShareEnum = 15;
  static constexpr std::uint16_t kOpNetrShareGetInfo = 16;
  static constexpr std::uint16_t kOpNetrServerGetInfo = 21;

 private:
  std::uint32_t share_enum(ByteSpan stub, Bytes& out);
  std::uint32_t share_get_info(ByteSpan stub, Bytes& out);
  std::uint32_t server_get_info(ByteSpan stub, Bytes& out);

  ServerInfo server_;
  ShareLister list_shares_;
};

}  // namespace smb::rpc
