// Start-up and shutdown notifications to a service manager (systemd's `Type=notify`):
// one datagram of "KEY=value" lines to the socket named by $NOTIFY_SOCKET.
#pragma once

#include <string>
#include <string_view>

namespace smb {

class ServiceNotifier {
 public:
  // Takes the socket's address from $NOTIFY_SOCKET and removes the variable, so that
  // processes started later (the workers) cannot send notifications of their own.
  static ServiceNotifier from_environment();

  // Whether a service manager asked for notifications.
  bool wanted() const { return !address_.empty(); }

  // Sends `state` ("READY=1\nSTATUS=..."); true when sent or when nobody asked.
  bool send(std::string_view state, std::string& error) const;

 private:
  std::string address_;  // a path, or "@name" for the abstract namespace
};

}  // namespace smb
