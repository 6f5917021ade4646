// The share set and server identity the rpc tests, the pipe tool and the fuzz target
// serve.
#pragma once

#include <cstddef>
#include <cstdio>
#include <string>
#include <vector>

#include "smbd/rpc/srvsvc.hh"

namespace smb::rpc::test {

// As an administrator sees the server (every level answers) unless `admin` is false.
inline ServerInfo server_info(bool admin = true) {
  ServerInfo s;
  s.netbios_name = "SMB3D";
  s.server_string = "smb3d test server";
  s.workgroup = "WORKGROUP";
  s.caller_is_admin = admin;
  return s;
}

// IPC$, two disk shares (one with a non-ASCII name), a hidden one, then `extra`
// generated shares named share0000, share0001, ...
inline std::vector<ShareEntry> shares(std::size_t extra = 0) {
  std::vector<ShareEntry> v;
  v.push_back({"IPC$", kStypeIpc | kStypeSpecial, "IPC Service", "", 0, kShiUsesUnlimited, 1});
  v.push_back(
      {"public", kStypeDisktree, "Public files", "C:\\srv\\public", 0x30, kShiUsesUnlimited, 2});
  v.push_back(
      {"donn\xc3\xa9"
       "es",
       kStypeDisktree, "\xc3\x89t\xc3\xa9 \xe2\x98\x80", "C:\\srv\\data", 0, 10, 0});
  v.push_back({"backup$", kStypeDisktree, "", "C:\\srv\\backup", 0, kShiUsesUnlimited, 0});
  for (std::size_t i = 0; i < extra; ++i) {
    char name[32];
    std::snprintf(name, sizeof name, "share%04zu", i);
    v.push_back({name, kStypeDisktree, std::string("generated share ") + name,
                 std::string("C:\\srv\\") + name, 0, kShiUsesUnlimited, 0});
  }
  return v;
}

}  // namespace smb::rpc::test
