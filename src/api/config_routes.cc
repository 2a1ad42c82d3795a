// /api/v1/config: readable, environment-scoped JSON documents with compare-and-set, shallow merge and watch.
#include <spdlog/spdlog.h>

#include "api/api_util.h"
#include "api/routes.h"
#include "api/watch_stream.h"
#include "common/names.h"
#include "common/time_util.h"

namespace ironflow::server {
namespace {

using api::json;

// {"data":<document>,"name",...}: the stored text is spliced in, not parsed, so a document stored before the
// nesting limit existed is still served whole (re-serializing it would recurse once per level).
std::string DocumentJson(const ConfigDocument& d) {
  return api::JsonWithRawField("data", d.data,
                               json{{"name", d.name}, {"revision", d.revision}, {"updated_at", d.updated_at}});
}

class ConfigRoutes {
 public:
  explicit ConfigRoutes(ApiContext& ctx) : ctx_(ctx) {}

  HttpResponse List(const ApiCall& call) {
    auto env = RequestEnvironment(ctx_, call.request);
    if (!env.ok()) return api::ErrorResponse(env.status());
    auto docs = ctx_.config->List(*env);
    if (!docs.ok()) return api::ErrorResponse(docs.status());
    json arr = json::array();
    for (const auto& d : *docs)
      arr.push_back({{"name", d.name}, {"revision", d.revision}, {"updated_at", d.updated_at}});
    return api::JsonResponse(200, json{{"configs", std::move(arr)}});
  }

  HttpResponse Get(const ApiCall& call) {
    std::string env;
    if (Status s = Scope(call, &env); !s.ok()) return api::ErrorResponse(s);
    const std::string& name = call.params[0];
    auto d = ctx_.config->Get(env, name);
    if (!d.ok()) return api::ErrorResponse(d.status());
    return api::RawJsonResponseWithEtag(200, DocumentJson(*d), d->revision);
  }

  HttpResponse Put(const ApiCall& call) {
    std::string env;
    if (Status s = Scope(call, &env); !s.ok()) return api::ErrorResponse(s);
    const std::string& name = call.params[0];
    auto pre = api::ParseWritePrecondition(call.request);
    if (!pre.ok()) return api::ErrorResponse(pre.status());
    auto data = DataField(call.request.body);
    if (!data.ok()) return api::ErrorResponse(data.status());
    auto d = ctx_.config->Put(env, name, *data, *pre, call.actor);
    if (!d.ok()) return api::ErrorResponse(d.status());
    spdlog::info("config updated: environment={} name={} revision={} actor={}", env, name, d->revision,
                 call.actor.name);
    return api::JsonResponseWithEtag(200, json{{"name", name}, {"revision", d->revision}}, d->revision);
  }

  HttpResponse Patch(const ApiCall& call) {
    std::string env;
    if (Status s = Scope(call, &env); !s.ok()) return api::ErrorResponse(s);
    const std::string& name = call.params[0];
    auto if_match = api::ParseIfMatch(call.request);
    if (!if_match.ok()) return api::ErrorResponse(if_match.status());
    auto data = DataField(call.request.body);
    if (!data.ok()) return api::ErrorResponse(data.status());
    auto d = ctx_.config->Patch(env, name, *data, *if_match, call.actor);
    if (!d.ok()) return api::ErrorResponse(d.status());
    spdlog::info("config patched: environment={} name={} revision={} actor={}", env, name, d->revision,
                 call.actor.name);
    return api::RawJsonResponseWithEtag(200, DocumentJson(*d), d->revision);
  }

  HttpResponse Delete(const ApiCall& call) {
    std::string env;
    if (Status s = Scope(call, &env); !s.ok()) return api::ErrorResponse(s);
    const std::string& name = call.params[0];
    auto if_match = api::ParseIfMatch(call.request);
    if (!if_match.ok()) return api::ErrorResponse(if_match.status());
    Status st = ctx_.config->Delete(env, name, *if_match, call.actor);
    if (!st.ok()) return api::ErrorResponse(st);
    spdlog::info("config deleted: environment={} name={} actor={}", env, name, call.actor.name);
    return api::NoContent();
  }

  HttpResponse Watch(const ApiCall& call) {
    std::string env;
    if (Status s = Scope(call, &env); !s.ok()) return api::ErrorResponse(s);
    std::string name = call.params[0];
    ConfigStore& store = *ctx_.config;
    auto r = api::WatchStream([&store, &env, &name](api::FrameSink sink) -> Result<std::shared_ptr<void>> {
      auto watch = store.Watch(env, name, [sink = std::move(sink)](const ConfigStore::Change& c) {
        if (c.deleted) {
          sink(json{{"type", "config_delete"}, {"name", c.document.name}, {"revision", c.document.revision}}.dump());
          return;
        }
        sink(api::JsonWithRawField("data", c.document.data,
                                   json{{"type", "config_update"},
                                        {"name", c.document.name},
                                        {"revision", c.document.revision},
                                        {"updated_at", c.document.updated_at}}));
      });
      if (!watch.ok()) return watch.status();
      return std::shared_ptr<void>(std::move(watch).value());
    });
    if (!r.ok()) return api::ErrorResponse(r.status());
    return std::move(r).value();
  }

 private:
  // The request's environment (header) and a valid config name in the path, or the error to answer.
  Status Scope(const ApiCall& call, std::string* env) {
    IF_ASSIGN_OR_RETURN(auto e, RequestEnvironmentFor(ctx_, call.request, call.params[0], &ValidateConfigName));
    *env = std::move(e);
    return Status::Ok();
  }

  // The `data` field of a {data} body, re-serialized; the store checks that it is an object.
  static Result<std::string> DataField(const std::string& body) {
    IF_ASSIGN_OR_RETURN(auto parsed, api::ParseJsonObject(body, {"data"}));
    auto it = parsed.find("data");
    if (it == parsed.end()) return Status::InvalidArgument("missing required field \"data\"");
    if (!it->is_object()) return Status::InvalidArgument("field \"data\" must be a JSON object");
    return it->dump();
  }

  ApiContext& ctx_;
};

}  // namespace

void AddConfigRoutes(Router& router, ApiContext& ctx) {
  auto r = std::make_shared<ConfigRoutes>(ctx);
  router.Add("GET", "/api/v1/config", Access::kConfigRead, [r](const ApiCall& c) { return r->List(c); });
  router.Add("GET", "/api/v1/config/{name}", Access::kConfigRead, [r](const ApiCall& c) { return r->Get(c); });
  router.AddIdempotent("PUT", "/api/v1/config/{name}", Access::kWrite, [r](const ApiCall& c) { return r->Put(c); });
  router.AddIdempotent("PATCH", "/api/v1/config/{name}", Access::kWrite, [r](const ApiCall& c) { return r->Patch(c); });
  router.AddIdempotent("DELETE", "/api/v1/config/{name}", Access::kWrite,
                       [r](const ApiCall& c) { return r->Delete(c); });
  router.Add("GET", "/api/v1/config/{name}/watch", Access::kConfigRead, [r](const ApiCall& c) { return r->Watch(c); });
}

}  // namespace ironflow::server
