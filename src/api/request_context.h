// ApiContext: what the route handlers need from the planes (stores, never a NATS connection or a bucket), and the two
// per-request checks every environment-scoped route shares: who is calling (Bearer API key, or the dev actor under
// --dev) and which environment it addresses (header X-Ironflow-Environment: 400 when missing, 404 when unknown).
#pragma once

#include <functional>
#include <string>

#include "api/metrics.h"
#include "auth/api_key_store.h"
#include "auth/failure_limiter.h"
#include "common/status.h"
#include "config/config_store.h"
#include "events/audit_log.h"
#include "events/live_events.h"
#include "events/system_events.h"
#include "http/http_message.h"
#include "kv/kv_keys.h"
#include "kv/user_buckets.h"
#include "secrets/environment_store.h"
#include "secrets/secret_store.h"
#include "secrets/value_sealer.h"

namespace ironflow::server {

struct ApiContext {
  SecretStore& secrets;
  EnvironmentStore& environments;
  ApiKeyStore* api_keys;  // null under --dev (no authentication)
  LiveEvents& live;       // the live feed (/api/v1/stream)
  SystemEvents& events;   // for its publish counters (/metrics): every store publishes its own events
  Metrics& metrics;
  const ValueSealer& sealer;
  // Fills what /metrics needs from the server's other parts (readiness, runtime, job queue, nonce counters).
  std::function<void(Metrics::Gauges*)> server_gauges;
  ConfigStore* config = nullptr;
  UserBuckets* kv = nullptr;
  KvKeys* kv_keys = nullptr;                // key operations on `kv`'s buckets
  FailureLimiter* auth_failures = nullptr;  // null: no limit
  AuditLog* audit = nullptr;                // reads the audit trail back
};

Result<Actor> AuthenticateRequest(const ApiContext& ctx, const HttpRequest& req);
Result<std::string> RequestEnvironment(const ApiContext& ctx, const HttpRequest& req);
// RequestEnvironment, after checking the path parameter `param` with `validate` (e.g. ValidateConfigName).
Result<std::string> RequestEnvironmentFor(const ApiContext& ctx, const HttpRequest& req, std::string_view param,
                                          Status (*validate)(std::string_view));
// Under --dev (no authentication): answers only requests addressed to a loopback name (Host localhost, 127.0.0.1
// or [::1], any port) and, when a browser sends an Origin, only from such an origin. A page on another site,
// even one whose DNS name was rebound to 127.0.0.1, is refused with kPermissionDenied.
Status CheckLoopbackRequest(const HttpRequest& req);

}  // namespace ironflow::server
