// /api/v1/secrets: the management plane for secrets. Responses carry metadata only; values go in, never out.
#include <spdlog/spdlog.h>

#include "api/api_util.h"
#include "api/routes.h"
#include "common/names.h"

namespace ironflow {
namespace {

using api::json;

constexpr size_t kMaxDescriptionBytes = 1024;

json MetadataJson(const SecretMetadata& m) {
  return json{{"name", m.name},
              {"environment", m.environment},
              {"description", m.description},
              {"revision", m.revision},
              {"created_at", m.created_at},
              {"updated_at", m.updated_at},
              {"encrypted", m.encrypted},
              {"key_id", m.encrypted ? json(m.key_id) : json(nullptr)}};
}

HttpResponse MetadataResponse(int status, const SecretMetadata& m) {
  HttpResponse r = api::JsonResponse(status, MetadataJson(m));
  r.headers.emplace_back("ETag", "\"" + std::to_string(m.revision) + "\"");
  return r;
}

Status CheckValue(std::string_view value) {
  if (value.empty()) return Status::InvalidArgument("field \"value\" must not be empty");
  if (value.size() > kMaxSecretValueBytes) {
    return Status::PayloadTooLarge("secret value exceeds " + std::to_string(kMaxSecretValueBytes) + " bytes");
  }
  return Status::Ok();
}

Status CheckDescription(const std::optional<std::string>& d) {
  if (d && d->size() > kMaxDescriptionBytes) {
    return Status::InvalidArgument("description exceeds " + std::to_string(kMaxDescriptionBytes) + " bytes");
  }
  return Status::Ok();
}

// Holds the parsed request body and wipes it (the value lives inside) when the handler returns.
struct WipedJson {
  json doc;
  ~WipedJson() { api::WipeStrings(doc); }
};

class SecretsRoutes {
 public:
  explicit SecretsRoutes(ApiContext& ctx) : ctx_(ctx) {}

  HttpResponse Finish(const char* op, const Status& st) {
    ctx_.metrics.CountSecretOperation(op, st.ok() ? "ok" : std::string(st.code_name()));
    return api::ErrorResponse(st);
  }

  HttpResponse List(const ApiCall& call) {
    auto env = RequestEnvironment(ctx_, call.request);
    if (!env.ok()) return Finish("list", env.status());
    auto list = ctx_.secrets.List(*env);
    if (!list.ok()) return Finish("list", list.status());
    json arr = json::array();
    for (const auto& m : *list) arr.push_back(MetadataJson(m));
    ctx_.metrics.CountSecretOperation("list", "ok");
    return api::JsonResponse(200, json{{"secrets", std::move(arr)}});
  }

  HttpResponse Get(const ApiCall& call) {
    auto env = RequestEnvironment(ctx_, call.request);
    if (!env.ok()) return Finish("get", env.status());
    const std::string& name = call.params[0];
    if (Status s = ValidateSecretName(name); !s.ok()) return Finish("get", s);
    auto m = ctx_.secrets.Get(*env, name);
    if (!m.ok()) return Finish("get", m.status());
    ctx_.metrics.CountSecretOperation("get", "ok");
    return MetadataResponse(200, *m);
  }

  HttpResponse Create(const ApiCall& call) {
    auto env = RequestEnvironment(ctx_, call.request);
    if (!env.ok()) return Finish("create", env.status());
    auto parsed = api::ParseJsonObject(call.request.body, {"name", "value", "description"});
    if (!parsed.ok()) return Finish("create", parsed.status());
    WipedJson body{std::move(parsed).value()};
    auto name = api::RequiredString(body.doc, "name");
    if (!name.ok()) return Finish("create", name.status());
    if (Status s = ValidateSecretName(*name); !s.ok()) return Finish("create", s);
    auto value = api::RequiredString(body.doc, "value");
    if (!value.ok()) return Finish("create", value.status());
    SecretString secret(std::move(value).value());
    if (Status s = CheckValue(secret.view()); !s.ok()) return Finish("create", s);
    auto description = api::OptionalString(body.doc, "description");
    if (!description.ok()) return Finish("create", description.status());
    if (Status s = CheckDescription(*description); !s.ok()) return Finish("create", s);

    auto m = ctx_.secrets.Create(*env, *name, secret.view(), *description, call.actor);
    if (!m.ok()) return Finish("create", m.status());
    ctx_.metrics.CountSecretOperation("create", "ok");
    spdlog::info("secret created: environment={} name={} revision={} actor={}", *env, *name, m->revision,
                 call.actor.name);
    return MetadataResponse(201, *m);
  }

  HttpResponse Put(const ApiCall& call) {
    auto env = RequestEnvironment(ctx_, call.request);
    if (!env.ok()) return Finish("put", env.status());
    const std::string& name = call.params[0];
    if (Status s = ValidateSecretName(name); !s.ok()) return Finish("put", s);
    auto if_match = api::ParseIfMatch(call.request);
    if (!if_match.ok()) return Finish("put", if_match.status());
    auto parsed = api::ParseJsonObject(call.request.body, {"value", "description"});
    if (!parsed.ok()) return Finish("put", parsed.status());
    WipedJson body{std::move(parsed).value()};
    auto value = api::RequiredString(body.doc, "value");
    if (!value.ok()) return Finish("put", value.status());
    SecretString secret(std::move(value).value());
    if (Status s = CheckValue(secret.view()); !s.ok()) return Finish("put", s);
    auto description = api::OptionalString(body.doc, "description");
    if (!description.ok()) return Finish("put", description.status());
    if (Status s = CheckDescription(*description); !s.ok()) return Finish("put", s);

    auto out = ctx_.secrets.Put(*env, name, secret.view(), *description, *if_match, call.actor);
    if (!out.ok()) return Finish("put", out.status());
    ctx_.metrics.CountSecretOperation("put", "ok");
    spdlog::info("secret {}: environment={} name={} revision={} actor={}", out->created ? "created" : "updated",
                 *env, name, out->metadata.revision, call.actor.name);
    return MetadataResponse(out->created ? 201 : 200, out->metadata);
  }

  HttpResponse Patch(const ApiCall& call) {
    auto env = RequestEnvironment(ctx_, call.request);
    if (!env.ok()) return Finish("patch", env.status());
    const std::string& name = call.params[0];
    if (Status s = ValidateSecretName(name); !s.ok()) return Finish("patch", s);
    auto if_match = api::ParseIfMatch(call.request);
    if (!if_match.ok()) return Finish("patch", if_match.status());
    auto parsed = api::ParseJsonObject(call.request.body, {"description"});
    if (!parsed.ok()) return Finish("patch", parsed.status());
    WipedJson body{std::move(parsed).value()};
    auto description = api::RequiredString(body.doc, "description");
    if (!description.ok()) return Finish("patch", description.status());
    if (Status s = CheckDescription(*description); !s.ok()) return Finish("patch", s);

    auto m = ctx_.secrets.UpdateDescription(*env, name, *description, *if_match, call.actor);
    if (!m.ok()) return Finish("patch", m.status());
    ctx_.metrics.CountSecretOperation("patch", "ok");
    spdlog::info("secret description updated: environment={} name={} revision={} actor={}", *env, name,
                 m->revision, call.actor.name);
    return MetadataResponse(200, *m);
  }

  HttpResponse Delete(const ApiCall& call) {
    auto env = RequestEnvironment(ctx_, call.request);
    if (!env.ok()) return Finish("delete", env.status());
    const std::string& name = call.params[0];
    if (Status s = ValidateSecretName(name); !s.ok()) return Finish("delete", s);
    auto if_match = api::ParseIfMatch(call.request);
    if (!if_match.ok()) return Finish("delete", if_match.status());
    Status st = ctx_.secrets.Delete(*env, name, *if_match, call.actor);
    if (!st.ok()) return Finish("delete", st);
    ctx_.metrics.CountSecretOperation("delete", "ok");
    spdlog::info("secret deleted: environment={} name={} actor={}", *env, name, call.actor.name);
    return api::NoContent();
  }

 private:
  ApiContext& ctx_;
};

}  // namespace

void AddSecretsRoutes(Router& router, ApiContext& ctx) {
  auto r = std::make_shared<SecretsRoutes>(ctx);
  router.Add("GET", "/api/v1/secrets", true, [r](const ApiCall& c) { return r->List(c); });
  router.Add("POST", "/api/v1/secrets", true, [r](const ApiCall& c) { return r->Create(c); });
  router.Add("GET", "/api/v1/secrets/{name}", true, [r](const ApiCall& c) { return r->Get(c); });
  router.Add("PUT", "/api/v1/secrets/{name}", true, [r](const ApiCall& c) { return r->Put(c); });
  router.Add("PATCH", "/api/v1/secrets/{name}", true, [r](const ApiCall& c) { return r->Patch(c); });
  router.Add("DELETE", "/api/v1/secrets/{name}", true, [r](const ApiCall& c) { return r->Delete(c); });
}

}  // namespace ironflow
