// AllowList: the function ids or secret names an API key may touch, as patterns.
//
// A pattern is a name in which `*` matches any run (possibly empty) of name characters; nothing else is special
// (`STRIPE_*` matches STRIPE_KEY and STRIPE_, not STRIPE.KEY). "*" alone allows every name. An empty list allows
// nothing. Worker and manager keys carry two lists (functions, secrets); keys created before lists existed are
// "legacy" and behave as "*" (ApiKeyStore flags them). Plain values; thread-safe for const use.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "events/system_events.h"

namespace ironflow::server {

// True when `name` matches `pattern` (only `*` is special).
bool MatchesPattern(std::string_view pattern, std::string_view name);

class AllowList {
 public:
  AllowList() = default;
  explicit AllowList(std::vector<std::string> patterns) : patterns_(std::move(patterns)) {}
  static AllowList Everything() { return AllowList({"*"}); }

  bool Allows(std::string_view name) const;
  const std::vector<std::string>& patterns() const { return patterns_; }

  // kInvalidArgument unless every pattern is 1-128 characters of letters, digits, '_', '-', '.' and '*'.
  // `what` names the list in the message ("secrets", "functions").
  static Status Validate(const std::vector<std::string>& patterns, std::string_view what);

 private:
  std::vector<std::string> patterns_;
};

// Worker and manager keys carry allow-lists; admin and reader keys do not.
bool RoleCarriesAllowLists(Role role);

// OK when `actor`'s allow-lists cover function `function_id` and every secret in `secrets`; else kPermissionDenied
// naming the first name outside them. An actor without lists (admin, reader, the dev actor, the server) covers
// everything. The one rule behind registration, worker registration and job leasing.
Status CheckActorCovers(const Actor& actor, std::string_view function_id, const std::vector<std::string>& secrets);

}  // namespace ironflow::server
