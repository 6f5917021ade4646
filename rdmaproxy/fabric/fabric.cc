#include "rdmaproxy/fabric/fabric.hh"

namespace smb::fabric {

std::string_view status_name(Status s) {
  switch (s) {
    case Status::success:
      return "success";
    case Status::flushed:
      return "flushed";
    case Status::local_length_error:
      return "local_length_error";
    case Status::local_protection_error:
      return "local_protection_error";
    case Status::remote_access_error:
      return "remote_access_error";
    case Status::remote_invalid_request:
      return "remote_invalid_request";
    case Status::receiver_not_ready:
      return "receiver_not_ready";
    case Status::transport_error:
      return "transport_error";
    case Status::invalid_argument:
      return "invalid_argument";
    case Status::not_connected:
      return "not_connected";
  }
  return "unknown";
}

}  // namespace smb::fabric
