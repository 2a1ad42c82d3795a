// /api/v1/kv: the user KV store over HTTP. Buckets per environment (kv/user_buckets.h), keys with raw values
// (base64 in JSON answers), preconditions, counters (kv/kv_keys.h: the rules live there), and watch.
#include <spdlog/spdlog.h>

#include "api/api_util.h"
#include "api/routes.h"
#include "api/watch_stream.h"
#include "common/hex.h"
#include "common/names.h"
#include "common/time_util.h"
#include "kv/kv_keys.h"

namespace ironflow::server {
namespace {

using api::json;

json BucketJson(const KvBucketInfo& b) {
  return json{{"name", b.name},
              {"description", b.description},
              {"ttl_seconds", b.ttl_ms / 1000},
              {"history", b.history},
              {"max_value_size", b.max_value_size},
              {"replicas", b.replicas},
              {"values", b.values},
              {"bytes", b.bytes},
              {"created_at", FormatRfc3339FromNanos(b.created_ns)}};
}

// Reads an optional integer field within [lo, hi].
Result<std::optional<int64_t>> OptionalInt(const json& obj, const char* field, int64_t lo, int64_t hi) {
  auto it = obj.find(field);
  if (it == obj.end()) return std::optional<int64_t>();
  if (!it->is_number_integer())
    return Status::InvalidArgument("field \"" + std::string(field) + "\" must be an integer");
  if (it->is_number_unsigned() && it->get<uint64_t>() > static_cast<uint64_t>(INT64_MAX)) {
    return Status::InvalidArgument("field \"" + std::string(field) + "\" is out of range");
  }
  int64_t v = it->get<int64_t>();
  if (v < lo || v > hi) {
    return Status::InvalidArgument("field \"" + std::string(field) + "\" must be between " + std::to_string(lo) +
                                   " and " + std::to_string(hi));
  }
  return std::optional<int64_t>(v);
}

class KvRoutes {
 public:
  explicit KvRoutes(ApiContext& ctx) : ctx_(ctx) {}

  HttpResponse CreateBucket(const ApiCall& call) {
    auto env = RequestEnvironment(ctx_, call.request);
    if (!env.ok()) return api::ErrorResponse(env.status());
    auto body = api::ParseJsonObject(call.request.body,
                                     {"name", "description", "ttl_seconds", "history", "max_value_size", "replicas"});
    if (!body.ok()) return api::ErrorResponse(body.status());
    BucketSpec spec;
    auto name = api::RequiredString(*body, "name");
    if (!name.ok()) return api::ErrorResponse(name.status());
    if (Status s = ValidateBucketName(*name); !s.ok()) return api::ErrorResponse(s);
    spec.name = *name;
    auto description = api::OptionalString(*body, "description");
    if (!description.ok()) return api::ErrorResponse(description.status());
    spec.description = description->value_or("");
    auto ttl = OptionalInt(*body, "ttl_seconds", 0, kMaxKvTtlSeconds);
    if (!ttl.ok()) return api::ErrorResponse(ttl.status());
    spec.ttl_seconds = ttl->value_or(0);
    auto history = OptionalInt(*body, "history", 1, 64);
    if (!history.ok()) return api::ErrorResponse(history.status());
    spec.history = static_cast<int>(history->value_or(1));
    auto max_value = OptionalInt(*body, "max_value_size", 1, kMaxKvValueBytes);
    if (!max_value.ok()) return api::ErrorResponse(max_value.status());
    spec.max_value_size = static_cast<int32_t>(max_value->value_or(kDefaultMaxKvValueBytes));
    auto replicas = OptionalInt(*body, "replicas", 1, 5);
    if (!replicas.ok()) return api::ErrorResponse(replicas.status());
    spec.replicas = static_cast<int>(replicas->value_or(0));
    auto info = ctx_.kv->Create(*env, spec, call.actor);
    if (!info.ok()) return api::ErrorResponse(info.status());
    spdlog::info("kv bucket created: environment={} bucket={} actor={}", *env, spec.name, call.actor.name);
    return api::JsonResponse(201, BucketJson(*info));
  }

  HttpResponse ListBuckets(const ApiCall& call) {
    auto env = RequestEnvironment(ctx_, call.request);
    if (!env.ok()) return api::ErrorResponse(env.status());
    auto list = ctx_.kv->List(*env);
    if (!list.ok()) return api::ErrorResponse(list.status());
    json arr = json::array();
    for (const auto& b : *list) arr.push_back(BucketJson(b));
    return api::JsonResponse(200, json{{"buckets", std::move(arr)}});
  }

  HttpResponse GetBucket(const ApiCall& call) {
    std::string env;
    if (Status s = Scope(call, &env); !s.ok()) return api::ErrorResponse(s);
    auto info = ctx_.kv->Info(env, call.params[0]);
    if (!info.ok()) return api::ErrorResponse(info.status());
    return api::JsonResponse(200, BucketJson(*info));
  }

  HttpResponse DeleteBucket(const ApiCall& call) {
    std::string env;
    if (Status s = Scope(call, &env); !s.ok()) return api::ErrorResponse(s);
    if (Status s = ctx_.kv->Delete(env, call.params[0], call.actor); !s.ok()) return api::ErrorResponse(s);
    spdlog::info("kv bucket deleted: environment={} bucket={} actor={}", env, call.params[0], call.actor.name);
    return api::NoContent();
  }

  HttpResponse Keys(const ApiCall& call) {
    std::string env;
    if (Status s = Scope(call, &env); !s.ok()) return api::ErrorResponse(s);
    auto keys = ctx_.kv_keys->Keys(env, call.params[0], call.request.query_param("filter").value_or(">"));
    if (!keys.ok()) return api::ErrorResponse(keys.status());
    size_t count = keys->size();
    return api::JsonResponse(200, json{{"keys", std::move(keys).value()}, {"count", count}});
  }

  HttpResponse GetKey(const ApiCall& call) {
    std::string env;
    if (Status s = Scope(call, &env); !s.ok()) return api::ErrorResponse(s);
    const std::string& key = call.params[1];
    auto entry = ctx_.kv_keys->Get(env, call.params[0], key);
    if (!entry.ok()) return api::ErrorResponse(entry.status());
    return api::JsonResponseWithEtag(200,
                                     json{{"key", key},
                                          {"value", Base64Encode(entry->value)},
                                          {"revision", entry->revision},
                                          {"created_at", FormatRfc3339FromNanos(entry->created_ns)}},
                                     entry->revision);
  }

  HttpResponse PutKey(const ApiCall& call) {
    std::string env;
    if (Status s = Scope(call, &env); !s.ok()) return api::ErrorResponse(s);
    auto pre = api::ParseWritePrecondition(call.request);
    if (!pre.ok()) return api::ErrorResponse(pre.status());
    const std::string& key = call.params[1];
    auto rev = ctx_.kv_keys->Put(env, call.params[0], key, call.request.body, *pre, call.actor.request);
    if (!rev.ok()) return api::ErrorResponse(rev.status());
    return api::JsonResponseWithEtag(200, json{{"key", key}, {"revision", *rev}}, *rev);
  }

  HttpResponse DeleteKey(const ApiCall& call) {
    std::string env;
    if (Status s = Scope(call, &env); !s.ok()) return api::ErrorResponse(s);
    auto if_match = api::ParseIfMatch(call.request);
    if (!if_match.ok()) return api::ErrorResponse(if_match.status());
    auto purge = call.request.query_param("purge");
    if (purge && *purge != "true" && *purge != "false") {
      return api::ErrorResponse(Status::InvalidArgument("purge must be true or false"));
    }
    Status st =
        ctx_.kv_keys->Delete(env, call.params[0], call.params[1], *if_match, purge == "true", call.actor.request);
    if (!st.ok()) return api::ErrorResponse(st);
    return api::NoContent();
  }

  HttpResponse Increment(const ApiCall& call) {
    std::string env;
    if (Status s = Scope(call, &env); !s.ok()) return api::ErrorResponse(s);
    int64_t by = 1;
    if (!call.request.body.empty()) {
      auto body = api::ParseJsonObject(call.request.body, {"by"});
      if (!body.ok()) return api::ErrorResponse(body.status());
      auto v = OptionalInt(*body, "by", INT64_MIN, INT64_MAX);
      if (!v.ok()) return api::ErrorResponse(v.status());
      by = v->value_or(1);
    }
    const std::string& key = call.params[1];
    auto out = ctx_.kv_keys->Increment(env, call.params[0], key, by, call.actor.request);
    if (!out.ok()) return api::ErrorResponse(out.status());
    return api::JsonResponseWithEtag(200, json{{"key", key}, {"value", out->value}, {"revision", out->revision}},
                                     out->revision);
  }

  HttpResponse Watch(const ApiCall& call) {
    UserBucket b;
    if (Status s = OpenBucket(call, &b); !s.ok()) return api::ErrorResponse(s);
    std::string pattern = call.request.query_param("key").value_or(">");
    if (Status s = ValidateKvKeyPattern(pattern); !s.ok()) return api::ErrorResponse(s);
    auto r = api::KvWatchStream(b.kv, pattern,
                                [](const KvEntry& e, bool deleted, bool replay) -> std::optional<std::string> {
                                  if (deleted && replay) return std::nullopt;  // absent now: nothing to send first
                                  json frame = {{"type", "kv_update"},
                                                {"key", e.key},
                                                {"value", deleted ? json(nullptr) : json(Base64Encode(e.value))},
                                                {"revision", e.revision},
                                                {"operation", deleted ? "delete" : "put"}};
                                  return frame.dump();
                                });
    if (!r.ok()) return api::ErrorResponse(r.status());
    return std::move(r).value();
  }

 private:
  Status Scope(const ApiCall& call, std::string* env) {
    IF_ASSIGN_OR_RETURN(auto e, RequestEnvironmentFor(ctx_, call.request, call.params[0], &ValidateBucketName));
    *env = std::move(e);
    return Status::Ok();
  }
  Status OpenBucket(const ApiCall& call, UserBucket* out) {
    std::string env;
    IF_RETURN_IF_ERROR(Scope(call, &env));
    IF_ASSIGN_OR_RETURN(auto b, ctx_.kv->Open(env, call.params[0]));
    *out = std::move(b);
    return Status::Ok();
  }
  ApiContext& ctx_;
};

}  // namespace

void AddKvRoutes(Router& router, ApiContext& ctx) {
  auto r = std::make_shared<KvRoutes>(ctx);
  const std::string b = "/api/v1/kv/buckets";
  router.Add("POST", b, Access::kWrite, [r](const ApiCall& c) { return r->CreateBucket(c); });
  router.Add("GET", b, Access::kRead, [r](const ApiCall& c) { return r->ListBuckets(c); });
  router.Add("GET", b + "/{bucket}", Access::kRead, [r](const ApiCall& c) { return r->GetBucket(c); });
  router.Add("DELETE", b + "/{bucket}", Access::kWrite, [r](const ApiCall& c) { return r->DeleteBucket(c); });
  router.Add("GET", b + "/{bucket}/keys", Access::kKvRead, [r](const ApiCall& c) { return r->Keys(c); });
  router.Add("GET", b + "/{bucket}/keys/{key}", Access::kKvRead, [r](const ApiCall& c) { return r->GetKey(c); });
  router.AddIdempotent("PUT", b + "/{bucket}/keys/{key}", Access::kKvWrite,
                       [r](const ApiCall& c) { return r->PutKey(c); });
  router.AddIdempotent("DELETE", b + "/{bucket}/keys/{key}", Access::kKvWrite,
                       [r](const ApiCall& c) { return r->DeleteKey(c); });
  router.AddIdempotent("POST", b + "/{bucket}/keys/{key}/increment", Access::kKvWrite,
                       [r](const ApiCall& c) { return r->Increment(c); });
  router.Add("GET", b + "/{bucket}/watch", Access::kKvRead, [r](const ApiCall& c) { return r->Watch(c); });
}

}  // namespace ironflow::server
