// Who may call what. Every route needs one Access level, derived from its method and pattern; every role grants
// a set of levels. A key bound to an environment may only address that environment.
//
//   admin    everything, every environment (API keys, environments, rekey, signing key included)
//   manager  one environment: read and change secrets, config, KV and functions; emit events
//   reader   one environment: metadata and config/KV reads, runs, audit, live events
//   worker   one environment: the pull-mode worker routes, registering its functions and emitting events (it
//            receives the secrets of the functions it runs), plus config reads and KV key reads/writes, which
//            functions use through the SDK
//
// Errors never say whether the addressed object exists: a denied caller learns only what its key lacks.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "common/status.h"
#include "events/system_events.h"

namespace ironflow {

enum class Access {
  kAuthenticated,  // any valid key (status)
  kRead,           // metadata, runs, audit, streams, bucket info
  kConfigRead,     // config documents
  kKvRead,         // KV keys and values
  kKvWrite,        // KV key writes, deletes, counters
  kWrite,          // secrets, config, buckets, functions: create, change, delete
  kEmit,           // POST /api/v1/events
  kRegister,       // POST /api/v1/functions (a worker registers the functions it serves)
  kWorker,         // /api/v1/workers/...
  kAdmin,          // API keys, environments (changes), rekey, signing key
};

Access RequiredAccess(std::string_view method, std::string_view route_pattern);
bool RoleGrants(std::string_view role, Access access);
// OK, or kPermissionDenied naming what the key lacks.
Status Authorize(const Actor& actor, std::string_view method, std::string_view route_pattern,
                 const std::optional<std::string>& environment_header);

}  // namespace ironflow
