// Who may call what. Every route declares the one Access level it needs where it is added (Router::Add); every
// role grants a set of levels. A key bound to an environment may only address that environment.
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

namespace ironflow::server {

enum class Access {
  kPublic,         // no key at all: probes, /metrics, the dashboard's static files (never under /api/)
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

// The level's name as the docs and tests spell it ("admin", "kv-write", ...).
const char* AccessName(Access access);
// Whether `role` grants `access`. kNone grants nothing. (kPublic routes are never
// authorized: the Router does not authenticate them at all.)
bool RoleGrants(Role role, Access access);
// OK, or kPermissionDenied naming what the key lacks (also for an empty or unknown role: fails closed).
Status Authorize(const Actor& actor, Access need, const std::optional<std::string>& environment_header);

}  // namespace ironflow::server
