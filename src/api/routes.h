// Registration of every HTTP route, one function per route file.
#pragma once

#include "api/request_context.h"
#include "api/router.h"

namespace ironflow {

struct SystemInfo {
  std::string version;
  std::string nats_url;  // redacted
  std::function<bool()> ready;
};

void AddSecretsRoutes(Router& router, ApiContext& ctx);
void AddEnvironmentRoutes(Router& router, ApiContext& ctx);
void AddSystemRoutes(Router& router, ApiContext& ctx, SystemInfo info);
void AddStreamRoute(Router& router, ApiContext& ctx);

}  // namespace ironflow
