#include "auth/access_policy.h"

namespace ironflow::server {
namespace {

const char* Describe(Access a) {
  switch (a) {
    case Access::kPublic: return "call a public route";
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

const char* AccessName(Access a) {
  switch (a) {
    case Access::kPublic: return "public";
    case Access::kAuthenticated: return "authenticated";
    case Access::kRead: return "read";
    case Access::kConfigRead: return "config-read";
    case Access::kKvRead: return "kv-read";
    case Access::kKvWrite: return "kv-write";
    case Access::kWrite: return "write";
    case Access::kEmit: return "emit";
    case Access::kRegister: return "register";
    case Access::kWorker: return "worker";
    case Access::kAdmin: return "admin";
  }
  return "unknown";
}

bool RoleGrants(Role role, Access a) {
  switch (role) {
    case Role::kAdmin: return true;
    case Role::kManager: return a != Access::kWorker && a != Access::kAdmin;
    case Role::kReader:
      return a == Access::kAuthenticated || a == Access::kRead || a == Access::kConfigRead || a == Access::kKvRead;
    case Role::kWorker:
      return a == Access::kAuthenticated || a == Access::kWorker || a == Access::kEmit || a == Access::kRegister ||
             a == Access::kConfigRead || a == Access::kKvRead || a == Access::kKvWrite;
    case Role::kNone: return false;
  }
  return false;
}

Status Authorize(const Actor& actor, Access need, const std::optional<std::string>& environment_header) {
  // Fails closed: an actor without a role, or with one this version does not know, may do nothing (API key
  // records from before roles are read as admin by ApiKeyStore; the --dev actor is admin explicitly).
  if (actor.role == Role::kNone) return Status::PermissionDenied("this caller has no role");
  if (!RoleGrants(actor.role, need)) {
    return Status::PermissionDenied("this API key (role " + std::string(RoleName(actor.role)) + ") may not " +
                                    Describe(need));
  }
  if (!actor.environment.empty() && environment_header && !environment_header->empty() &&
      *environment_header != actor.environment) {
    return Status::PermissionDenied("this API key is bound to environment \"" + actor.environment + "\"");
  }
  return Status::Ok();
}

}  // namespace ironflow::server
