#include "smbd/worker/status_report.hh"

#include <unistd.h>

#include <cstdio>

#include "smbd/base/status_lines.hh"
#include "smbd/worker/connection.hh"
#include "smbd/worker/worker.hh"

namespace smb::server {

namespace {

// As Samba's smbstatus names them: SMB2_02 ... SMB3_11.
std::string dialect_name(std::uint16_t dialect) {
  char text[16];
  std::snprintf(text, sizeof text, "SMB%u_%02x", dialect >> 8, dialect & 0xFF);
  return text;
}

std::string hex32(std::uint32_t value) {
  char text[16];
  std::snprintf(text, sizeof text, "0x%08x", value);
  return text;
}

const char* oplock_name(fsa::OplockType level) {
  switch (level) {
    case fsa::OplockType::LEVEL_TWO:
      return "LEVEL_II";
    case fsa::OplockType::LEVEL_ONE:
      return "EXCLUSIVE";
    case fsa::OplockType::LEVEL_BATCH:
      return "BATCH";
    case fsa::OplockType::LEVEL_GRANULAR:
      return "LEASE";
    case fsa::OplockType::LEVEL_NONE:
      break;
  }
  return "NONE";
}

// A lease with its state (Samba's smbstatus shows "LEASE(RWH)").
std::string oplock_text(const fsa::FileOpen& open) {
  std::string text = oplock_name(open.oplock_level);
  if (open.oplock_level != fsa::OplockType::LEVEL_GRANULAR) return text;
  text += "(";
  if (open.lease.state & hostwide::kLeaseRead) text += "R";
  if (open.lease.state & hostwide::kLeaseWrite) text += "W";
  if (open.lease.state & hostwide::kLeaseHandle) text += "H";
  return text + ")";
}

std::string logon_kind(const Session& s) {
  if (s.anonymous) return "anonymous";
  if (s.guest) return "guest";
  return s.kerberos ? "kerberos" : "ntlm";
}

}  // namespace

std::string status_report(const Worker& worker, std::size_t limit) {
  const std::string pid = std::to_string(::getpid());
  const ClientState& client = worker.client();
  std::string out;
  bool truncated = false;
  auto add = [&](const std::vector<std::string>& fields) {
    if (truncated) return;
    std::string line;
    append_status_line(line, fields);
    if (out.size() + line.size() + 64 > limit) {
      truncated = true;
      append_status_line(out, {"truncated", pid});
      return;
    }
    out += line;
  };
  auto peer = [&](std::uint64_t connection_id) -> std::string {
    const Connection* c = worker.connection(connection_id);
    return c ? c->peer() : "";
  };
  for (const auto& [id, session] : client.sessions()) {
    if (session->state == Session::State::IN_PROGRESS || session->logged_off) continue;
    const std::string sid = std::to_string(id);
    bool signing = session->signing_required;
    add({"session", pid, sid, session->anonymous ? "" : session->user, session->domain,
         peer(session->bound_connection), dialect_name(session->dialect),
         signing ? "yes" : "no", session->encrypt_data ? "yes" : "no", logon_kind(*session)});
    for (const auto& [connection_id, channel] : session->channels) {
      const Connection* c = worker.connection(connection_id);
      if (c == nullptr) continue;
      add({"channel", pid, sid, c->peer(), c->is_rdma() ? "SMB Direct" : "TCP"});
    }
    for (const auto& [tree_id, tree] : session->trees)
      add({"tree", pid, sid, std::to_string(tree_id), tree.share_name});
  }
  for (const auto& [volatile_id, open] : client.opens()) {
    const Session* session = nullptr;
    if (auto it = client.sessions().find(open->session_id); it != client.sessions().end())
      session = it->second.get();
    std::string share;
    if (session != nullptr)
      if (auto tree = session->trees.find(open->tree_id); tree != session->trees.end())
        share = tree->second.share_name;
    add({"open", pid, std::to_string(open->session_id), std::to_string(open->tree_id), share,
         open->path, hex32(open->granted_access), hex32(open->share_access), oplock_text(*open)});
  }
  return out;
}

}  // namespace smb::server
