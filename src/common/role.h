// The role of an API key (auth/access_policy.h says what each grants). "admin", "manager", "reader" and "worker"
// are the stored and API spelling; kNone stands for a caller without a role, or with one this version does not
// know, and is granted nothing (fail closed).
#pragma once

#include <optional>
#include <string_view>

namespace ironflow::server {

enum class Role { kNone, kAdmin, kManager, kReader, kWorker };

std::string_view RoleName(Role role);  // "" for kNone
// The role named `name`; nullopt for any other spelling (the empty string included).
std::optional<Role> ParseRole(std::string_view name);

}  // namespace ironflow::server
