// NatsServerInfo: what a nats-server says about itself in the INFO line it sends first on every plain TCP
// connect (version, server id, the cluster peers clients may use). nats.c 3.4.1 exposes only the connected URL
// and server id, so the version gate (server/nats_version_gate.h) reads the line itself.
//
// ProbeNatsServer connects to one host:port, reads that line and closes; it never sends credentials or
// anything else. Versions compare numerically ("2.10.20" > "2.9.21"); a pre-release suffix ("-RC.1", "-beta")
// counts as older than the release it precedes.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace ironflow::server {

struct NatsServerInfo {
  std::string address;  // host:port probed
  std::string server_id;
  std::string server_name;
  std::string version;
  std::vector<std::string> connect_urls;  // host:port of the cluster's other client listeners (may be empty)
};

// Parses an "INFO {json}" protocol line (with or without the trailing CRLF).
Result<NatsServerInfo> ParseNatsInfoLine(std::string_view line);
// Connects to `address` (host:port, or a nats:// / tls:// URL whose credentials are ignored) and reads its INFO.
Result<NatsServerInfo> ProbeNatsServer(const std::string& address, int timeout_ms);
// host:port of a NATS URL ("nats://user:pw@host:4222" -> "host:4222"; no port -> 4222).
std::string NatsUrlHostPort(std::string_view url);
// -1, 0, 1 as `a` is older than, the same as, or newer than `b`.
int CompareNatsVersions(std::string_view a, std::string_view b);

}  // namespace ironflow::server
