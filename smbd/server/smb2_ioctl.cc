// IOCTL (MS-SMB2 3.3.5.15): named-pipe transceive, negotiate validation, network
// interfaces; other FSCTLs are refused.
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>

#include <cstring>

#include "proto/ioctl.hh"
#include "server/dispatch.hh"
#include "server/worker.hh"

namespace smb::server {

namespace {

void reply_output(const RequestPtr& req, std::uint32_t ctl_code, const FileId& file_id,
                  Bytes output, NtStatus status = NtStatus::SUCCESS) {
  IoctlResponse response;
  response.ctl_code = ctl_code;
  response.file_id = file_id;
  response.output = std::move(output);
  Response out;
  out.status = status;
  out.body = encode_body(response);
  out.has_body = true;
  req->complete(std::move(out));
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

// MS-SMB2 3.3.5.15.11: the host's interfaces with their addresses.
void network_interfaces(const RequestPtr& req, const IoctlRequest& request) {
  std::vector<NetworkInterfaceInfo> interfaces;
  ifaddrs* list = nullptr;
  if (::getifaddrs(&list) == 0) {
    for (ifaddrs* a = list; a != nullptr; a = a->ifa_next) {
      if (a->ifa_addr == nullptr || (a->ifa_flags & IFF_UP) == 0) continue;
      if (a->ifa_addr->sa_family != AF_INET && a->ifa_addr->sa_family != AF_INET6) continue;
      NetworkInterfaceInfo info;
      info.if_index = ::if_nametoindex(a->ifa_name);
      info.capability = 0;
      info.link_speed = 10000000000ull;  // the kernel gives no speed for every link type
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
  reply_output(req, request.ctl_code, request.file_id, encode_network_interfaces(interfaces));
}

}  // namespace

void handle_ioctl(const RequestPtr& req) {
  IoctlRequest request;
  if (decode(req->pdu, request) != NtStatus::SUCCESS) {
    req->reply(NtStatus::INVALID_PARAMETER);
    return;
  }
  Connection* c = req->connection();
  if (request.max_output_response > c->max_transact_size() ||
      request.max_input_response > c->max_transact_size()) {
    req->reply(NtStatus::INVALID_PARAMETER);
    return;
  }
  if ((request.flags & kIoctlIsFsctl) == 0) {
    req->reply(NtStatus::NOT_SUPPORTED);
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
    case FSCTL_DFS_GET_REFERRALS:
    case FSCTL_DFS_GET_REFERRALS_EX:
      // No DFS namespace is served (MS-SMB2 3.3.5.15.2).
      req->reply(NtStatus::NOT_FOUND);
      return;
    default:
      req->reply(NtStatus::INVALID_DEVICE_REQUEST);
      return;
  }
}

}  // namespace smb::server
