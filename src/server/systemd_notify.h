// SystemdNotifier: the sd_notify datagram protocol, without libsystemd.
//
// A service started by systemd with Type=notify finds a Unix datagram socket in $NOTIFY_SOCKET (a path, or an
// abstract-namespace name written with a leading '@') and tells the manager its state by sending "KEY=VALUE"
// lines to it: READY=1 once it serves, STOPPING=1 when it begins to shut down. Without $NOTIFY_SOCKET (not
// started by systemd) every call does nothing. Thread-safe: each call opens and closes its own socket.
#pragma once

#include <string>
#include <string_view>

#include "common/status.h"

namespace ironflow::server {

class SystemdNotifier {
 public:
  // Reads $NOTIFY_SOCKET now.
  static SystemdNotifier FromEnvironment();
  explicit SystemdNotifier(std::string socket) : socket_(std::move(socket)) {}

  bool enabled() const { return !socket_.empty(); }
  // Sends `state` (e.g. "READY=1\nSTATUS=serving") as one datagram. OK when not enabled.
  Status Notify(std::string_view state) const;

 private:
  std::string socket_;
};

}  // namespace ironflow::server
