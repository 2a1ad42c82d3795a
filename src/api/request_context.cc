#include "api/request_context.h"

#include <spdlog/spdlog.h>

#include "auth/allow_list.h"
#include "common/names.h"

namespace ironflow::server {

Result<Actor> AuthenticateRequest(const ApiContext& ctx, const HttpRequest& req) {
  if (ctx.api_keys == nullptr) return Actor{"dev", "dev", "dev", Role::kAdmin, ""};
  int retry_after = 1;
  if (ctx.auth_failures && !ctx.auth_failures->Allowed(req.remote_address, &retry_after)) {
    return Status::ResourceExhausted("too many failed authentications from this address; retry in " +
                                     std::to_string(retry_after) + " s")
        .WithRetryAfter(retry_after);
  }
  auto h = req.header("authorization");
  constexpr std::string_view kBearer = "Bearer ";
  if (!h || h->size() <= kBearer.size() || std::string_view(*h).substr(0, kBearer.size()) != kBearer) {
    return Status::Unauthenticated("missing API key: send Authorization: Bearer <key>");
  }
  auto principal = ctx.api_keys->Authenticate(std::string_view(*h).substr(kBearer.size()));
  if (!principal.ok()) {
    if (principal.status().is(Code::kUnauthenticated) && ctx.auth_failures) {
      ctx.auth_failures->RecordFailure(req.remote_address);
      // Logged without the presented key.
      spdlog::warn("failed authentication from {}: {}", req.remote_address, principal.status().message());
    }
    return principal.status();
  }
  Actor actor{"apikey", principal->id, principal->name, principal->role, principal->environment};
  if (RoleCarriesAllowLists(principal->role)) {
    actor.function_patterns = principal->functions;
    actor.secret_patterns = principal->secrets;
  }
  return actor;
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

Result<std::string> RequestEnvironmentFor(const ApiContext& ctx, const HttpRequest& req, std::string_view param,
                                          Status (*validate)(std::string_view)) {
  IF_ASSIGN_OR_RETURN(auto env, RequestEnvironment(ctx, req));
  IF_RETURN_IF_ERROR(validate(param));
  return env;
}

namespace {

// The host part of "host", "host:port", "[v6]" or "[v6]:port".
std::string_view HostPart(std::string_view h) {
  if (!h.empty() && h.front() == '[') {
    size_t end = h.find(']');
    return end == std::string_view::npos ? h : h.substr(0, end + 1);
  }
  size_t colon = h.find(':');
  return colon == std::string_view::npos ? h : h.substr(0, colon);
}

bool IsLoopbackName(std::string_view host) { return host == "localhost" || host == "127.0.0.1" || host == "[::1]"; }

}  // namespace

Status CheckLoopbackRequest(const HttpRequest& req) {
  auto host = req.header("host");
  if (!host || !IsLoopbackName(HostPart(*host))) {
    return Status::PermissionDenied(
        "with --dev (no authentication) only requests to localhost, 127.0.0.1 or [::1] "
        "are served");
  }
  if (auto origin = req.header("origin")) {
    std::string_view o = *origin;
    constexpr std::string_view kHttp = "http://", kHttps = "https://";
    if (o.substr(0, kHttp.size()) == kHttp)
      o.remove_prefix(kHttp.size());
    else if (o.substr(0, kHttps.size()) == kHttps)
      o.remove_prefix(kHttps.size());
    else
      return Status::PermissionDenied("cross-origin requests are refused");
    if (!IsLoopbackName(HostPart(o))) return Status::PermissionDenied("cross-origin requests are refused");
  }
  return Status::Ok();
}

}  // namespace ironflow::server
