#include "smbd/rpc/srvsvc.hh"

#include <algorithm>
#include <utility>

#include "smbd/rpc/pdu.hh"

namespace smb::rpc {

namespace {

bool is_share_level(std::uint32_t level) {
  return level == 0 || level == 1 || level == 2 || level == 501 || level == 502;
}

// Levels that carry the share's local path: for administrators only.
bool is_admin_level(std::uint32_t level) { return level == 2 || level == 502; }

// NDR size of one SHARE_INFO_x structure in an array (pointers count 4 octets).
std::uint64_t fixed_size(std::uint32_t level) {
  switch (level) {
    case 0:
      return 4;
    case 1:
      return 12;
    case 2:
      return 32;
    case 501:
      return 16;
    case 502:
      return 40;
    default:
      return 0;
  }
}

std::uint64_t wstring_size(std::string_view s) {
  Bytes units;
  utf8_to_utf16le(s, units);
  return units.size() + 2;
}

// The buffer size a Windows server charges an entry against PreferedMaximumLength
// ([MS-SRVS] 3.1.4.8): the structure plus its NUL-terminated UTF-16 strings.
std::uint64_t entry_size(const ShareEntry& e, std::uint32_t level) {
  std::uint64_t n = fixed_size(level) + wstring_size(e.name);
  if (level != 0) n += wstring_size(e.comment);
  if (level == 2 || level == 502) n += wstring_size(e.path);
  return n;
}

// The fixed part of SHARE_INFO_<level> ([MS-SRVS] 2.2.4.22-2.2.4.26, 2.2.4.29); string
// pointers are written as referent ids, their strings follow in write_deferred.
void write_fixed(NdrWriter& w, const ShareEntry& e, std::uint32_t level) {
  if (level == 1005) {  // SHARE_INFO_1005: shi1005_flags only
    w.u32(e.flags);
    return;
  }
  w.unique_pointer(true);  // shi_netname
  if (level == 0) return;
  w.u32(e.type);
  w.unique_pointer(true);  // shi_remark
  if (level == 1) return;
  if (level == 501) {
    w.u32(e.flags);
    return;
  }
  // Levels 2 and 502. With user-level security share permissions are not used
  // ([MS-SRVS] 2.2.4.24: shi2_permissions), and no share password exists.
  w.u32(0);  // shi_permissions
  w.u32(e.max_uses);
  w.u32(e.current_uses);
  w.unique_pointer(true);   // shi_path
  w.unique_pointer(false);  // shi_passwd
  if (level == 502) {
    w.u32(0);                 // shi502_reserved: length of the security descriptor
    w.unique_pointer(false);  // shi502_security_descriptor: none is exposed
  }
}

// [C706] 14.3.12.3: pointees of embedded pointers follow the structure (or the whole
// array of structures), in member order.
void write_deferred(NdrWriter& w, const ShareEntry& e, std::uint32_t level) {
  if (level == 1005) return;
  w.wstring(e.name);
  if (level == 0) return;
  w.wstring(e.comment);
  if (level == 2 || level == 502) w.wstring(e.path);
}

// [in, string, unique] SRVSVC_HANDLE ServerName: any value names this server.
void skip_server_name(NdrReader& r) {
  if (r.unique_pointer() != 0) {
    std::string ignored;
    r.wstring(ignored);
  }
}

// Share names compare case-insensitively ([MS-SRVS] 3.1.1.7); folding is ASCII only.
bool same_name(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           auto lower = [](char c) { return (c >= 'A' && c <= 'Z') ? char(c - 'A' + 'a') : c; };
           return lower(x) == lower(y);
         });
}

}  // namespace

const SyntaxId& srvsvc_syntax() {
  static const SyntaxId s{*Uuid::parse("4b324fc8-1670-01d3-1278-5a47bf6ee188"), 3, 0};
  return s;
}

Srvsvc::Srvsvc(ServerInfo server, ShareLister list_shares)
    : server_(std::move(server)), list_shares_(std::move(list_shares)) {}

std::uint32_t Srvsvc::call(std::uint16_t opnum, ByteSpan stub, Bytes& out) {
  switch (opnum) {
    case kOpNetrShareEnum:
      return share_enum(stub, out);
    case kOpNetrShareGetInfo:
      return share_get_info(stub, out);
    case kOpNetrServerGetInfo:
      return server_get_info(stub, out);
    default:
      return kNcaOpRngError;
  }
}

// [MS-SRVS] 3.1.4.8 NetrShareEnum:
//   [in,string,unique] SRVSVC_HANDLE ServerName, [in,out] LPSHARE_ENUM_STRUCT InfoStruct,
//   [in] DWORD PreferedMaximumLength, [out] DWORD* TotalEntries,
//   [in,out,unique] DWORD* ResumeHandle
std::uint32_t Srvsvc::share_enum(ByteSpan stub, Bytes& out) {
  NdrReader r(stub);
  skip_server_name(r);
  // SHARE_ENUM_STRUCT (2.2.4.38): Level, then the union SHARE_ENUM_UNION whose arms
  // are all a unique pointer to a container {EntriesRead, unique Buffer}.
  std::uint32_t level = r.u32();
  std::uint32_t tag = r.u32();
  if (r.ok() && tag != level) return kRpcBadStubData;  // switch_is(Level)
  if (r.unique_pointer() != 0) {
    r.u32();  // EntriesRead: ignored on input
    if (r.unique_pointer() != 0) {
      // A client has no entries to send; only an empty array unmarshals here.
      std::uint32_t count = 0;
      if (r.array_count(fixed_size(level), count) && count != 0) return kRpcBadStubData;
    }
  }
  std::uint32_t pref_max = r.u32();
  bool has_resume = r.unique_pointer() != 0;
  std::uint32_t resume = has_resume ? r.u32() : 0;
  if (!r.ok()) return kRpcBadStubData;

  NdrWriter w(out);
  w.u32(level);
  w.u32(level);
  bool denied = is_admin_level(level) && !server_.caller_is_admin;
  if (!is_share_level(level) || denied) {
    w.unique_pointer(false);
    w.u32(0);  // TotalEntries
    if (has_resume) {
      w.unique_pointer(true);
      w.u32(resume);
    } else {
      w.unique_pointer(false);
    }
    w.u32(denied ? kWerrAccessDenied : kWerrInvalidLevel);
    return 0;
  }

  const std::vector<ShareEntry> shares = list_shares_();
  const auto total = static_cast<std::uint32_t>(shares.size());
  std::size_t first = std::min<std::size_t>(resume, shares.size());
  // 0xFFFFFFFF (MAX_PREFERRED_LENGTH) asks for everything; otherwise as many entries as
  // fit, at least one so that a client resuming always makes progress.
  std::size_t end = first;
  std::uint64_t used = 0;
  while (end < shares.size()) {
    std::uint64_t n = entry_size(shares[end], level);
    if (pref_max != 0xffffffff && end > first && used + n > pref_max) break;
    used += n;
    ++end;
  }
  const bool more = end < shares.size();

  w.unique_pointer(true);  // the container
  const auto count = static_cast<std::uint32_t>(end - first);
  w.u32(count);  // EntriesRead
  if (w.unique_pointer(count != 0) != 0) {
    w.u32(count);  // conformance of Buffer
    for (std::size_t i = first; i < end; ++i) write_fixed(w, shares[i], level);
    for (std::size_t i = first; i < end; ++i) write_deferred(w, shares[i], level);
  }
  w.u32(total);
  if (has_resume) {
    w.unique_pointer(true);
    w.u32(more ? static_cast<std::uint32_t>(end) : 0);
  } else {
    w.unique_pointer(false);
  }
  w.u32(more ? kWerrMoreData : kWerrOk);
  return 0;
}

// [MS-SRVS] 3.1.4.10 NetrShareGetInfo:
//   [in,string,unique] SRVSVC_HANDLE ServerName, [in,string] WCHAR* NetName,
//   [in] DWORD Level, [out, switch_is(Level)] LPSHARE_INFO InfoStruct
std::uint32_t Srvsvc::share_get_info(ByteSpan stub, Bytes& out) {
  NdrReader r(stub);
  skip_server_name(r);
  std::string net_name;
  r.wstring(net_name);  // top-level [ref] pointer: no referent id on the wire
  std::uint32_t level = r.u32();
  if (!r.ok()) return kRpcBadStubData;

  NdrWriter w(out);
  w.u32(level);  // SHARE_INFO union discriminant
  std::uint32_t status = kWerrOk;
  const ShareEntry* found = nullptr;
  std::vector<ShareEntry> shares;
  if (!is_share_level(level) && level != 1005) {
    status = kWerrInvalidLevel;
  } else if (is_admin_level(level) && !server_.caller_is_admin) {
    status = kWerrAccessDenied;
  } else {
    shares = list_shares_();
    auto it = std::find_if(shares.begin(), shares.end(),
                           [&](const ShareEntry& e) { return same_name(e.name, net_name); });
    if (it == shares.end()) {
      status = kWerrNetNameNotFound;
    } else {
      found = &*it;
    }
  }
  if (w.unique_pointer(found != nullptr) != 0) {
    write_fixed(w, *found, level);
    write_deferred(w, *found, level);
  }
  w.u32(status);
  return 0;
}

// [MS-SRVS] 3.1.4.17 NetrServerGetInfo:
//   [in,string,unique] SRVSVC_HANDLE ServerName, [in] DWORD Level,
//   [out, switch_is(Level)] LPSERVER_INFO InfoStruct
std::uint32_t Srvsvc::server_get_info(ByteSpan stub, Bytes& out) {
  NdrReader r(stub);
  skip_server_name(r);
  std::uint32_t level = r.u32();
  if (!r.ok()) return kRpcBadStubData;

  NdrWriter w(out);
  w.u32(level);  // SERVER_INFO union discriminant
  if (level != 100 && level != 101 && level != 102) {
    w.unique_pointer(false);
    w.u32(kWerrInvalidLevel);
    return 0;
  }
  w.unique_pointer(true);
  // SERVER_INFO_100/101/102 (2.2.4.40-2.2.4.42); each extends the previous one.
  w.u32(server_.platform_id);
  w.unique_pointer(true);  // sv_name
  if (level >= 101) {
    w.u32(server_.version_major);
    w.u32(server_.version_minor);
    w.u32(server_.server_type);
    w.unique_pointer(true);  // sv_comment
  }
  if (level == 102) {
    w.u32(0xffffffff);       // sv102_users: no limit
    w.u32(0xffffffff);       // sv102_disc: never auto-disconnect (-1)
    w.u32(0);                // sv102_hidden: SV_VISIBLE
    w.u32(240);              // sv102_announce (seconds), the Windows default
    w.u32(3000);             // sv102_anndelta (milliseconds)
    w.u32(0);                // sv102_licenses
    w.unique_pointer(true);  // sv102_userpath
  }
  w.wstring(server_.netbios_name);
  if (level >= 101) w.wstring(server_.server_string);
  if (level == 102) w.wstring(server_.user_path);
  w.u32(kWerrOk);
  return 0;
}

}  // namespace smb::rpc
