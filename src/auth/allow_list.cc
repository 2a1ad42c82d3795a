#include "auth/allow_list.h"

#include <cctype>

namespace ironflow::server {

bool MatchesPattern(std::string_view pattern, std::string_view name) {
  // Greedy glob with backtracking to the last '*' (linear in practice; patterns are short).
  size_t p = 0, n = 0, star = std::string_view::npos, resume = 0;
  while (n < name.size()) {
    if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      resume = n;
    } else if (p < pattern.size() && pattern[p] == name[n]) {
      ++p;
      ++n;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      n = ++resume;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

bool AllowList::Allows(std::string_view name) const {
  for (const auto& p : patterns_) {
    if (MatchesPattern(p, name)) return true;
  }
  return false;
}

bool RoleCarriesAllowLists(Role role) { return role == Role::kWorker || role == Role::kManager; }

Status CheckActorCovers(const Actor& actor, std::string_view function_id, const std::vector<std::string>& secrets) {
  if (actor.function_patterns && !AllowList(*actor.function_patterns).Allows(function_id)) {
    return Status::PermissionDenied("API key " + actor.id + " may not register or serve function \"" +
                                    std::string(function_id) + "\" (outside its functions allow-list)");
  }
  if (actor.secret_patterns) {
    AllowList allowed(*actor.secret_patterns);
    for (const auto& name : secrets) {
      if (!allowed.Allows(name)) {
        return Status::PermissionDenied("API key " + actor.id + " may not declare secret \"" + name +
                                        "\" (outside its secrets allow-list)");
      }
    }
  }
  return Status::Ok();
}

Status AllowList::Validate(const std::vector<std::string>& patterns, std::string_view what) {
  if (patterns.size() > 256) return Status::InvalidArgument(std::string(what) + ": at most 256 patterns");
  for (const auto& p : patterns) {
    bool ok = !p.empty() && p.size() <= 128;
    for (char c : p) {
      ok = ok && (std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.' || c == '*');
    }
    if (!ok) {
      return Status::InvalidArgument(std::string(what) +
                                     " patterns are names in which * matches any run of name "
                                     "characters (e.g. STRIPE_*); \"" +
                                     p.substr(0, 64) + "\" is not one");
    }
  }
  return Status::Ok();
}

}  // namespace ironflow::server
