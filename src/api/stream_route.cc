// GET /api/v1/stream?subject=PATTERN: system events of the request's environment as Server-Sent Events.
//
// Each event is one frame `data: {"subject":"system.secret.X.updated","data":{...}}` followed by a blank line;
// a comment line `: heartbeat` every 15 s keeps proxies and clients aware the stream is alive. The first frame is
// `: subscribed` and is sent only once the NATS subscription is in place, so a client that has seen it will
// receive every later event.
#include <spdlog/spdlog.h>

#include "api/api_util.h"
#include "api/routes.h"
#include "common/bounded_json.h"
#include "common/names.h"

namespace ironflow {

using api::json;

void AddStreamRoute(Router& router, ApiContext& ctx) {
  router.Add("GET", "/api/v1/stream", Access::kRead, [&ctx](const ApiCall& call) {
    auto env = RequestEnvironment(ctx, call.request);
    if (!env.ok()) return api::ErrorResponse(env.status());
    std::string pattern = call.request.query_param("subject").value_or("system.>");
    if (Status s = ValidateSubjectPattern(pattern); !s.ok()) return api::ErrorResponse(s);
    if (!(pattern == ">" || pattern.rfind("system.", 0) == 0)) {
      return api::ErrorResponse(Status::InvalidArgument("subject must be a system.* pattern, e.g. system.secret.>"));
    }
    if (pattern == ">") pattern = "system.>";

    auto stream = std::make_shared<EventStream>();
    std::weak_ptr<EventStream> weak = stream;
    std::string environment = *env;
    auto sub = ctx.nats.Subscribe(pattern, [weak, environment](std::string_view subject, std::string_view data) {
      auto s = weak.lock();
      if (!s) return;
      json payload = ParseBoundedJson(data);
      if (!payload.is_object() || payload.value("environment", std::string()) != environment) return;
      s->Push("data: " + json{{"subject", subject}, {"data", payload}}.dump() + "\n\n");
    });
    if (!sub.ok()) return api::ErrorResponse(sub.status());
    stream->keep_alive = std::shared_ptr<NatsConnection::Subscription>(std::move(sub).value());
    stream->Push(": subscribed\n\n");

    HttpResponse r;
    r.content_type = "text/event-stream";
    r.stream = stream;
    return r;
  });
}

}  // namespace ironflow
