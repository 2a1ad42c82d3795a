// Router: maps (method, path pattern) to route handlers, authenticates /api/v1 routes, and records metrics.
//
// Patterns are literal segments and `{param}` segments ("/api/v1/secrets/{name}"); parameters arrive
// percent-decoded in ApiCall::params, in order. An unknown path → 404, a known path with another method → 405
// (both JSON errors). Every route declares the Access level it needs where it is added: a route that is not
// Access::kPublic runs only after the authenticator accepts the request and the caller's role grants that level
// (auth/access_policy.h). Check() refuses a table with a public /api/ route or a route added twice; the server
// does not start with one. Metrics are labelled with the pattern, never the concrete path. Register routes
// before serving; dispatch is then thread-safe.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "api/metrics.h"
#include "api/waiter_quota.h"
#include "auth/access_policy.h"
#include "common/status.h"
#include "events/system_events.h"
#include "http/http_message.h"

namespace ironflow::server {

struct ApiCall {
  const HttpRequest& request;
  std::vector<std::string> params;
  Actor actor;  // actor.request: set when the request came with an Idempotency-Key (routes added with AddIdempotent)
};

class IdempotencyStore;

// One row of the route table, as declared.
struct RouteInfo {
  std::string method;
  std::string pattern;
  Access access;
  bool idempotent;
};

class Router {
 public:
  using Handler = std::function<HttpResponse(const ApiCall&)>;
  using Authenticator = std::function<Result<Actor>(const HttpRequest&)>;

  Router(Authenticator authenticate, Metrics& metrics) : authenticate_(std::move(authenticate)), metrics_(metrics) {}

  void Add(std::string method, std::string pattern, Access access, Handler handler);
  // A write that takes an `Idempotency-Key` header (api/idempotency.h): a retry with the same key gets the first
  // answer. Other writes refuse the header with 400, so that a client never believes a retry is safe where it is
  // not.
  void AddIdempotent(std::string method, std::string pattern, Access access, Handler handler);
  // OK, or kInternal naming every route that is declared wrongly: public under /api/, public and idempotent (the
  // keys are scoped to the caller), or added twice.
  Status Check() const;
  std::vector<RouteInfo> routes() const;
  HttpResponse Dispatch(const HttpRequest& request) const;
  // Answers that wait (a pending long poll, a stream) count against the caller's key here; over the quota they
  // become 429. Null: no limit. Set once, before serving.
  void set_waiter_quota(WaiterQuota* quota) { waiters_ = quota; }
  // Where keyed requests are recorded. Null: Idempotency-Key is refused everywhere. Set once, before serving.
  void set_idempotency(IdempotencyStore* store) { idempotency_ = store; }

 private:
  struct Route {
    std::string method;
    std::string pattern;
    std::vector<std::string> segments;
    Access access;
    Handler handler;
    bool idempotent = false;
  };
  static bool Match(const Route& route, const std::vector<std::string>& segments, std::vector<std::string>* params);
  void HoldWaiterToken(const std::string& key_id, HttpResponse* response) const;
  HttpResponse Run(const Route& route, ApiCall call) const;

  Authenticator authenticate_;
  Metrics& metrics_;
  WaiterQuota* waiters_ = nullptr;
  IdempotencyStore* idempotency_ = nullptr;
  std::vector<Route> routes_;
};

}  // namespace ironflow::server
