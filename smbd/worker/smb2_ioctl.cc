// IOCTL (MS-SMB2 3.3.5.15): named-pipe transceive, negotiate validation, network
// interfaces here; the file-system controls in fsctl_*.cc (fsctl.hh), the test-only ones
// in fsctl_smbtorture.cc; other FSCTLs are refused.
#include <arpa/inet.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>

#include "rdmaproxy/channel/protocol.hh"

#include "smbd/proto/fsctl.hh"
#include "smbd/proto/ioctl.hh"
#include "smbd/worker/dispatch.hh"
#include "smbd/worker/fsctl.hh"
#include "smbd/worker/worker.hh"

namespace smb::server {

void reply_ioctl(const RequestPtr& req, const IoctlRequest& request, Bytes output,
                 NtStatus status) {
  IoctlResponse response;
  response.ctl_code = request.ctl_code;
  response.file_id = request.file_id;
  response.output = std::move(output);
  Response out;
  out.status = status;
  out.body = encode_body(response);
  out.has_body = true;
  req->complete(std::move(out));
}

namespace {

void reply_output(const RequestPtr& req, std::uint32_t ctl_code, const FileId& file_id,
                  Bytes output, NtStatus status = NtStatus::SUCCESS) {
  IoctlRequest request;
  request.ctl_code = ctl_code;
  request.file_id = file_id;
  reply_ioctl(req, request, std::move(output), status);
}

// MS-SMB2 3.3.5.15.12: the client's view of the negotiation must match ours.
void validate_negotiate(const RequestPtr& req, const IoctlRequest& request) {
  Connection* c = req->connection();
  const auto& n = c->negotiated();
  ValidateNegotiateInfoRequest info;
  Response out;
  if (decode_fsctl(request.input, info) != NtStatus::SUCCESS) {
    out.status = NtStatus::INVALID_PARAMETER;
    out.disconnect = true;
    req->complete(std::move(out));
    return;
  }
  // 3.1.1 clients rely on preauth integrity instead; a request here is a protocol error.
  bool matches = n.dialect != 0x0311 && info.capabilities == n.client_capabilities &&
                 info.guid == n.client_guid && info.security_mode == n.client_security_mode &&
                 info.dialects == n.client_dialects;
  if (!matches) {
    out.status = NtStatus::ACCESS_DENIED;
    out.disconnect = true;
    req->complete(std::move(out));
    return;
  }
  ValidateNegotiateInfoResponse answer;
  answer.capabilities = n.server_capabilities;
  answer.guid = req->worker.config().server_guid;
  answer.security_mode = n.server_security_mode;
  answer.dialect = n.dialect;
  reply_output(req, request.ctl_code, request.file_id, encode_fsctl(answer));
}

// Link speed in bits per second as the kernel reports it (Mb/s in sysfs); links that
// report none (loopback, some virtual NICs) count as 10 Gb/s.
std::uint64_t link_speed(const char* name) {
  std::ifstream in(std::string("/sys/class/net/") + name + "/speed");
  long long mbits = 0;
  if (in >> mbits && mbits > 0) return static_cast<std::uint64_t>(mbits) * 1000000ull;
  return 10000000000ull;
}

// Receive-side scaling: more than one receive queue.
bool rss_capable(const char* name) {
  std::error_code ec;
  int rx_queues = 0;
  for (const auto& entry :
       std::filesystem::directory_iterator(std::string("/sys/class/net/") + name + "/queues", ec))
    if (entry.path().filename().string().starts_with("rx-")) ++rx_queues;
  return rx_queues > 1;
}

std::string address_text(const sockaddr* a) {
  char text[INET6_ADDRSTRLEN] = {};
  const void* raw = a->sa_family == AF_INET
                        ? static_cast<const void*>(&reinterpret_cast<const sockaddr_in*>(a)->sin_addr)
                        : static_cast<const void*>(&reinterpret_cast<const sockaddr_in6*>(a)->sin6_addr);
  ::inet_ntop(a->sa_family, raw, text, sizeof text);
  return text;
}

// With `bind interfaces only`, the addresses smbd listens on (entries are addresses,
// address/mask or interface names).
bool listened_on(const conf::Global& g, const char* name, const std::string& address) {
  if (!g.bind_interfaces_only || g.interfaces.empty()) return true;
  for (const auto& entry : g.interfaces) {
    std::string host = entry.substr(0, entry.find('/'));
    if (host == address || entry == name) return true;
  }
  return false;
}

// MS-SMB2 3.3.5.15.11: the host's interfaces with their addresses, speeds, and whether
// clients may use RSS and RDMA on them. RDMA_CAPABLE follows a running rdmaproxy: a
// Windows client tries SMB Direct only on interfaces flagged so.
void network_interfaces(const RequestPtr& req, const IoctlRequest& request) {
  const auto& g = req->worker.config().conf.global;
  std::optional<std::string> rdma;
  if (!g.rdma_proxy_socket.empty()) rdma = rdmachannel::running_proxy_address(g.rdma_proxy_socket);
  bool rdma_everywhere = rdma && (*rdma == "0.0.0.0" || *rdma == "::");
  std::vector<NetworkInterfaceInfo> interfaces;
  ifaddrs* list = nullptr;
  if (::getifaddrs(&list) == 0) {
    for (ifaddrs* a = list; a != nullptr; a = a->ifa_next) {
      if (a->ifa_addr == nullptr || (a->ifa_flags & IFF_UP) == 0) continue;
      if (a->ifa_addr->sa_family != AF_INET && a->ifa_addr->sa_family != AF_INET6) continue;
      std::string address = address_text(a->ifa_addr);
      if (!listened_on(g, a->ifa_name, address)) continue;
      NetworkInterfaceInfo info;
      info.if_index = ::if_nametoindex(a->ifa_name);
      info.link_speed = link_speed(a->ifa_name);
      if (rss_capable(a->ifa_name)) info.capability |= kRssCapable;
      if (rdma && (rdma_everywhere || *rdma == address)) info.capability |= kRdmaCapable;
      if (a->ifa_addr->sa_family == AF_INET) {
        std::memcpy(info.address.data(), &reinterpret_cast<sockaddr_in*>(a->ifa_addr)->sin_addr, 4);
        info.family = kInterNetwork;
      } else {
        auto* sin6 = reinterpret_cast<sockaddr_in6*>(a->ifa_addr);
        std::memcpy(info.address.data(), &sin6->sin6_addr, 16);
        info.scope_id = sin6->sin6_scope_id;
        info.family = kInterNetworkV6;
      }
      interfaces.push_back(info);
    }
    ::freeifaddrs(list);
  }
  Bytes output = encode_network_interfaces(interfaces);
  // The list does not fit the client's buffer: nothing of it is sent, as Windows does.
  if (output.size() > request.max_output_response) {
    req->reply(NtStatus::BUFFER_TOO_SMALL);
    return;
  }
  reply_output(req, request.ctl_code, request.file_id, std::move(output));
}

}  // namespace

void handle_ioctl(const RequestPtr& req) {
  IoctlRequest request;
  if (decode(req->pdu, request) != NtStatus::SUCCESS) {
    req->reply(NtStatus::INVALID_PARAMETER);
    return;
  }
  // MS-SMB2 3.3.5.15: not an FSCTL first; the FileId checks per control code were the
  // gate's (dispatch.cc, ioctl_file_id_use); then the buffer sizes.
  if ((request.flags & kIoctlIsFsctl) == 0) {
    req->reply(NtStatus::NOT_SUPPORTED);
    return;
  }
  Connection* c = req->connection();
  if (request.max_output_response > c->max_transact_size() ||
      request.max_input_response > c->max_transact_size()) {
    req->reply(NtStatus::INVALID_PARAMETER);
    return;
  }
  switch (request.ctl_code) {
    case FSCTL_VALIDATE_NEGOTIATE_INFO:
      validate_negotiate(req, request);
      return;
    case FSCTL_QUERY_NETWORK_INTERFACE_INFO:
      network_interfaces(req, request);
      return;
    case FSCTL_PIPE_TRANSCEIVE: {
      Open* open = req->open;
      if (open == nullptr) {
        req->reply(NtStatus::FILE_CLOSED);
        return;
      }
      if (!open->pipe) {
        req->reply(NtStatus::INVALID_DEVICE_REQUEST);
        return;
      }
      Bytes output;
      NtStatus status = open->pipe->transceive(request.input, request.max_output_response, output);
      if (!nt_success(status) && status != NtStatus::BUFFER_OVERFLOW) {
        req->reply(status);
        return;
      }
      reply_output(req, request.ctl_code, request.file_id, std::move(output), status);
      return;
    }
    case FSCTL_SRV_REQUEST_RESUME_KEY:
      fsctl_request_resume_key(req, request);
      return;
    case FSCTL_SRV_COPYCHUNK:
    case FSCTL_SRV_COPYCHUNK_WRITE:
      fsctl_copychunk(req, request);
      return;
    case FSCTL_DUPLICATE_EXTENTS_TO_FILE:
      fsctl_duplicate_extents(req, request);
      return;
    case FSCTL_SET_SPARSE:
      fsctl_set_sparse(req, request);
      return;
    case FSCTL_SET_ZERO_DATA:
      fsctl_set_zero_data(req, request);
      return;
    case FSCTL_QUERY_ALLOCATED_RANGES:
      fsctl_query_allocated_ranges(req, request);
      return;
    case FSCTL_GET_COMPRESSION:
    case FSCTL_SET_COMPRESSION:
      fsctl_compression(req, request);
      return;
    case FSCTL_CREATE_OR_GET_OBJECT_ID:
    case FSCTL_GET_OBJECT_ID:
    case FSCTL_SET_OBJECT_ID:
    case FSCTL_SET_OBJECT_ID_EXTENDED:
    case FSCTL_DELETE_OBJECT_ID:
      fsctl_object_id(req, request);
      return;
    case FSCTL_GET_REPARSE_POINT:
    case FSCTL_SET_REPARSE_POINT:
    case FSCTL_DELETE_REPARSE_POINT:
      fsctl_reparse_point(req, request);
      return;
    case FSCTL_DFS_GET_REFERRALS:
    case FSCTL_DFS_GET_REFERRALS_EX:
      // No DFS namespace is served (MS-SMB2 3.3.5.15.2).
      req->reply(NtStatus::NOT_FOUND);
      return;
    default:
      if (is_smbtorture_fsctl(request.ctl_code)) {
        fsctl_smbtorture(req, request);
        return;
      }
      req->reply(NtStatus::INVALID_DEVICE_REQUEST);
      return;
  }
}

}  // namespace smb::server
