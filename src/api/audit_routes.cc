// GET /api/v1/audit: the environment's system events (who changed what, when) from the IRONFLOW_SYSTEM stream,
// newest first. Events carry metadata and the actor, never a value. `X-Ironflow-Environment: *` (admin keys only)
// answers for every environment, including the events that belong to none (API keys, rekey of all
// environments, signing-key rotations).
//   ?kind=secret|config|run|environment|kv|apikey|rekey|signingkey|access   (default: all; access: which secret
//                             revisions went to which run, worker or push URL, leased by which API key)
//   ?name=STRIPE_KEY          (secret or config name, or run id; needs kind)
//   ?since=1h | 30m | 7d | 2026-12-01T10:00:00Z   (default 24h)
//   ?limit=100                (1..5000)
#include "api/api_util.h"
#include "api/routes.h"
#include "common/bounded_json.h"
#include "common/time_util.h"
#include "events/audit_log.h"

namespace ironflow::server {
namespace {

using api::json;

Result<int64_t> ParseSince(const std::string& text) {
  int64_t ms = 0;
  if (ParseRfc3339(text, &ms)) return ms;
  if (text.size() >= 2 && text.size() <= 8) {
    int64_t n = 0;
    bool digits = true;
    for (size_t i = 0; i + 1 < text.size(); ++i) {
      digits = digits && text[i] >= '0' && text[i] <= '9';
      if (digits) n = n * 10 + (text[i] - '0');
    }
    int64_t unit = text.back() == 's'   ? 1000
                   : text.back() == 'm' ? 60000
                   : text.back() == 'h' ? 3600000
                   : text.back() == 'd' ? 86400000
                                        : 0;
    if (digits && unit > 0) return NowUnixMillis() - n * unit;
  }
  return Status::InvalidArgument("since must be a duration like 30m, 1h, 7d or an RFC 3339 UTC time");
}

}  // namespace

void AddAuditRoutes(Router& router, ApiContext& ctx) {
  router.Add("GET", "/api/v1/audit", Access::kRead, [&ctx](const ApiCall& call) {
    const bool every_environment = call.request.header("x-ironflow-environment").value_or("") == "*";
    Result<std::string> env = std::string("*");
    if (every_environment) {
      if (!call.actor.environment.empty() || call.actor.role != Role::kAdmin) {
        return api::ErrorResponse(Status::PermissionDenied(
            "the audit trail of every environment (X-Ironflow-Environment: *) needs an admin key"));
      }
    } else {
      env = RequestEnvironment(ctx, call.request);
      if (!env.ok()) return api::ErrorResponse(env.status());
    }
    AuditQuery query;
    query.environment = *env;
    query.kind = call.request.query_param("kind").value_or("");
    query.name = call.request.query_param("name").value_or("");
    auto since = ParseSince(call.request.query_param("since").value_or("24h"));
    if (!since.ok()) return api::ErrorResponse(since.status());
    query.since_ms = *since;
    if (auto l = call.request.query_param("limit")) {
      bool digits = !l->empty() && l->size() <= 5;
      for (char c : *l) digits = digits && c >= '0' && c <= '9';
      query.limit = digits ? static_cast<size_t>(std::stoul(*l)) : 0;  // 0: refused by the log, with the range
    }
    auto page = ctx.audit->Read(query);
    if (!page.ok()) return api::ErrorResponse(page.status());
    json entries = json::array();
    for (const auto& e : page->entries) {
      entries.push_back({{"sequence", e.sequence},
                         {"subject", e.subject},
                         {"time", FormatRfc3339FromNanos(e.time_ns)},
                         {"event", ParseBoundedJson(e.event_json)}});
    }
    const bool truncated = page->truncated;
    return api::JsonResponse(200, json{{"entries", std::move(entries)}, {"truncated", truncated}});
  });
}

}  // namespace ironflow::server
