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

namespace ironflow::server {

using api::json;

void AddStreamRoute(Router& router, ApiContext& ctx) {
  router.Add("GET", "/api/v1/stream", Access::kRead, [&ctx](const ApiCall& call) {
    auto env = RequestEnvironment(ctx, call.request);
    if (!env.ok()) return api::ErrorResponse(env.status());
    auto stream = std::make_shared<EventStream>();
    std::weak_ptr<EventStream> weak = stream;
    auto follow = ctx.live.Follow(
        *env, call.request.query_param("subject").value_or("system.>"),
        [weak](std::string_view subject, std::string_view data) {
          auto s = weak.lock();
          if (!s) return;
          s->Push("data: " + json{{"subject", subject}, {"data", ParseBoundedJson(data)}}.dump() + "\n\n");
        });
    if (!follow.ok()) return api::ErrorResponse(follow.status());
    stream->keep_alive = std::move(follow).value();
    stream->Push(": subscribed\n\n");

    HttpResponse r;
    r.content_type = "text/event-stream";
    r.stream = stream;
    return r;
  });
}

}  // namespace ironflow::server
