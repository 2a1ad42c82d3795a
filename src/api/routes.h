// Registration of every HTTP route, one function per route file.
#pragma once

#include "api/request_context.h"
#include "api/router.h"
#include "crypto/secure_bytes.h"
#include "runtime/engine.h"
#include "runtime/function_registry.h"
#include "runtime/run_store.h"
#include "store/nats_server_info.h"

namespace ironflow::server {

// What the API shows of the NATS connection.
struct NatsLink {
  bool connected = false;
  std::string url;  // the server in use now (no credentials)
  std::string server_id;
  uint64_t reconnects = 0;
  uint64_t publish_retries = 0;  // stream publishes sent again (a leader election, a lost ack)
};

struct SystemInfo {
  std::string version;
  std::string nats_url;                  // the configured list, redacted
  std::function<bool()> nats_connected;  // cheap: what readiness asks on every probe
  std::function<NatsLink()> nats_link;   // the full picture (/api/v1/status, /metrics)
  std::function<bool()> ready;
  std::function<bool()> jetstream_writable;                   // every stream we write to has a leader
  std::function<std::vector<NatsServerInfo>()> nats_servers;  // the NATS nodes reached and their versions
};

// What GET /readyz checks: 200 only when all three hold. Server::ready() asks the same (systemd's READY=1).
struct Readiness {
  bool nats_connected = false;
  bool jetstream_writable = false;
  bool serving = false;  // SystemInfo::ready: started, not shutting down
  bool ok() const { return nats_connected && jetstream_writable && serving; }
};
Readiness CheckReadiness(const SystemInfo& info);

void AddSecretsRoutes(Router& router, ApiContext& ctx);
void AddEnvironmentRoutes(Router& router, ApiContext& ctx);
void AddSystemRoutes(Router& router, ApiContext& ctx, SystemInfo info);
void AddStreamRoute(Router& router, ApiContext& ctx);
void AddConfigRoutes(Router& router, ApiContext& ctx);
void AddKvRoutes(Router& router, ApiContext& ctx);
void AddAuditRoutes(Router& router, ApiContext& ctx);
void AddDashboardRoutes(Router& router);
void AddApiKeyRoutes(Router& router, ApiContext& ctx);
void AddRuntimeRoutes(Router& router, ApiContext& ctx, Engine& engine, FunctionRegistry& functions, RunStore& runs,
                      SigningKeyring& signing);

}  // namespace ironflow::server
