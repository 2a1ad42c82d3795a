// /healthz, /readyz, /api/v1/status, /metrics.
#include "api/api_util.h"
#include "api/routes.h"

namespace ironflow {

using api::json;

void AddSystemRoutes(Router& router, ApiContext& ctx, SystemInfo info) {
  // Until the dashboard lands (issue #5), the root page says what is here instead of a bare 404.
  router.Add("GET", "/", false, [](const ApiCall&) {
    HttpResponse r;
    r.content_type = "text/html; charset=utf-8";
    r.headers.emplace_back("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'");
    r.body = R"(<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Ironflow</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:42rem;margin:3rem auto;padding:0 1rem;color:#1b1f24}
code{background:#f0f2f4;padding:.1rem .3rem;border-radius:4px}</style></head><body>
<h1>Ironflow</h1><p>The server is running. The web dashboard is not built yet; use the CLI
(<code>ironflow secret list</code>) or the HTTP API under <code>/api/v1</code>
(<code>Authorization: Bearer &lt;key&gt;</code>, <code>X-Ironflow-Environment</code>).</p>
<p>Probes: <code>/healthz</code>, <code>/readyz</code>. Metrics: <code>/metrics</code>.</p></body></html>)";
    return r;
  });

  router.Add("GET", "/healthz", false, [](const ApiCall&) { return api::JsonResponse(200, json{{"status", "ok"}}); });

  router.Add("GET", "/readyz", false, [&ctx, ready = info.ready](const ApiCall&) {
    bool nats_ok = ctx.nats.connected();
    bool ok = nats_ok && ready();
    return api::JsonResponse(ok ? 200 : 503, json{{"status", ok ? "ready" : "not_ready"}, {"nats_connected", nats_ok}});
  });

  router.Add("GET", "/api/v1/status", true, [&ctx, info](const ApiCall&) {
    json encryption = {{"enabled", ctx.sealer.encrypting()},
                       {"algorithm", ctx.sealer.encrypting() ? json("AES-256-GCM") : json(nullptr)},
                       {"key_id", ctx.sealer.encrypting() ? json(ctx.sealer.key_id()) : json(nullptr)}};
    return api::JsonResponse(200, json{{"version", info.version},
                                       {"encryption", encryption},
                                       {"authentication", ctx.api_keys != nullptr},
                                       {"nats", {{"connected", ctx.nats.connected()}, {"url", info.nats_url}}}});
  });

  router.Add("GET", "/metrics", false, [&ctx](const ApiCall&) {
    Metrics::Gauges g;
    g.nats_connected = ctx.nats.connected();
    g.nats_reconnects = ctx.nats.reconnects();
    g.event_publish_failures = ctx.events.publish_failures();
    g.embedded_nats_restarts = ctx.embedded_nats_restarts ? ctx.embedded_nats_restarts() : 0;
    HttpResponse r;
    r.content_type = "text/plain; version=0.0.4";
    r.body = ctx.metrics.Render(g);
    return r;
  });
}

}  // namespace ironflow
