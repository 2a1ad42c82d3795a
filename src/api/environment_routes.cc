// /api/v1/environments: list, create and delete environments.
#include <spdlog/spdlog.h>

#include "api/api_util.h"
#include "api/routes.h"
#include "common/names.h"

namespace ironflow::server {

using api::json;

void AddEnvironmentRoutes(Router& router, ApiContext& ctx) {
  router.Add("GET", "/api/v1/environments", Access::kAuthenticated, [&ctx](const ApiCall&) {
    auto list = ctx.environments.List();
    if (!list.ok()) return api::ErrorResponse(list.status());
    json arr = json::array();
    for (const auto& e : *list) arr.push_back({{"name", e.name}, {"created_at", e.created_at}});
    return api::JsonResponse(200, json{{"environments", std::move(arr)}});
  });

  router.Add("POST", "/api/v1/environments", Access::kAdmin, [&ctx](const ApiCall& call) {
    auto body = api::ParseJsonObject(call.request.body, {"name"});
    if (!body.ok()) return api::ErrorResponse(body.status());
    auto name = api::RequiredString(*body, "name");
    if (!name.ok()) return api::ErrorResponse(name.status());
    auto env = ctx.environments.Create(*name, call.actor);
    if (!env.ok()) return api::ErrorResponse(env.status());
    spdlog::info("environment created: {} actor={}", env->name, call.actor.name);
    return api::JsonResponse(201, json{{"name", env->name}, {"created_at", env->created_at}});
  });

  router.Add("DELETE", "/api/v1/environments/{name}", Access::kAdmin, [&ctx](const ApiCall& call) {
    const std::string& name = call.params[0];
    if (Status s = ValidateEnvironmentName(name); !s.ok()) return api::ErrorResponse(s);
    auto force_param = call.request.query_param("force");
    if (force_param && *force_param != "true" && *force_param != "false") {
      return api::ErrorResponse(Status::InvalidArgument("force must be true or false"));
    }
    bool force = force_param && *force_param == "true";
    Status st = ctx.environments.Delete(name, force, call.actor);
    if (!st.ok()) return api::ErrorResponse(st);
    spdlog::info("environment deleted: {} force={} actor={}", name, force, call.actor.name);
    return api::NoContent();
  });
}

}  // namespace ironflow::server
