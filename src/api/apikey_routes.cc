// /api/v1/apikeys: API keys with roles (admin only; see auth/access_policy.h). A key's secret part is answered
// once, when it is created or rotated; afterwards only its id and metadata are readable.
#include <spdlog/spdlog.h>

#include "api/api_util.h"
#include "api/routes.h"
#include "common/names.h"

namespace ironflow::server {
namespace {

using api::json;

json InfoJson(const ApiKeyInfo& i) {
  return json{{"id", i.principal.id},
              {"name", i.principal.name},
              {"role", RoleName(i.principal.role)},
              {"environment", i.principal.environment.empty() ? json(nullptr) : json(i.principal.environment)},
              {"created_at", i.created_at},
              {"expires_at", i.expires_at.empty() ? json(nullptr) : json(i.expires_at)},
              {"functions", i.principal.functions.empty() ? json(nullptr) : json(i.principal.functions)},
              {"secrets", i.principal.secrets.empty() ? json(nullptr) : json(i.principal.secrets)},
              {"legacy_scope", i.principal.legacy_scope}};
}

// An optional array of strings; kInvalidArgument for any other shape.
Result<std::optional<std::vector<std::string>>> OptionalStringList(const json& body, const char* field) {
  auto it = body.find(field);
  if (it == body.end()) return std::optional<std::vector<std::string>>();
  bool ok = it->is_array();
  std::vector<std::string> out;
  if (ok) {
    for (const auto& v : *it) {
      ok = ok && v.is_string();
      if (ok) out.push_back(v.get<std::string>());
    }
  }
  if (!ok) return Status::InvalidArgument(std::string("\"") + field + "\" must be an array of name patterns");
  return std::optional<std::vector<std::string>>(std::move(out));
}

HttpResponse WithKey(int status, NewApiKey& created) {
  json body = InfoJson(created.info);
  body["key"] = created.key;
  HttpResponse r = api::JsonResponse(status, body);
  Cleanse(created.key);
  Cleanse(body["key"].get_ref<std::string&>());
  return r;
}

Status NoKeyStore(const ApiContext& ctx) {
  if (ctx.api_keys == nullptr) return Status::PreconditionFailed("API keys are not used under --dev");
  return Status::Ok();
}

}  // namespace

void AddApiKeyRoutes(Router& router, ApiContext& ctx) {
  router.Add("POST", "/api/v1/apikeys", Access::kAdmin, [&ctx](const ApiCall& call) {
    if (Status s = NoKeyStore(ctx); !s.ok()) return api::ErrorResponse(s);
    auto body =
        api::ParseJsonObject(call.request.body, {"name", "role", "environment", "expires_in", "functions", "secrets"});
    if (!body.ok()) return api::ErrorResponse(body.status());
    auto name = api::RequiredString(*body, "name");
    if (!name.ok()) return api::ErrorResponse(name.status());
    auto role = api::RequiredString(*body, "role");
    if (!role.ok()) return api::ErrorResponse(role.status());
    auto env = api::OptionalString(*body, "environment");
    if (!env.ok()) return api::ErrorResponse(env.status());
    if (env->has_value()) {
      if (Status s = ValidateEnvironmentName(**env); !s.ok()) return api::ErrorResponse(s);
      if (Status s = ctx.environments.CheckExists(**env); !s.ok()) return api::ErrorResponse(s);
    }
    int64_t expires_in = 0;
    if (auto it = body->find("expires_in"); it != body->end()) {
      if (!it->is_number_integer() || it->get<int64_t>() < 1) {
        return api::ErrorResponse(Status::InvalidArgument("expires_in must be a positive number of seconds"));
      }
      expires_in = it->get<int64_t>();
    }
    auto functions = OptionalStringList(*body, "functions");
    if (!functions.ok()) return api::ErrorResponse(functions.status());
    auto secrets = OptionalStringList(*body, "secrets");
    if (!secrets.ok()) return api::ErrorResponse(secrets.status());
    auto created = ctx.api_keys->Create(
        ApiKeySpec{*name, ParseRole(*role).value_or(Role::kNone), env->value_or(""), expires_in, *functions, *secrets},
        call.actor);
    if (!created.ok()) return api::ErrorResponse(created.status());
    spdlog::info("api key created: id={} name={} role={} environment={} actor={}", created->info.principal.id, *name,
                 *role, env->value_or("*"), call.actor.name);
    return WithKey(201, *created);
  });
  router.Add("GET", "/api/v1/apikeys", Access::kAdmin, [&ctx](const ApiCall&) {
    if (Status s = NoKeyStore(ctx); !s.ok()) return api::ErrorResponse(s);
    auto list = ctx.api_keys->List();
    if (!list.ok()) return api::ErrorResponse(list.status());
    json arr = json::array();
    for (const auto& i : *list) arr.push_back(InfoJson(i));
    return api::JsonResponse(200, json{{"apikeys", std::move(arr)}});
  });
  router.Add("POST", "/api/v1/apikeys/{id}/rotate", Access::kAdmin, [&ctx](const ApiCall& call) {
    if (Status s = NoKeyStore(ctx); !s.ok()) return api::ErrorResponse(s);
    auto rotated = ctx.api_keys->Rotate(call.params[0], call.actor);
    if (!rotated.ok()) return api::ErrorResponse(rotated.status());
    spdlog::info("api key rotated: id={} actor={}", rotated->info.principal.id, call.actor.name);
    return WithKey(200, *rotated);
  });
  router.Add("DELETE", "/api/v1/apikeys/{id}", Access::kAdmin, [&ctx](const ApiCall& call) {
    if (Status s = NoKeyStore(ctx); !s.ok()) return api::ErrorResponse(s);
    if (Status s = ctx.api_keys->Delete(call.params[0], call.actor); !s.ok()) return api::ErrorResponse(s);
    spdlog::info("api key deleted: id={} actor={}", call.params[0], call.actor.name);
    return api::NoContent();
  });
}

}  // namespace ironflow::server
