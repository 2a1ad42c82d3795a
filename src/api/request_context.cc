#include "api/request_context.h"

#include "common/names.h"

namespace ironflow {

Result<Actor> AuthenticateRequest(const ApiContext& ctx, const HttpRequest& req) {
  if (ctx.api_keys == nullptr) return Actor{"dev", "dev", "dev"};
  auto h = req.header("authorization");
  constexpr std::string_view kBearer = "Bearer ";
  if (!h || h->size() <= kBearer.size() || std::string_view(*h).substr(0, kBearer.size()) != kBearer) {
    return Status::Unauthenticated("missing API key: send Authorization: Bearer <key>");
  }
  auto principal = ctx.api_keys->Authenticate(std::string_view(*h).substr(kBearer.size()));
  if (!principal.ok()) return principal.status();
  return Actor{"apikey", principal->id, principal->name};
}

Result<std::string> RequestEnvironment(const ApiContext& ctx, const HttpRequest& req) {
  auto env = req.header("x-ironflow-environment");
  if (!env || env->empty()) {
    return Status::InvalidArgument("missing X-Ironflow-Environment header: name the environment, e.g. default");
  }
  IF_RETURN_IF_ERROR(ValidateEnvironmentName(*env));
  IF_RETURN_IF_ERROR(ctx.environments.CheckExists(*env));
  return *env;
}

}  // namespace ironflow
