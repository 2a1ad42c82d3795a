// AuditLog: reads the system events back from IRONFLOW_SYSTEM (the audit trail), newest first. The query names
// an environment (or "*": every environment, including the events that belong to none: API keys, rekey of all
// environments, signing-key rotations), optionally a kind and a name within it, a start time and a limit.
// Entries hold the stored event (metadata and the actor, never a value). Thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "store/nats_connection.h"

namespace ironflow::server {

struct AuditQuery {
  std::string environment;  // "*": every environment
  std::string kind;         // empty: every kind (IsAuditKind)
  std::string name;         // a secret or config name, or a run id; needs `kind`
  int64_t since_ms = 0;     // Unix milliseconds
  size_t limit = 100;       // 1..kMaxAuditEntries
};

struct AuditEntry {
  uint64_t sequence = 0;
  std::string subject;
  int64_t time_ns = 0;
  std::string event_json;
};

struct AuditPage {
  std::vector<AuditEntry> entries;  // newest first
  bool truncated = false;           // more events matched than one read scans
};

inline constexpr size_t kMaxAuditEntries = 5000;

// secret, config, run, environment, kv, apikey, rekey, signingkey, access.
bool IsAuditKind(std::string_view kind);

class AuditLog {
 public:
  explicit AuditLog(NatsConnection& nc) : nc_(nc) {}
  // kInvalidArgument for an unknown kind, a name without a kind, a name that is not one name, or a limit out of
  // range (each message names the rule).
  Result<AuditPage> Read(const AuditQuery& query);

 private:
  NatsConnection& nc_;
};

}  // namespace ironflow::server
