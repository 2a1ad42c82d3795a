#include "common/role.h"

namespace ironflow::server {

std::string_view RoleName(Role role) {
  switch (role) {
    case Role::kNone: return "";
    case Role::kAdmin: return "admin";
    case Role::kManager: return "manager";
    case Role::kReader: return "reader";
    case Role::kWorker: return "worker";
  }
  return "";
}

std::optional<Role> ParseRole(std::string_view name) {
  for (Role r : {Role::kAdmin, Role::kManager, Role::kReader, Role::kWorker}) {
    if (RoleName(r) == name) return r;
  }
  return std::nullopt;
}

}  // namespace ironflow::server
