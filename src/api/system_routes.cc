// /healthz, /readyz, /api/v1/status, /metrics.
#include "api/api_util.h"
#include "api/routes.h"

namespace ironflow::server {

using api::json;

namespace {

// The configured URLs, the server in use now, and every node the version gate reached (with its version).
json NatsStatus(const SystemInfo& info) {
  const NatsLink now = info.nats_link();
  json nodes = json::array();
  std::string connected_version;
  for (const auto& n : info.nats_servers()) {
    nodes.push_back(
        {{"address", n.address}, {"server_id", n.server_id}, {"server_name", n.server_name}, {"version", n.version}});
    if (n.server_id == now.server_id) connected_version = n.version;
  }
  return {{"connected", now.connected},
          {"configured_urls", info.nats_url},
          {"url", now.url},
          {"server_id", now.server_id},
          {"version", connected_version.empty() ? json(nullptr) : json(connected_version)},
          {"jetstream_writable", info.jetstream_writable()},
          {"nodes", std::move(nodes)}};
}

}  // namespace

Readiness CheckReadiness(const SystemInfo& info) {
  return Readiness{info.nats_connected(), info.jetstream_writable(), info.ready()};
}

void AddSystemRoutes(Router& router, ApiContext& ctx, SystemInfo info) {
  router.Add("GET", "/healthz", Access::kPublic, [](const ApiCall&) {
    return api::JsonResponse(200, json{{"status", "ok"}});
  });

  // Ready: connected, started, and every stream we write to has a leader (JetStream quorum).
  router.Add("GET", "/readyz", Access::kPublic, [info](const ApiCall&) {
    const Readiness r = CheckReadiness(info);
    const bool ok = r.ok();
    return api::JsonResponse(ok ? 200 : 503, json{{"status", ok ? "ready" : "not_ready"},
                                                  {"nats_connected", r.nats_connected},
                                                  {"jetstream_writable", r.jetstream_writable}});
  });

  router.Add("GET", "/api/v1/status", Access::kAuthenticated, [&ctx, info](const ApiCall&) {
    json encryption = {
        {"enabled", ctx.sealer.encrypting()},
        {"algorithm", ctx.sealer.encrypting() ? json("AES-256-GCM") : json(nullptr)},
        {"key_id", ctx.sealer.encrypting() ? json(ctx.sealer.key_id()) : json(nullptr)},
        {"previous_key_id", ctx.sealer.previous_key_id().empty() ? json(nullptr) : json(ctx.sealer.previous_key_id())}};
    // How many secrets each key id still holds: the previous key can be dropped once only the current one is left.
    if (auto counts = ctx.secrets.CountByKeyId(); counts.ok()) {
      json by = json::object();
      for (const auto& [id, n] : *counts) by[id.empty() ? "plaintext" : id] = n;
      encryption["secrets_by_key_id"] = std::move(by);
    }
    // Encryptions made with the current key (an upper bound, counted in blocks), against the 2^32 nonce limit.
    if (const NonceBudget* budget = ctx.sealer.budget()) {
      if (auto usage = budget->Read(); usage.ok()) {
        encryption["nonces"] = {{"key_id", usage->key_id},
                                {"used", usage->reserved},
                                {"limit", NonceBudget::kLimit},
                                {"warn_at", NonceBudget::kWarnAt},
                                {"warning", usage->warning}};
      }
    }
    return api::JsonResponse(200, json{{"version", info.version},
                                       {"encryption", encryption},
                                       {"authentication", ctx.api_keys != nullptr},
                                       {"nats", NatsStatus(info)}});
  });

  router.Add("GET", "/metrics", Access::kPublic, [&ctx, info](const ApiCall&) {
    Metrics::Gauges g;
    const NatsLink link = info.nats_link();
    g.ready = CheckReadiness(info).ok();
    g.nats_connected = link.connected;
    g.nats_reconnects = link.reconnects;
    g.event_publish_failures = ctx.events.publish_failures();
    g.event_publish_retries = link.publish_retries;
    g.secret_integrity_failures = ctx.secrets.integrity_failures();
    g.nonce_limit = NonceBudget::kLimit;
    if (ctx.sealer.encrypting()) g.current_key_id = ctx.sealer.key_id();
    if (ctx.server_gauges) ctx.server_gauges(&g);
    HttpResponse r;
    r.content_type = "text/plain; version=0.0.4";
    r.body = ctx.metrics.Render(g);
    return r;
  });
}

}  // namespace ironflow::server
