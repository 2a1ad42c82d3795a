// /api/v1/secrets: the management plane for secrets. Responses carry metadata only; values go in, never out.
#include <spdlog/spdlog.h>

#include "api/api_util.h"
#include "api/routes.h"
#include "common/names.h"

namespace ironflow::server {
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
    spdlog::info("secret {}: environment={} name={} revision={} actor={}", out->created ? "created" : "updated", *env,
                 name, out->metadata.revision, call.actor.name);
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
    spdlog::info("secret description updated: environment={} name={} revision={} actor={}", *env, name, m->revision,
                 call.actor.name);
    return MetadataResponse(200, *m);
  }

  HttpResponse Versions(const ApiCall& call) {
    auto env = RequestEnvironment(ctx_, call.request);
    if (!env.ok()) return Finish("versions", env.status());
    const std::string& name = call.params[0];
    if (Status s = ValidateSecretName(name); !s.ok()) return Finish("versions", s);
    auto versions = ctx_.secrets.Versions(*env, name);
    if (!versions.ok()) return Finish("versions", versions.status());
    json arr = json::array();
    for (const auto& v : *versions) {
      json actor = v.actor.type.empty() ? json(nullptr)
                                        : json{{"type", v.actor.type}, {"id", v.actor.id}, {"name", v.actor.name}};
      arr.push_back({{"revision", v.revision},
                     {"created_at", v.created_at},
                     {"deleted", v.deleted},
                     {"description", v.deleted ? json(nullptr) : json(v.description)},
                     {"encrypted", v.encrypted},
                     {"key_id", v.key_id.empty() ? json(nullptr) : json(v.key_id)},
                     {"state", v.state.empty() ? json(nullptr) : json(v.state)},
                     {"actor", actor}});
    }
    ctx_.metrics.CountSecretOperation("versions", "ok");
    return api::JsonResponse(200, json{{"name", name}, {"environment", *env}, {"versions", std::move(arr)}});
  }

  HttpResponse Rollback(const ApiCall& call) {
    auto env = RequestEnvironment(ctx_, call.request);
    if (!env.ok()) return Finish("rollback", env.status());
    const std::string& name = call.params[0];
    if (Status s = ValidateSecretName(name); !s.ok()) return Finish("rollback", s);
    auto if_match = api::ParseIfMatch(call.request);
    if (!if_match.ok()) return Finish("rollback", if_match.status());
    auto body = api::ParseJsonObject(call.request.body, {"revision"});
    if (!body.ok()) return Finish("rollback", body.status());
    auto it = body->find("revision");
    if (it == body->end() || !it->is_number_unsigned() || it->get<uint64_t>() == 0) {
      return Finish("rollback", Status::InvalidArgument("field \"revision\" must be a positive integer"));
    }
    const uint64_t revision = it->get<uint64_t>();
    auto out = ctx_.secrets.Rollback(*env, name, revision, *if_match, call.actor);
    if (!out.ok()) return Finish("rollback", out.status());
    ctx_.metrics.CountSecretOperation("rollback", "ok");
    spdlog::info("secret rolled back: environment={} name={} to_revision={} new_revision={} actor={}", *env, name,
                 revision, out->metadata.revision, call.actor.name);
    return MetadataResponse(out->created ? 201 : 200, out->metadata);
  }

  // POST /api/v1/rekey {"all": true} (every environment) or {} with X-Ironflow-Environment (that one).
  HttpResponse Rekey(const ApiCall& call) {
    auto body = api::ParseJsonObject(call.request.body.empty() ? "{}" : call.request.body, {"all"});
    if (!body.ok()) return Finish("rekey", body.status());
    bool all = false;
    if (auto it = body->find("all"); it != body->end()) {
      if (!it->is_boolean()) return Finish("rekey", Status::InvalidArgument("field \"all\" must be a boolean"));
      all = it->get<bool>();
    }
    std::optional<std::string> scope;
    if (!all) {
      auto env = RequestEnvironment(ctx_, call.request);
      if (!env.ok()) return Finish("rekey", env.status());
      scope = *env;
    }
    auto report = ctx_.secrets.Rekey(scope, call.actor);
    if (!report.ok()) return Finish("rekey", report.status());
    spdlog::info("rekey ({}): {} re-encrypted under key id {}, {} already current, {} failed, actor={}",
                 scope.value_or("all environments"), report->rekeyed, ctx_.sealer.key_id(), report->already_current,
                 report->failed.size(), call.actor.name);
    json remaining = json::object();
    if (auto counts = ctx_.secrets.CountByKeyId(); counts.ok()) {
      for (const auto& [id, n] : *counts) remaining[id.empty() ? "plaintext" : id] = n;
    }
    ctx_.metrics.CountSecretOperation("rekey", "ok");
    return api::JsonResponse(200, json{{"key_id", ctx_.sealer.key_id()},
                                       {"scope", scope.value_or("*")},
                                       {"rekeyed", report->rekeyed},
                                       {"already_current", report->already_current},
                                       {"failed", report->failed},
                                       {"secrets_by_key_id", remaining}});
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
  router.Add("GET", "/api/v1/secrets", Access::kRead, [r](const ApiCall& c) { return r->List(c); });
  router.AddIdempotent("POST", "/api/v1/secrets", Access::kWrite, [r](const ApiCall& c) { return r->Create(c); });
  router.Add("GET", "/api/v1/secrets/{name}", Access::kRead, [r](const ApiCall& c) { return r->Get(c); });
  router.AddIdempotent("PUT", "/api/v1/secrets/{name}", Access::kWrite, [r](const ApiCall& c) { return r->Put(c); });
  router.AddIdempotent("PATCH", "/api/v1/secrets/{name}", Access::kWrite,
                       [r](const ApiCall& c) { return r->Patch(c); });
  router.AddIdempotent("DELETE", "/api/v1/secrets/{name}", Access::kWrite,
                       [r](const ApiCall& c) { return r->Delete(c); });
  router.Add("GET", "/api/v1/secrets/{name}/versions", Access::kRead, [r](const ApiCall& c) { return r->Versions(c); });
  router.AddIdempotent("POST", "/api/v1/secrets/{name}/rollback", Access::kWrite,
                       [r](const ApiCall& c) { return r->Rollback(c); });
  router.Add("POST", "/api/v1/rekey", Access::kAdmin, [r](const ApiCall& c) { return r->Rekey(c); });
}

}  // namespace ironflow::server
