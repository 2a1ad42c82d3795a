#include "api/router.h"

#include <chrono>
#include <set>
#include <utility>

#include "api/api_util.h"
#include "api/idempotency.h"

namespace ironflow::server {
namespace {

std::vector<std::string> SplitPath(std::string_view path) {
  std::vector<std::string> out;
  for (std::string_view segment : PathSegments(path)) out.emplace_back(segment);
  return out;
}

}  // namespace

void Router::Add(std::string method, std::string pattern, Access access, Handler handler) {
  Route r{std::move(method), pattern, SplitPath(pattern), access, std::move(handler)};
  routes_.push_back(std::move(r));
}

void Router::AddIdempotent(std::string method, std::string pattern, Access access, Handler handler) {
  Add(std::move(method), std::move(pattern), access, std::move(handler));
  routes_.back().idempotent = true;
}

Status Router::Check() const {
  std::string problems;
  std::set<std::pair<std::string, std::string>> seen;
  for (const auto& r : routes_) {
    const std::string name = r.method + " " + r.pattern;
    if (!seen.emplace(r.method, r.pattern).second) problems += "; " + name + " is added twice";
    if (r.access == Access::kPublic && r.pattern.rfind("/api/", 0) == 0) {
      problems += "; " + name + " is public but under /api/ (declare the access it needs)";
    }
    if (r.access == Access::kPublic && r.idempotent) problems += "; " + name + " is public and idempotent";
  }
  if (problems.empty()) return Status::Ok();
  return Status::Internal("the route table is declared wrongly: " + problems.substr(2));
}

std::vector<RouteInfo> Router::routes() const {
  std::vector<RouteInfo> out;
  out.reserve(routes_.size());
  for (const auto& r : routes_) out.push_back(RouteInfo{r.method, r.pattern, r.access, r.idempotent});
  return out;
}

// Runs the handler; for a request with an Idempotency-Key, through the idempotency record.
HttpResponse Router::Run(const Route& route, ApiCall call) const {
  const auto key = call.request.header("idempotency-key");
  if (!key || route.method == "GET") return route.handler(call);
  if (!route.idempotent || idempotency_ == nullptr) {
    return api::ErrorResponse(Status::InvalidArgument("Idempotency-Key is not supported by " + route.method + " " +
                                                      route.pattern + "; send the request without it"));
  }
  auto claim = idempotency_->Begin(call.actor, call.request, *key);
  if (!claim.ok()) return api::ErrorResponse(claim.status());
  if (claim->answer) {
    metrics_.CountIdempotentReplay();
    return std::move(*claim->answer);
  }
  call.actor.request = claim->tag;
  HttpResponse response;
  try {
    response = route.handler(call);
  } catch (...) {
    // Its outcome is not known: recorded so (and no longer renewed); the HTTP layer answers 500.
    idempotency_->Finish(*claim, api::ErrorResponse(Status::Internal("the request failed")));
    throw;
  }
  idempotency_->Finish(*claim, response);
  return response;
}

bool Router::Match(const Route& route, const std::vector<std::string>& segments, std::vector<std::string>* params) {
  if (route.segments.size() != segments.size()) return false;
  params->clear();
  for (size_t i = 0; i < segments.size(); ++i) {
    const std::string& p = route.segments[i];
    if (p.size() >= 2 && p.front() == '{' && p.back() == '}') {
      if (segments[i].empty()) return false;
      params->push_back(api::DecodeParam(segments[i]));
    } else if (p != segments[i]) {
      return false;
    }
  }
  return true;
}

void Router::HoldWaiterToken(const std::string& key_id, HttpResponse* response) const {
  std::shared_ptr<void> token = waiters_->Acquire(key_id);
  if (!token) {
    *response = api::ErrorResponse(
        Status::ResourceExhausted("this API key already holds " + std::to_string(waiters_->per_key()) +
                                  " waiting requests (long polls, event streams, watches); close some or retry later"));
    return;
  }
  // The token lives as long as the waiting answer does (held next to what it already keeps alive).
  std::shared_ptr<void>& keep = response->pending ? response->pending->keep_alive : response->stream->keep_alive;
  keep = std::make_shared<std::pair<std::shared_ptr<void>, std::shared_ptr<void>>>(std::move(keep), std::move(token));
}

HttpResponse Router::Dispatch(const HttpRequest& request) const {
  auto started = std::chrono::steady_clock::now();
  auto segments = SplitPath(request.path);
  const Route* found = nullptr;
  std::vector<std::string> params;
  std::string allowed;
  for (const auto& r : routes_) {
    if (!Match(r, segments, &params)) continue;
    if (r.method == request.method || (request.method == "HEAD" && r.method == "GET")) {
      found = &r;
      break;
    }
    allowed += (allowed.empty() ? "" : ", ") + r.method;
  }

  HttpResponse response;
  std::string route_label = "unmatched";
  if (found == nullptr) {
    if (!allowed.empty()) {
      response = api::ErrorResponse(
          Status::InvalidArgument("method " + request.method + " is not allowed here; use " + allowed));
      response.status = 405;
      response.headers.emplace_back("Allow", allowed);
    } else {
      response = api::ErrorResponse(Status::NotFound("no such route"));
    }
  } else {
    route_label = found->pattern;
    // Recompute params for the chosen route (the loop may have matched others after it).
    Match(*found, segments, &params);
    const bool authenticated = found->access != Access::kPublic;
    Actor actor{"dev", "dev", "dev"};
    Result<Actor> auth = authenticated ? authenticate_(request) : Result<Actor>(actor);
    if (!auth.ok()) {
      response = api::ErrorResponse(auth.status());
      if (auth.status().is(Code::kUnauthenticated)) {
        response.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"ironflow\"");
      }
    } else if (Status allowed = authenticated
                                    ? Authorize(*auth, found->access, request.header("x-ironflow-environment"))
                                    : Status::Ok();
               !allowed.ok()) {
      response = api::ErrorResponse(allowed);
    } else {
      const std::string key_id = auth->id;
      response = Run(*found, ApiCall{request, std::move(params), std::move(auth).value()});
      if (waiters_ != nullptr && (response.pending || response.stream)) HoldWaiterToken(key_id, &response);
    }
  }
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  metrics_.ObserveRequest(route_label, request.method, response.status, seconds);
  return response;
}

}  // namespace ironflow::server
