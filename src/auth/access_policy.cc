#include "auth/access_policy.h"

namespace ironflow {
namespace {

bool StartsWith(std::string_view s, std::string_view prefix) { return s.substr(0, prefix.size()) == prefix; }

const char* Describe(Access a) {
  switch (a) {
    case Access::kAuthenticated: return "use the API";
    case Access::kRead: return "read";
    case Access::kConfigRead: return "read config";
    case Access::kKvRead: return "read KV values";
    case Access::kKvWrite: return "write KV values";
    case Access::kWrite: return "make changes";
    case Access::kEmit: return "emit events";
    case Access::kRegister: return "register functions";
    case Access::kWorker: return "act as a pull-mode worker";
    case Access::kAdmin: return "administer (API keys, environments, rekey, signing key)";
  }
  return "do this";
}

}  // namespace

Access RequiredAccess(std::string_view method, std::string_view p) {
  const bool read = method == "GET" || method == "HEAD";
  if (StartsWith(p, "/api/v1/apikeys") || p == "/api/v1/rekey" || StartsWith(p, "/api/v1/signing-key")) return Access::kAdmin;
  if (StartsWith(p, "/api/v1/environments")) return read ? Access::kAuthenticated : Access::kAdmin;
  if (p == "/api/v1/status") return Access::kAuthenticated;
  if (StartsWith(p, "/api/v1/workers/")) return Access::kWorker;
  if (p == "/api/v1/events") return Access::kEmit;
  if (p == "/api/v1/functions" && method == "POST") return Access::kRegister;
  if (StartsWith(p, "/api/v1/config")) return read ? Access::kConfigRead : Access::kWrite;
  if (StartsWith(p, "/api/v1/kv/buckets/{bucket}/keys") || p == "/api/v1/kv/buckets/{bucket}/watch") {
    return read ? Access::kKvRead : Access::kKvWrite;
  }
  return read ? Access::kRead : Access::kWrite;
}

bool RoleGrants(std::string_view role, Access a) {
  if (role == "admin") return true;
  if (role == "manager") return a != Access::kWorker && a != Access::kAdmin;
  if (role == "reader") {
    return a == Access::kAuthenticated || a == Access::kRead || a == Access::kConfigRead || a == Access::kKvRead;
  }
  if (role == "worker") {
    return a == Access::kAuthenticated || a == Access::kWorker || a == Access::kEmit || a == Access::kRegister ||
           a == Access::kConfigRead || a == Access::kKvRead || a == Access::kKvWrite;
  }
  return false;
}

Status Authorize(const Actor& actor, std::string_view method, std::string_view route_pattern,
                 const std::optional<std::string>& environment_header) {
  // Fails closed: an actor without a role, or with one this version does not know, may do nothing (API key
  // records from before roles are read as admin by ApiKeyStore; the --dev actor is admin explicitly).
  const std::string& role = actor.role;
  const Access need = RequiredAccess(method, route_pattern);
  if (role.empty()) return Status::PermissionDenied("this caller has no role");
  if (!RoleGrants(role, need)) {
    return Status::PermissionDenied("this API key (role " + role + ") may not " + Describe(need));
  }
  if (!actor.environment.empty() && environment_header && !environment_header->empty() &&
      *environment_header != actor.environment) {
    return Status::PermissionDenied("this API key is bound to environment \"" + actor.environment + "\"");
  }
  return Status::Ok();
}

}  // namespace ironflow
